/**
 * Summaries, the console table and docs/benchmarks.md from one benchmark run's raw records.
 */
import type { AuditVerifierReport } from './audit-verifier.ts';
import { keepFiledropSection } from './filedrop-docs.ts';
import type { LoadResult } from './load.ts';
import { TARGET_IDS, TARGET_NAMES, type TargetId } from './targets.ts';

export interface BenchQuery {
  readonly id: string;
  readonly title: string;
  readonly query: string;
  readonly variables: Record<string, unknown>;
}

export interface Settings {
  readonly durationS: number;
  readonly warmupS: number;
  readonly runs: number;
  readonly connections: number;
  readonly quick: boolean;
  /** A measured run with other processes above this many busy cores is repeated... */
  readonly maxForeignCores: number;
  /** ...at most this many times; the last attempt is kept. */
  readonly retries: number;
}

export interface Machine {
  readonly cpuModel: string;
  readonly nproc: number;
  readonly node: string;
  readonly platform: string;
  /** The commit measured, noting uncommitted changes outside bench/ and docs/benchmarks.md. */
  readonly commit: string;
  readonly loadavgStart: readonly number[];
  readonly loadavgEnd?: readonly number[];
}

export interface RunRecord {
  readonly queryId: string;
  readonly target: TargetId;
  /** 0 for the warm-up, 1..runs for measured runs. */
  readonly run: number;
  readonly load: LoadResult;
  /** CPU of the measured target's own process during the run, ms. */
  readonly gatewayCpuMs: number;
  /** CPU of the upstreams process during the run, ms. */
  readonly upstreamCpuMs: number;
  /** R: CPU of the Redis server during the run (INFO cpu, every client of that server), ms; null for other targets or unreadable. */
  readonly redisCpuMs: number | null;
  /**
   * Busy CPU of the whole machine not accounted for by the bench's three processes (nor, for R, by
   * a Redis server on this machine), ms (null without /proc/stat).
   */
  readonly foreignCpuMs: number | null;
  readonly wallMs: number;
  /** Monotonic clock (process.hrtime, µs) at start and end: lines a run up with a --cpu-prof profile. */
  readonly monoStartUs: number;
  readonly monoEndUs: number;
  /** 1 for the first try; more when earlier tries were disturbed by other processes. */
  readonly attempt: number;
  /** Other processes still took more than maxForeignCores in the last allowed attempt. */
  readonly disturbed: boolean;
}

export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

export interface Summary {
  readonly queryId: string;
  readonly target: TargetId;
  readonly runs: number;
  readonly rps: Spread;
  /** Requests per second of each measured run, in run order (run 1 first): rounds pair up across targets. */
  readonly rpsByRun: readonly number[];
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly gatewayCpuMsPerReq: number;
  readonly upstreamCpuMsPerReq: number;
  /** R: the Redis server's CPU per request; null for other targets. */
  readonly redisCpuMsPerReq: number | null;
  readonly clientCpuMsPerReq: number;
  /** Cores busy in the gateway process during the run (1.0 = one core saturated). */
  readonly gatewayCores: number;
  /** Cores busy in gateway + upstreams + client together. */
  readonly benchCores: number;
  /** Largest share of a core used by other processes during a measured run (null without /proc/stat). */
  readonly foreignCoresMax: number | null;
  readonly bytesPerResponse: number;
  readonly requests: number;
}

