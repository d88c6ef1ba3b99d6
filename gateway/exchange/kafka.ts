/**
 * Change events to Kafka (topic `tongxiang.exchange`), at least once, from the pipeline's event
 * outbox with a cursor of its own (`kafka:<topic>` in the exchange store).
 *
 * The pattern is the audit shipper's (audit/kafka.ts): an idempotent node-rdkafka producer with
 * acks=all and no message timeout, so while the broker is away librdkafka keeps every message and
 * retries it in order; the cursor advances only over events whose delivery reports came back, in
 * outbox order (a report for event n+1 before n waits for n); when the producer fails for good
 * it is replaced and everything past the cursor is produced again. Duplicates are possible (the
 * event's `id` names it: consumers drop repeats), losses and per-key reordering are not.
 *
 * Message key `<dataset>/<department>` (one department's dataset stays in one partition, in
 * version order); value the event's JSON (counts only, no field values).
 *
 * Nothing here throws into the caller: errors go to `onError` (each distinct one once until the
 * producer makes progress again) and to `status().lastError`.
 */
import Kafka from 'node-rdkafka';
import type { DeliveryReport, LibrdKafkaError, Producer } from 'node-rdkafka';
import type { ChangeEvent } from '../../sources/filedrop/model.ts';
import { plainEvent } from './model.ts';

export const DEFAULT_EXCHANGE_TOPIC = 'tongxiang.exchange';

export interface ExchangeKafkaOptions {
  /** Bootstrap servers, `host:port[,host:port…]`. */
  readonly brokers: string;
  /** Default `tongxiang.exchange`. */
  readonly topic?: string | undefined;
  readonly events: (afterSeq: number, limit: number) => Promise<ChangeEvent[]>;
  /** The persisted position: every event with a seq at or below it has been acknowledged. */
  readonly cursor: { load(): Promise<number>; save(seq: number): Promise<void> };
  /** How often the outbox is read when nothing kicks; default 1 000 ms. */
  readonly pollMs?: number | undefined;
  /** Events handed to the producer and not yet acknowledged, at most; default 1 000. */
  readonly maxInFlight?: number | undefined;
  readonly onError?: ((error: Error) => void) | undefined;
}

export interface ExchangeKafkaStatus {
  readonly topic: string;
  /** Events up to this seq are acknowledged by Kafka. */
  readonly cursor: number;
  /** Produced and not yet acknowledged. */
  readonly inFlight: number;
  readonly connected: boolean;
  readonly lastError: string | null;
}

export interface ExchangeKafka {
  /** Read the outbox now (after a publication). */
  kick(): void;
  status(): ExchangeKafkaStatus;
  /** Resolves once every event now in the outbox is acknowledged; rejects after `timeoutMs`. */
  drain(timeoutMs: number): Promise<void>;
  /** Stops, collects acknowledgements already on their way (briefly), saves the cursor, disconnects. */
  close(): Promise<void>;
}

export function exchangeMessageKey(event: Pick<ChangeEvent, 'dataset' | 'department'>): string {
  return `${event.dataset}/${event.department}`;
}

interface Opaque {
  readonly generation: number;
  readonly seq: number;
}

const ERR = Kafka.CODES.ERRORS;
const CONNECT_TIMEOUT_MS = 10_000;
const BACKOFF_MAX_MS = 30_000;

