/**
 * The verifier: reads a log (entries, or raw JSONL lines) once, front to back, and either vouches
 * for it or names the first bad place — kind, instance, seq, line — in Chinese and English.
 *
 * Each instance's chain is followed on its own: the next record must be seq + 1, carry the same
 * hash algorithm, hash to its stored hash, and chain to its predecessor's hash; each checkpoint
 * must carry a valid EdDSA signature by a key of the key set and sign the hash of its record.
 * Memory is a few numbers per instance, a window of recent hashes per instance (for duplicates
 * and late checkpoints) and the checkpoints waiting for their record; nothing is buffered.
 *
 * Some problems are certain before they can be told apart: a gap in seq is a missing record or
 * a reordering, depending on whether the record turns up later; a record whose successor does
 * not chain to it was either changed (hash recomputed) or is the last good record before a
 * fork. At such a point the verifier keeps reading, up to `maxLookAhead` entries, only to
 * classify the problem it has found; nothing later can be the first problem.
 *
 * How modified and forked are told apart: a record with the same instance and seq as an earlier
 * one but a different (self-consistent) hash is a fork; a record that does not chain to its
 * predecessor is a fork when a valid checkpoint signed that predecessor, and otherwise the
 * predecessor was modified and its hash recomputed (unless the record after it does not chain
 * either: then this record itself was modified).
 */
import type { JWK } from 'jose';
import { inspectCheckpoint } from './checkpoint.ts';
import { chainHash, isHashAlgorithm } from './hash.ts';
import { GENESIS, type CheckpointEntry, type CheckpointPayload, type HashAlgorithm, type LogEntry, type RecordEntry, type VerifyResult } from './types.ts';

export interface VerifyOptions {
  /** An instance's first record may start mid-chain (an export of a time range). */
  readonly allowPartialStart?: boolean;
  /** The line number of the first item (2 when a header line precedes the entries). */
  readonly firstLine?: number;
  /** Hashes remembered per instance, to recognise duplicates and check late checkpoints. */
  readonly window?: number;
  /** Entries read past a problem to classify it (missing or reordered, modified or forked). */
  readonly maxLookAhead?: number;
}

export const DEFAULT_WINDOW = 8192;
export const DEFAULT_MAX_LOOK_AHEAD = 100_000;

type Problem = Extract<VerifyResult, { ok: false }>['problem'];
type ProblemKind = Problem['kind'];

interface Pos {
  /** 1-based line in the input. */
  readonly line: number;
  /** 1-based number of the entry (blank lines are not entries). */
  readonly index: number;
}

interface Found {
  readonly problem: Problem;
  /** Index of the entry the problem is located at. */
  readonly index: number;
}

interface Seen {
  readonly hash: string;
  readonly line: number;
}

interface PendingCheckpoint {
  readonly payload: CheckpointPayload;
  readonly pos: Pos;
}

interface InstanceState {
  readonly instance: string;
  /** null until the first record of the instance (checkpoints may come first). */
  alg: HashAlgorithm | null;
  firstSeq: number;
  lastSeq: number;
  lastHash: string;
  lastPos: Pos;
  /** seq → hash and line of the last `window` records. */
  readonly recent: Map<number, Seen>;
  /** seq → line of the valid checkpoints among the last `window` records. */
  readonly signed: Map<number, number>;
  lastCheckpointSeq: number | null;
  /** Valid checkpoints for records not seen yet, by seq. */
  readonly pending: Map<number, PendingCheckpoint[]>;
}

/** Keeps reading after a certain problem, only to say which problem it is. */
interface Resolver {
  feed(entry: LogEntry, pos: Pos): Promise<Found | null>;
  finish(lookAheadExhausted: boolean): Found;
}

const HEX64 = /^[0-9a-f]{64}$/;

function found(kind: ProblemKind, instance: string | null, seq: number | null, pos: Pos, zh: string, en: string): Found {
  return { problem: { kind, instance, seq, line: pos.line, zh, en }, index: pos.index };
}

// ---------------------------------------------------------------------------------------------
// Parsing

type Parsed = { entry: LogEntry } | { zh: string; en: string; instance: string | null; seq: number | null };