export interface BenchReport {
  readonly version: 2;
  readonly date: string;
  readonly command: string;
  readonly settings: Settings;
  readonly machine: Machine;
  readonly queries: readonly BenchQuery[];
  readonly summaries: readonly Summary[];
  readonly records: readonly RunRecord[];
  /** Attempts thrown away because other processes were busy (repeated instead). */
  readonly discarded: readonly RunRecord[];
  /** The unloaded-latency phase (one connection, closed loop), where the p50 targets are judged; absent in older reports. */
  readonly latency?: { readonly connections: number; readonly summaries: readonly Summary[]; readonly records: readonly RunRecord[] };
  /** The audit writer and verifier on a chain of access records, after the load runs. */
  readonly auditVerifier: AuditVerifierReport;
  readonly wallS: number;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function summarize(records: readonly RunRecord[], queryId: string, target: TargetId): Summary {
  const runs = records.filter((r) => r.queryId === queryId && r.target === target && r.run > 0);
  const per = (f: (r: RunRecord) => number) => median(runs.map(f));
  const rps = runs.map((r) => r.load.rps);
  const foreign = runs.map((r) => (r.foreignCpuMs === null ? null : Math.max(0, r.foreignCpuMs) / r.wallMs));
  return {
    queryId,
    target,
    runs: runs.length,
    rps: { median: median(rps), min: Math.min(...rps), max: Math.max(...rps) },
    rpsByRun: [...runs].sort((x, y) => x.run - y.run).map((r) => r.load.rps),
    p50Ms: per((r) => r.load.latencyMs.p50),
    p99Ms: per((r) => r.load.latencyMs.p99),
    gatewayCpuMsPerReq: per((r) => r.gatewayCpuMs / r.load.requests),
    upstreamCpuMsPerReq: per((r) => r.upstreamCpuMs / r.load.requests),
    redisCpuMsPerReq: runs.length > 0 && runs.every((r) => r.redisCpuMs !== null && r.redisCpuMs !== undefined) ? per((r) => r.redisCpuMs! / r.load.requests) : null,
    clientCpuMsPerReq: per((r) => r.load.clientCpuMs / r.load.requests),
    gatewayCores: per((r) => r.gatewayCpuMs / r.wallMs),
    benchCores: per((r) => (r.gatewayCpuMs + r.upstreamCpuMs + r.load.clientCpuMs) / r.wallMs),
    foreignCoresMax: foreign.some((f) => f === null) ? null : Math.max(...(foreign as number[])),
    bytesPerResponse: per((r) => r.load.bytesPerResponse),
    requests: runs.reduce((n, r) => n + r.load.requests, 0),
  };
}

// ---------------------------------------------------------------------------------------------

const f0 = (n: number) => Math.round(n).toLocaleString('en-US');
const f2 = (n: number) => n.toFixed(2);
const f3 = (n: number) => n.toFixed(3);
const pct = (n: number) => `${Math.round(n * 100)} %`;
const signedUs = (ms: number) => `${ms >= 0 ? '+' : '−'}${f0(Math.abs(ms) * 1000)} µs`;
const ratio = (a: number, b: number) => (b > 0 ? (a / b).toFixed(2) : 'n/a');

/**
 * Throughput of `a` over `b`: the median of the ratios of runs in the same round. Targets are
 * interleaved, so the runs of one round are seconds apart, while rounds follow each other over minutes and this
 * machine's speed drifts between them (±30 % from one round to the next, seen on a shared VM): a
 * ratio of the targets' medians would mix that drift in; a paired ratio cancels it. Without paired
 * runs (older reports), the ratio of the medians.
 */
export function pairedRps(a: Summary, b: Summary): number {
  const n = Math.min(a.rpsByRun?.length ?? 0, b.rpsByRun?.length ?? 0);
  if (n === 0) return b.rps.median > 0 ? a.rps.median / b.rps.median : Number.NaN;
  const ratios: number[] = [];
  for (let i = 0; i < n; i++) if (b.rpsByRun[i]! > 0) ratios.push(a.rpsByRun[i]! / b.rpsByRun[i]!);
  return ratios.length > 0 ? median(ratios) : Number.NaN;
}

/** The per-round ratios' range, as text ("0.81–1.10"); empty without paired runs. */
function pairedRange(a: Summary, b: Summary): string {
  const n = Math.min(a.rpsByRun?.length ?? 0, b.rpsByRun?.length ?? 0);
  const ratios: number[] = [];
  for (let i = 0; i < n; i++) if (b.rpsByRun[i]! > 0) ratios.push(a.rpsByRun[i]! / b.rpsByRun[i]!);
  return ratios.length > 1 ? `${f2(Math.min(...ratios))}–${f2(Math.max(...ratios))}` : '';
}

/** The paired throughput ratio, as text. */
const rpsRatio = (a: Summary, b: Summary) => {
  const r = pairedRps(a, b);
  return Number.isFinite(r) ? r.toFixed(2) : 'n/a';
};
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

/** Both overhead targets: throughput of A over the baseline at least this. */
export const OVERHEAD_TARGET = 0.9;
const meets = (a: Summary, base: Summary) => base.rps.median > 0 && pairedRps(a, base) >= OVERHEAD_TARGET;

/** The limits' targets (R/L, and A/L for the in-process limiter): throughput at least this... */
export const LIMITS_TARGET = 0.95;
/** ...and at most this much added to the median latency (p50), ms. */
export const LIMITS_P50_TARGET_MS = 1;
const meetsLimits = (x: Summary, base: Summary) => base.rps.median > 0 && pairedRps(x, base) >= LIMITS_TARGET;
const meetsLimitsP50 = (x: Summary, base: Summary) => x.p50Ms - base.p50Ms <= LIMITS_P50_TARGET_MS;
const signedMs = (ms: number) => `${ms >= 0 ? '+' : '−'}${f2(Math.abs(ms))} ms`;

/** The order of the first three runs, e.g. "A D E R L B C, D E R L B C A, E R L B C A D, …". */
function rotationText(): string {
  return [0, 1, 2].map((k) => [...TARGET_IDS.slice(k), ...TARGET_IDS.slice(0, k)].join(' ')).join(', ') + ', …';
}

function find(report: BenchReport, queryId: string, target: TargetId): Summary | undefined {
  return report.summaries.find((s) => s.queryId === queryId && s.target === target);
}

/** Plain-text table for the terminal. */
export function consoleTable(report: BenchReport): string {
  const header = ['query', 'target', 'req/s (median)', 'min–max', 'p50 ms', 'p99 ms', 'gw CPU ms/req', 'up CPU ms/req', 'gw cores', 'box cores', 'foreign'];
  const rows: string[][] = [];
  for (const q of report.queries) {
    for (const target of TARGET_IDS) {
      const s = find(report, q.id, target);
      if (!s) continue;
      rows.push([
        q.id,
        target,
        f0(s.rps.median),
        `${f0(s.rps.min)}–${f0(s.rps.max)}`,
        f2(s.p50Ms),
        f2(s.p99Ms),
        f3(s.gatewayCpuMsPerReq),
        f3(s.upstreamCpuMsPerReq),
        f2(s.gatewayCores),
        f2(s.benchCores),
        s.foreignCoresMax === null ? '?' : f2(s.foreignCoresMax),
      ]);
    }
    const a = find(report, q.id, 'A');
    const b = find(report, q.id, 'B');
    const c = find(report, q.id, 'C');
    const d = find(report, q.id, 'D');
    const e = find(report, q.id, 'E');
    const r = find(report, q.id, 'R');
    const l = find(report, q.id, 'L');
    if (a && d) {
      rows.push([q.id, 'A/D', rpsRatio(a, d), '', ratio(a.p50Ms, d.p50Ms), ratio(a.p99Ms, d.p99Ms), ratio(a.gatewayCpuMsPerReq, d.gatewayCpuMsPerReq), '', '', '', '']);
    }
    if (a && e) {
      rows.push([q.id, 'A/E', rpsRatio(a, e), '', ratio(a.p50Ms, e.p50Ms), ratio(a.p99Ms, e.p99Ms), ratio(a.gatewayCpuMsPerReq, e.gatewayCpuMsPerReq), '', '', '', '']);
    }
    if (r && l) {
      rows.push([q.id, 'R/L', rpsRatio(r, l), '', ratio(r.p50Ms, l.p50Ms), ratio(r.p99Ms, l.p99Ms), ratio(r.gatewayCpuMsPerReq, l.gatewayCpuMsPerReq), '', '', '', '']);
    }
    if (a && l) {
      rows.push([q.id, 'A/L', rpsRatio(a, l), '', ratio(a.p50Ms, l.p50Ms), ratio(a.p99Ms, l.p99Ms), ratio(a.gatewayCpuMsPerReq, l.gatewayCpuMsPerReq), '', '', '', '']);
    }
    if (a && b && c) {
      rows.push([q.id, 'A/B', rpsRatio(a, b), '', ratio(a.p50Ms, b.p50Ms), ratio(a.p99Ms, b.p99Ms), ratio(a.gatewayCpuMsPerReq, b.gatewayCpuMsPerReq), '', '', '', '']);
      rows.push([q.id, 'A/C', rpsRatio(a, c), '', '', '', '', '', '', '', '']);
    }
    const m = find(report, q.id, 'M');
    if (r && b && m) {
      rows.push([q.id, '4/2 R/B', rpsRatio(r, b), '', ratio(r.p50Ms, b.p50Ms), ratio(r.p99Ms, b.p99Ms), ratio(r.gatewayCpuMsPerReq, b.gatewayCpuMsPerReq), '', '', '', '']);
      rows.push([q.id, '4/3 R/M', rpsRatio(r, m), '', ratio(r.p50Ms, m.p50Ms), ratio(r.p99Ms, m.p99Ms), ratio(r.gatewayCpuMsPerReq, m.gatewayCpuMsPerReq), '', '', '', '']);
      if (c) rows.push([q.id, '4/1 R/C', rpsRatio(r, c), '', '', '', '', '', '', '', '']);
    }
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line), '', ...consoleSummary(report)].join('\n');
}

/**
 * Per query a line with the two overhead ratios and their targets, a line with the limits' costs
 * (R/L, A/L) against theirs, then the audit writer and verifier.
 */
