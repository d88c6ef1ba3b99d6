/**
 * Ships the audit trail to Kafka (topic `tongxiang.audit`) and reads it back for verification.
 *
 * Shipping is at-least-once from the local durable log: the shipper re-reads its source, hands every
 * entry past the acknowledged prefix to an idempotent node-rdkafka producer (acks=all, no message
 * timeout, so librdkafka keeps retrying in order while the broker is away), and persists in
 * `stateFile` how many leading source entries Kafka has acknowledged — only once delivery reports
 * confirm them. After a restart it resumes from there. When the producer fails for good (a fatal
 * idempotence error, a refused message) it is replaced and everything past the acknowledged prefix
 * is sent again: duplicates are possible, losses and per-key reordering are not. The verifier
 * counts duplicates once.
 *
 * Message key: the consumer department for access records (the instance when there is none), the
 * instance for admin records and checkpoints. Value: the entry's JSON (one JSONL line, without the
 * newline). Keys spread one instance over partitions, so `readKafkaTopic` puts entries back in
 * chain order (per instance by seq, a record before the checkpoint of the same seq).
 *
 * Nothing here throws into the caller or blocks it: errors go to `onError` (messages only, never
 * record contents) and to `status().lastError`.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import Kafka from 'node-rdkafka';
import type { DeliveryReport, KafkaConsumer, LibrdKafkaError, Message, Metadata, Producer, TopicPartitionOffset, WatermarkOffsets } from 'node-rdkafka';
import type { LogEntry } from './types.ts';

export const DEFAULT_AUDIT_TOPIC = 'tongxiang.audit';

export interface KafkaShipperSource {
  /** Every entry of the local log, in append order, from the first. */
  read(): AsyncIterable<LogEntry>;
  /** Optional: entries from index `from` on, cheaply (the file store has it); else read() is skipped through. */
  readFrom?(from: number): AsyncIterable<LogEntry>;
}

export interface KafkaShipperOptions {
  readonly source: KafkaShipperSource;
  /** Bootstrap servers, `host:port[,host:port…]`. */
  readonly brokers: string;
  /** Default `tongxiang.audit`. */
  readonly topic?: string;
  /** Where the count of acknowledged source entries is kept (JSON, replaced atomically). */
  readonly stateFile: string;
  /** How often the source is read for new entries; default 500 ms. */
  readonly pollMs?: number;
  /** Entries handed to the producer and not yet acknowledged, at most; default 10 000. */
  readonly maxInFlight?: number;
  /** Errors (each distinct message once until shipping makes progress again); never record contents. */
  readonly onError?: (error: unknown) => void;
}

export interface KafkaShipperStatus {
  /** Leading source entries acknowledged by Kafka (and so persisted, or about to be). */
  readonly shipped: number;
  /** Entries seen in the source and not yet acknowledged. */
  readonly pending: number;
  /** Whether the producer is talking to a broker. */
  readonly connected: boolean;
  readonly lastError: string | null;
}

export interface KafkaShipper {
  status(): KafkaShipperStatus;
  /** Resolves once every entry now in the source is acknowledged; rejects after `timeoutMs`. */
  drain(timeoutMs: number): Promise<void>;
  /** Stops polling, waits briefly for outstanding acknowledgements, saves the state, disconnects. */
  close(): Promise<void>;
}

interface ShipperState {
  readonly version: 1;
  readonly topic: string;
  readonly shipped: number;
  readonly updatedAt: string;
}

interface Opaque {
  readonly generation: number;
  readonly index: number;
}

/** The message key of an entry: see the module comment. */
export function kafkaMessageKey(entry: LogEntry): string {
  if (entry.kind === 'checkpoint') return entry.instance;
  const record = entry.record;
  if (record.type === 'access') return record.department ?? record.instance;
  return record.instance;
}

const ERR = Kafka.CODES.ERRORS;
const CONNECT_TIMEOUT_MS = 10_000;
const BACKOFF_MAX_MS = 30_000;