function shapeProblem(value: unknown): { zh: string; en: string } | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { zh: '不是 JSON 对象', en: 'not a JSON object' };
  const v = value as Record<string, unknown>;
  if (v.kind === 'record') {
    if (!isHashAlgorithm(v.alg)) return { zh: `哈希算法“${String(v.alg)}”未知`, en: `unknown hash algorithm "${String(v.alg)}"` };
    if (typeof v.prev !== 'string' || !HEX64.test(v.prev) || typeof v.hash !== 'string' || !HEX64.test(v.hash)) {
      return { zh: 'prev 或 hash 不是 64 位十六进制', en: 'prev or hash is not 64 hex digits' };
    }
    const r = v.record as Record<string, unknown> | null;
    if (typeof r !== 'object' || r === null || Array.isArray(r)) return { zh: '缺少记录内容', en: 'no record' };
    if (typeof r.instance !== 'string' || r.instance === '' || typeof r.seq !== 'number' || !Number.isSafeInteger(r.seq) || r.seq < 1) {
      return { zh: '记录缺少 instance 或正整数 seq', en: 'the record lacks an instance or a positive integer seq' };
    }
    if (typeof r.time !== 'string' || Number.isNaN(Date.parse(r.time))) return { zh: '记录的 time 不是 ISO 8601 时间', en: 'the record time is not an ISO 8601 instant' };
    if (r.type !== 'access' && r.type !== 'admin') return { zh: '记录类型既不是 access 也不是 admin', en: 'the record type is neither access nor admin' };
    return null;
  }
  if (v.kind === 'checkpoint') {
    if (typeof v.instance !== 'string' || v.instance === '' || typeof v.seq !== 'number' || !Number.isSafeInteger(v.seq) || v.seq < 1 || typeof v.jws !== 'string') {
      return { zh: '检查点缺少 instance、正整数 seq 或 jws', en: 'the checkpoint lacks an instance, a positive integer seq or a jws' };
    }
    return null;
  }
  return { zh: '既不是记录也不是检查点', en: 'neither a record nor a checkpoint' };
}

function locate(value: unknown): { instance: string | null; seq: number | null } {
  const v = value as { kind?: unknown; instance?: unknown; seq?: unknown; record?: { instance?: unknown; seq?: unknown } } | null;
  if (typeof v !== 'object' || v === null) return { instance: null, seq: null };
  const source = v.kind === 'record' && typeof v.record === 'object' && v.record !== null ? v.record : v;
  return {
    instance: typeof source.instance === 'string' ? source.instance : null,
    seq: typeof source.seq === 'number' && Number.isSafeInteger(source.seq) ? source.seq : null,
  };
}

function parse(item: LogEntry | string): Parsed {
  let value: unknown = item;
  if (typeof item === 'string') {
    try {
      value = JSON.parse(item);
    } catch {
      return { zh: '不是 JSON', en: 'not JSON', instance: null, seq: null };
    }
  }
  const problem = shapeProblem(value);
  if (problem !== null) return { ...problem, ...locate(value) };
  return { entry: value as LogEntry };
}

// ---------------------------------------------------------------------------------------------
// Messages

function msgModified(i: string, seq: number, line: number, why: { zh: string; en: string }): { zh: string; en: string } {
  return {
    zh: `实例 ${i} 的第 ${seq} 条记录（第 ${line} 行）已被修改：${why.zh}。`,
    en: `Record ${seq} of instance ${i} (line ${line}) was modified: ${why.en}.`,
  };
}

// ---------------------------------------------------------------------------------------------

/**
 * Verifies a log. Strings are raw JSONL lines (blank ones are skipped but counted as lines);
 * entries may come from several instances, interleaved. See the module comment for how each
 * problem is recognised.
 */