export function startExchangeKafka(options: ExchangeKafkaOptions): ExchangeKafka {
  const topic = options.topic ?? DEFAULT_EXCHANGE_TOPIC;
  const pollMs = Math.max(10, options.pollMs ?? 1_000);
  const maxInFlight = Math.max(1, options.maxInFlight ?? 1_000);

  let loaded = false;
  /** Acknowledged prefix of the outbox (a seq). */
  let cursor = 0;
  let saved = 0;
  /** Last seq handed to the producer. */
  let produced = 0;
  /** Seqs produced and not yet part of the acknowledged prefix, in outbox order. */
  let inFlight: number[] = [];
  const acked = new Set<number>();
  let connected = false;
  let lastError: string | null = null;
  const reported = new Set<string>();
  let closed = false;

  let producer: Producer | null = null;
  let generation = 0;
  let failures = 0;
  let notBefore = 0;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let again = false;
  let saving: Promise<void> | null = null;
  const waiters = new Set<() => void>();

  function report(phase: string, error: unknown): void {
    const message = `Kafka exchange producer (${phase}): ${describe(error)}`;
    lastError = message;
    if (reported.has(message)) return;
    if (reported.size > 100) reported.clear();
    reported.add(message);
    try {
      options.onError?.(new Error(message));
    } catch {
      /* the callback's own failure is not ours to raise */
    }
  }

  const notify = (): void => {
    for (const wake of [...waiters]) wake();
  };

  function changed(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        waiters.delete(done);
        resolve();
      };
      const t = setTimeout(done, ms);
      waiters.add(done);
    });
  }

  function save(): Promise<void> {
    if (saving) return saving;
    saving = (async () => {
      try {
        while (saved !== cursor) {
          const value = cursor;
          await options.cursor.save(value);
          saved = value;
        }
      } catch (e) {
        report('saving the cursor', e);
      } finally {
        saving = null;
      }
    })();
    return saving;
  }

  function onDelivery(error: LibrdKafkaError | null, delivery: DeliveryReport): void {
    const opaque = delivery.opaque as Opaque | undefined;
    // A report from a replaced producer: what it carried is being produced again anyway.
    if (!opaque || opaque.generation !== generation || closed) return;
    if (error) {
      fail('delivery', error);
      return;
    }
    connected = true;
    failures = 0;
    acked.add(opaque.seq);
    let advanced = false;
    while (inFlight.length > 0 && acked.delete(inFlight[0]!)) {
      cursor = inFlight.shift()!;
      advanced = true;
    }
    if (advanced) {
      reported.clear();
      void save();
      notify();
    }
  }

  function onEventError(p: Producer, error: LibrdKafkaError): void {
    if (p !== producer) return;
    // node-rdkafka's error events carry librdkafka's error string, not always its code.
    const text = String(error.message).toLowerCase();
    const is = (code: number, words: string): boolean => error.code === code || text.includes(words);
    if (is(ERR.ERR__ALL_BROKERS_DOWN, 'all broker connections are down') || is(ERR.ERR__TRANSPORT, 'broker transport failure')) connected = false;
    if (error.isFatal || is(ERR.ERR__FATAL, 'fatal error')) {
      fail('producer', error);
      return;
    }
    report('broker', error);
  }

  /** Drops the producer; the next run makes a new one and produces everything past the cursor again. */
  function fail(phase: string, error: unknown): void {
    report(phase, error);
    connected = false;
    const old = producer;
    producer = null;
    generation++;
    produced = cursor;
    inFlight = [];
    acked.clear();
    failures++;
    notBefore = Date.now() + Math.min(BACKOFF_MAX_MS, 250 * 2 ** Math.min(failures, 8));
    if (old) void disconnect(old, 0);
  }

  function createProducer(): Promise<Producer> {
    const p = new Kafka.Producer(
      {
        'metadata.broker.list': options.brokers,
        'client.id': 'tongxiang-exchange',
        'enable.idempotence': true,
        dr_cb: true,
        'linger.ms': 5,
        'retry.backoff.ms': 100,
        'retry.backoff.max.ms': 1000,
        'reconnect.backoff.ms': 100,
        'reconnect.backoff.max.ms': 1000,
        'socket.keepalive.enable': true,
        'log.connection.close': false,
      },
      // acks=all; no message timeout: while the broker is away librdkafka keeps every message and retries in order.
      { 'request.required.acks': -1, 'message.timeout.ms': 0 },
    );
    p.on('delivery-report', (e: LibrdKafkaError | null, r: DeliveryReport) => {
      try {
        onDelivery(e, r);
      } catch (err) {
        report('delivery report', err);
      }
    });
    p.on('event.error', (e: LibrdKafkaError) => {
      try {
        onEventError(p, e);
      } catch (err) {
        report('broker', err);
      }
    });
    return new Promise((resolve, reject) => {
      p.connect({ timeout: CONNECT_TIMEOUT_MS }, (error) => {
        if (error) {
          p.removeAllListeners();
          reject(error);
          return;
        }
        p.setPollInterval(50);
        resolve(p);
      });
    });
  }

  async function feed(p: Producer, gen: number): Promise<void> {
    while (!closed && gen === generation && inFlight.length < maxInFlight) {
      const batch = await options.events(produced, Math.min(200, maxInFlight - inFlight.length));
      if (batch.length === 0 || closed || gen !== generation) return;
      for (const event of batch) {
        try {
          const value = Buffer.from(JSON.stringify(plainEvent(event)), 'utf8');
          p.produce(topic, null, value, exchangeMessageKey(event), null, { generation: gen, seq: event.seq } satisfies Opaque);
        } catch (e) {
          // Queue full: the next run goes on from here. Anything else: reported, retried then.
          if ((e as LibrdKafkaError).code !== ERR.ERR__QUEUE_FULL) report('produce', e);
          return;
        }
        produced = event.seq;
        inFlight.push(event.seq);
      }
    }
  }

  async function tick(): Promise<void> {
    if (!loaded) {
      cursor = saved = produced = await options.cursor.load();
      loaded = true;
    }
    if (closed) return;
    if (!producer) {
      if (Date.now() < notBefore) return;
      const gen = generation;
      try {
        const p = await createProducer();
        if (closed || gen !== generation) {
          void disconnect(p, 0);
          return;
        }
        producer = p;
        connected = true;
      } catch (e) {
        connected = false;
        failures++;
        notBefore = Date.now() + Math.min(BACKOFF_MAX_MS, 250 * 2 ** Math.min(failures, 8));
        report('connect', e);
        return;
      }
    }
    await feed(producer, generation);
  }

  function kick(): void {
    if (closed) return;
    if (running) {
      again = true;
      return;
    }
    if (timer) clearTimeout(timer);
    timer = null;
    running = tick()
      .catch((e: unknown) => report('poll', e))
      .finally(() => {
        running = null;
        notify();
        if (closed) return;
        if (again) {
          again = false;
          kick();
          return;
        }
        timer = setTimeout(kick, pollMs);
        timer.unref();
      });
  }

  kick();

  return {
    kick,
    status: () => ({ topic, cursor, inFlight: inFlight.length, connected: connected && producer !== null, lastError }),

    async drain(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (!loaded) {
        if (closed || Date.now() > deadline) throw new Error('Kafka exchange producer: not started');
        await changed(50);
      }
      let target = cursor;
      for (;;) {
        const batch = await options.events(target, 500);
        if (batch.length === 0) break;
        target = batch[batch.length - 1]!.seq;
      }
      kick();
      while (cursor < target) {
        if (closed) throw new Error('Kafka exchange producer is closed');
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`Kafka exchange producer: events up to seq ${target} not acknowledged within ${timeoutMs} ms (at ${cursor})${lastError ? `; last error: ${lastError}` : ''}`);
        await changed(Math.min(100, left));
      }
      await save();
    },

    async close() {
      if (closed) return;
      const p = producer;
      // Collect acknowledgements already on their way before the reports stop counting.
      if (p && inFlight.length > 0) await flush(p, 2_000);
      closed = true;
      if (timer) clearTimeout(timer);
      timer = null;
      if (running) await Promise.race([running, new Promise((resolve) => setTimeout(resolve, 1_000).unref())]);
      producer = null;
      if (p) await disconnect(p, 500);
      connected = false;
      if (loaded) await save();
      notify();
    },
  };
}

function flush(p: Producer, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    try {
      p.flush(timeoutMs, () => resolve());
    } catch {
      resolve();
    }
  });
}

function disconnect(p: Producer, flushMs: number): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(guard);
      p.removeAllListeners();
      resolve();
    };
    const guard = setTimeout(done, flushMs + 10_000);
    guard.unref();
    try {
      p.disconnect(flushMs, done);
    } catch {
      done();
    }
  });
}

function describe(error: unknown): string {
  if (error && typeof error === 'object' && 'message' in error) {
    const e = error as { message: unknown; code?: unknown };
    return typeof e.code === 'number' || typeof e.code === 'string' ? `${String(e.message)} (${String(e.code)})` : String(e.message);
  }
  return String(error);
}
