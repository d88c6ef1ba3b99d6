/**
 * The Redis `LimitStore`, shared by every replica. Each write is one Lua script, atomic in Redis:
 * `hit` decides every rule's GCRA and charges all of them or none; `take` grants what is left of
 * a quota window, at most `wanted`; `refund` hands back what a take did not use. Reads (`peek`, `usage`) are single MGET / GET commands whose
 * values gcra.ts and quota-window.ts interpret, so nothing is ever get-then-set from here.
 *
 * Time is the caller's `now`, not Redis TIME, so this store and the memory store decide alike
 * under the same (controllable) clock. Key expiry runs on Redis's clock and is garbage collection
 * only: an expired bucket is a full one, and the margin covers clock skew between replicas and
 * Redis.
 *
 * Failure: opening returns at once and connects in the background; the client reconnects with
 * backoff (at most 2 s apart) until `close()`. While disconnected every call fails fast (no
 * offline queue); every call has a timeout, after which the connection is replaced. Failures
 * reject with RATE_LIMIT_UNAVAILABLE. The URL (which may carry a password) is never in an error.
 */
import {
  ClientClosedError,
  ClientOfflineError,
  createClient,
  defineScript,
  ErrorReply,
  TimeoutError,
  type CommandParser,
} from 'redis';
import { TongxiangError } from '../../core/index.ts';
import { checkCost, decodeGcraState, gcraPeek, validateRateRules, wholeMs } from './gcra.ts';
import { checkWanted, quotaTakeOf, quotaWindow, validateQuotaRule } from './quota-window.ts';
import type { LimitStore, QuotaRule, QuotaTake, QuotaWindow, RateDecision, RateRule } from './types.ts';

export interface RedisLimitStoreOptions {
  /** `redis[s]://[[user][:password]@]host[:port][/db]`. */
  readonly url: string;
  /** Prepended to every key; default `tongxiang:limit:`. */
  readonly keyPrefix?: string;
  /** Connection attempt timeout; default 2 000 ms. */
  readonly connectTimeoutMs?: number;
  /** Per-command timeout; default 1 000 ms. */
  readonly commandTimeoutMs?: number;
  /** Connection errors as they happen (each failed reconnect too); the store itself never logs. */
  readonly onError?: (error: unknown) => void;
}

/** Rate keys outlive their refill by this much (Redis clock vs the callers' clocks). */
const RATE_EXPIRY_MARGIN_MS = 60_000;
/** Quota counters outlive their window by this much. */
const QUOTA_EXPIRY_MARGIN_MS = 3_600_000;
const MAX_RECONNECT_DELAY_MS = 2_000;

/**
 * KEYS: one bucket per rule. ARGV: now, cost, expiry margin, then limit, periodMs, burst per rule.
 * gcra.ts's arithmetic step for step, in the same order, on integers that Lua's doubles hold
 * exactly; every reply is an integer (Lua → Redis conversion truncates fractions), -1 = never.
 * Reply: allowed (0/1), remaining, resetMs, retryAfterMs for each rule, flattened.
 */
const HIT_LUA = `
local now = tonumber(ARGV[1])
local cost = tonumber(ARGV[2])
local margin = tonumber(ARGV[3])
local states = redis.call('MGET', unpack(KEYS))
local out, after, admit = {}, {}, true
for i = 1, #KEYS do
  local limit = tonumber(ARGV[3 * i + 1])
  local period = tonumber(ARGV[3 * i + 2])
  local burst = tonumber(ARGV[3 * i + 3])
  local tau = period * burst
  local debt = 0
  local at, owed, per = string.match(states[i] or '', '^(%-?%d+):(%d+):(%d+)$')
  if at and tonumber(per) > 0 then
    owed = tonumber(owed)
    per = tonumber(per)
    if per ~= limit then owed = math.ceil((owed * limit) / per) end
    debt = math.max(0, owed - (now - tonumber(at)) * limit)
  end
  local b = 4 * (i - 1)
  local left = math.max(0, math.floor((tau - debt) / period))
  if cost > burst then
    admit = false
    out[b + 1], out[b + 2], out[b + 3], out[b + 4] = 0, left, math.ceil(debt / limit), -1
  else
    local nxt = debt + cost * period
    if nxt > tau then
      admit = false
      out[b + 1], out[b + 2], out[b + 3], out[b + 4] = 0, left, math.ceil(debt / limit), math.ceil((nxt - tau) / limit)
    else
      after[i] = nxt
      out[b + 1], out[b + 2], out[b + 3], out[b + 4] = 1, math.max(0, math.floor((tau - nxt) / period)), math.ceil(nxt / limit), 0
    end
  end
end
if admit then
  for i = 1, #KEYS do
    local state = string.format('%.0f:%.0f:%.0f', now, after[i], tonumber(ARGV[3 * i + 1]))
    redis.call('SET', KEYS[i], state, 'PX', string.format('%.0f', out[4 * i - 1] + margin))
  end
end
return out
`;

