/**
 * npm run bench [-- --quick] [--duration S] [--runs N] [--connections N] [--warmup S]
 *                  [--max-foreign CORES] [--retries N] [--docs | --no-docs]
 *
 * Measures, in one run, Tongxiang (A) against the same hub with identity and enforcement off (D),
 * the same hub with the audit trail off (E), the same hub with its limits in Redis (R;
 * TONGXIANG_BENCH_REDIS_URL, default redis://127.0.0.1:6379, its keys deleted afterwards) and with
 * its limits off (L), bare Apollo on the same Mesh schema (B) and a raw
 * node:http server answering the same bytes (C), on three queries, with the demo upstreams in a
 * child process and the load generator in another; then times the audit writer and verifier on a
 * chain of N access records (50,000; 10,000 with --quick), SHA-256 and SM3. Prints a table, writes
 * bench/results/latest.json and (full runs, or --docs) docs/benchmarks.md. Exits by itself;
 * any error, timeout, non-2xx answer or unexpected body fails the run with exit code 1.
 * A measured run during which other processes kept more than --max-foreign cores busy (Linux
 * /proc/stat) is repeated, at most --retries times; the last attempt is kept and marked.
 */
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { isDeepStrictEqual, parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../gateway/config.ts';
import { exampleQueries } from '../gateway/examples.ts';
import { AuditVerifierFailure, measureAuditVerifier, type AuditVerifierReport } from './audit-verifier.ts';
import type { LoadJob, LoadResult } from './load.ts';
import { withSection } from './filedrop-docs.ts';
import { runResilienceBench, type ResilienceResult } from './resilience.ts';
import { consoleTable, markdown, summarize, throughputChart, type BenchQuery, type BenchReport, type Machine, type RunRecord, type Settings } from './report.ts';
import type { TargetAnswer, TargetReady } from './target-process.ts';
import { TARGET_IDS, TARGET_NAMES, type Target, type TargetId } from './targets.ts';
import type { UpstreamsCpu, UpstreamsReady } from './upstreams.ts';

class BenchFailure extends Error {}

/** `list` rotated left by `by`. */
function rotated<T>(list: readonly T[], by: number): T[] {
  const k = ((by % list.length) + list.length) % list.length;
  return [...list.slice(k), ...list.slice(0, k)];
}

/** A full collection when the process runs with --expose-gc (npm run bench does). */
function settleHeap(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

const log = (line: string) => process.stderr.write(line + '\n');

// ---------------------------------------------------------------------------------------------
// Settings

/** The unloaded-latency phase: these targets, one connection, shorter runs. */
const LATENCY_TARGETS: readonly TargetId[] = ['A', 'E', 'R', 'L', 'B'];
const LATENCY_CONNECTIONS = 1;
const latencyDurationS = (durationS: number) => Math.max(1, Math.round(durationS * 0.6));

function settingsFrom(argv: string[]): Settings & { docs: boolean; auditRecords: number; companions: readonly string[] } {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      duration: { type: 'string' },
      runs: { type: 'string' },
      connections: { type: 'string' },
      warmup: { type: 'string' },
      'max-foreign': { type: 'string' },
      retries: { type: 'string' },
      docs: { type: 'boolean' },
      'no-docs': { type: 'boolean' },
      'gateway-only': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const quick = values.quick ?? false;
  const num = (name: string, raw: string | undefined, fallback: number, min: number, max: number, integer: boolean) => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
      throw new BenchFailure(`--${name} must be ${integer ? 'an integer' : 'a number'} between ${min} and ${max} (got ${raw})`);
    }
    return n;
  };
  return {
    quick,
    // Many short rounds rather than a few long ones: ratios are taken within a round (see
    // pairedRps in report.ts), and more rounds narrow their median on a machine whose speed drifts.
    durationS: num('duration', values.duration, quick ? 2 : 2, 1, 60, false),
    runs: num('runs', values.runs, quick ? 2 : 9, 1, 20, true),
    connections: num('connections', values.connections, 16, 1, 256, true),
    warmupS: num('warmup', values.warmup, quick ? 1 : 2, 0, 30, false),
    maxForeignCores: num('max-foreign', values['max-foreign'], 0.25, 0, 64, false),
    retries: num('retries', values.retries, quick ? 1 : 2, 0, 5, true),
    docs: values['no-docs'] ? false : (values.docs ?? !quick),
    auditRecords: quick ? 10_000 : 50_000,
    // The other benchmarks of the same command, each in a process of its own after the gateway's.
    companions: values['gateway-only'] ? [] : COMPANIONS,
  };
}

