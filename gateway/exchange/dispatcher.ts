/**
 * The webhook dispatcher (推送调度): reads the pipeline's event outbox past the webhook cursor,
 * enqueues deliveries (store.enqueue: idempotent), hands new events to live listeners (SSE), and
 * POSTs every due delivery — per subscription one at a time, in event order (only a
 * subscription's first pending delivery is ever due), different subscriptions side by side.
 *
 * It runs on `kick()` (each `pipeline.onEvent`, a replay, start), when the next retry falls due,
 * and on a poll every `pollMs` for anything a kick missed (an event published by another replica,
 * a kick lost in a restart). One run at a time; a kick during a run runs again right after.
 *
 * Every delivery is decided again when it is due: the subscription must still be active, the
 * webhook URL still on the allow-list, and the consumer still entitled (contracts/grants now) —
 * a contract suspended, revoked or expired since the event means `not-entitled`: not sent, not
 * retried, not dead-lettered.
 */
import type { ActiveGrant } from '../../contracts/index.ts';
import type { Clock } from '../../core/index.ts';
import type { ChangeEvent } from '../../sources/filedrop/model.ts';
import { afterAttempt, postWebhook, type DeliverySettings } from './delivery.ts';
import { entitled } from './entitlement.ts';
import { webhookPayload, type DeliveryOutcome, type DueDelivery } from './model.ts';
import { SIGNATURE_HEADER, type EventSigner } from './signing.ts';
import { WEBHOOK_CURSOR, type ExchangeStore } from './store.ts';
import { checkWebhookUrl, redactUrl, type WebhookAllowList } from './webhook-url.ts';

export interface ExchangeLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export interface DispatcherOptions {
  readonly store: ExchangeStore;
  readonly events: (afterSeq: number, limit: number) => Promise<ChangeEvent[]>;
  readonly grantsFor: (department: string, now: number) => Promise<readonly ActiveGrant[]>;
  readonly graphqlTypeOf: (dataset: string) => string | undefined;
  readonly signer: EventSigner;
  readonly allow: WebhookAllowList;
  readonly settings: DeliverySettings;
  readonly clock: Clock;
  readonly logger: ExchangeLogger;
  /** Names this process's claims. */
  readonly instance: string;
  readonly pollMs: number;
  /** POSTs at once (to different subscriptions). */
  readonly concurrency: number;
  /** New events, in order, as the outbox yields them (for SSE). */
  readonly onLive: (events: readonly ChangeEvent[]) => void;
  readonly random?: () => number;
}

export interface Dispatcher {
  kick(): void;
  /** Reads the outbox now (enqueue and live), after any read already running. */
  catchUp(): Promise<void>;
  /** The live position: events up to it have been handed to live listeners. */
  liveSeq(): number;
  /** Stops timers, waits for the run in progress (its POSTs included). */
  close(): Promise<void>;
}

const PAGE = 100;