/** KEYS[1]: the window's counter. ARGV: wanted, limit, ttl (ms). Reply: granted, used. */
const TAKE_LUA = `
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local grant = math.min(tonumber(ARGV[1]), math.max(0, tonumber(ARGV[2]) - used))
if grant > 0 then
  used = redis.call('INCRBY', KEYS[1], string.format('%.0f', grant))
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return { grant, used }
`;

/** KEYS[1]: the window's counter. ARGV: units. Reply: the units handed back (never below zero). */
const REFUND_LUA = `
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local back = math.min(tonumber(ARGV[1]), used)
if back > 0 then redis.call('DECRBY', KEYS[1], string.format('%.0f', back)) end
return back
`;

function integers(reply: unknown): number[] {
  if (!Array.isArray(reply) || !reply.every((n) => typeof n === 'number')) throw new TypeError('unexpected script reply');
  return reply as number[];
}

/** Scripts take a variable number of keys: the count goes first, as EVAL wants it. */
function parseKeysAndArgs(parser: CommandParser, keys: readonly string[], args: readonly string[]): void {
  parser.push(String(keys.length));
  for (const key of keys) parser.pushKey(key);
  parser.push(...args);
}

// defineScript: node-redis sends EVALSHA and falls back to EVAL on NOSCRIPT.
const scripts = {
  txLimitHit: defineScript({ SCRIPT: HIT_LUA, parseCommand: parseKeysAndArgs, transformReply: integers }),
  txQuotaTake: defineScript({ SCRIPT: TAKE_LUA, parseCommand: parseKeysAndArgs, transformReply: integers }),
  txQuotaRefund: defineScript({ SCRIPT: REFUND_LUA, parseCommand: parseKeysAndArgs, transformReply: (reply: unknown) => Number(reply) }),
};

/** A call Redis did not answer in time. */
class NoAnswer extends Error {}

function checkUrl(url: unknown): void {
  let protocol = '';
  try {
    protocol = new URL(String(url)).protocol;
  } catch {
    // the reason must not echo the URL: it may hold a password
  }
  if (protocol !== 'redis:' && protocol !== 'rediss:') {
    throw new TongxiangError('CONFIG_INVALID', { reason: 'rate-limit Redis URL must be redis://… or rediss://…' });
  }
}

function positiveMs(value: number | undefined, fallback: number, name: string): number {
  const ms = value ?? fallback;
  if (!Number.isSafeInteger(ms) || ms <= 0) throw new TongxiangError('CONFIG_INVALID', { reason: `rate-limit Redis ${name} must be an integer > 0` });
  return ms;
}