function consoleSummary(report: BenchReport): string[] {
  const out: string[] = [];
  const verdict = (a: Summary, base: Summary) => (meets(a, base) ? 'met' : 'NOT met');
  for (const q of report.queries) {
    const a = find(report, q.id, 'A');
    const b = find(report, q.id, 'B');
    const d = find(report, q.id, 'D');
    const e = find(report, q.id, 'E');
    const r = find(report, q.id, 'R');
    const l = find(report, q.id, 'L');
    if (a) {
      const parts: string[] = [];
      if (d) parts.push(`policy tax A/D ${rpsRatio(a, d)} (target ≥ ${f2(OVERHEAD_TARGET)}: ${verdict(a, d)}; A − D ${signedUs(a.gatewayCpuMsPerReq - d.gatewayCpuMsPerReq)} CPU/req)`);
      if (e) parts.push(`strict audit A/E ${rpsRatio(a, e)} (target ≥ ${f2(OVERHEAD_TARGET)}: ${verdict(a, e)}; A − E ${signedUs(a.gatewayCpuMsPerReq - e.gatewayCpuMsPerReq)} CPU/req for the audit record)`);
      if (b) parts.push(`A/B ${rpsRatio(a, b)}`);
      out.push(`${q.id}: ${parts.join('; ')}`);
    }
    if (l) {
      const limitsVerdict = (x: Summary) =>
        `target ≥ ${f2(LIMITS_TARGET)}: ${meetsLimits(x, l) ? 'met' : 'NOT met'}; p50 ${signedMs(x.p50Ms - l.p50Ms)}, target ≤ ${f2(LIMITS_P50_TARGET_MS)} ms: ${meetsLimitsP50(x, l) ? 'met' : 'NOT met'}`;
      const parts: string[] = [];
      if (r) {
        parts.push(
          `Redis limits R/L ${rpsRatio(r, l)} (${limitsVerdict(r)}; R − L ${signedUs(r.gatewayCpuMsPerReq - l.gatewayCpuMsPerReq)} gateway CPU/req` +
            (r.redisCpuMsPerReq === null ? '' : `, Redis server ${f3(r.redisCpuMsPerReq)} ms CPU/req`) +
            ')',
        );
      }
      if (a) parts.push(`in-process limits A/L ${rpsRatio(a, l)} (${limitsVerdict(a)}; A − L ${signedUs(a.gatewayCpuMsPerReq - l.gatewayCpuMsPerReq)} CPU/req)`);
      if (parts.length) out.push(`${q.id}: ${parts.join('; ')}`);
    }
  }
  const v = report.auditVerifier;
  out.push('');
  out.push(`audit trail, ${f0(v.records)} access records per chain, a checkpoint every ${f0(v.checkpointEvery)}:`);
  for (const r of v.results) {
    if (r.skipped !== null) {
      out.push(`  ${r.alg.padEnd(6)}  skipped: ${r.skipped}`);
      continue;
    }
    out.push(
      `  ${r.alg.padEnd(6)}  verify ${f0(r.verifyRecordsPerS)} records/s (${f2(r.verifyS)} s, ${f0(r.verifyMBPerS)} MB/s, ok: ${f0(r.records)} records, ${f0(r.checkpoints)} checkpoints)  ` +
        `write ${f0(r.writeRecordsPerS)} records/s (async, file store, ${f2(r.writeS)} s)  file ${mb(r.fileBytes)}`,
    );
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

function queryTable(report: BenchReport, q: BenchQuery): string {
  const out = [
    '| target | req/s median (min–max) | p50 ms | p99 ms | gateway CPU ms/req | upstreams CPU ms/req | load-gen CPU ms/req | cores busy: gateway / all three |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const target of TARGET_IDS) {
    const s = find(report, q.id, target);
    if (!s) continue;
    out.push(
      `| ${target} — ${TARGET_NAMES[target]} | ${f0(s.rps.median)} (${f0(s.rps.min)}–${f0(s.rps.max)}) | ${f2(s.p50Ms)} | ${f2(s.p99Ms)} | ` +
        `${f3(s.gatewayCpuMsPerReq)} | ${f3(s.upstreamCpuMsPerReq)} | ${f3(s.clientCpuMsPerReq)} | ${f2(s.gatewayCores)} / ${f2(s.benchCores)} |`,
    );
  }
  const a = find(report, q.id, 'A');
  const b = find(report, q.id, 'B');
  const c = find(report, q.id, 'C');
  const d = find(report, q.id, 'D');
  if (a && d) {
    out.push('');
    out.push(
      `Policy tax: **A/D throughput ${rpsRatio(a, d)}** (target ≥ 0.90), p50 ${ratio(a.p50Ms, d.p50Ms)}, ` +
        `p99 ${ratio(a.p99Ms, d.p99Ms)}, gateway CPU/req ${ratio(a.gatewayCpuMsPerReq, d.gatewayCpuMsPerReq)} ` +
        `(A − D: ${signedUs(a.gatewayCpuMsPerReq - d.gatewayCpuMsPerReq)} CPU per request for token verification, field enforcement, and the decisions and subjects each audit record then carries — D's records have none; D has no limits either, A/L below).`,
    );
  }
  const e = find(report, q.id, 'E');
  if (a && e) {
    out.push('');
    out.push(
      `Cost of strict audit: **A/E throughput ${rpsRatio(a, e)}** (target ≥ 0.90, i.e. strict audit costs ≤ 10 %), ` +
        `p50 ${ratio(a.p50Ms, e.p50Ms)}, p99 ${ratio(a.p99Ms, e.p99Ms)}, gateway CPU/req ${ratio(a.gatewayCpuMsPerReq, e.gatewayCpuMsPerReq)} ` +
        `(A − E: ${signedUs(a.gatewayCpuMsPerReq - e.gatewayCpuMsPerReq)} CPU per request for the audit record).`,
    );
  }
  const r = find(report, q.id, 'R');
  const l = find(report, q.id, 'L');
  const p50Verdict = (x: Summary, base: Summary) =>
    report.latency
      ? 'at saturation, where p50 is mostly queueing; the p50 target is judged on the unloaded latency below'
      : `target ≤ ${f2(LIMITS_P50_TARGET_MS)} ms: ${meetsLimitsP50(x, base) ? 'met' : '**not met**'}`;
  const rpsVerdict = (x: Summary, base: Summary) => (meetsLimits(x, base) ? 'met' : '**not met**');
  if (r && l) {
    out.push('');
    out.push(
      `Cost of Redis-backed limits: **R/L throughput ${rpsRatio(r, l)}** (target ≥ ${f2(LIMITS_TARGET)}, i.e. limits cost ≤ 5 %: ${rpsVerdict(r, l)}), ` +
        `**R p50 − L p50 ${signedMs(r.p50Ms - l.p50Ms)}** (${p50Verdict(r, l)}), p50 ${ratio(r.p50Ms, l.p50Ms)}, p99 ${ratio(r.p99Ms, l.p99Ms)}, ` +
        `gateway CPU/req ${ratio(r.gatewayCpuMsPerReq, l.gatewayCpuMsPerReq)} (R − L: ${signedUs(r.gatewayCpuMsPerReq - l.gatewayCpuMsPerReq)} CPU per request in the gateway for ` +
        `operation measures, the Lua calls to Redis and the RateLimit headers)` +
        (r.redisCpuMsPerReq === null ? '.' : `; the Redis server besides: ${f3(r.redisCpuMsPerReq)} ms CPU per request (INFO cpu).`),
    );
  }
  if (a && l) {
    out.push('');
    out.push(
      `Cost of in-process limits: **A/L throughput ${rpsRatio(a, l)}** (same target, ≥ ${f2(LIMITS_TARGET)}: ${rpsVerdict(a, l)}), ` +
        `A p50 − L p50 ${signedMs(a.p50Ms - l.p50Ms)} (${p50Verdict(a, l)}), p50 ${ratio(a.p50Ms, l.p50Ms)}, p99 ${ratio(a.p99Ms, l.p99Ms)}, ` +
        `gateway CPU/req ${ratio(a.gatewayCpuMsPerReq, l.gatewayCpuMsPerReq)} (A − L: ${signedUs(a.gatewayCpuMsPerReq - l.gatewayCpuMsPerReq)} CPU per request).`,
    );
  }
  out.push(...latencyTable(report, q));
  if (a && b && c) {
    out.push('');
    out.push(
      `Ratios: **A/B throughput ${rpsRatio(a, b)}**, p50 ${ratio(a.p50Ms, b.p50Ms)}, p99 ${ratio(a.p99Ms, b.p99Ms)}, ` +
        `gateway CPU/req ${ratio(a.gatewayCpuMsPerReq, b.gatewayCpuMsPerReq)} ` +
        `(A − B: ${signedUs(a.gatewayCpuMsPerReq - b.gatewayCpuMsPerReq)} CPU per request); ` +
        `**A/C throughput ${rpsRatio(a, c)}**. Response: ${f0(a.bytesPerResponse)} bytes with headers.`,
    );
  }
  return out.join('\n');
}

function findLatency(report: BenchReport, queryId: string, target: TargetId): Summary | undefined {
  return report.latency?.summaries.find((s) => s.queryId === queryId && s.target === target && s.runs > 0);
}

/** The unloaded-latency table of one query and the p50 added by audit and limits, judged against the targets. */
function latencyTable(report: BenchReport, q: BenchQuery): string[] {
  if (!report.latency) return [];
  const rows = (['A', 'E', 'R', 'L', 'B'] as const).map((t) => findLatency(report, q.id, t)).filter((s): s is Summary => !!s);
  if (rows.length === 0) return [];
  const out = [
    '',
    `Unloaded latency — ${report.latency.connections} connection, closed loop (no queueing: what one caller waits):`,
    '',
    '| target | req/s | p50 ms | p99 ms | gateway CPU ms/req |',
    '|---|---:|---:|---:|---:|',
    ...rows.map((s) => `| ${s.target} — ${TARGET_NAMES[s.target]} | ${f0(s.rps.median)} | ${f2(s.p50Ms)} | ${f2(s.p99Ms)} | ${f3(s.gatewayCpuMsPerReq)} |`),
  ];
  const a = findLatency(report, q.id, 'A');
  const e = findLatency(report, q.id, 'E');
  const r = findLatency(report, q.id, 'R');
  const l = findLatency(report, q.id, 'L');
  const verdict = (x: Summary, base: Summary) => `target ≤ ${f2(LIMITS_P50_TARGET_MS)} ms: ${meetsLimitsP50(x, base) ? 'met' : '**not met**'}`;
  const parts: string[] = [];
  if (r && l) parts.push(`Redis-backed limits add **${signedMs(r.p50Ms - l.p50Ms)} at p50** (R − L, ${verdict(r, l)}), ${signedMs(r.p99Ms - l.p99Ms)} at p99`);
  if (a && l) parts.push(`the in-process limiter ${signedMs(a.p50Ms - l.p50Ms)} at p50 (A − L, ${verdict(a, l)})`);
  if (a && e) parts.push(`strict audit ${signedMs(a.p50Ms - e.p50Ms)} at p50 (A − E: the group commit's fsync before the response)`);
  if (parts.length > 0) out.push('', `${parts.join('; ')}.`);
  return out;
}

function reading(report: BenchReport): string {
  const rows = report.queries
    .map((q) => ({ q, a: find(report, q.id, 'A'), b: find(report, q.id, 'B'), c: find(report, q.id, 'C') }))
    .filter((r): r is { q: BenchQuery; a: Summary; b: Summary; c: Summary } => !!(r.a && r.b && r.c));
  if (rows.length === 0) return '';
  const list = (f: (r: (typeof rows)[number]) => string) => rows.map((r) => `${f(r)} (${r.q.id})`).join(', ');
  const spread = (s: Summary) => (s.rps.median > 0 ? (s.rps.max - s.rps.min) / s.rps.median : 0);
  const noise = Math.max(...rows.flatMap((r) => [spread(r.a), spread(r.b)]));
  const lowest = rows.reduce((m, r) => (pairedRps(r.a, r.b) < pairedRps(m.a, m.b) ? r : m));
  const outside = rows.filter((r) => Math.abs(pairedRps(r.a, r.b) - 1) > noise).map((r) => r.q.id);
  const parts: string[] = [];
  parts.push(
    `**A/B** is the price of the hub's own layer — Fastify with the Apollo integration, a request id per call, the ` +
      `landing-page and public-error plugins, token verification and field enforcement (A/D) and the strict audit trail (A/E) — over Apollo's standalone server on the very same Mesh graph: throughput ` +
      `${list((r) => rpsRatio(r.a, r.b))}; gateway CPU per request A − B ` +
      `${list((r) => signedUs(r.a.gatewayCpuMsPerReq - r.b.gatewayCpuMsPerReq))}. ` +
      `Runs of one target spread by up to ${pct(noise)} (max − min over median); an A/B ratio within that band around 1.00 ` +
      `is no measurable difference. ` +
      (outside.length === 0
        ? `All ${rows.length} are inside it: at this noise level the hub's layer cannot be told apart from the cost of Mesh and ` +
          `the upstream calls; the lowest A/B (${rpsRatio(lowest.a, lowest.b)}, ${lowest.q.id}) bounds what it may cost.`
        : `Outside it: ${outside.join(', ')}.`),
  );
  const busy = rows.flatMap((r) => [r.a.gatewayCores, r.b.gatewayCores]);
  const share = (r: (typeof rows)[number], part: number) => part / (r.a.gatewayCpuMsPerReq + r.a.upstreamCpuMsPerReq + r.a.clientCpuMsPerReq);
  const upShare = Math.max(...rows.map((r) => share(r, r.a.upstreamCpuMsPerReq)));
  const clientShare = Math.max(...rows.map((r) => share(r, r.a.clientCpuMsPerReq)));
  if (Math.min(...busy) >= 0.85) {
    parts.push(
      `In A and B the gateway process keeps about one core busy (${f2(Math.min(...busy))}–${f2(Math.max(...busy))}) while the ` +
        `machine has ${report.machine.nproc}: the gateway's event loop is the bottleneck, so req/s ≈ 1000 ÷ gateway CPU ms per ` +
        `request; of all CPU spent per request the upstreams take at most ${pct(upShare)}, the load generator at most ${pct(clientShare)}.`,
    );
  } else {
    parts.push(
      `The gateway process keeps ${f2(Math.min(...busy))}–${f2(Math.max(...busy))} cores busy in A and B; the upstreams take at ` +
        `most ${pct(upShare)} of the CPU spent per request.`,
    );
  }
  parts.push(
    `**A/C** compares with a server that answers the same bytes without any GraphQL: ${list((r) => rpsRatio(r.a, r.c))}, ` +
      `i.e. HTTP on loopback is ${Math.round(Math.min(...rows.map((r) => pairedRps(r.c, r.a))))}–` +
      `${Math.round(Math.max(...rows.map((r) => pairedRps(r.c, r.a))))}× faster than the hub. The gap is the gateway's work ` +
      `per request — Mesh planning and execution, the SOAP client's XML, the REST client, the embedded file-drop store (PGlite) and ` +
      `serialisation — not HTTP. C itself is bounded by the loopback and the load generator, which share the same cores.`,
  );
  return parts.join(' ');
}

/** The A/E paragraph of the reading: what strict audit costs, against the target and the noise. */
function auditReading(report: BenchReport): string {
  const rows = report.queries
    .map((q) => ({ q, a: find(report, q.id, 'A'), e: find(report, q.id, 'E') }))
    .filter((r): r is { q: BenchQuery; a: Summary; e: Summary } => !!(r.a && r.e));
  if (rows.length === 0) return '';
  const list = (f: (r: (typeof rows)[number]) => string) => rows.map((r) => `${f(r)} (${r.q.id})`).join(', ');
  const spread = (s: Summary) => (s.rps.median > 0 ? (s.rps.max - s.rps.min) / s.rps.median : 0);
  const noise = Math.max(...rows.flatMap((r) => [spread(r.a), spread(r.e)]));
  const missed = rows.filter((r) => !meets(r.a, r.e)).map((r) => r.q.id);
  const outside = rows.filter((r) => Math.abs(pairedRps(r.a, r.e) - 1) > noise).map((r) => r.q.id);
  return (
    `**A/E** is the cost of the strict audit trail — one access record per request, built from the decision record, ` +
    `its data subjects HMAC'd, canonicalised, hashed into the chain and made durable (group commit: one \`O_DSYNC\` write) before ` +
    `the response, plus a signed checkpoint every 1,000 records (the default) — with identity and enforcement on in both: ` +
    `throughput ${list((r) => rpsRatio(r.a, r.e))}; gateway CPU per request A − E ` +
    `${list((r) => signedUs(r.a.gatewayCpuMsPerReq - r.e.gatewayCpuMsPerReq))}; p50 ${list((r) => ratio(r.a.p50Ms, r.e.p50Ms))}. ` +
    (missed.length === 0
      ? `The target (strict audit costs ≤ 10 %, A/E ≥ ${f2(OVERHEAD_TARGET)}) is met for every query. `
      : `The target (strict audit costs ≤ 10 %, A/E ≥ ${f2(OVERHEAD_TARGET)}) is **not met** for ${missed.join(', ')}. `) +
    `Runs of A and E spread by up to ${pct(noise)}; ` +
    (outside.length === 0
      ? 'every A/E ratio is within that band around 1.00, so the audit cost is not measurable at this noise level. '
      : `outside that band around 1.00: ${outside.join(', ')}. `) +
    `The latency ratios include each strict request's wait for its group's durable write (a wait on the disk more than CPU ` +
    `in this process); D keeps the audit trail on, so A/D above is the policy tax without the audit (with the limits: D has none, A/L gives them alone).`
  );
}

/** The R/L and A/L paragraph of the reading: what the limits cost, against the targets and the noise. */
function limitsReading(report: BenchReport): string {
  const rows = report.queries
    .map((q) => ({ q, a: find(report, q.id, 'A'), r: find(report, q.id, 'R'), l: find(report, q.id, 'L') }))
    .filter((x): x is { q: BenchQuery; a: Summary; r: Summary; l: Summary } => !!(x.a && x.r && x.l));
  if (rows.length === 0) return '';
  const list = (f: (x: (typeof rows)[number]) => string) => rows.map((x) => `${f(x)} (${x.q.id})`).join(', ');
  const spread = (s: Summary) => (s.rps.median > 0 ? (s.rps.max - s.rps.min) / s.rps.median : 0);
  const noise = Math.max(...rows.flatMap((x) => [spread(x.a), spread(x.r), spread(x.l)]));
  // p50 added is judged unloaded (one connection) when the report has that phase: at saturation p50 is queueing.
  const p50Of = (x: (typeof rows)[number], t: 'a' | 'r' | 'l') => findLatency(report, x.q.id, t.toUpperCase() as TargetId) ?? x[t];
  const missed = rows.filter((x) => !meetsLimits(x.r, x.l) || !meetsLimitsP50(p50Of(x, 'r'), p50Of(x, 'l'))).map((x) => x.q.id);
  const missedA = rows.filter((x) => !meetsLimits(x.a, x.l) || !meetsLimitsP50(p50Of(x, 'a'), p50Of(x, 'l'))).map((x) => x.q.id);
  const outside = rows.filter((x) => Math.abs(pairedRps(x.r, x.l) - 1) > noise).map((x) => x.q.id);
  const redis = rows.every((x) => x.r.redisCpuMsPerReq !== null);
  return (
    `**R/L** is the cost of the limits kept in Redis, as replicas share them — the operation measured against the ` +
    `operation limits, one Lua call charging the department ceiling and the contracts' requests per minute together, ` +
    `each contract's records per day taken in the same round trip for the rows the operation returned last time (what is ` +
    `not used handed back after the response), the source ceiling charged in leases of 1 % of it, and the RateLimit headers — ` +
    `over the same hub with the limits off, audit and policies on in both: throughput ${list((x) => rpsRatio(x.r, x.l))}; ` +
    `p50 R − L ${list((x) => signedMs(p50Of(x, 'r').p50Ms - p50Of(x, 'l').p50Ms))}${report.latency ? ` (unloaded, ${report.latency.connections} connection)` : ''}; gateway CPU per request R − L ${list((x) => signedUs(x.r.gatewayCpuMsPerReq - x.l.gatewayCpuMsPerReq))}` +
    (redis ? `; the Redis server's own CPU ${list((x) => `${f3(x.r.redisCpuMsPerReq!)} ms/req`)}` : '') +
    '. ' +
    (missed.length === 0
      ? `The target (limits cost ≤ 5 % throughput, R/L ≥ ${f2(LIMITS_TARGET)}, and ≤ ${f2(LIMITS_P50_TARGET_MS)} ms at p50) is met for every query. `
      : `The target (limits cost ≤ 5 % throughput, R/L ≥ ${f2(LIMITS_TARGET)}, and ≤ ${f2(LIMITS_P50_TARGET_MS)} ms at p50) is **not met** for ${missed.join(', ')}. `) +
    `Runs of A, R and L spread by up to ${pct(noise)}; ` +
    (outside.length === 0
      ? 'every R/L ratio is within that band around 1.00, so the cost of the Redis-backed limits is not measurable at this noise level. '
      : `outside that band around 1.00: ${outside.join(', ')}. `) +
    `**A/L**, the in-process limiter the hub uses without \`REDIS_URL\`: ${list((x) => rpsRatio(x.a, x.l))}, ` +
    `p50 A − L ${list((x) => signedMs(p50Of(x, 'a').p50Ms - p50Of(x, 'l').p50Ms))}` +
    (missedA.length === 0 ? ' (within the same targets for every query).' : ` (outside the same targets for ${missedA.join(', ')}).`)
  );
}

function auditSection(report: BenchReport): string[] {
  const v = report.auditVerifier;
  const lines: string[] = [];
  lines.push(
    `The audit trail's own pieces, timed after the load runs in the same process (bench/audit-verifier.ts): a chain of ` +
      `${f0(v.records)} access records — alternately the flagship eligibility check (10 field decisions, 2 contracts, 3 upstream ` +
      `calls, 3 HMAC'd subjects) and a single-enterprise lookup (4 decisions, 1 contract, 2 subjects), a mean ${f0(v.bytesPerLine)} ` +
      `bytes per line — written by the real writer (\`openAuditWriter\`, async mode, ${f0(v.burst)} records per burst between ` +
      `event-loop turns) to the real JSONL file store (\`openFileAuditStore\`: one \`O_DSYNC\` \`write\` per group commit, durable when it returns) in ` +
      `${v.tmpdir}, with a checkpoint signed (\`signCheckpoint\`, Ed25519 from \`openAuditKeyring\`) every ${f0(v.checkpointEvery)} ` +
      `records; then the file streamed line by line (\`readline\`) through \`verifyEntries\` with the keyring's \`publicJwks()\`, ` +
      `which recomputes every hash and checks every signature. The run fails unless the verifier answers ok with every record ` +
      `and checkpoint counted.`,
  );
  lines.push('');
  lines.push('| hash | records | checkpoints | file | verify records/s | verify time | verify MB/s | writer records/s (async, durable) | writer time |');
  lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of v.results) {
    if (r.skipped !== null) {
      lines.push(`| ${r.alg.toUpperCase()} | — | — | — | skipped: ${r.skipped} | | | | |`);
      continue;
    }
    lines.push(
      `| ${r.alg === 'sha256' ? 'SHA-256' : 'SM3'} | ${f0(r.records)} | ${f0(r.checkpoints)} | ${mb(r.fileBytes)} | **${f0(r.verifyRecordsPerS)}** | ` +
        `${f2(r.verifyS)} s | ${f0(r.verifyMBPerS)} | ${f0(r.writeRecordsPerS)} | ${f2(r.writeS)} s |`,
    );
  }
  const [sha, sm3] = [v.results.find((r) => r.alg === 'sha256' && r.skipped === null), v.results.find((r) => r.alg === 'sm3' && r.skipped === null)];
  lines.push('');
  lines.push(
    `Verifier: both chains verified (ok). ` +
      (sha ? `At ${f0(sha.verifyRecordsPerS)} records/s a day of the hub at 100 req/s (8.64 million records) takes about ${f0(8_640_000 / sha.verifyRecordsPerS / 60)} minutes to verify with SHA-256` : '') +
      (sha && sm3 ? `; SM3 verifies at ${ratio(sm3.verifyRecordsPerS, sha.verifyRecordsPerS)}× the SHA-256 rate. ` : '. ') +
      `Writer: records/s from the first \`write()\` to \`close()\` resolved (everything durable, the last checkpoint signed); ` +
      `the writer does not expose how many appends (fsyncs) it made, so that number is not given.`,
  );
  return lines;
}


// ---------------------------------------------------------------------------------------------
// Against peers (issue 8): 1 raw HTTP ceiling (C), 2 bare Apollo (B), 3 GraphQL Mesh's own server
// with its JWT and rate-limit plugins (M), 4 Tongxiang with everything on (R: JWT, contracts and
// masking, strict audit, limits in Redis as replicas share them).

export const PEER_TARGETS = { 1: 'C', 2: 'B', 3: 'M', 4: 'R' } as const satisfies Record<number, TargetId>;
const PEER_RATIO_TARGETS = { '4/2': 0.9, '4/3': 1.0 } as const;

function peersSection(report: BenchReport): string[] {
  const lines: string[] = [];
  const rows = report.queries.map((q) => ({ q, s: Object.fromEntries(Object.entries(PEER_TARGETS).map(([n, id]) => [n, find(report, q.id, id)])) as Record<string, Summary | undefined> }));
  if (!rows.some((r) => r.s['3'] && r.s['4'])) return lines;
  lines.push('| query | 1 raw HTTP (C) req/s | 2 bare Apollo (B) req/s | 3 Mesh `mesh start` + JWT + rate limit (M) req/s | 4 Tongxiang, everything on (R) req/s | 4/2 | 4/3 | 4/1 | CPU ms/req 2 / 3 / 4 | p50 ms 2 / 3 / 4 | p99 ms 2 / 3 / 4 |');
  lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const { q, s } of rows) {
    const [one, two, three, four] = [s['1'], s['2'], s['3'], s['4']];
    if (!two || !three || !four) continue;
    const mark = (x: number, target: number, range: string) =>
      `**${f2(x)}**${range ? ` (${range})` : ''}${x >= target ? '' : ` — target ≥ ${f2(target)}: not met`}`;
    lines.push(
      `| ${q.id} | ${one ? f0(one.rps.median) : 'n/a'} | ${f0(two.rps.median)} | ${f0(three.rps.median)} | ${f0(four.rps.median)} | ` +
        `${mark(pairedRps(four, two), PEER_RATIO_TARGETS['4/2'], pairedRange(four, two))} | ${mark(pairedRps(four, three), PEER_RATIO_TARGETS['4/3'], pairedRange(four, three))} | ` +
        `${one ? rpsRatio(four, one) : 'n/a'} | ${f3(two.gatewayCpuMsPerReq)} / ${f3(three.gatewayCpuMsPerReq)} / ${f3(four.gatewayCpuMsPerReq)} | ` +
        `${f2(two.p50Ms)} / ${f2(three.p50Ms)} / ${f2(four.p50Ms)} | ${f2(two.p99Ms)} / ${f2(three.p99Ms)} / ${f2(four.p99Ms)} |`,
    );
  }
  lines.push('');
  lines.push(
    `Targets: 4/2 ≥ ${f2(PEER_RATIO_TARGETS['4/2'])} (everything Tongxiang adds costs at most 10 % against bare Apollo on the same schema) and ` +
      `4/3 ≥ ${f2(PEER_RATIO_TARGETS['4/3'])} (at least as fast as Mesh's own server doing less: no contracts, masking or audit). ` +
      'Throughput at 16 connections, median of the runs; each ratio is the median of the ratios of runs in the same round (targets interleaved, seconds apart), ' +
      'with the range over the rounds in brackets: this shared machine\'s speed drifts by tens of percent between rounds, which a ratio of medians would mix in. ' +
      'CPU per request of the serving process (for 3, `mesh start`\'s process).',
  );
  return lines;
}