export function startKafkaShipper(options: KafkaShipperOptions): KafkaShipper {
  const topic = options.topic ?? DEFAULT_AUDIT_TOPIC;
  const pollMs = Math.max(10, options.pollMs ?? 500);
  const maxInFlight = Math.max(1, options.maxInFlight ?? 10_000);

  let loaded = false;
  /** Leading source entries acknowledged. */
  let shipped = 0;
  /** Next source index to hand to the producer. */
  let produced = 0;
  /** Indexes ≥ shipped acknowledged out of order (partitions answer independently). */
  const acked = new Set<number>();
  /** Entries seen in the source (at least). */
  let sourceCount = 0;
  let connected = false;
  let lastError: string | null = null;
  /** Errors already handed to onError since the last progress: each once per episode. */
  const reported = new Set<string>();
  let closed = false;

  let producer: Producer | null = null;
  let generation = 0;
  let failures = 0;
  let notBefore = 0;

  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let again = false;
  const waiters = new Set<() => void>();

  let persisted = 0;
  let persisting: Promise<void> | null = null;

  function report(phase: string, error: unknown): void {
    const message = `Kafka audit shipper (${phase}): ${describe(error)}`;
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

  function notify(): void {
    for (const wake of [...waiters]) wake();
  }

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

  // --- state file -------------------------------------------------------------------------------

  async function loadState(): Promise<void> {
    let text: string;
    try {
      text = await readFile(options.stateFile, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      loaded = true;
      return;
    }
    let state: Partial<ShipperState> | null = null;
    try {
      state = JSON.parse(text) as Partial<ShipperState>;
    } catch {
      /* handled below */
    }
    if (state === null || typeof state !== 'object' || typeof state.shipped !== 'number' || !Number.isInteger(state.shipped) || state.shipped < 0) {
      // At least once: with no trustworthy count, everything is sent again (duplicates, no loss).
      report('state file', new Error(`${options.stateFile} holds no valid "shipped" count; shipping again from the first entry`));
    } else if (state.topic === undefined || state.topic === topic) {
      shipped = produced = persisted = state.shipped;
      sourceCount = Math.max(sourceCount, shipped);
    }
    // A count for another topic: this topic starts from the first entry.
    loaded = true;
  }

  function persist(): Promise<void> {
    if (persisting) return persisting;
    persisting = (async () => {
      try {
        while (persisted !== shipped) {
          const value = shipped;
          const state: ShipperState = { version: 1, topic, shipped: value, updatedAt: new Date().toISOString() };
          await writeAtomically(options.stateFile, JSON.stringify(state) + '\n');
          persisted = value;
        }
      } catch (e) {
        report('state file', e);
      } finally {
        persisting = null;
      }
    })();
    return persisting;
  }

  // --- producer ---------------------------------------------------------------------------------

  function onDelivery(error: LibrdKafkaError | null, delivery: DeliveryReport): void {
    try {
      acknowledge(error, delivery);
    } catch (e) {
      report('delivery report', e);
    }
  }

  function acknowledge(error: LibrdKafkaError | null, delivery: DeliveryReport): void {
    const opaque = delivery.opaque as Opaque | undefined;
    if (!opaque) return;
    if (error) {
      if (opaque.generation === generation && !closed) fail('delivery', error);
      return;
    }
    // A success is real whatever producer generation sent it.
    connected = true;
    failures = 0;
    if (opaque.index >= shipped) acked.add(opaque.index);
    let advanced = false;
    while (acked.delete(shipped)) {
      shipped++;
      advanced = true;
    }
    if (produced < shipped) produced = shipped;
    if (advanced) {
      reported.clear();
      void persist();
      notify();
    }
  }

  function onEventError(p: Producer, error: LibrdKafkaError): void {
    if (p !== producer) return;
    // node-rdkafka's error events carry librdkafka's error string, not its code (code -1).
    const text = String(error.message).toLowerCase();
    const is = (code: number, words: string): boolean => error.code === code || text.includes(words);
    if (is(ERR.ERR__ALL_BROKERS_DOWN, 'all broker connections are down') || is(ERR.ERR__TRANSPORT, 'broker transport failure') || is(ERR.ERR__RESOLVE, 'host resolution failure')) {
      connected = false;
    }
    if (error.isFatal || is(ERR.ERR__FATAL, 'fatal error')) {
      fail('producer', error);
      return;
    }
    report('broker', error);
  }

  /** Drops the producer; the next tick makes a new one and resends everything past `shipped`. */
  function fail(phase: string, error: unknown): void {
    report(phase, error);
    connected = false;
    const old = producer;
    producer = null;
    generation++;
    produced = shipped;
    failures++;
    notBefore = Date.now() + Math.min(BACKOFF_MAX_MS, 250 * 2 ** Math.min(failures, 8));
    if (old) void disconnect(old, 0);
  }

  function createProducer(): Promise<Producer> {
    const p = new Kafka.Producer(
      {
        'metadata.broker.list': options.brokers,
        'client.id': 'tongxiang-audit-shipper',
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
    p.on('delivery-report', onDelivery);
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

  // --- the loop ---------------------------------------------------------------------------------

  async function feed(p: Producer, gen: number): Promise<void> {
    // Only what has not been produced yet, when the source can start there (each poll would
    // otherwise read the whole log again).
    const source = options.source;
    const start = source.readFrom ? produced : 0;
    let index = start;
    let complete = true;
    for await (const entry of source.readFrom ? source.readFrom(start) : source.read()) {
      if (closed || gen !== generation) {
        complete = false;
        break;
      }
      if (index >= produced) {
        if (produced - shipped >= maxInFlight) {
          complete = false;
          break;
        }
        try {
          p.produce(topic, null, Buffer.from(JSON.stringify(entry), 'utf8'), kafkaMessageKey(entry), null, { generation: gen, index } satisfies Opaque);
        } catch (e) {
          // Queue full: wait for the next tick. Anything else: report and retry then.
          if ((e as LibrdKafkaError).code !== ERR.ERR__QUEUE_FULL) report('produce', e);
          complete = false;
          break;
        }
        produced = index + 1;
      }
      index++;
    }
    sourceCount = complete ? index : Math.max(sourceCount, index);
    if (complete && index < shipped) report('source', new Error(`the source has ${index} entries but ${shipped} were already shipped (state file ${options.stateFile})`));
  }

  async function tick(): Promise<void> {
    if (!loaded) await loadState();
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
    if (!connected && produced === shipped) probe(producer);
  }

  /** After the broker was lost and with nothing in flight to tell us: is it back? In the background. */
  let probing = false;
  function probe(p: Producer): void {
    if (probing) return;
    probing = true;
    try {
      p.getMetadata({ topic, timeout: 2000 }, (error) => {
        probing = false;
        if (!error && p === producer) connected = true;
      });
    } catch {
      probing = false;
    }
  }

  function kick(): void {
    if (closed) return;
    if (running) {
      again = true;
      return;
    }
    if (timer) {
      clearTimeout(timer);
      timer = null;
    }
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
    status() {
      return { shipped, pending: Math.max(0, sourceCount - shipped), connected: connected && producer !== null, lastError };
    },

    async drain(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (!loaded) {
        if (closed) throw new Error('Kafka audit shipper is closed');
        if (Date.now() > deadline) throw new Error(`Kafka audit shipper: state not loaded within ${timeoutMs} ms`);
        await changed(Math.min(100, deadline - Date.now()));
      }
      let target = 0;
      for await (const _ of options.source.read()) target++;
      kick();
      while (shipped < target) {
        if (closed) throw new Error('Kafka audit shipper is closed');
        const left = deadline - Date.now();
        if (left <= 0) {
          throw new Error(`Kafka audit shipper: ${target - shipped} of ${target} entries not acknowledged by Kafka within ${timeoutMs} ms${lastError ? ` (last error: ${lastError})` : ''}`);
        }
        await changed(Math.min(100, left));
      }
      await persist();
    },

    async close() {
      if (closed) return;
      closed = true;
      if (timer) clearTimeout(timer);
      timer = null;
      // A tick that is feeding stops at the next entry; one still connecting disconnects by itself.
      if (running) await Promise.race([running, new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
      const p = producer;
      producer = null;
      if (p) {
        // Collect the acknowledgements already on their way, then let go.
        if (produced > shipped) await flush(p, 2000);
        await disconnect(p, 500);
      }
      connected = false;
      if (loaded) await persist();
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

function disconnect(p: Producer | KafkaConsumer, flushMs: number): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(guard);
      p.removeAllListeners();
      resolve();
    };
    const guard = setTimeout(done, flushMs + 10_000);
    guard.unref();
    try {
      if (p instanceof Kafka.Producer) p.disconnect(flushMs, done);
      else p.disconnect(done);
    } catch {
      done();
    }
  });
}

async function writeAtomically(file: string, text: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`;
  const handle = await open(temp, 'w');
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, file);
  } catch (e) {
    await rm(temp, { force: true });
    throw e;
  }
}

function describe(error: unknown): string {
  if (error && typeof error === 'object' && 'message' in error) {
    const e = error as { message: unknown; code?: unknown };
    return typeof e.code === 'number' || typeof e.code === 'string' ? `${String(e.message)} (${String(e.code)})` : String(e.message);
  }
  return String(error);
}

// --- reading back ---------------------------------------------------------------------------------

export interface ReadKafkaTopicOptions {
  readonly brokers: string;
  /** Default `tongxiang.audit`. */
  readonly topic?: string;
  /** For the whole read; default 30 s. */
  readonly timeoutMs?: number;
}

/**
 * Every entry in the topic, from the beginning of each partition to its end offset when the read
 * began, in chain order: by instance, then seq, a record before the checkpoint of the same seq
 * (the sort is stable, so duplicates stay next to each other). Duplicates are kept. A missing topic
 * reads as empty; a message that is not a log entry is an error naming its partition and offset.
 */
export async function readKafkaTopic(options: ReadKafkaTopicOptions): Promise<LogEntry[]> {
  const topic = options.topic ?? DEFAULT_AUDIT_TOPIC;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  const left = (): number => Math.max(1, deadline - Date.now());
  const consumer = new Kafka.KafkaConsumer(
    {
      'metadata.broker.list': options.brokers,
      'group.id': `tongxiang-audit-read-${randomUUID()}`,
      'client.id': 'tongxiang-audit-reader',
      'enable.auto.commit': false,
      'enable.auto.offset.store': false,
      'allow.auto.create.topics': false,
      'fetch.wait.max.ms': 100,
      'log.connection.close': false,
    },
    { 'auto.offset.reset': 'earliest' },
  );
  consumer.on('event.error', () => undefined);
  const entries: LogEntry[] = [];
  try {
    await new Promise<void>((resolve, reject) => consumer.connect({ timeout: left() }, (e) => (e ? reject(e) : resolve())));
    const metadata = await new Promise<Metadata>((resolve, reject) =>
      consumer.getMetadata({ topic, timeout: left() }, (e, data) => (e ? reject(e) : resolve(data))),
    );
    const partitions = metadata.topics.find((t) => t.name === topic)?.partitions.map((p) => p.id) ?? [];
    const ends = new Map<number, number>();
    const assignments: TopicPartitionOffset[] = [];
    for (const partition of partitions) {
      const marks = await new Promise<WatermarkOffsets>((resolve, reject) =>
        consumer.queryWatermarkOffsets(topic, partition, left(), (e, offsets) => (e ? reject(e) : resolve(offsets))),
      );
      if (marks.highOffset > marks.lowOffset) {
        ends.set(partition, marks.highOffset);
        assignments.push({ topic, partition, offset: marks.lowOffset });
      }
    }
    if (assignments.length === 0) return [];
    consumer.assign(assignments);
    const open = new Set(ends.keys());
    while (open.size > 0) {
      if (Date.now() >= deadline) {
        throw new Error(`readKafkaTopic: ${topic} not read to its end within ${timeoutMs} ms (partitions left: ${[...open].join(', ')})`);
      }
      const batch = await new Promise<Message[]>((resolve, reject) => consumer.consume(500, (e, messages) => (e ? reject(e) : resolve(messages))));
      for (const message of batch) {
        const end = ends.get(message.partition);
        if (end === undefined || message.offset >= end) continue;
        entries.push(parseEntry(message));
        if (message.offset >= end - 1) open.delete(message.partition);
      }
      // Gaps (compaction, control records) end a partition by its position, not its last message.
      if (open.size > 0) {
        for (const position of consumer.position(assignments.filter((a) => open.has(a.partition)))) {
          const end = ends.get(position.partition);
          if (end !== undefined && position.offset >= end) open.delete(position.partition);
        }
      }
    }
  } finally {
    await disconnect(consumer, 0);
  }
  return sortChainOrder(entries);
}

/** Per instance by seq, a record before the checkpoint of the same seq; stable. */
export function sortChainOrder(entries: readonly LogEntry[]): LogEntry[] {
  const key = (e: LogEntry): { instance: string; seq: number; rank: number } =>
    e.kind === 'record' ? { instance: e.record.instance, seq: e.record.seq, rank: 0 } : { instance: e.instance, seq: e.seq, rank: 1 };
  return entries
    .map((entry, i) => ({ entry, i, k: key(entry) }))
    .sort((a, b) => (a.k.instance < b.k.instance ? -1 : a.k.instance > b.k.instance ? 1 : a.k.seq - b.k.seq || a.k.rank - b.k.rank || a.i - b.i))
    .map((x) => x.entry);
}

function parseEntry(message: Message): LogEntry {
  const where = `${message.topic}[${message.partition}]@${message.offset}`;
  let value: unknown;
  try {
    value = JSON.parse(message.value?.toString('utf8') ?? '');
  } catch {
    throw new Error(`readKafkaTopic: message ${where} is not JSON`);
  }
  const v = value as { kind?: unknown; instance?: unknown; seq?: unknown; record?: { instance?: unknown; seq?: unknown } | null };
  const ok =
    v !== null &&
    typeof v === 'object' &&
    ((v.kind === 'record' && typeof v.record === 'object' && v.record !== null && typeof v.record.instance === 'string' && Number.isInteger(v.record.seq)) ||
      (v.kind === 'checkpoint' && typeof v.instance === 'string' && Number.isInteger(v.seq)));
  if (!ok) throw new Error(`readKafkaTopic: message ${where} is not an audit log entry`);
  return value as LogEntry;
}