/** Run after the gateway benchmark by `npm run bench` (skipped with --gateway-only); each writes its own section. */
const COMPANIONS: readonly string[] = ['bench/filedrop.ts'];

/** docs/benchmarks.md's resilience section (between its markers). */
function resilienceSection(r: ResilienceResult, command: string): string {
  const f = (n: number) => n.toFixed(2);
  const lines = [
    '<!-- resilience:start -->',
    '## Resilience: a failing upstream and the others',
    '',
    `Generated by \`${command}\` (bench/resilience.ts, also \`npm run bench:resilience\` alone), ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}. ` +
      `A query touching only a healthy source (the REST social-insurance bureau, \`person { insurance }\`) under load (${r.settings.connections} connections) ` +
      `while a second load (${r.settings.connections} connections, a fixed ${r.settings.soapRate} requests per second in every phase) asks the SOAP registry, which a fault proxy makes slow (${r.settings.slowMs} ms against a ${r.settings.upstreamTimeoutMs} ms timeout), ` +
      `dead (connections refused) or answer garbage; ${r.settings.durationS} s per phase after ${r.settings.warmupS} s of warm-up, the breaker's cool-down ${r.settings.breakerCooldownMs / 1000} s. ` +
      `Target: the healthy source's latency within ×${f(r.target)} of normal (each fault against the mean of the normal runs just before and just after it: a normal phase runs around every fault, as this machine's speed drifts over a minute).`,
    '',
    '| SOAP upstream | healthy query req/s | p50 ms | p99 ms | SOAP query req/s | SOAP circuit after |',
    '|---|---:|---:|---:|---:|---|',
    ...r.phases.map((p) => `| ${p.fault} | ${Math.round(p.healthy.rps)} | ${f(p.healthy.latencyMs.p50)} | ${f(p.healthy.latencyMs.p99)} | ${Math.round(p.soap.rps)} | ${p.circuit} |`),
    '',
    `Faulty / normal, healthy query: ${(['slow', 'dead', 'garbage'] as const).map((k) => `${k} p50 ×${f(r.ratios[k].p50)}, p99 ×${f(r.ratios[k].p99)}`).join('; ')} — ` +
      (r.withinTarget ? `**within ×${f(r.target)}: met**.` : `**not within ×${f(r.target)}**.`),
    '<!-- resilience:end -->',
  ];
  return lines.join('\n');
}

/** Runs a companion benchmark with the same --quick and --docs choice; its output goes straight to ours. */
async function runCompanion(script: string, quick: boolean, docs: boolean): Promise<void> {
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', join(PROJECT_ROOT, script), ...(quick ? ['--quick'] : []), docs ? '--docs' : '--no-docs'], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new BenchFailure(`${script} failed (exit ${code})`);
}

async function machine(): Promise<Machine> {
  let cpuModel = cpus()[0]?.model ?? 'unknown';
  try {
    const info = await readFile('/proc/cpuinfo', 'utf8');
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(info)?.[1]?.trim() ?? cpuModel;
  } catch {
    // not Linux: os.cpus() it is
  }
  let commit = 'unknown (not a git checkout)';
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: PROJECT_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    // The bench's own files and its output do not change what is measured.
    const changed = git('status', '--porcelain', '--untracked-files=no', '--', '.', ':!bench', ':!docs/benchmarks.md') !== '';
    commit = `${git('rev-parse', '--short', 'HEAD')}${changed ? ' with uncommitted changes' : ''}`;
  } catch {
    // no git: leave it unknown
  }
  return { cpuModel, nproc: availableParallelism(), node: process.version, platform: `${process.platform}-${process.arch}`, commit, loadavgStart: loadavg() };
}