export async function startDispatcher(options: DispatcherOptions): Promise<Dispatcher> {
  const { store, clock, logger, settings } = options;
  const random = options.random ?? Math.random;
  // Claims outlive a POST's deadline by a margin, so no other replica takes a delivery mid-POST;
  // a crashed holder's claims lapse by themselves.
  const leaseMs = settings.timeoutMs * 2 + 10_000;

  let dbCursor = await store.cursor(WEBHOOK_CURSOR);
  // Live listeners hear of what is published from now on.
  let live = dbCursor;
  let closed = false;
  let running: Promise<void> | null = null;
  let again = false;
  let timer: NodeJS.Timeout | null = null;
  let reading: Promise<void> = Promise.resolve();
  let lastProblem: string | null = null;

  function problem(what: string, error: unknown): void {
    const text = `${what}: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`;
    // The same failure every poll says nothing new: once until something works again.
    if (text === lastProblem) return;
    lastProblem = text;
    logger.warn('exchange dispatcher problem; will retry', { problem: text });
  }

  async function readOutbox(): Promise<void> {
    for (;;) {
      const from = Math.min(live, dbCursor);
      const batch = await options.events(from, PAGE);
      if (batch.length === 0) return;
      const fresh = batch.filter((e) => e.seq > live);
      if (fresh.length > 0) {
        live = fresh[fresh.length - 1]!.seq;
        try {
          options.onLive(fresh);
        } catch (error) {
          problem('live listeners', error);
        }
      }
      if (batch.some((e) => e.seq > dbCursor)) {
        const { cursor, enqueued } = await store.enqueue(batch, new Date(clock.now()));
        dbCursor = Math.max(dbCursor, cursor);
        if (enqueued > 0) logger.info('exchange deliveries enqueued', { deliveries: enqueued, cursor: dbCursor });
      }
      if (batch.length < PAGE) return;
    }
  }

  /** One outbox read at a time (a subscribe's catch-up and the loop's both come here). */
  function catchUp(): Promise<void> {
    const next = reading.then(readOutbox, readOutbox);
    reading = next.catch(() => undefined);
    return next;
  }

  async function finish(d: DueDelivery, outcome: DeliveryOutcome): Promise<void> {
    const stored = await store.finish(d.id, options.instance, outcome, new Date(clock.now()));
    if (!stored) logger.warn('exchange delivery outcome not recorded: claim lapsed', { deliveryId: d.id, status: outcome.status });
  }

  const unchanged = (d: DueDelivery, status: DeliveryOutcome['status'], lastError: string | null): DeliveryOutcome => ({
    status,
    attempts: d.attempts,
    nextAttemptAt: null,
    lastAttemptAt: d.lastAttemptAt,
    lastError,
    deliveredAt: null,
  });

  async function deliver(d: DueDelivery): Promise<void> {
    const now = clock.now();
    if (!(await store.claim(d.id, options.instance, new Date(now + leaseMs), new Date(now)))) return;
    const where = { deliveryId: d.id, subscriptionId: d.subscriptionId, consumer: d.consumer, eventId: d.event.id };
    try {
      if (d.subscriptionState !== 'active') {
        await finish(d, unchanged(d, 'cancelled', null));
        return;
      }
      const grants = await options.grantsFor(d.consumer, now);
      const entitlement = entitled(d.consumer, d.event, options.graphqlTypeOf(d.dataset), grants);
      if (!entitlement.ok) {
        await finish(d, unchanged(d, 'not-entitled', `not entitled: ${entitlement.reason}`));
        logger.info('exchange delivery not sent: consumer no longer entitled', where);
        return;
      }
      const url = checkWebhookUrl(d.webhookUrl, options.allow);
      if (!url.ok) {
        // The allow-list shrank since the subscription: never POST past it, never retry.
        await finish(d, { ...unchanged(d, 'dead', `webhook URL no longer allowed: ${url.reason}`), lastAttemptAt: new Date(now) });
        logger.warn('exchange delivery dead: webhook URL no longer on the allow-list', { ...where, webhook: redactUrl(d.webhookUrl) });
        return;
      }
      const body = Buffer.from(JSON.stringify(webhookPayload(d.event, d.subscriptionId)), 'utf8');
      const signature = await options.signer.sign(body, now);
      const result = await postWebhook(
        url.url,
        body,
        {
          'content-type': 'application/json; charset=utf-8',
          'user-agent': 'tongxiang-exchange/1',
          [SIGNATURE_HEADER]: signature,
          'Tongxiang-Event-Id': d.event.id,
          'Tongxiang-Delivery-Id': d.id,
          'Tongxiang-Delivery-Attempt': String(d.attempts + 1),
        },
        settings.timeoutMs,
      );
      const outcome = afterAttempt(d.attempts, result, settings, clock.now(), random());
      await finish(d, outcome);
      const fields = { ...where, webhook: redactUrl(url.url), attempt: outcome.attempts, ...(outcome.lastError ? { error: outcome.lastError } : {}) };
      if (outcome.status === 'delivered') logger.info('exchange webhook delivered', fields);
      else if (outcome.status === 'dead') logger.warn('exchange webhook dead after its last attempt', fields);
      else logger.info('exchange webhook failed; will retry', { ...fields, nextAttemptAt: outcome.nextAttemptAt?.toISOString() });
    } catch (error) {
      // Could not decide (the contract store or the database is away): no attempt counted, due again shortly.
      problem(`delivery ${d.id}`, error);
      await store
        .finish(d.id, options.instance, { ...unchanged(d, 'pending', d.lastError), nextAttemptAt: new Date(clock.now() + settings.baseDelayMs) }, new Date(clock.now()))
        .catch(() => undefined);
    }
  }

  async function dispatchDue(): Promise<void> {
    while (!closed) {
      const due = await store.dueHeads(new Date(clock.now()), options.concurrency * 4);
      if (due.length === 0) return;
      let next = 0;
      const worker = async (): Promise<void> => {
        while (!closed && next < due.length) await deliver(due[next++]!);
      };
      await Promise.all(Array.from({ length: Math.min(options.concurrency, due.length) }, worker));
    }
  }

  async function run(): Promise<number> {
    let healthy = true;
    try {
      await catchUp();
    } catch (error) {
      healthy = false;
      problem('reading the event outbox', error);
    }
    try {
      await dispatchDue();
      const at = await store.nextDueAt();
      if (healthy) lastProblem = null;
      return at === null ? options.pollMs : Math.min(options.pollMs, Math.max(0, at.getTime() - clock.now()));
    } catch (error) {
      problem('delivering', error);
      return options.pollMs;
    }
  }

  function kick(): void {
    if (closed) return;
    if (running) {
      again = true;
      return;
    }
    if (timer) clearTimeout(timer);
    timer = null;
    let delay = options.pollMs;
    running = run()
      .then((d) => {
        delay = d;
      })
      .finally(() => {
        running = null;
        if (closed) return;
        if (again) {
          again = false;
          kick();
          return;
        }
        timer = setTimeout(kick, Math.max(delay, 5));
        timer.unref();
      });
  }

  kick();

  return {
    kick,
    catchUp,
    liveSeq: () => live,
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = null;
      await running;
      await reading;
    },
  };
}
