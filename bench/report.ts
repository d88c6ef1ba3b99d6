/**
 * Summaries, the console table and docs/benchmarks.md from one benchmark run's raw records.
 */
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
  /** CPU of the bench process (targets A, B and C live there) during the run, ms. */
  readonly gatewayCpuMs: number;
  /** CPU of the upstreams process during the run, ms. */
  readonly upstreamCpuMs: number;
  /** Busy CPU of the whole machine not accounted for by the bench's three processes, ms (null without /proc/stat). */
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
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly gatewayCpuMsPerReq: number;
  readonly upstreamCpuMsPerReq: number;
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
  readonly version: 1;
  readonly date: string;
  readonly command: string;
  readonly settings: Settings;
  readonly machine: Machine;
  readonly queries: readonly BenchQuery[];
  readonly summaries: readonly Summary[];
  readonly records: readonly RunRecord[];
  /** Attempts thrown away because other processes were busy (repeated instead). */
  readonly discarded: readonly RunRecord[];
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
    p50Ms: per((r) => r.load.latencyMs.p50),
    p99Ms: per((r) => r.load.latencyMs.p99),
    gatewayCpuMsPerReq: per((r) => r.gatewayCpuMs / r.load.requests),
    upstreamCpuMsPerReq: per((r) => r.upstreamCpuMs / r.load.requests),
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
    if (a && d) {
      rows.push([q.id, 'A/D', ratio(a.rps.median, d.rps.median), '', ratio(a.p50Ms, d.p50Ms), ratio(a.p99Ms, d.p99Ms), ratio(a.gatewayCpuMsPerReq, d.gatewayCpuMsPerReq), '', '', '', '']);
    }
    if (a && b && c) {
      rows.push([q.id, 'A/B', ratio(a.rps.median, b.rps.median), '', ratio(a.p50Ms, b.p50Ms), ratio(a.p99Ms, b.p99Ms), ratio(a.gatewayCpuMsPerReq, b.gatewayCpuMsPerReq), '', '', '', '']);
      rows.push([q.id, 'A/C', ratio(a.rps.median, c.rps.median), '', '', '', '', '', '', '', '']);
    }
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
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
      `Policy tax: **A/D throughput ${ratio(a.rps.median, d.rps.median)}** (target ≥ 0.90), p50 ${ratio(a.p50Ms, d.p50Ms)}, ` +
        `p99 ${ratio(a.p99Ms, d.p99Ms)}, gateway CPU/req ${ratio(a.gatewayCpuMsPerReq, d.gatewayCpuMsPerReq)} ` +
        `(A − D: ${signedUs(a.gatewayCpuMsPerReq - d.gatewayCpuMsPerReq)} CPU per request for token verification and field enforcement).`,
    );
  }
  if (a && b && c) {
    out.push('');
    out.push(
      `Ratios: **A/B throughput ${ratio(a.rps.median, b.rps.median)}**, p50 ${ratio(a.p50Ms, b.p50Ms)}, p99 ${ratio(a.p99Ms, b.p99Ms)}, ` +
        `gateway CPU/req ${ratio(a.gatewayCpuMsPerReq, b.gatewayCpuMsPerReq)} ` +
        `(A − B: ${signedUs(a.gatewayCpuMsPerReq - b.gatewayCpuMsPerReq)} CPU per request); ` +
        `**A/C throughput ${ratio(a.rps.median, c.rps.median)}**. Response: ${f0(a.bytesPerResponse)} bytes with headers.`,
    );
  }
  return out.join('\n');
}

