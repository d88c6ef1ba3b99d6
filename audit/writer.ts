/**
 * The audit writer (审计写入器) each gateway instance runs: it numbers records, chains them
 * (`hash = H(prev || canonical(record))`), group-commits them to an `AuditLogStore` and signs
 * checkpoints of the chain head.
 *
 * - `write` assigns `instance`, `seq`, `prev` and `hash` synchronously, in call order, and queues
 *   the entry. While one `append` is in flight, entries queue; the next `append` takes all of them
 *   (many requests share one fsync / one INSERT).
 * - strict mode: `write` resolves once its entry is durable. async mode: once it is queued.
 * - Backpressure, never a silent drop: when `queueLimit` records are not yet durable, `write`
 *   rejects with AUDIT_UNAVAILABLE (in both modes; in strict mode the backlog only grows while the
 *   store is failing or slow).
 * - Store failure: the failed group's strict writes reject with AUDIT_UNAVAILABLE, but the group is
 *   kept and retried with backoff with the same seqs and hashes, in order (never a gap, never
 *   reordered). Writes made meanwhile join the retry. When a retry lands `failing` clears. A
 *   record whose write was refused at admission got no seq; a record whose group failed keeps its
 *   seq and lands later (a record may exist for a request that was answered 503).
 * - Checkpoints are signed after `checkpointEvery` records or `checkpointIntervalMs` after the first
 *   unsigned record, whichever first, and appended in the same stream after the record they name.
 */
import { TongxiangError, systemClock, type Clock } from '../core/index.ts';
import { canonicalForm } from './canonical.ts';
import { registerEntryText } from './entry-text.ts';
import { assertHashAvailable, chainHashOfCanonical, isHashAlgorithm } from './hash.ts';
import {
  GENESIS,
  type AuditLogStore,
  type AuditRecord,
  type CheckpointEntry,
  type CheckpointPayload,
  type HashAlgorithm,
  type LogEntry,
  type NewAuditRecord,
  type RecordEntry,
} from './types.ts';

export interface AuditWriterOptions {
  readonly store: AuditLogStore;
  readonly instance: string;
  readonly alg: HashAlgorithm;
  /** strict: `write()` resolves once durable; async: once queued. */
  readonly mode: 'strict' | 'async';
  /** Max records not yet durable; beyond → AUDIT_UNAVAILABLE, never a silent drop. */
  readonly queueLimit: number;
  /** Sign a checkpoint after this many records… */
  readonly checkpointEvery: number;
  /** …or this long after the first unsigned record, whichever first. */
  readonly checkpointIntervalMs: number;
  readonly sign: (payload: CheckpointPayload) => Promise<CheckpointEntry>;
  readonly clock?: Clock | undefined;
  /** Store and signing failures, for the caller to log (without record contents). */
  readonly onError?: ((error: unknown) => void) | undefined;
  /** Backoff between retries of a failed group: doubles from `initialMs` up to `maxMs`. Default 25 → 1000. */
  readonly retry?: { readonly initialMs: number; readonly maxMs: number } | undefined;
  /** Most entries in one `append`. Default 4096. */
  readonly maxGroup?: number | undefined;
}

export interface AuditWriterStatus {
  readonly instance: string;
  readonly alg: HashAlgorithm;
  readonly mode: 'strict' | 'async';
  /** The last seq assigned (0 before the first record). */
  readonly seq: number;
  /** The hash of record `seq` (GENESIS before the first record). */
  readonly head: string;
  /** The last checkpoint that is durable in the store. */
  readonly lastCheckpointSeq: number | null;
  /** Records not yet durable. */
  readonly queued: number;
  /** The last append failed and has not been retried successfully yet. */
  readonly failing: boolean;
}

export interface AuditWriter {
  /**
   * Numbers, chains and queues `record`. The writer takes the record over: the entry's `record`
   * may share its nested objects and arrays, so the caller must not change them afterwards.
   */
  write(record: NewAuditRecord): Promise<RecordEntry>;
  /** Everything written so far is durable (rejects with AUDIT_UNAVAILABLE if the attempt fails). */
  flush(): Promise<void>;
  /** Signs the current head now and resolves once the checkpoint is durable; null if nothing new. */
  checkpoint(): Promise<CheckpointEntry | null>;
  status(): AuditWriterStatus;
  /** Flush, final checkpoint, stop timers; later writes → AUDIT_UNAVAILABLE. Does not close the store. */
  close(): Promise<void>;
}

interface Item {
  /** Position in this writer's stream (0-based, every entry ever queued). */
  readonly index: number;
  readonly entry: LogEntry;
}