export async function verifyEntries(
  input: AsyncIterable<LogEntry | string> | Iterable<LogEntry | string>,
  jwks: { keys: JWK[] },
  options: VerifyOptions = {},
): Promise<VerifyResult> {
  const partial = options.allowPartialStart === true;
  const window = Math.max(1, options.window ?? DEFAULT_WINDOW);
  const maxLookAhead = Math.max(0, options.maxLookAhead ?? DEFAULT_MAX_LOOK_AHEAD);
  const instances = new Map<string, InstanceState>();
  let records = 0;
  let checkpoints = 0;
  let duplicates = 0;
  let pendingCount = 0;
  const span: { from: { text: string; ms: number } | null; to: { text: string; ms: number } | null } = { from: null, to: null };

  function stateOf(instance: string): InstanceState {
    let st = instances.get(instance);
    if (st === undefined) {
      st = {
        instance,
        alg: null,
        firstSeq: 0,
        lastSeq: 0,
        lastHash: GENESIS,
        lastPos: { line: 0, index: 0 },
        recent: new Map(),
        signed: new Map(),
        lastCheckpointSeq: null,
        pending: new Map(),
      };
      instances.set(instance, st);
    }
    return st;
  }

  function noteTime(time: string): void {
    const ms = Date.parse(time);
    if (span.from === null || ms < span.from.ms) span.from = { text: time, ms };
    if (span.to === null || ms > span.to.ms) span.to = { text: time, ms };
  }

  function markSigned(st: InstanceState, seq: number, line: number): void {
    if (st.signed.has(seq)) {
      duplicates++;
      return;
    }
    checkpoints++;
    st.signed.set(seq, line);
    if (st.lastCheckpointSeq === null || seq > st.lastCheckpointSeq) st.lastCheckpointSeq = seq;
  }

  /** Appends the record at seq lastSeq + 1 (or the first record) to its chain. */
  function advance(st: InstanceState, entry: RecordEntry, pos: Pos): void {
    const seq = entry.record.seq;
    st.lastSeq = seq;
    st.lastHash = entry.hash;
    st.lastPos = pos;
    st.recent.set(seq, { hash: entry.hash, line: pos.line });
    st.recent.delete(seq - window);
    st.signed.delete(seq - window);
    records++;
    noteTime(entry.record.time);
  }

  // --- resolvers --------------------------------------------------------------------------------

  /** A gap at `missing`: reordered if it turns up later, missing otherwise. */
  function gapResolver(instance: string, missing: number, noticed: number, at: Pos): Resolver {
    return {
      async feed(entry, pos) {
        if (entry.kind !== 'record' || entry.record.instance !== instance || entry.record.seq !== missing) return null;
        return found(
          'records-reordered',
          instance,
          missing,
          at,
          `实例 ${instance} 的记录顺序被打乱：第 ${at.line} 行应为第 ${missing} 条记录，却是第 ${noticed} 条；第 ${missing} 条出现在后面的第 ${pos.line} 行。`,
          `Records of instance ${instance} are out of order: line ${at.line} holds record ${noticed} where record ${missing} was due; record ${missing} comes later, at line ${pos.line}.`,
        );
      },
      finish(exhausted) {
        const whereZh = exhausted ? `在其后 ${maxLookAhead} 个条目内也没有出现` : '在日志中没有出现';
        const whereEn = exhausted ? `does not appear in the next ${maxLookAhead} entries` : 'appears nowhere in the log';
        return found(
          'record-missing',
          instance,
          missing,
          at,
          `实例 ${instance} 缺少第 ${missing} 条记录：第 ${at.line} 行应为第 ${missing} 条，却是第 ${noticed} 条，而第 ${missing} 条${whereZh}。`,
          `Record ${missing} of instance ${instance} is missing: line ${at.line} holds record ${noticed} where record ${missing} was due, and record ${missing} ${whereEn}.`,
        );
      },
    };
  }

  /**
   * Record `next` (seq n + 1, at `nextPos`) does not chain to record n (hash `hashN`, at
   * `posN`), and no checkpoint has signed record n yet. Record n was modified and its hash
   * recomputed — unless a checkpoint for n confirms it (fork at n + 1), or record n + 2 does not
   * chain to n + 1 either (n + 1 itself was modified).
   */
  function linkResolver(st: InstanceState, n: number, hashN: string, posN: Pos, next: RecordEntry, nextPos: Pos): Resolver {
    const instance = st.instance;
    const nMod = (why: { zh: string; en: string }): Found => {
      const m = msgModified(instance, n, posN.line, why);
      return found('record-modified', instance, n, posN, m.zh, m.en);
    };
    const defaultWhy = { zh: `其哈希被重新计算过，下一条记录（第 ${nextPos.line} 行）的 prev 与之不符`, en: `its hash was recomputed; the next record (line ${nextPos.line}) does not chain to it` };
    return {
      async feed(entry, pos) {
        if (entry.kind === 'checkpoint') {
          if (entry.instance !== instance || (entry.seq !== n && entry.seq !== n + 1)) return null;
          const outcome = await inspectCheckpoint(entry, jwks);
          if ('reason' in outcome) return null;
          const head = outcome.payload.head;
          if (entry.seq === n) {
            if (head === hashN) {
              return found(
                'chain-forked',
                instance,
                n + 1,
                nextPos,
                `实例 ${instance} 的链出现分叉：第 ${nextPos.line} 行的第 ${n + 1} 条记录没有链接到第 ${n} 条记录，而后者已被第 ${pos.line} 行的签名检查点确认。`,
                `The chain of instance ${instance} forks: record ${n + 1} at line ${nextPos.line} does not chain to record ${n}, which the signed checkpoint at line ${pos.line} confirms.`,
              );
            }
            return nMod({ zh: `其哈希被重新计算过，与第 ${pos.line} 行签名检查点所签的哈希不符`, en: `its hash was recomputed and is not the one the signed checkpoint at line ${pos.line} names` });
          }
          if (head === next.hash) return nMod(defaultWhy);
          const m = msgModified(instance, n + 1, nextPos.line, { zh: `它没有链接到上一条记录，且与第 ${pos.line} 行签名检查点所签的哈希不符`, en: `it does not chain to the record before it, and is not what the signed checkpoint at line ${pos.line} names` });
          return found('record-modified', instance, n + 1, nextPos, m.zh, m.en);
        }
        if (entry.record.instance !== instance || entry.record.seq !== n + 2) return null;
        if (entry.prev === next.hash) return nMod(defaultWhy);
        const m = msgModified(instance, n + 1, nextPos.line, {
          zh: `它没有链接到上一条记录，下一条记录（第 ${pos.line} 行）也没有链接到它`,
          en: `it does not chain to the record before it, and the next record (line ${pos.line}) does not chain to it`,
        });
        return found('record-modified', instance, n + 1, nextPos, m.zh, m.en);
      },
      finish: () => nMod(defaultWhy),
    };
  }

  /**
   * A valid checkpoint (at `cpPos`) names a hash other than record n's (at `posN`), and record
   * n + 1 is not here yet: if it chains to the signed hash, record n was modified; otherwise the
   * checkpoint does not match the chain.
   */
  function checkpointResolver(st: InstanceState, n: number, hashN: string, posN: Pos, head: string, cpPos: Pos): Resolver {
    const instance = st.instance;
    const mismatch = (): Found =>
      found(
        'checkpoint-mismatch',
        instance,
        n,
        cpPos,
        `第 ${cpPos.line} 行的检查点签名有效，但其所签的哈希不是实例 ${instance} 第 ${n} 条记录（第 ${posN.line} 行）的哈希。`,
        `The checkpoint at line ${cpPos.line} has a valid signature, but the hash it signs is not that of record ${n} of instance ${instance} (line ${posN.line}).`,
      );
    return {
      async feed(entry, pos) {
        if (entry.kind !== 'record' || entry.record.instance !== instance || entry.record.seq !== n + 1) return null;
        if (entry.prev === head && entry.prev !== hashN) {
          const m = msgModified(instance, n, posN.line, {
            zh: `其哈希被重新计算过：第 ${cpPos.line} 行的签名检查点和下一条记录（第 ${pos.line} 行）都指向另一个哈希`,
            en: `its hash was recomputed: the signed checkpoint at line ${cpPos.line} and the next record (line ${pos.line}) both name another hash`,
          });
          return found('record-modified', instance, n, posN, m.zh, m.en);
        }
        return mismatch();
      },
      finish: mismatch,
    };
  }

  // --- checks ---------------------------------------------------------------------------------

  /** Compares a valid checkpoint with the record it signs, which is at or before lastSeq. */
  function compareCheckpoint(st: InstanceState, payload: CheckpointPayload, cpPos: Pos): Found | Resolver | null {
    const { seq, head } = payload;
    const instance = st.instance;
    if (seq < st.firstSeq) {
      // Before the start of a partial log: the signature is good; there is nothing to compare.
      checkpoints++;
      return null;
    }
    if (payload.alg !== st.alg) {
      return found(
        'checkpoint-mismatch',
        instance,
        seq,
        cpPos,
        `第 ${cpPos.line} 行的检查点签名有效，但它针对 ${payload.alg} 哈希链，而实例 ${instance} 的记录使用 ${String(st.alg)}。`,
        `The checkpoint at line ${cpPos.line} has a valid signature, but it is for a ${payload.alg} chain while the records of instance ${instance} use ${String(st.alg)}.`,
      );
    }
    const seen = st.recent.get(seq);
    if (seen === undefined) {
      return found(
        'checkpoint-mismatch',
        instance,
        seq,
        cpPos,
        `第 ${cpPos.line} 行的检查点无法核对：实例 ${instance} 的第 ${seq} 条记录在其之前超过 ${window} 条记录。`,
        `The checkpoint at line ${cpPos.line} cannot be checked: record ${seq} of instance ${instance} is more than ${window} records before it.`,
      );
    }
    if (seen.hash === head) {
      markSigned(st, seq, cpPos.line);
      return null;
    }
    if (seq === st.lastSeq) return checkpointResolver(st, seq, seen.hash, st.lastPos, head, cpPos);
    return found(
      'checkpoint-mismatch',
      instance,
      seq,
      cpPos,
      `第 ${cpPos.line} 行的检查点签名有效，但其所签的哈希不是实例 ${instance} 第 ${seq} 条记录（第 ${seen.line} 行）的哈希：此前的记录被整体改写，或该检查点不属于这条链。`,
      `The checkpoint at line ${cpPos.line} has a valid signature, but the hash it signs is not that of record ${seq} of instance ${instance} (line ${seen.line}): the records before it were rewritten, or the checkpoint belongs to another chain.`,
    );
  }

  /** Checks the waiting checkpoints whose record has now arrived. */
  function settlePending(st: InstanceState): Found | Resolver | null {
    if (st.pending.size === 0) return null;
    for (const [seq, list] of [...st.pending].sort((a, b) => a[0] - b[0])) {
      if (seq > st.lastSeq) break;
      st.pending.delete(seq);
      pendingCount -= list.length;
      for (const cp of list) {
        const outcome = compareCheckpoint(st, cp.payload, cp.pos);
        if (outcome !== null) return outcome;
      }
    }
    return null;
  }

  function onRecord(entry: RecordEntry, pos: Pos): Found | Resolver | null {
    const { record } = entry;
    const instance = record.instance;
    const seq = record.seq;
    const st = stateOf(instance);
    let computed: string;
    try {
      computed = chainHash(entry.alg, entry.prev, record);
    } catch {
      return found('malformed', instance, seq, pos, `第 ${pos.line} 行不是有效的审计日志条目（记录无法规范化为 JSON）。`, `Line ${pos.line} is not a valid audit log entry (the record cannot be canonicalised).`);
    }
    if (computed !== entry.hash) {
      // Its hash does not match its content. If it stands where record lastSeq + 1 is due, that is
      // the record modified (even when the change is to its own seq).
      const at = st.alg !== null && entry.prev === st.lastHash && seq !== st.lastSeq + 1 ? st.lastSeq + 1 : seq;
      const m = msgModified(instance, at, pos.line, { zh: '其哈希与内容不符', en: 'its hash does not match its content' });
      return found('record-modified', instance, at, pos, m.zh, m.en);
    }

    if (st.alg === null) {
      // The first record of this instance.
      if (!partial && seq !== 1) return gapResolver(instance, 1, seq, pos);
      if (!partial && entry.prev !== GENESIS) {
        const m = msgModified(instance, seq, pos.line, { zh: '它是链的第一条记录，其 prev 却不是初始值（64 个 0）', en: 'it is the first record of its chain, yet its prev is not 64 zeros' });
        return found('record-modified', instance, seq, pos, m.zh, m.en);
      }
      st.alg = entry.alg;
      st.firstSeq = seq;
      advance(st, entry, pos);
      return settlePending(st);
    }

    if (seq <= st.lastSeq) {
      if (seq < st.firstSeq) {
        return found(
          'records-reordered',
          instance,
          seq,
          pos,
          `实例 ${instance} 的第 ${seq} 条记录（第 ${pos.line} 行）出现在第 ${st.firstSeq} 条之后，而日志从第 ${st.firstSeq} 条开始。`,
          `Record ${seq} of instance ${instance} (line ${pos.line}) comes after record ${st.firstSeq}, where the log starts.`,
        );
      }
      const seen = st.recent.get(seq);
      if (seen === undefined) {
        return found(
          'records-reordered',
          instance,
          seq,
          pos,
          `实例 ${instance} 的第 ${seq} 条记录（第 ${pos.line} 行）出现在第 ${st.lastSeq} 条之后，相隔超过 ${window} 条，无法与原记录比较。`,
          `Record ${seq} of instance ${instance} (line ${pos.line}) comes after record ${st.lastSeq}, too far back (more than ${window} records) to compare with the first copy.`,
        );
      }
      if (seen.hash !== entry.hash) {
        return found(
          'chain-forked',
          instance,
          seq,
          pos,
          `实例 ${instance} 的链出现分叉：第 ${pos.line} 行的第 ${seq} 条记录与第 ${seen.line} 行的同号记录不同。`,
          `The chain of instance ${instance} forks: record ${seq} at line ${pos.line} differs from record ${seq} at line ${seen.line}.`,
        );
      }
      duplicates++; // the same record again (at-least-once delivery): counted once
      return null;
    }

    if (seq > st.lastSeq + 1) return gapResolver(instance, st.lastSeq + 1, seq, pos);

    if (entry.alg !== st.alg) {
      const m = msgModified(instance, seq, pos.line, {
        zh: `其哈希算法（${entry.alg}）与该链其他记录（${st.alg}）不同`,
        en: `its hash algorithm (${entry.alg}) differs from the rest of its chain (${st.alg})`,
      });
      return found('record-modified', instance, seq, pos, m.zh, m.en);
    }

    if (entry.prev !== st.lastHash) {
      const n = st.lastSeq;
      const cpLine = st.signed.get(n);
      if (cpLine !== undefined) {
        return found(
          'chain-forked',
          instance,
          seq,
          pos,
          `实例 ${instance} 的链出现分叉：第 ${pos.line} 行的第 ${seq} 条记录没有链接到第 ${n} 条记录，而后者已被第 ${cpLine} 行的签名检查点确认。`,
          `The chain of instance ${instance} forks: record ${seq} at line ${pos.line} does not chain to record ${n}, which the signed checkpoint at line ${cpLine} confirms.`,
        );
      }
      return linkResolver(st, n, st.lastHash, st.lastPos, entry, pos);
    }

    advance(st, entry, pos);
    return settlePending(st);
  }

  async function onCheckpoint(entry: CheckpointEntry, pos: Pos): Promise<Found | Resolver | null> {
    const outcome = await inspectCheckpoint(entry, jwks);
    if ('reason' in outcome) {
      return found(
        'checkpoint-invalid',
        entry.instance,
        entry.seq,
        pos,
        `第 ${pos.line} 行的检查点（实例 ${entry.instance}，第 ${entry.seq} 条）签名无效：${outcome.reason.zh}。`,
        `The checkpoint at line ${pos.line} (instance ${entry.instance}, record ${entry.seq}) has an invalid signature: ${outcome.reason.en}.`,
      );
    }
    const st = stateOf(entry.instance);
    if (st.alg === null || entry.seq > st.lastSeq) {
      // Its record has not come yet (entries of instances interleave): wait for it.
      const list = st.pending.get(entry.seq) ?? [];
      if (list.some((cp) => cp.payload.head === outcome.payload.head)) {
        duplicates++;
        return null;
      }
      list.push({ payload: outcome.payload, pos });
      st.pending.set(entry.seq, list);
      pendingCount++;
      if (pendingCount > maxLookAhead) return tailCut();
      return null;
    }
    return compareCheckpoint(st, outcome.payload, pos);
  }

  /** The first checkpoint (by line) still waiting for its record, as a tail cut; null if none. */
  function tailCut(): Found | null {
    let first: { st: InstanceState; cp: PendingCheckpoint } | null = null;
    for (const st of instances.values()) {
      for (const list of st.pending.values()) for (const cp of list) if (first === null || cp.pos.index < first.cp.pos.index) first = { st, cp };
    }
    if (first === null) return null;
    const { st, cp } = first;
    const { instance, seq } = cp.payload;
    const lastZh = st.alg === null ? '日志中没有该实例的任何记录' : `日志中该实例的最后一条记录是第 ${st.lastSeq} 条`;
    const lastEn = st.alg === null ? 'no record of that instance is present' : `the last record of that instance present is ${st.lastSeq}`;
    return found(
      'tail-cut',
      instance,
      seq,
      cp.pos,
      `实例 ${instance} 的日志尾部被截断：第 ${cp.pos.line} 行的签名检查点确认了第 ${seq} 条记录，但${lastZh}。`,
      `The log of instance ${instance} has been cut short: the signed checkpoint at line ${cp.pos.line} vouches for record ${seq}, but ${lastEn}.`,
    );
  }

  // --- the loop -----------------------------------------------------------------------------------

  const fail = (f: Found): VerifyResult => ({ ok: false, problem: f.problem, checked: Math.max(0, f.index - 1) });
  let line = (options.firstLine ?? 1) - 1;
  let index = 0;
  let resolver: Resolver | null = null;
  let lookedAhead = 0;

  for await (const item of input) {
    line++;
    if (typeof item === 'string' && item.trim() === '') continue;
    index++;
    const pos: Pos = { line, index };
    const parsed = parse(item);
    if (resolver !== null) {
      if (!('entry' in parsed)) continue;
      const outcome = await resolver.feed(parsed.entry, pos);
      if (outcome !== null) return fail(outcome);
      if (++lookedAhead >= maxLookAhead) return fail(resolver.finish(true));
      continue;
    }
    if (!('entry' in parsed)) {
      return fail(found('malformed', parsed.instance, parsed.seq, pos, `第 ${line} 行不是有效的审计日志条目（${parsed.zh}）。`, `Line ${line} is not a valid audit log entry (${parsed.en}).`));
    }
    const outcome = parsed.entry.kind === 'record' ? onRecord(parsed.entry, pos) : await onCheckpoint(parsed.entry, pos);
    if (outcome === null) continue;
    if ('problem' in outcome) return fail(outcome);
    resolver = outcome;
    if (maxLookAhead === 0) return fail(resolver.finish(true));
  }
  if (resolver !== null) return fail(resolver.finish(false));
  const cut = tailCut();
  if (cut !== null) return fail(cut);

  let unsigned = 0;
  const summary: { instance: string; firstSeq: number; lastSeq: number; lastCheckpointSeq: number | null; head: string }[] = [];
  for (const st of instances.values()) {
    if (st.alg === null) continue;
    const signedThrough = Math.max(st.lastCheckpointSeq ?? 0, st.firstSeq - 1);
    unsigned += Math.max(0, st.lastSeq - signedThrough);
    summary.push({ instance: st.instance, firstSeq: st.firstSeq, lastSeq: st.lastSeq, lastCheckpointSeq: st.lastCheckpointSeq, head: st.lastHash });
  }
  summary.sort((a, b) => (a.instance < b.instance ? -1 : a.instance > b.instance ? 1 : 0));
  return {
    ok: true,
    records,
    checkpoints,
    duplicates,
    instances: summary,
    from: span.from?.text ?? null,
    to: span.to?.text ?? null,
    unsigned,
  };
}
