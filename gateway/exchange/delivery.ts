/**
 * One webhook POST and what follows from it. `retryDelay` and `afterAttempt` are pure (the random
 * draw and the time are arguments); `postWebhook` is the I/O.
 *
 * The POST: the exact body bytes, `Tongxiang-Signature` over them, a deadline for the answer's
 * status line (default 5 s), no redirects followed (a 3xx is a failure: a redirect would take
 * the hub past the allow-list), no connection reuse, the answer's body never read into memory or
 * any record. 2xx is delivered; anything else — another status, a timeout, a refused or reset
 * connection, a certificate problem — is retried with exponential backoff and jitter, and after
 * `maxAttempts` the delivery is dead (the dead-letter list).
 */
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { TongxiangError } from '../../core/index.ts';
import type { DeliveryOutcome } from './model.ts';

export interface DeliverySettings {
  /** How long a receiver has to answer (status line); default 5 000 ms. */
  readonly timeoutMs: number;
  /** First retry after about this long; default 1 000 ms. */
  readonly baseDelayMs: number;
  /** Retries never wait longer; default 5 minutes. */
  readonly maxDelayMs: number;
  /** POSTs before a delivery is dead; default 8. */
  readonly maxAttempts: number;
}

export const DEFAULT_DELIVERY: DeliverySettings = Object.freeze({ timeoutMs: 5_000, baseDelayMs: 1_000, maxDelayMs: 300_000, maxAttempts: 8 });

/** Validates and fills in defaults (a CONFIG_INVALID lists every problem). */
export function deliverySettings(input: Partial<DeliverySettings> | undefined): DeliverySettings {
  const merged = { ...DEFAULT_DELIVERY, ...Object.fromEntries(Object.entries(input ?? {}).filter(([, v]) => v !== undefined)) } as DeliverySettings;
  const problems: string[] = [];
  for (const key of ['timeoutMs', 'baseDelayMs', 'maxDelayMs', 'maxAttempts'] as const) {
    const v = merged[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) problems.push(`${key} must be a positive integer`);
  }
  if (problems.length === 0 && merged.maxDelayMs < merged.baseDelayMs) problems.push('maxDelayMs must not be below baseDelayMs');
  if (problems.length > 0) throw new TongxiangError('CONFIG_INVALID', { reason: `exchange delivery: ${problems.join('; ')}` });
  return Object.freeze(merged);
}

/**
 * The wait after the `attempts`-th failed POST: base × 2^(attempts−1), capped, with "equal jitter"
 * (half fixed, half random) so receivers that failed together do not all come back together, and
 * no retry is ever immediate. `random` in [0, 1).
 */
export function retryDelay(attempts: number, settings: Pick<DeliverySettings, 'baseDelayMs' | 'maxDelayMs'>, random: number): number {
  const exponential = Math.min(settings.maxDelayMs, settings.baseDelayMs * 2 ** Math.min(Math.max(0, attempts - 1), 40));
  return Math.round(exponential / 2 + (exponential / 2) * Math.min(Math.max(random, 0), 1));
}

export type PostResult = { readonly ok: true; readonly status: number } | { readonly ok: false; readonly error: string };

/** The delivery's state after one more POST. */
export function afterAttempt(previousAttempts: number, result: PostResult, settings: DeliverySettings, now: number, random: number): DeliveryOutcome {
  const attempts = previousAttempts + 1;
  const at = new Date(now);
  if (result.ok) return { status: 'delivered', attempts, nextAttemptAt: null, lastAttemptAt: at, lastError: null, deliveredAt: at };
  if (attempts >= settings.maxAttempts) return { status: 'dead', attempts, nextAttemptAt: null, lastAttemptAt: at, lastError: result.error, deliveredAt: null };
  return {
    status: 'pending',
    attempts,
    nextAttemptAt: new Date(now + retryDelay(attempts, settings, random)),
    lastAttemptAt: at,
    lastError: result.error,
    deliveredAt: null,
  };
}

/** A network failure in words safe to store and show: the error's code, never its message or a body. */
export function describeFailure(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^[A-Z0-9_]{2,64}$/.test(code)) return code;
  const name = (error as { name?: unknown } | null)?.name;
  return typeof name === 'string' && /^[A-Za-z]{2,64}$/.test(name) ? name : 'network error';
}

/**
 * POSTs `body` to `url`; resolves (never rejects) with the status or the failure. Resolves on the
 * status line; the answer's body is discarded as it arrives, and the connection is cut if it is
 * still streaming when the deadline passes.
 */
export function postWebhook(url: URL, body: Uint8Array, headers: Readonly<Record<string, string>>, timeoutMs: number): Promise<PostResult> {
  return new Promise<PostResult>((resolve) => {
    let settled = false;
    let req: ClientRequest | undefined;
    const settle = (result: PostResult): void => {
      if (settled) return;
      settled = true;
      resolve(result);
    };
    const deadline = setTimeout(() => {
      settle({ ok: false, error: 'timeout' });
      req?.destroy();
    }, timeoutMs);
    deadline.unref();
    const onResponse = (res: IncomingMessage): void => {
      const status = res.statusCode ?? 0;
      res.on('error', () => undefined);
      res.on('close', () => clearTimeout(deadline));
      res.resume();
      if (status >= 200 && status < 300) settle({ ok: true, status });
      else if (status >= 300 && status < 400) settle({ ok: false, error: `HTTP ${status} (redirects are not followed)` });
      else settle({ ok: false, error: `HTTP ${status}` });
    };
    try {
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      req = send(url, { method: 'POST', headers: { ...headers, 'content-length': String(body.byteLength) }, agent: false }, onResponse);
      req.on('error', (error) => {
        clearTimeout(deadline);
        settle({ ok: false, error: describeFailure(error) });
      });
      req.end(body);
    } catch (error) {
      clearTimeout(deadline);
      settle({ ok: false, error: describeFailure(error) });
    }
  });
}