interface Signed {
  readonly entry: CheckpointEntry;
  /** Its position in the stream. */
  readonly index: number;
}

interface Waiter {
  readonly index: number;
  resolve(): void;
  reject(error: unknown): void;
}

function positiveInteger(value: unknown): boolean {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

function validate(options: AuditWriterOptions): void {
  const problems: string[] = [];
  const o = options as Partial<AuditWriterOptions> | undefined;
  if (!o || typeof o.store?.append !== 'function' || typeof o.store.tail !== 'function') problems.push('store is required');
  if (typeof o?.instance !== 'string' || o.instance.trim() === '' || o.instance.length > 200) problems.push('instance must be a non-empty name');
  if (!isHashAlgorithm(o?.alg)) problems.push('alg must be sha256 or sm3');
  if (o?.mode !== 'strict' && o?.mode !== 'async') problems.push('mode must be strict or async');
  if (!positiveInteger(o?.queueLimit)) problems.push('queueLimit must be a positive integer');
  if (!positiveInteger(o?.checkpointEvery)) problems.push('checkpointEvery must be a positive integer');
  if (typeof o?.checkpointIntervalMs !== 'number' || !(o.checkpointIntervalMs > 0) || !Number.isFinite(o.checkpointIntervalMs)) {
    problems.push('checkpointIntervalMs must be a positive number');
  }
  if (typeof o?.sign !== 'function') problems.push('sign is required');
  if (o?.retry !== undefined && (!(o.retry.initialMs > 0) || !(o.retry.maxMs >= o.retry.initialMs))) problems.push('retry needs 0 < initialMs <= maxMs');
  if (o?.maxGroup !== undefined && !positiveInteger(o.maxGroup)) problems.push('maxGroup must be a positive integer');
  if (problems.length > 0) throw new TongxiangError('CONFIG_INVALID', { reason: `audit writer: ${problems.join('; ')}` });
}

/**
 * `record` with `instance` and `seq` set, as a new object with its keys in code-unit order, so a
 * record whose nested objects are ordered too takes canonicalForm's fast path (any other record
 * still canonicalises correctly, the slow way).
 */
function withPosition(record: NewAuditRecord, instance: string, seq: number): AuditRecord {
  const source = record as unknown as Record<string, unknown>;
  const keys = Object.keys(source);
  for (let i = 1; i < keys.length; i++) {
    if (!(keys[i - 1]! < keys[i]!)) {
      keys.sort();
      break;
    }
  }
  const out: Record<string, unknown> = {};
  let instancePlaced = false;
  let seqPlaced = false;
  for (const key of keys) {
    if (key === 'instance' || key === 'seq') continue;
    if (!instancePlaced && key > 'instance') {
      out.instance = instance;
      instancePlaced = true;
    }
    if (!seqPlaced && key > 'seq') {
      out.seq = seq;
      seqPlaced = true;
    }
    out[key] = source[key];
  }
  if (!instancePlaced) out.instance = instance;
  if (!seqPlaced) out.seq = seq;
  return out as unknown as AuditRecord;
}

const closedError = (): TongxiangError => new TongxiangError('AUDIT_UNAVAILABLE', { reason: 'the audit writer is closed' });

/** Opens a writer continuing `instance`'s chain from `store.tail(instance)`. */
export async function openAuditWriter(options: AuditWriterOptions): Promise<AuditWriter> {
  validate(options);
  assertHashAvailable(options.alg);
  const { store, instance, alg, mode, queueLimit, checkpointEvery, checkpointIntervalMs } = options;
  const clock = options.clock ?? systemClock;
  const retryInitial = options.retry?.initialMs ?? 25;
  const retryMax = options.retry?.maxMs ?? 1000;
  const maxGroup = options.maxGroup ?? 4096;

  const tail = await store.tail(instance);
  if (tail.last !== null && (tail.last.kind !== 'record' || tail.last.record.instance !== instance || !Number.isSafeInteger(tail.last.record.seq))) {
    throw new TongxiangError('AUDIT_LOG_INVALID', { reason: `the store's tail for ${instance} is not a record of that instance` });
  }

  // The chain as assigned (what the next write continues from).
  let seq = tail.last?.record.seq ?? 0;
  let head = tail.last?.hash ?? GENESIS;
  // Durable state.
  let lastCheckpointSeq = tail.lastCheckpointSeq;
  // Signing: the seq the last (or in-flight) checkpoint names, and the last one signed successfully.
  let signedSeq = Math.min(lastCheckpointSeq ?? 0, seq);
  let signedOkSeq = signedSeq;
  let signChain: Promise<unknown> = Promise.resolve();
  let intervalTimer: ReturnType<typeof setTimeout> | null = null;
  let signing: { readonly seq: number; readonly run: Promise<Signed> } | null = null;
  /** The last signing failed: count-triggered checkpoints wait for the interval timer. */
  let signerFailing = false;

  // The stream: everything not yet durable, oldest first (a failed group stays at the front).
  const queue: Item[] = [];
  const waiters: Waiter[] = [];
  let nextIndex = 0;
  let pendingRecords = 0;
  let inflight = false;
  let scheduled = false;
  let failing = false;
  let failures = 0;
  let retryTimer: ReturnType<typeof setTimeout> | null = null;
  let closing = false;
  /** close() gave up on a failing store: no more background retries until close() is called again. */
  let halted = false;

  const report = (error: unknown): void => {
    try {
      options.onError?.(error);
    } catch {
      // The caller's logger must not break the writer.
    }
  };

  const enqueue = (entry: LogEntry): number => {
    const index = nextIndex++;
    queue.push({ index, entry });
    if (entry.kind === 'record') pendingRecords += 1;
    schedule();
    return index;
  };

  /** Resolves once stream position `index` is durable; rejects if the attempt carrying it fails. */
  const waitFor = (index: number): Promise<void> => {
    if (queue.length === 0 || queue[0]!.index > index) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      // Kept in stream order (checkpoint() may ask after later writes did).
      let at = waiters.length;
      while (at > 0 && waiters[at - 1]!.index > index) at -= 1;
      waiters.splice(at, 0, { index, resolve, reject });
    });
  };

  const settle = (upTo: number, error: unknown): void => {
    // Waiters are kept in stream order, so they settle from the front.
    while (waiters.length > 0 && waiters[0]!.index <= upTo) {
      const w = waiters.shift()!;
      if (error === undefined) w.resolve();
      else w.reject(error);
    }
  };

  function schedule(): void {
    if (scheduled || inflight || retryTimer !== null || halted || queue.length === 0) return;
    scheduled = true;
    // A microtask: every write of the current tick joins the group.
    queueMicrotask(run);
  }

  function run(): void {
    scheduled = false;
    if (inflight || retryTimer !== null || halted || queue.length === 0) return;
    const batch = queue.slice(0, maxGroup);
    const last = batch[batch.length - 1]!.index;
    inflight = true;
    Promise.resolve()
      .then(() => store.append(batch.map((item) => item.entry)))
      .then(
        () => {
          inflight = false;
          queue.splice(0, batch.length);
          for (const { entry } of batch) {
            if (entry.kind === 'record') pendingRecords -= 1;
            else if (lastCheckpointSeq === null || entry.seq > lastCheckpointSeq) lastCheckpointSeq = entry.seq;
          }
          failing = false;
          failures = 0;
          settle(last, undefined);
          schedule();
        },
        (error: unknown) => {
          inflight = false;
          failing = true;
          failures += 1;
          report(error);
          settle(
            last,
            new TongxiangError('AUDIT_UNAVAILABLE', { reason: `audit store write failed, retrying (${pendingRecords} records waiting)` }, { cause: error }),
          );
          const delay = Math.min(retryMax, retryInitial * 2 ** Math.min(failures - 1, 30));
          retryTimer = setTimeout(() => {
            retryTimer = null;
            schedule();
          }, delay);
          if (!closing) retryTimer.unref();
        },
      );
  }

  const armInterval = (): void => {
    if (intervalTimer !== null || closing || seq <= signedSeq) return;
    intervalTimer = setTimeout(() => {
      intervalTimer = null;
      void autoCheckpoint();
    }, checkpointIntervalMs);
    intervalTimer.unref();
  };

  const checkpointDue = (): boolean => !closing && !signerFailing && seq - signedSeq >= checkpointEvery;

  const clearInterval_ = (): void => {
    if (intervalTimer !== null) clearTimeout(intervalTimer);
    intervalTimer = null;
  };

  /**
   * Signs the current head (if there is anything unsigned) after any signing in flight, queues the
   * checkpoint and returns its stream position. Signing failures reject.
   */
  const signHead = (): Promise<Signed | null> => {
    if (seq <= signedSeq) {
      // The head is being signed already: that checkpoint is the answer.
      if (signing !== null && signing.seq === seq) return signing.run;
      return signChain.then(() => null);
    }
    clearInterval_();
    const payload: CheckpointPayload = Object.freeze({ instance, seq, head, alg, time: new Date(clock.now()).toISOString() });
    const previous = signedSeq;
    signedSeq = payload.seq;
    const run = signChain.then(async () => {
      try {
        const entry = await options.sign(payload);
        if (entry?.kind !== 'checkpoint' || entry.instance !== instance || entry.seq !== payload.seq || typeof entry.jws !== 'string') {
          throw new TongxiangError('CONFIG_INVALID', { reason: 'audit writer: sign() returned a checkpoint for another head' });
        }
        signedOkSeq = Math.max(signedOkSeq, payload.seq);
        signerFailing = false;
        const signed = { entry, index: enqueue(entry) };
        // Records written while signing may already make the next checkpoint due.
        if (checkpointDue()) void autoCheckpoint();
        return signed;
      } catch (error) {
        // Nothing later took over: what this would have signed is unsigned again, and is signed
        // again when the interval comes round (not at once: a failing signer is not hammered).
        if (signedSeq === payload.seq) signedSeq = Math.max(previous, signedOkSeq);
        signerFailing = true;
        throw error;
      } finally {
        armInterval();
      }
    });
    signChain = run.catch(() => undefined);
    const current = { seq: payload.seq, run };
    signing = current;
    void signChain.then(() => {
      if (signing === current) signing = null;
    });
    return run;
  };

  const autoCheckpoint = async (): Promise<void> => {
    try {
      await signHead();
    } catch (error) {
      report(error);
    }
  };

  // Records left unsigned by a previous run (a crash before its checkpoint) are signed soon.
  armInterval();
  if (checkpointDue()) void autoCheckpoint();

  const writer: AuditWriter = {
    write(record) {
      if (closing) return Promise.reject(closedError());
      if (pendingRecords >= queueLimit) {
        return Promise.reject(
          new TongxiangError('AUDIT_UNAVAILABLE', {
            reason: `${failing ? 'audit store failing; ' : ''}${pendingRecords} records not yet durable (queue limit ${queueLimit})`,
          }),
        );
      }
      let entry: RecordEntry;
      try {
        if (typeof record !== 'object' || record === null) throw new TongxiangError('BAD_USER_INPUT', { reason: 'an audit record is an object' });
        const nextSeq = seq + 1;
        // Canonicalised once: the record stored is what that text reads back as (the record itself,
        // frozen, when it is in canonical shape already), and the hash is over that text —
        // chainHash(alg, head, full) equals it.
        const { text, value: full } = canonicalForm(withPosition(record, instance, nextSeq));
        const hash = chainHashOfCanonical(alg, head, text);
        entry = Object.freeze({ kind: 'record', alg, prev: head, hash, record: full });
        // `full` was parsed from the canonical text, so its keys are in canonical order: this is
        // JSON.stringify(entry) without serialising the record again.
        registerEntryText(entry, `{"kind":"record","alg":${JSON.stringify(alg)},"prev":${JSON.stringify(head)},"hash":${JSON.stringify(hash)},"record":${text}}`);
        seq = nextSeq;
        head = hash;
      } catch (error) {
        return Promise.reject(error);
      }
      const index = enqueue(entry);
      armInterval();
      if (checkpointDue()) void autoCheckpoint();
      if (mode === 'async') return Promise.resolve(entry);
      return waitFor(index).then(() => entry);
    },

    flush() {
      if (queue.length === 0) return Promise.resolve();
      if (halted) {
        halted = false;
        schedule();
      }
      return waitFor(queue[queue.length - 1]!.index);
    },

    async checkpoint() {
      if (closing) throw closedError();
      const signed = await signHead();
      if (signed === null) return null;
      await waitFor(signed.index);
      return signed.entry;
    },

    status() {
      return Object.freeze({ instance, alg, mode, seq, head, lastCheckpointSeq, queued: pendingRecords, failing });
    },

    async close() {
      closing = true;
      clearInterval_();
      if (halted) {
        halted = false;
        schedule();
      }
      if (retryTimer !== null) retryTimer.ref();
      let signError: unknown;
      try {
        await signHead();
      } catch (error) {
        signError = error;
        report(error);
      }
      await signChain;
      try {
        await writer.flush();
      } catch (error) {
        // Stop retrying in the background; a later close() (or flush()) tries again.
        halted = true;
        if (retryTimer !== null) clearTimeout(retryTimer);
        retryTimer = null;
        throw error;
      }
      if (signError !== undefined) throw signError;
    },
  };
  return Object.freeze(writer);
}