function reading(report: BenchReport): string {
  const rows = report.queries
    .map((q) => ({ q, a: find(report, q.id, 'A'), b: find(report, q.id, 'B'), c: find(report, q.id, 'C') }))
    .filter((r): r is { q: BenchQuery; a: Summary; b: Summary; c: Summary } => !!(r.a && r.b && r.c));
  if (rows.length === 0) return '';
  const list = (f: (r: (typeof rows)[number]) => string) => rows.map((r) => `${f(r)} (${r.q.id})`).join(', ');
  const spread = (s: Summary) => (s.rps.median > 0 ? (s.rps.max - s.rps.min) / s.rps.median : 0);
  const noise = Math.max(...rows.flatMap((r) => [spread(r.a), spread(r.b)]));
  const lowest = rows.reduce((m, r) => (r.a.rps.median / r.b.rps.median < m.a.rps.median / m.b.rps.median ? r : m));
  const outside = rows.filter((r) => Math.abs(r.a.rps.median / r.b.rps.median - 1) > noise).map((r) => r.q.id);
  const parts: string[] = [];
  parts.push(
    `**A/B** is the price of the hub's own layer — Fastify with the Apollo integration, a request id per call, the ` +
      `landing-page and public-error plugins — over Apollo's standalone server on the very same Mesh graph: throughput ` +
      `${list((r) => ratio(r.a.rps.median, r.b.rps.median))}; gateway CPU per request A − B ` +
      `${list((r) => signedUs(r.a.gatewayCpuMsPerReq - r.b.gatewayCpuMsPerReq))}. ` +
      `Runs of one target spread by up to ${pct(noise)} (max − min over median); an A/B ratio within that band around 1.00 ` +
      `is no measurable difference. ` +
      (outside.length === 0
        ? `All ${rows.length} are inside it: at this noise level the hub's layer cannot be told apart from the cost of Mesh and ` +
          `the upstream calls; the lowest A/B (${ratio(lowest.a.rps.median, lowest.b.rps.median)}, ${lowest.q.id}) bounds what it may cost.`
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
    `**A/C** compares with a server that answers the same bytes without any GraphQL: ${list((r) => ratio(r.a.rps.median, r.c.rps.median))}, ` +
      `i.e. HTTP on loopback is ${Math.round(Math.min(...rows.map((r) => r.c.rps.median / r.a.rps.median)))}–` +
      `${Math.round(Math.max(...rows.map((r) => r.c.rps.median / r.a.rps.median)))}× faster than the hub. The gap is the gateway's work ` +
      `per request — Mesh planning and execution, the SOAP client's XML, the REST client, the embedded file-drop store (PGlite) and ` +
      `serialisation — not HTTP. C itself is bounded by the loopback and the load generator, which share the same cores.`,
  );
  return parts.join(' ');
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
      `${s.runs} runs × ${s.durationS} s, targets interleaved, the order rotated each run (A D B C, D B C A, B C A D, …), the heap collected before each run${s.quick ? ' (**quick mode: indicative only**)' : ''}`,
  );
  const disturbed = report.records.filter((r) => r.disturbed).length;
  lines.push(
    `- Quietness: a measured run during which other processes kept more than ${s.maxForeignCores} cores busy is repeated ` +
      `(at most ${s.retries} times); this run repeated ${report.discarded.length}` +
      (disturbed ? ` and kept **${disturbed} disturbed run(s)** after the last attempt` : ', and every kept run was quiet') +
      '.',
  );
  lines.push(
    '- Load generator: autocannon in a separate process; every response body is compared byte for byte with the expected ' +
      'answer, and any error, timeout, non-2xx or mismatch fails the run. Latency: each response\'s own timing; median over runs.',
  );
  lines.push('');
  lines.push('## Targets');
  lines.push('');
  lines.push('All on 127.0.0.1, all on the same demo upstreams, which run in a process of their own.');
  lines.push('');
  lines.push('- **A — Tongxiang**: `startHub(loadConfig(...))` exactly as shipped (Fastify, Apollo Server 5, Mesh, request id, error mapping).');
  lines.push('- **B — bare Apollo on the Mesh schema**: the same `loadMesh(config)`, `new ApolloServer({ schema: mesh.schema })` on `startStandaloneServer`, Mesh\'s context factory, nothing else.');
  lines.push('- **C — raw HTTP ceiling**: `node:http` answering the exact bytes A answers for that query, without any GraphQL.');
  lines.push(
    '- **D — Tongxiang with identity and enforcement off**: the same `startHub` with `benchmarkWithoutPolicies` (no token ' +
      'verification, no field decisions; a switch reachable only from code). **A/D is the policy tax** (target ≥ 0.90). ' +
      'A holds contracts for every conditional field, so A, B and D answer the same bytes.',
  );
  lines.push('');
  lines.push(
    'CPU columns: *gateway* is the bench process, where A, B and C run one at a time (it includes the file-drop store, ' +
      'PGlite, which is embedded in the gateway); *upstreams* is the SOAP + REST demo process; *load-gen* is the autocannon process. ' +
      'Each is that process\'s CPU time during the run divided by the requests completed.',
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
  lines.push('## Reading');
  lines.push('');
  lines.push(reading(report));
  lines.push('');
  lines.push('## How to reproduce');
  lines.push('');
  lines.push('```sh');
  lines.push('npm ci');
  lines.push('npm run bench                 # full run (~3 minutes); rewrites this file and bench/results/latest.json');
  lines.push('npm run bench -- --quick      # ~1 minute, prints the table, leaves this file alone (add --docs to write it)');
  lines.push('npm run bench -- --duration 10 --runs 5 --connections 32 --warmup 3');
  lines.push('```');
  lines.push('');
  lines.push(
    'Run it on a quiet machine (`uptime`): other processes compete for the same cores (see "Quietness" above). ' +
      'Compare ratios, not absolute numbers, across machines.',
  );
  lines.push('');
  return lines.join('\n');
}