/** Busy CPU time of the whole machine so far, ms (Linux /proc/stat, USER_HZ = 100); null elsewhere. */
async function machineBusyMs(): Promise<number | null> {
  try {
    const first = (await readFile('/proc/stat', 'utf8')).split('\n', 1)[0]!;
    const [, user, nice, system, , , irq, softirq, steal] = first.trim().split(/\s+/).map(Number);
    return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) * 10;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Child processes

interface Upstreams {
  readonly ready: UpstreamsReady;
  cpuMs(): Promise<number>;
  close(): Promise<void>;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new BenchFailure(`${what} took longer than ${Math.round(ms / 1000)} s`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
}

async function startUpstreams(): Promise<Upstreams> {
  const child = spawn(process.execPath, [...process.execArgv, join(PROJECT_ROOT, 'bench/upstreams.ts')], {
    cwd: PROJECT_ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const waiting: Array<(message: UpstreamsReady | UpstreamsCpu) => void> = [];
  let ready: ((message: UpstreamsReady) => void) | undefined;
  const readyMessage = new Promise<UpstreamsReady>((resolve, reject) => {
    ready = resolve;
    child.once('exit', (code) => reject(new BenchFailure(`the upstreams process exited early (code ${code})`)));
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const message = JSON.parse(line) as UpstreamsReady | UpstreamsCpu;
    if (message.type === 'ready') ready?.(message);
    else waiting.shift()?.(message);
  });
  const closeChild = async () => {
    child.stdin!.end();
    const done = exited(child);
    const kill = setTimeout(() => child.kill('SIGKILL'), 8000);
    await done;
    clearTimeout(kill);
  };
  let readyValue: UpstreamsReady;
  try {
    readyValue = await withTimeout(readyMessage, 60_000, 'starting the demo upstreams');
  } catch (error) {
    await closeChild();
    throw error;
  }
  return {
    ready: readyValue,
    cpuMs: () =>
      withTimeout(
        new Promise<number>((resolve) => {
          waiting.push((m) => resolve(m.type === 'cpu' ? (m.userUs + m.systemUs) / 1000 : Number.NaN));
          child.stdin!.write('cpu\n');
        }),
        10_000,
        'asking the upstreams process for its CPU time',
      ),
    close: closeChild,
  };
}

/** A target in its own process (bench/target-process.ts): its CPU is that process's alone. */
interface ProcessTarget extends Target {
  cpuMs(): Promise<number>;
  /** A full collection in the target's process before a run. */
  gc(): Promise<void>;
}

async function startTargetProcess(
  id: TargetId,
  variables: Record<string, string>,
  queryIds: readonly string[],
  bodies?: ReadonlyMap<string, string>,
): Promise<ProcessTarget> {
  const child = spawn(process.execPath, [...process.execArgv, join(PROJECT_ROOT, 'bench/target-process.ts')], {
    cwd: PROJECT_ROOT,
    // Every target as it runs in production (the hub's CLI sets the same; M's `mesh start` too).
    env: { ...process.env, NODE_ENV: 'production' },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const waiting: Array<(message: TargetAnswer) => void> = [];
  let ready: ((message: TargetReady) => void) | undefined;
  let failed: ((error: Error) => void) | undefined;
  const readyMessage = new Promise<TargetReady>((resolve, reject) => {
    ready = resolve;
    failed = reject;
    child.once('exit', (code) => reject(new BenchFailure(`target ${id}'s process exited early (code ${code})`)));
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const message = JSON.parse(line) as TargetAnswer;
    if (message.type === 'ready') ready?.(message);
    else if (message.type === 'failed') failed?.(new BenchFailure(`target ${id}: ${message.error}`));
    else waiting.shift()?.(message);
  });
  const closeChild = async () => {
    if (!child.stdin!.destroyed) child.stdin!.end();
    const done = exited(child);
    const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await done;
    clearTimeout(kill);
  };
  const ask = <T>(line: string, pick: (m: TargetAnswer) => T): Promise<T> =>
    withTimeout(
      new Promise<T>((resolve) => {
        waiting.push((m) => resolve(pick(m)));
        child.stdin!.write(line + '\n');
      }),
      15_000,
      `asking target ${id}'s process (${line})`,
    );
  child.stdin!.write(JSON.stringify({ type: 'start', id, variables, queryIds, ...(bodies ? { bodies: Object.fromEntries(bodies) } : {}) }) + '\n');
  let started: TargetReady;
  try {
    // M builds Mesh's artifacts first (`mesh build`, about a minute on this machine).
    started = await withTimeout(readyMessage, id === 'M' ? 420_000 : 120_000, `starting target ${id}`);
  } catch (error) {
    await closeChild();
    throw error;
  }
  return {
    id,
    name: TARGET_NAMES[id],
    urlFor: (queryId) => started.urls[queryId]!,
    ...(started.headers ? { headers: started.headers } : {}),
    ...(started.redis ? { redis: { local: started.redis.local, cpuMs: () => ask('redis', (m) => (m.type === 'redis' ? m.ms : null)) } } : {}),
    cpuMs: () => ask('cpu', (m) => (m.type === 'cpu' ? (m.userUs + m.systemUs) / 1000 : Number.NaN)),
    gc: () => ask('gc', () => undefined),
    close: closeChild,
  };
}

interface LoadWorker {
  run(job: LoadJob): Promise<LoadResult>;
  close(): Promise<void>;
}

function startLoadWorker(): LoadWorker {
  const child = fork(join(PROJECT_ROOT, 'bench/load.ts'), [], {
    cwd: PROJECT_ROOT,
    execArgv: process.execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return {
    run(job) {
      const answer = new Promise<LoadResult>((resolve, reject) => {
        const onExit = (code: number | null) => reject(new BenchFailure(`the load generator exited (code ${code})`));
        child.once('exit', onExit);
        child.once('message', (message: { ok: true; result: LoadResult } | { ok: false; error: string }) => {
          child.off('exit', onExit);
          if (message.ok) resolve(message.result);
          else reject(new BenchFailure(`load generator: ${message.error}`));
        });
        child.send(job);
      });
      return withTimeout(answer, (job.durationS + 30) * 1000, `a ${job.durationS} s load run`);
    },
    async close() {
      if (child.connected) child.disconnect();
      const done = exited(child);
      const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
      await done;
      clearTimeout(kill);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Queries and their expected answers

function benchQueries(examples: UpstreamsReady['examples']): BenchQuery[] {
  const flagship = exampleQueries(examples)[0]!;
  return [
    {
      id: 'q1',
      title: 'single-source lookup: getEnterprise (SOAP registry)',
      query: `query Enterprise($creditCode: String!) {
  getEnterprise(creditCode: $creditCode) {
    creditCode name type legalRepresentativeName legalRepresentativeIdNumber
    registeredCapital establishedDate businessScope address regionCode status
  }
}`,
      variables: { creditCode: examples.enterprise },
    },
    { id: 'q2', title: 'flagship eligibility check across three sources (hub.examples[0])', query: flagship.query, variables: flagship.variables },
    {
      id: 'q3',
      title: '100-row list: allowanceHouseholds (file-drop store)',
      query: `query Households {
  allowanceHouseholds(regionCode: "341504", first: 100) {
    total
    items { headName headIdNumber members monthlyAmount township village approvalDate regionCode month }
  }
}`,
      variables: {},
    },
  ];
}

const requestBody = (q: BenchQuery) => JSON.stringify({ query: q.query, variables: q.variables });

/** Headers requests carry: A's bearer token (set once A is up), sent to every target without a token of its own. */
let requestHeaders: Readonly<Record<string, string>> = {};
const headersOf = (target: Target): Readonly<Record<string, string>> => target.headers ?? requestHeaders;

async function fetchBody(url: string, body: string, headers: Readonly<Record<string, string>> = requestHeaders): Promise<string> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const text = await response.text();
  if (response.status !== 200) throw new BenchFailure(`${url} answered ${response.status}: ${text.slice(0, 500)}`);
  return text;
}

/** The answer A gives, checked: no errors, data present, stable across calls, the same from B. */
async function expectedAnswer(q: BenchQuery, a: Target, b: Target): Promise<string> {
  const body = requestBody(q);
  const first = await fetchBody(a.urlFor(q.id), body);
  const parsed = JSON.parse(first) as { data?: Record<string, unknown> | null; errors?: unknown[] };
  if (parsed.errors?.length || !parsed.data || Object.values(parsed.data).some((v) => v === null)) {
    throw new BenchFailure(`${q.id}: Tongxiang answered with errors or no data: ${first.slice(0, 800)}`);
  }
  if (q.id === 'q3') {
    const items = (parsed.data.allowanceHouseholds as { items?: unknown[] } | undefined)?.items;
    if (items?.length !== 100) throw new BenchFailure(`q3: expected 100 rows, got ${items?.length}`);
  }
  const again = await fetchBody(a.urlFor(q.id), body);
  if (again !== first) throw new BenchFailure(`${q.id}: Tongxiang's answer is not byte-stable across calls; bodies cannot be checked`);
  const fromB = await fetchBody(b.urlFor(q.id), body);
  if (fromB !== first) throw new BenchFailure(`${q.id}: bare Apollo answers differently from Tongxiang:\nA: ${first.slice(0, 400)}\nB: ${fromB.slice(0, 400)}`);
  return first;
}

// ---------------------------------------------------------------------------------------------

function checkClean(r: RunRecord): void {
  const l = r.load;
  if (l.errors || l.timeouts || l.non2xx || l.mismatches || l.requests === 0) {
    throw new BenchFailure(
      `${r.queryId} on ${r.target} (run ${r.run}): ${l.requests} requests, ${l.errors} errors, ${l.timeouts} timeouts, ` +
        `${l.non2xx} non-2xx (${JSON.stringify(l.statusCodes)}), ${l.mismatches} unexpected bodies` +
        (l.firstError ? `\nfirst error: ${l.firstError}` : '') +
        (l.mismatchSample ? `\nfirst unexpected body: ${l.mismatchSample}` : ''),
    );
  }
}

async function main(): Promise<number> {
  const started = Date.now();
  const argv = process.argv.slice(2);
  const settings = settingsFrom(argv);
  const info = await machine();
  const queries0 = 3;
  const targets0 = TARGET_IDS.length;
  // The audit writer and verifier: a few seconds per 10,000 records and algorithm on a slow box.
  const auditS = (settings.auditRecords / 10_000) * 2 * 4;
  // Start-up: the upstreams and seven servers, five of them hubs with their contracts, one the
  // Mesh peer (mesh build + mesh start, about 90 s).
  const estimateS =
    queries0 * targets0 * (settings.warmupS + settings.runs * (settings.durationS + 0.5)) +
    queries0 * LATENCY_TARGETS.length * (1 + settings.runs * (latencyDurationS(settings.durationS) + 0.5)) +
    120 +
    auditS;
  const worstS = estimateS + queries0 * targets0 * settings.runs * settings.retries * (settings.durationS + 2) + 2 * auditS;
  // Hard bound on the whole run: the worst case (every run repeated) plus start-up slack.
  // The companions: resilience (about 2 min), the file-drop intake (up to ~15 min with its 1 GB file).
  const limitS = Math.round(worstS * 1.5 + 120 + (settings.companions.length > 0 ? 150 : 0) + settings.companions.length * (settings.quick ? 300 : 1200));
  const watchdog = setTimeout(() => {
    log(`bench: still running after ${limitS} s; giving up`);
    process.exit(1);
  }, limitS * 1000);
  watchdog.unref();

  log(`bench: ${info.nproc} cores, ${info.cpuModel}, Node.js ${info.node}; load average ${info.loadavgStart.map((x) => x.toFixed(2)).join(' ')}`);
  const idle0 = await machineBusyMs();
  const cpuIdle0 = process.cpuUsage();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const idle1 = await machineBusyMs();
  if (idle0 !== null && idle1 !== null) {
    const cpuIdle = process.cpuUsage(cpuIdle0);
    const others = (idle1 - idle0 - (cpuIdle.user + cpuIdle.system) / 1000) / 1000;
    log(`bench: other processes are keeping ${Math.max(0, others).toFixed(2)} cores busy right now`);
    if (others > settings.maxForeignCores) log('bench: warning — the machine is not quiet; disturbed runs will be repeated, numbers may still suffer');
  }
  log(
    `bench: ${settings.connections} connections, warm-up ${settings.warmupS} s, ${settings.runs} × ${settings.durationS} s per target and query; ` +
      `about ${Math.round(estimateS)} s`,
  );

  const cleanups: Array<() => Promise<void>> = [];
  const cleanup = async () => {
    for (const c of cleanups.reverse()) await c().catch((error: unknown) => log(`bench: cleanup: ${(error as Error).message}`));
  };
  try {
    const upstreams = await startUpstreams();
    cleanups.push(() => upstreams.close());
    const worker = startLoadWorker();
    cleanups.push(() => worker.close());

    const { variables, examples } = upstreams.ready;
    const queries = benchQueries(examples);
    const queryIds = queries.map((q) => q.id);
    // Each target in a process of its own (see bench/target-process.ts), started one after another.
    const startOne = async (id: TargetId, bodies?: ReadonlyMap<string, string>): Promise<ProcessTarget> => {
      const target = await startTargetProcess(id, variables, queryIds, bodies);
      cleanups.push(() => target.close());
      return target;
    };
    const a = await startOne('A');
    requestHeaders = a.headers ?? {};
    const b = await startOne('B');
    const d = await startOne('D');
    const e = await startOne('E');
    const redisLimits = await startOne('R');
    const noLimits = await startOne('L');
    log('bench: building and starting the Mesh peer (mesh build, mesh start)');
    const meshPeer = await startOne('M');
    const expected = new Map<string, string>();
    const governed: Array<[Target, string]> = [
      [e, 'the hub without the audit trail'],
      [redisLimits, 'the hub with its limits in Redis'],
      [noLimits, 'the hub without limits'],
    ];
    // M is another server: the same data as A's answer, as JSON. Under load Mesh's stitching orders
    // an object's keys as its fields resolve, so its responses are checked as JSON (key order free).
    const ownBytes = new Map<string, string>();
    for (const q of queries) {
      expected.set(q.id, await expectedAnswer(q, a, b));
      if ((await fetchBody(d.urlFor(q.id), requestBody(q))) !== expected.get(q.id)) throw new BenchFailure(`${q.id}: the hub without policies answers other bytes`);
      for (const [target, what] of governed) {
        const body = await fetchBody(target.urlFor(q.id), requestBody(q), headersOf(target));
        if (body !== expected.get(q.id)) {
          throw new BenchFailure(`${q.id}: ${what} answers other bytes:\nA: ${expected.get(q.id)!.slice(0, 400)}\n${target.id}: ${body.slice(0, 400)}`);
        }
      }
      const peerBody = await fetchBody(meshPeer.urlFor(q.id), requestBody(q), headersOf(meshPeer));
      if (!isDeepStrictEqual(JSON.parse(peerBody), JSON.parse(expected.get(q.id)!))) {
        throw new BenchFailure(`${q.id}: GraphQL Mesh (mesh start) answers other data:\nA: ${expected.get(q.id)!.slice(0, 400)}\nM: ${peerBody.slice(0, 400)}`);
      }
      ownBytes.set(q.id, peerBody);
    }
    const c = await startOne('C', expected);
    for (const q of queries) {
      if ((await fetchBody(c.urlFor(q.id), requestBody(q))) !== expected.get(q.id)) throw new BenchFailure(`${q.id}: raw HTTP server answers other bytes`);
    }
    const targets: Record<TargetId, ProcessTarget> = { A: a, B: b, C: c, D: d, E: e, L: noLimits, M: meshPeer, R: redisLimits };
    log('bench: targets up, answers checked (A = B = D = E = R = L = C byte for byte, M the same data as JSON, no errors)');

    const records: RunRecord[] = [];
    const discarded: RunRecord[] = [];
    const measure = async (q: BenchQuery, id: TargetId, run: number, durationS: number, attempt = 1, connections = settings.connections): Promise<RunRecord> => {
      // A full collection in the measured target's process first: each run starts from a settled heap.
      await targets[id].gc();
      await new Promise((resolve) => setTimeout(resolve, 100));
      const job: LoadJob = {
        url: targets[id].urlFor(q.id),
        body: requestBody(q),
        expectBody: (id === 'M' ? ownBytes : expected).get(q.id)!,
        ...(id === 'M' ? { sameJson: true } : {}),
        headers: headersOf(targets[id]),
        connections,
        durationS,
      };
      const redis = targets[id].redis;
      const up0 = await upstreams.cpuMs();
      const busy0 = await machineBusyMs();
      const redis0 = redis ? await redis.cpuMs() : null;
      const cpu0 = await targets[id].cpuMs();
      const mono0 = process.hrtime.bigint();
      const load = await worker.run(job);
      const mono1 = process.hrtime.bigint();
      const wallMs = Number(mono1 - mono0) / 1e6;
      const cpu1 = await targets[id].cpuMs();
      const redis1 = redis ? await redis.cpuMs() : null;
      const busy1 = await machineBusyMs();
      const up1 = await upstreams.cpuMs();
      const gatewayCpuMs = cpu1 - cpu0;
      const upstreamCpuMs = up1 - up0;
      // R: the Redis server's CPU during the run (all its clients); on this machine it is not "other processes".
      const redisCpuMs = redis0 === null || redis1 === null ? null : redis1 - redis0;
      const localRedisMs = redis?.local && redisCpuMs !== null ? redisCpuMs : 0;
      const record: RunRecord = {
        queryId: q.id,
        target: id,
        run,
        load,
        gatewayCpuMs,
        upstreamCpuMs,
        redisCpuMs,
        foreignCpuMs: busy0 === null || busy1 === null ? null : busy1 - busy0 - gatewayCpuMs - upstreamCpuMs - load.clientCpuMs - localRedisMs,
        wallMs,
        monoStartUs: Number(mono0 / 1000n),
        monoEndUs: Number(mono1 / 1000n),
        attempt,
        disturbed: false,
      };
      checkClean(record);
      return record;
    };
    const foreignCores = (r: RunRecord) => (r.foreignCpuMs === null ? 0 : Math.max(0, r.foreignCpuMs) / r.wallMs);
    /** A measured run, repeated (bounded) while other processes took more than --max-foreign cores. */
    const measureQuietly = async (q: BenchQuery, id: TargetId, run: number, connections = settings.connections, durationS = settings.durationS): Promise<RunRecord> => {
      for (let attempt = 1; ; attempt++) {
        const r = await measure(q, id, run, durationS, attempt, connections);
        if (foreignCores(r) <= settings.maxForeignCores) return r;
        if (attempt > settings.retries) return { ...r, disturbed: true };
        discarded.push(r);
        log(`  ${q.id} ${id} run ${run}/${settings.runs}  disturbed (other processes: ${foreignCores(r).toFixed(2)} cores); repeating`);
        await new Promise((resolve) => setTimeout(resolve, 2000));
      }
    };

    for (const q of queries) {
      if (settings.warmupS > 0) {
        for (const id of TARGET_IDS) {
          const r = await measure(q, id, 0, settings.warmupS);
          records.push(r);
          log(`  ${q.id} ${id} warm-up      ${Math.round(r.load.rps)} req/s`);
        }
      }
      for (let run = 1; run <= settings.runs; run++) {
        // The order rotates from run to run, so that no target always follows the same one.
        for (const id of rotated(TARGET_IDS, run - 1)) {
          const r = await measureQuietly(q, id, run);
          records.push(r);
          log(
            `  ${q.id} ${id} run ${run}/${settings.runs}  ${Math.round(r.load.rps)} req/s  p50 ${r.load.latencyMs.p50.toFixed(2)} ms  ` +
              `p99 ${r.load.latencyMs.p99.toFixed(2)} ms  gw ${(r.gatewayCpuMs / r.load.requests).toFixed(3)} ms/req` +
              (r.redisCpuMs === null ? '' : `  redis ${(r.redisCpuMs / r.load.requests).toFixed(3)} ms/req`) +
              (r.foreignCpuMs === null ? '' : `  foreign ${foreignCores(r).toFixed(2)} cores`) +
              (r.disturbed ? '  (DISTURBED, kept)' : ''),
          );
        }
      }
    }

    // Unloaded latency: one connection, closed loop — what a single caller waits, without the
    // queueing that dominates p50 at saturation (where p50 ≈ connections / throughput, so any
    // throughput loss shows as milliseconds of "added" p50). The p50 targets are judged here.
    const latencyRecords: RunRecord[] = [];
    const latencyJob = { ...settings, connections: LATENCY_CONNECTIONS };
    for (const q of queries) {
      for (const id of LATENCY_TARGETS) {
        const w = await measure(q, id, 0, Math.min(settings.warmupS, 1) || 0.5, 1, latencyJob.connections);
        latencyRecords.push(w);
      }
      for (let run = 1; run <= settings.runs; run++) {
        for (const id of rotated(LATENCY_TARGETS, run - 1)) {
          const r = await measureQuietly(q, id, run, LATENCY_CONNECTIONS, latencyDurationS(settings.durationS));
          latencyRecords.push(r);
          log(`  ${q.id} ${id} 1 connection ${run}/${settings.runs}  ${Math.round(r.load.rps)} req/s  p50 ${r.load.latencyMs.p50.toFixed(2)} ms  p99 ${r.load.latencyMs.p99.toFixed(2)} ms` + (r.disturbed ? '  (DISTURBED, kept)' : ''));
        }
      }
    }

    // The audit trail's offline pieces, after the load (the targets sit idle meanwhile).
    settleHeap();
    log(`bench: audit writer and verifier, ${settings.auditRecords.toLocaleString('en-US')} access records per chain, SHA-256 and SM3`);
    let auditVerifier: AuditVerifierReport;
    try {
      auditVerifier = await measureAuditVerifier(settings.auditRecords, log);
    } catch (error) {
      if (error instanceof AuditVerifierFailure) throw new BenchFailure(error.message);
      throw error;
    }

    const summaries = queries.flatMap((q) => TARGET_IDS.map((id) => summarize(records, q.id, id)));
    const latency = queries.flatMap((q) => LATENCY_TARGETS.map((id) => summarize(latencyRecords, q.id, id)));
    const report: BenchReport = {
      version: 2,
      date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      command: ['npm run bench', ...(argv.length ? ['--', ...argv] : [])].join(' '),
      settings: {
        quick: settings.quick,
        durationS: settings.durationS,
        warmupS: settings.warmupS,
        runs: settings.runs,
        connections: settings.connections,
        maxForeignCores: settings.maxForeignCores,
        retries: settings.retries,
      },
      machine: { ...info, loadavgEnd: loadavg() },
      queries,
      summaries,
      records,
      latency: { connections: LATENCY_CONNECTIONS, summaries: latency, records: latencyRecords },
      discarded,
      auditVerifier,
      wallS: (Date.now() - started) / 1000,
    };

    process.stdout.write('\n' + consoleTable(report) + '\n\n');
    const resultsDir = join(PROJECT_ROOT, 'bench/results');
    await mkdir(resultsDir, { recursive: true });
    await writeFile(join(resultsDir, 'latest.json'), JSON.stringify(report, null, 2) + '\n');
    log('bench: wrote bench/results/latest.json');
    if (settings.docs) {
      await writeFile(join(PROJECT_ROOT, 'docs/benchmarks.md'), markdown(report));
      const chart = throughputChart(report);
      if (chart) await writeFile(join(PROJECT_ROOT, 'docs/benchmarks-throughput.svg'), chart);
      log('bench: wrote docs/benchmarks.md' + (chart ? ' and docs/benchmarks-throughput.svg' : ''));
    }
  } finally {
    await cleanup();
  }
  if (settings.companions.length > 0) {
    // One upstream slow, dead or answering garbage: does the hub keep the others fast?
    log('bench: resilience (bench/resilience.ts): a healthy source\'s latency while the SOAP upstream is slow, dead, answering garbage');
    const resilience = await runResilienceBench({ durationS: settings.quick ? 2 : 5, log });
    const resultsDir = join(PROJECT_ROOT, 'bench/results');
    await mkdir(resultsDir, { recursive: true });
    await writeFile(join(resultsDir, 'resilience.json'), JSON.stringify(resilience, null, 2) + '\n');
    if (settings.docs) {
      const path = join(PROJECT_ROOT, 'docs/benchmarks.md');
      await writeFile(path, withSection(await readFile(path, 'utf8'), 'resilience', resilienceSection(resilience, ['npm run bench', ...(argv.length ? ['--', ...argv] : [])].join(' '))));
      log('bench: wrote the resilience section of docs/benchmarks.md');
    }
    if (!resilience.withinTarget) log(`bench: resilience — a healthy source slowed beyond ×${resilience.target} while another failed (see the table)`);
  }
  for (const script of settings.companions) {
    log(`bench: ${script}`);
    await runCompanion(script, settings.quick, settings.docs);
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    log(`bench: FAILED — ${error instanceof Error ? (error instanceof BenchFailure ? error.message : error.stack) : String(error)}`);
    process.exit(1);
  },
);