/** Opens the store and returns at once; the connection is made (and remade) in the background. */
export function openRedisLimitStore(options: RedisLimitStoreOptions): LimitStore {
  checkUrl(options.url);
  const keyPrefix = options.keyPrefix ?? 'tongxiang:limit:';
  if (typeof keyPrefix !== 'string') throw new TongxiangError('CONFIG_INVALID', { reason: 'rate-limit Redis keyPrefix must be a string' });
  const connectTimeoutMs = positiveMs(options.connectTimeoutMs, 2_000, 'connectTimeoutMs');
  const commandTimeoutMs = positiveMs(options.commandTimeoutMs, 1_000, 'commandTimeoutMs');
  const onError = options.onError ?? (() => undefined);

  let closed = false;
  let lastCallOk = true;

  const newClient = () => {
    const fresh = createClient({
      url: options.url,
      scripts,
      disableOfflineQueue: true,
      // No node-redis command timeout (its default is 5 s): it arms an AbortSignal.timeout per
      // command that cannot be cleared, so every command's timer fires later and builds a
      // DOMException — CPU on every request for nothing. call() below races its own timer.
      commandOptions: { timeout: 0 },
      socket: {
        connectTimeout: connectTimeoutMs,
        // Forever, until close(): the hub must come back without a restart. Jitter spreads replicas.
        reconnectStrategy: (retries: number) => Math.min(MAX_RECONNECT_DELAY_MS, 50 * 2 ** Math.min(retries, 6)) + Math.floor(Math.random() * 100),
      },
    });
    // Without an 'error' listener node-redis would crash the process on the first refused connect.
    fresh.on('error', (error: unknown) => {
      if (!closed && fresh === client) onError(error);
    });
    fresh.on('ready', () => {
      if (closed || fresh !== client) fresh.destroy(); // a connect that finished after close or recycle
      else lastCallOk = true;
    });
    fresh.connect().catch(() => undefined); // rejects only when destroyed while connecting
    return fresh;
  };
  let client = newClient();

  /**
   * A written command has no timeout in node-redis, and a Redis that accepts but never answers
   * (stopped, wedged, half a partition) keeps the socket open. So each call races a timer, and a
   * timeout replaces the connection: the stale client is destroyed (its pending commands fail)
   * and a new one reconnects in the background.
   */
  const recycle = (stale: typeof client): void => {
    if (closed || stale !== client) return;
    client = newClient();
    stale.destroy();
  };

  const reasonOf = (error: unknown): string => {
    if (closed || error instanceof ClientClosedError) return 'closed';
    if (error instanceof ClientOfflineError) return 'not connected to Redis';
    if (error instanceof NoAnswer || error instanceof TimeoutError) return `no answer from Redis within ${commandTimeoutMs} ms`;
    if (error instanceof ErrorReply) return `Redis refused the command: ${error.message.split('\n')[0]!.slice(0, 200)}`;
    return 'connection to Redis lost';
  };

  /** Runs one Redis call; any failure becomes RATE_LIMIT_UNAVAILABLE (never a guess). */
  const call = async <T>(run: (redis: typeof client) => Promise<T>): Promise<T> => {
    if (closed) throw new TongxiangError('RATE_LIMIT_UNAVAILABLE', { reason: 'closed' });
    const used = client;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      // The timer fires in the event loop's timers phase; on a busy loop a reply may already sit
      // in the socket, read only in the poll phase that follows. Look once more after that
      // (setImmediate runs after poll): a late event loop is not a Redis that stopped answering.
      timer = setTimeout(() => setImmediate(() => reject(new NoAnswer())), commandTimeoutMs);
    });
    try {
      const result = await Promise.race([run(used), deadline]);
      lastCallOk = true;
      return result;
    } catch (error) {
      lastCallOk = false;
      if (error instanceof NoAnswer) recycle(used);
      throw new TongxiangError('RATE_LIMIT_UNAVAILABLE', { reason: reasonOf(error) }, { cause: error });
    } finally {
      clearTimeout(timer);
    }
  };

  const rateKey = (rule: RateRule): string => keyPrefix + rule.key;
  const quotaKey = (rule: QuotaRule, windowId: string): string => `${keyPrefix}${rule.key}:${windowId}`;

  return Object.freeze({
    kind: 'redis' as const,

    async hit(rules: readonly RateRule[], now: number, cost = 1): Promise<RateDecision[]> {
      validateRateRules(rules);
      checkCost(cost);
      const ms = wholeMs(now);
      if (rules.length === 0) return [];
      const args = [String(ms), String(cost), String(RATE_EXPIRY_MARGIN_MS)];
      for (const rule of rules) args.push(String(rule.limit), String(rule.periodMs), String(rule.burst ?? rule.limit));
      const reply = await call((redis) => redis.txLimitHit(rules.map(rateKey), args));
      return rules.map((rule, i) =>
        Object.freeze({
          rule,
          allowed: reply[4 * i] === 1,
          remaining: reply[4 * i + 1]!,
          resetMs: reply[4 * i + 2]!,
          retryAfterMs: reply[4 * i + 3] === -1 ? Infinity : reply[4 * i + 3]!,
        }),
      );
    },

    async peek(rules: readonly RateRule[], now: number): Promise<RateDecision[]> {
      validateRateRules(rules);
      const ms = wholeMs(now);
      if (rules.length === 0) return [];
      const states = await call((redis) => redis.mGet(rules.map(rateKey)));
      return rules.map((rule, i) => {
        const { allowed, remaining, resetMs, retryAfterMs } = gcraPeek(decodeGcraState(states[i]), ms, rule);
        return Object.freeze({ rule, allowed, remaining, resetMs, retryAfterMs });
      });
    },

    async take(rule: QuotaRule, wanted: number, now: number): Promise<QuotaTake> {
      validateQuotaRule(rule);
      checkWanted(wanted);
      const ms = wholeMs(now);
      const window = quotaWindow(ms);
      const ttlMs = window.endMs - ms + QUOTA_EXPIRY_MARGIN_MS;
      const [granted, used] = await call((redis) =>
        redis.txQuotaTake([quotaKey(rule, window.id)], [String(wanted), String(rule.limit), String(ttlMs)]),
      );
      return quotaTakeOf(rule, window, granted!, used!);
    },

    async usage(rule: QuotaRule, now: number): Promise<QuotaTake> {
      validateQuotaRule(rule);
      const window = quotaWindow(wholeMs(now));
      const used = await call((redis) => redis.get(quotaKey(rule, window.id)));
      return quotaTakeOf(rule, window, 0, used === null ? 0 : Number(used));
    },

    async refund(rule: QuotaRule, window: QuotaWindow, units: number): Promise<number> {
      validateQuotaRule(rule);
      checkWanted(units);
      if (units === 0) return 0;
      return call((redis) => redis.txQuotaRefund([quotaKey(rule, window.id)], [String(units)]));
    },

    healthy: () => !closed && client.isReady && lastCallOk,

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      const last = client;
      if (!last.isOpen) return last.destroy();
      // Let in-flight commands finish, but not for longer than one of them may take.
      const force = setTimeout(() => last.destroy(), commandTimeoutMs);
      await last.close().catch(() => last.destroy());
      clearTimeout(force);
    },
  });
}