/** A grouped bar chart of median req/s per query for 2, 3 and 4 (1 is off the scale: in the table), as SVG. */
export function throughputChart(report: BenchReport): string | null {
  const series: Array<{ id: TargetId; label: string; color: string }> = [
    { id: 'B', label: '2 bare Apollo', color: '#8c8c8c' },
    { id: 'M', label: '3 Mesh (mesh start + JWT + rate limit)', color: '#5b8ff9' },
    { id: 'R', label: '4 Tongxiang, everything on', color: '#c23531' },
    { id: 'A', label: 'Tongxiang, in-process limits', color: '#e8a33d' },
  ];
  const groups = report.queries.map((q) => ({ q, values: series.map((x) => find(report, q.id, x.id)?.rps.median ?? null) }));
  if (!groups.some((g) => g.values[1] !== null && g.values[2] !== null)) return null;
  const max = Math.max(...groups.flatMap((g) => g.values.filter((v): v is number => v !== null)));
  const scale = niceCeiling(max);
  const width = 720;
  const height = 360;
  const left = 64;
  const bottom = 300;
  const top = 40;
  const plotH = bottom - top;
  const groupW = (width - left - 20) / groups.length;
  const barW = Math.min(36, (groupW - 24) / series.length);
  const esc = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  out.push(`<title>Throughput, median req/s at ${report.settings.connections} connections (${esc(report.date)}, ${esc(report.machine.commit)})</title>`);
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="${left}" y="20" font-size="14" font-weight="bold">Throughput (req/s, median), ${report.settings.connections} connections — npm run bench</text>`);
  for (let i = 0; i <= 4; i++) {
    const v = (scale * i) / 4;
    const y = bottom - (plotH * i) / 4;
    out.push(`<line x1="${left}" x2="${width - 20}" y1="${y}" y2="${y}" stroke="#e0e0e0"/>`);
    out.push(`<text x="${left - 6}" y="${y + 4}" text-anchor="end">${f0(v)}</text>`);
  }
  groups.forEach((g, gi) => {
    const x0 = left + gi * groupW + (groupW - barW * series.length) / 2;
    g.values.forEach((v, si) => {
      if (v === null) return;
      const h = (plotH * v) / scale;
      const x = x0 + si * barW;
      out.push(`<rect x="${x.toFixed(1)}" y="${(bottom - h).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="${series[si]!.color}"><title>${esc(series[si]!.label)}: ${f0(v)} req/s</title></rect>`);
      out.push(`<text x="${(x + (barW - 2) / 2).toFixed(1)}" y="${(bottom - h - 4).toFixed(1)}" text-anchor="middle" font-size="10">${f0(v)}</text>`);
    });
    out.push(`<text x="${(left + gi * groupW + groupW / 2).toFixed(1)}" y="${bottom + 18}" text-anchor="middle">${esc(g.q.id)}</text>`);
  });
  series.forEach((x, i) => {
    const lx = left + (i % 2) * 300;
    const ly = bottom + 36 + Math.floor(i / 2) * 16;
    out.push(`<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${x.color}"/>`);
    out.push(`<text x="${lx + 18}" y="${ly}">${esc(x.label)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

function niceCeiling(n: number): number {
  if (!(n > 0)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(n));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= n) return step * magnitude;
  return 10 * magnitude;
}

export function markdown(report: BenchReport): string {
  const s = report.settings;
  const m = report.machine;
  const foreign = report.summaries.map((x) => x.foreignCoresMax).filter((x): x is number => x !== null);
  const foreignMax = foreign.length ? Math.max(...foreign) : null;
  const lines: string[] = [];
  lines.push('# Benchmarks');
  lines.push('');
  lines.push(
    'Generated by `npm run bench` (bench/run.ts); do not edit by hand — rerun it. Speed is never asserted in tests: it is ' +
      'measured here, in one run on one machine, as ratios against baselines run in the same go.',
  );
  lines.push('');
  lines.push(`- Command: \`${report.command}\``);
  lines.push(`- Date: ${report.date} (wall time ${Math.round(report.wallS)} s)`);
  lines.push(`- Code: ${m.commit}`);
  lines.push(`- Machine: ${m.nproc} cores, ${m.cpuModel}, Node.js ${m.node} on ${m.platform}`);
  lines.push(
    `- Load average at start ${m.loadavgStart.map((x) => x.toFixed(2)).join(' / ')}` +
      (m.loadavgEnd ? `, at end ${m.loadavgEnd.map((x) => x.toFixed(2)).join(' / ')}` : '') +
      (foreignMax === null ? '' : `; other processes used at most ${f2(foreignMax)} cores during any kept run`),
  );
  lines.push(
    `- Settings: ${s.connections} connections, keep-alive, no pipelining; per target and query a ${s.warmupS} s warm-up, then ` +
      `${s.runs} runs × ${s.durationS} s, targets interleaved, the order rotated each run (${rotationText()}), the heap collected before each run${s.quick ? ' (**quick mode: indicative only**)' : ''}`,
  );
  if (report.latency) {
    const lat = report.latency.records.find((r) => r.run > 0);
    lines.push(
      `- Unloaded latency: then, per query, ${['A', 'E', 'R', 'L', 'B'].join(', ')} again with ${report.latency.connections} connection (closed loop)` +
        (lat ? `, ${s.runs} runs × ${f0(lat.wallMs / 1000)} s each` : '') +
        ' — the added p50 of audit and limits is judged there (at 16 connections p50 is mostly queueing: p50 ≈ connections ÷ throughput).',
    );
  }
  const disturbed = report.records.filter((r) => r.disturbed).length;
  lines.push(
    `- Quietness: a measured run during which other processes kept more than ${s.maxForeignCores} cores busy is repeated ` +
      `(at most ${s.retries} times); this run repeated ${report.discarded.length}` +
      (disturbed ? ` and kept **${disturbed} disturbed run(s)** after the last attempt` : ', and every kept run was quiet') +
      '.',
  );
  lines.push(
    '- Load generator: autocannon in a separate process; every response body is compared byte for byte with the expected ' +
      'answer, and any error, timeout, non-2xx or mismatch fails the run. Latency: each response\'s own timing; median over runs. ' +
      'Throughput ratios (A/D, A/E, R/L, 4/2, …): the median over rounds of the ratio within a round (the targets\' runs of one round are seconds apart).',
  );
  const peers = peersSection(report);
  if (peers.length) {
    lines.push('');
    lines.push('## Against peers: 1 raw HTTP, 2 bare Apollo, 3 Mesh\'s own server, 4 Tongxiang');
    lines.push('');
    lines.push('![Throughput per query: bare Apollo, Mesh, Tongxiang](benchmarks-throughput.svg)');
    lines.push('');
    lines.push(...peers);
  }
  lines.push('');
  lines.push('## Targets');
  lines.push('');
  lines.push('All on 127.0.0.1, all on the same demo upstreams, which run in a process of their own.');
  lines.push('');
  lines.push(
    '- **A — Tongxiang**: `startHub(loadConfig(...))` as shipped (Fastify, Apollo Server 5, Mesh, request id, error mapping, ' +
      'token verification, field enforcement, the audit trail in its default strict mode: each request\'s record durable before the response, ' +
      'and the rate limits in the in-process limiter). The limits run on every request but never refuse: the department ceiling and the ' +
      'per-source ceiling at 1,000,000,000 (`limits: { departmentLimit, sourcePerSecond }`; the defaults, 6000/min and 1000/s, would refuse ' +
      'benchmark traffic), and every contract with quotas of 1,000,000,000 requests per minute and records per day, so the contract paths run too.',
  );
  lines.push('- **B — bare Apollo on the Mesh schema**: the same `loadMesh(config)`, `new ApolloServer({ schema: mesh.schema })` on `startStandaloneServer`, Mesh\'s context factory, nothing else.');
  lines.push('- **C — raw HTTP ceiling**: `node:http` answering the exact bytes A answers for that query, without any GraphQL.');
  lines.push(
    '- **M — GraphQL Mesh\'s own server**, the peer a team would pick instead: `mesh build` then `mesh start` (one process, ' +
      '`serve.fork: false`) on the same `.meshrc.yml` (its placeholders filled as the hub fills them), with Mesh\'s rate-limit plugin ' +
      '(`@graphql-mesh/plugin-rate-limit`: every Query field, 1,000,000,000 per second per caller, so it runs but never refuses) and ' +
      'GraphQL Yoga\'s JWT plugin (`@graphql-yoga/plugin-jwt`, ES256, a token required: checked at start by a request without one). ' +
      'No contracts, masking or audit. Its CPU is `mesh start`\'s process (read from /proc). It answers the same bytes as A.',
  );
  lines.push(
    '- **D — Tongxiang with identity and enforcement off**: the same `startHub` with `benchmarkWithoutPolicies` (no token ' +
      'verification, no field decisions; a switch reachable only from code). D still writes the strict audit trail, so ' +
      '**A/D is the policy tax** (target ≥ 0.90). A, E, R and L hold contracts for every conditional field, so A, B, D, E, R and L answer the same bytes. ' +
      'D has no limits either (they apply to callers, and D has none), so A − D includes the in-process limiter, which A/L gives alone.',
  );
  lines.push(
    '- **E — Tongxiang with the audit trail off**: the same `startHub` with `benchmarkWithoutAudit` (no access records, no ' +
      'chain, no fsync, no checkpoints; a switch reachable only from code), identity and enforcement on, with its own token and ' +
      'the same contracts as A, answering the same bytes. **A/E is the cost of strict audit** (target: strict audit costs ≤ 10 %, ' +
      'i.e. A/E throughput ≥ 0.90). Limits as in A.',
  );
  lines.push(
    '- **R — Tongxiang with Redis-backed limits**: the same `startHub` as A (identity, enforcement, strict audit, the same ' +
      'limits and quotas) with the limits in Redis, as replicas share them (`limits.redisUrl`: `TONGXIANG_BENCH_REDIS_URL`, default ' +
      '`redis://127.0.0.1:6379`; a key prefix of its own, whose keys are deleted when the bench ends), with its own token and contracts. ' +
      'The Redis server\'s CPU is read with `INFO cpu` around each run (the whole server: every client of it counts).',
  );
  lines.push(
    '- **L — Tongxiang with the limits off**: the same `startHub` with `benchmarkWithoutLimits` (no rate limits, quotas or ' +
      'operation limits, no RateLimit headers; a switch reachable only from code), identity, enforcement and the strict audit trail on, ' +
      'with its own token and the same contracts. **R/L is the cost of Redis-backed limits** (target: limits cost ≤ 5 % throughput, ' +
      `i.e. R/L ≥ ${f2(LIMITS_TARGET)}, and add ≤ ${f2(LIMITS_P50_TARGET_MS)} ms at p50, R p50 − L p50); **A/L** the cost of the in-process limiter.`,
  );
  lines.push('');
  lines.push(
    'CPU columns: *gateway* is the measured target\'s own process (each target runs in a process of its own, as a hub does in ' +
      'production: targets sharing one process shared its heap, thread pool, idle timers and V8\'s type feedback, and slowed each other; ' +
      'it includes the file-drop store, PGlite, which is embedded in the gateway, and for A, D, R and L the audit writer, whose ' +
      'durable (`O_DSYNC`) writes run on libuv\'s thread pool in the same process); *upstreams* is the SOAP + REST demo process; *load-gen* is the autocannon process. ' +
      'Each is that process\'s CPU time during the run divided by the requests completed. R\'s Redis server is in none of them ' +
      '(its CPU per request is given with R/L below; on this machine it is not counted as "other processes" either).',
  );
  for (const q of report.queries) {
    lines.push('');
    lines.push(`## ${q.id} — ${q.title}`);
    lines.push('');
    lines.push('```graphql');
    lines.push(q.query.trim());
    lines.push('```');
    lines.push('');
    lines.push(queryTable(report, q));
  }
  lines.push('');
  lines.push('## Audit verifier');
  lines.push('');
  lines.push(...auditSection(report));
  lines.push('');
  lines.push('## Reading');
  lines.push('');
  lines.push(reading(report));
  const audit = auditReading(report);
  if (audit) {
    lines.push('');
    lines.push(audit);
  }
  const limits = limitsReading(report);
  if (limits) {
    lines.push('');
    lines.push(limits);
  }
  lines.push('');
  lines.push('## How to reproduce');
  lines.push('');
  lines.push('```sh');
  lines.push('npm ci');
  lines.push('npm run bench                 # full run (~25 minutes with the resilience and file-drop companions); rewrites this file, the chart and bench/results/');
  lines.push('npm run bench -- --quick      # ~8 minutes, prints the table, leaves this file alone (add --docs to write it); --gateway-only skips the companions');
  lines.push('# R needs Redis: TONGXIANG_BENCH_REDIS_URL (default redis://127.0.0.1:6379); it deletes its own keys afterwards');
  lines.push('npm run bench -- --duration 10 --runs 5 --connections 32 --warmup 3');
  lines.push('```');
  lines.push('');
  lines.push(
    'Run it on a quiet machine (`uptime`): other processes compete for the same cores (see "Quietness" above). ' +
      'Compare ratios, not absolute numbers, across machines.',
  );
  lines.push('');
  return keepFiledropSection(lines.join('\n')); // npm run bench:filedrop's section, carried over
}
