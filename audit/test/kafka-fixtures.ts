/**
 * Test helpers for the Kafka shipper: an in-memory log (array-backed `read()`), valid hash chains
 * built with chainHash, and a raw topic reader that keeps each message's key and partition.
 */
import { randomUUID } from 'node:crypto';
import Kafka from 'node-rdkafka';
import type { Message, Metadata, TopicPartitionOffset, WatermarkOffsets } from 'node-rdkafka';
import { chainHash } from '../hash.ts';
import { GENESIS, type AccessRecord, type AdminRecord, type CheckpointEntry, type LogEntry, type RecordEntry } from '../types.ts';

export interface MemoryLog {
  readonly entries: LogEntry[];
  read(): AsyncIterable<LogEntry>;
}

export function memoryLog(initial: readonly LogEntry[] = []): MemoryLog {
  const entries = [...initial];
  return {
    entries,
    async *read() {
      // A snapshot of the length, as a file read to its current end would be.
      const n = entries.length;
      for (let i = 0; i < n; i++) yield entries[i]!;
    },
  };
}

/** Writes chained records for several instances, like the hub's writers would. */
export class ChainWriter {
  private readonly heads = new Map<string, { seq: number; hash: string }>();

  private chain(record: AccessRecord | AdminRecord): RecordEntry {
    const hash = chainHash('sha256', this.prevOf(record.instance), record);
    const entry: RecordEntry = { kind: 'record', alg: 'sha256', prev: this.prevOf(record.instance), hash, record };
    this.heads.set(record.instance, { seq: record.seq, hash });
    return entry;
  }

  private prevOf(instance: string): string {
    return this.heads.get(instance)?.hash ?? GENESIS;
  }

  private nextSeq(instance: string): number {
    return (this.heads.get(instance)?.seq ?? 0) + 1;
  }

  access(instance: string, department: string | null): RecordEntry {
    const seq = this.nextSeq(instance);
    const record: AccessRecord = {
      type: 'access',
      instance,
      seq,
      time: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, seq)).toISOString(),
      requestId: `req-${instance}-${seq}`,
      department,
      user: department ? `user-of-${department}` : null,
      client: null,
      operationName: 'PersonQuery',
      operationHash: null,
      coordinates: [],
      contractIds: [],
      purposes: [],
      providers: [],
      sources: [],
      subjects: [],
      rows: 1,
      rowsWithheld: 0,
      outcome: department ? 'ok' : 'unauthenticated',
      httpStatus: department ? 200 : 401,
      errorCodes: [],
      reason: department ? null : 'NO_TOKEN',
      durationMs: 3,
    };
    return this.chain(record);
  }

  admin(instance: string): RecordEntry {
    const seq = this.nextSeq(instance);
    const record: AdminRecord = {
      type: 'admin',
      instance,
      seq,
      time: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, seq)).toISOString(),
      action: 'policy-reload',
      actor: { department: null, user: 'system' },
      details: { digest: 'abc' },
    };
    return this.chain(record);
  }

  /** A checkpoint of the instance's head (the JWS is a stand-in: the shipper does not look inside). */
  checkpoint(instance: string): CheckpointEntry {
    const head = this.heads.get(instance);
    if (!head) throw new Error(`no records for ${instance}`);
    return { kind: 'checkpoint', instance, seq: head.seq, jws: `eyJ.${head.hash.slice(0, 16)}.sig` };
  }
}

/** `count` entries spread over `instances` round-robin, with departments cycling (null included), an admin record and a checkpoint now and then. */
export function mixedEntries(writer: ChainWriter, count: number, instances: readonly string[]): LogEntry[] {
  const departments = ['dept-health', 'dept-tax', 'dept-civil-affairs', null];
  const out: LogEntry[] = [];
  for (let i = 0; out.length < count; i++) {
    const instance = instances[i % instances.length]!;
    if (i % 17 === 16) out.push(writer.admin(instance));
    else out.push(writer.access(instance, departments[i % departments.length]!));
    if (i % 25 === 24 && out.length < count) out.push(writer.checkpoint(instance));
  }
  return out;
}

/** The (kind, instance, seq) identity of an entry, for set comparisons. */
export function entryId(entry: LogEntry): string {
  return entry.kind === 'record' ? `record/${entry.record.instance}/${entry.record.seq}` : `checkpoint/${entry.instance}/${entry.seq}`;
}

export interface RawMessage {
  readonly partition: number;
  readonly offset: number;
  readonly key: string | null;
  readonly value: string;
}

/** Every message of the topic up to its current end offsets, as stored (no ordering, no parsing). */
export async function readRawMessages(brokers: string, topic: string, timeoutMs = 20_000): Promise<RawMessage[]> {
  const consumer = new Kafka.KafkaConsumer(
    { 'metadata.broker.list': brokers, 'group.id': `kafka-test-${randomUUID()}`, 'enable.auto.commit': false, 'allow.auto.create.topics': false },
    { 'auto.offset.reset': 'earliest' },
  );
  consumer.on('event.error', () => undefined);
  const out: RawMessage[] = [];
  const deadline = Date.now() + timeoutMs;
  await new Promise<void>((resolve, reject) => consumer.connect({ timeout: timeoutMs }, (e) => (e ? reject(e) : resolve())));
  try {
    const metadata = await new Promise<Metadata>((resolve, reject) => consumer.getMetadata({ topic, timeout: timeoutMs }, (e, d) => (e ? reject(e) : resolve(d))));
    const ends = new Map<number, number>();
    const assignments: TopicPartitionOffset[] = [];
    for (const p of metadata.topics.find((t) => t.name === topic)?.partitions ?? []) {
      const marks = await new Promise<WatermarkOffsets>((resolve, reject) => consumer.queryWatermarkOffsets(topic, p.id, timeoutMs, (e, o) => (e ? reject(e) : resolve(o))));
      if (marks.highOffset > marks.lowOffset) {
        ends.set(p.id, marks.highOffset);
        assignments.push({ topic, partition: p.id, offset: marks.lowOffset });
      }
    }
    if (assignments.length === 0) return [];
    consumer.assign(assignments);
    while (ends.size > 0) {
      if (Date.now() > deadline) throw new Error(`readRawMessages: timed out with partitions ${[...ends.keys()].join(', ')} unfinished`);
      const batch = await new Promise<Message[]>((resolve, reject) => consumer.consume(500, (e, m) => (e ? reject(e) : resolve(m))));
      for (const m of batch) {
        const end = ends.get(m.partition);
        if (end === undefined || m.offset >= end) continue;
        out.push({ partition: m.partition, offset: m.offset, key: m.key == null ? null : m.key.toString(), value: m.value?.toString('utf8') ?? '' });
        if (m.offset >= end - 1) ends.delete(m.partition);
      }
    }
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
  return out;
}

/** Polls `condition` until it holds or `timeoutMs` passes. */
export async function eventually(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
