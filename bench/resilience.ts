/**
 * npm run bench:resilience   (node --import tsx bench/resilience.ts [--duration S] [--connections N])
 *
 * Does a failing source slow down the others? Starts the demo upstreams behind fault proxies and a
 * hub (the test harness: full policies, a county developer's token; default retries, breaker and
 * bulkhead, a 3 s cool-down so the circuit closes again within the run), then measures the latency of
 * a query touching only a healthy source (the REST social-insurance bureau) under concurrent load
 * while the SOAP registry is normal, slow, dead and answering garbage — with a second load
 * hitting the SOAP field at the same time. Reports p50/p99 per phase and the ratio faulty/normal
 * per fault (target ≤ 1.20). A normal phase runs before and after every fault (normal, slow,
 * normal, dead, normal, garbage, normal), and each fault is compared with the mean of the two normal
 * phases around it: this shared machine's speed drifts by tens of percent over a minute, which a
 * single baseline for all faults would mix in. The load generators run in child processes
 * (bench/load.ts), never on the hub's event loop. Bounded: the whole run stops after 150 s.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../gateway/config.ts';
import { startTestHub, type TestHub } from '../gateway/test/harness.ts';
import type { FaultMode } from '../sources/testing/fault-proxy.ts';
import type { LoadJob, LoadResult } from './load.ts';

export interface ResilienceOptions {
  /** Seconds of measured load per phase (default 5; five phases). */
  readonly durationS?: number;
  /** Seconds of unmeasured load before each phase (default 1). */
  readonly warmupS?: number;
  /** Connections of each load generator (default 8). */
  readonly connections?: number;
  /** The hub's upstream timeout, ms (default 1000). */
  readonly upstreamTimeoutMs?: number;
  /** Progress lines (default: stderr). */
  readonly log?: (line: string) => void;
}

export interface PhaseResult {
  /** `normal` runs around every fault (after recovery); each fault's baseline is the mean of the two around it. */
  readonly fault: 'normal' | 'slow' | 'dead' | 'garbage';
  /** The healthy-source query: what is measured. */
  readonly healthy: Pick<LoadResult, 'requests' | 'rps' | 'latencyMs' | 'non2xx' | 'mismatches' | 'errors' | 'timeouts'>;
  /** The SOAP query running alongside: answered, or fields with UPSTREAM_* errors. */
  readonly soap: Pick<LoadResult, 'requests' | 'rps' | 'latencyMs' | 'mismatches'>;
  /** MarketRegistry's circuit at the end of the phase. */
  readonly circuit: string;
}

export interface ResilienceResult {
  readonly settings: { durationS: number; warmupS: number; connections: number; upstreamTimeoutMs: number; slowMs: number; breakerCooldownMs: number; soapRate: number };
  readonly phases: readonly PhaseResult[];
  /** Per fault: healthy-query latency faulty / normal. */
  readonly ratios: Readonly<Record<'slow' | 'dead' | 'garbage', { p50: number; p99: number }>>;
  readonly target: number;
  /** Every ratio (p50 and p99) at or below the target. */
  readonly withinTarget: boolean;
  readonly elapsedS: number;
}

const TOTAL_BUDGET_MS = 150_000;
/** Requests per second the SOAP-side load offers in every phase (well under what the hub serves). */
const SOAP_RATE = 40;
/** Shorter than the default 10 s, so the circuit closes again within the run before the last normal phase. */
const COOLDOWN_MS = 3000;

/** Limits that run on every request but never refuse the load (as bench/targets.ts BENCH_LIMITS). */
const BENCH_LIMITS = Object.freeze({ departmentLimit: 1_000_000_000, sourcePerSecond: 1_000_000_000 });

interface LoadWorker {
  run(job: LoadJob): Promise<LoadResult>;
  close(): void;
}

function startLoadWorker(): LoadWorker {
  const child: ChildProcess = fork(join(PROJECT_ROOT, 'bench/load.ts'), [], {
    cwd: PROJECT_ROOT,
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return {
    run: (job) =>
      new Promise<LoadResult>((resolve, reject) => {
        const onExit = (code: number | null) => reject(new Error(`the load generator exited (code ${code})`));
        child.once('exit', onExit);
        child.once('message', (message: { ok: true; result: LoadResult } | { ok: false; error: string }) => {
          child.off('exit', onExit);
          if (message.ok) resolve(message.result);
          else reject(new Error(`load generator: ${message.error}`));
        });
        child.send(job);
      }),
    close: () => {
      if (child.connected) child.disconnect();
      child.kill();
    },
  };
}

/** Waits until the SOAP circuit has closed again: after the cool-down one query probes it. */
async function recovered(t: TestHub): Promise<void> {
  const state = () => t.hub.circuits().find((c) => c.source === 'MarketRegistry')?.state;
  const until = Date.now() + COOLDOWN_MS * 3;
  while (state() !== 'closed' && Date.now() < until) {
    if (state() === 'half-open') {
      await t.query('query($code: String!) { enterprise(creditCode: $code) { name } }', { code: t.upstreams.examples.enterprise });
    } else await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (state() !== 'closed') throw new Error(`MarketRegistry's circuit did not close after the faults (${state()})`);
}

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

export async function runResilienceBench(options: ResilienceOptions = {}): Promise<ResilienceResult> {
  const started = performance.now();
  const durationS = options.durationS ?? 5;
  const warmupS = options.warmupS ?? 1;
  const connections = options.connections ?? 8;
  const upstreamTimeoutMs = options.upstreamTimeoutMs ?? 1000;
  const slowMs = Math.round(upstreamTimeoutMs * 0.8);
  const log = options.log ?? ((line: string) => process.stderr.write(line + '\n'));
  if ((warmupS + durationS) * 7 > 84) throw new Error('seven phases of warm-up + duration must fit in 84 s (the run is bounded to 150 s)');

  let t: TestHub | undefined;
  const workers: LoadWorker[] = [];
  // Over budget: the load generators are stopped, which fails the phase under way.
  let overBudget = false;
  const budget = setTimeout(() => {
    overBudget = true;
    log(`resilience bench: over ${TOTAL_BUDGET_MS / 1000} s, stopping`);
    for (const w of workers) w.close();
  }, TOTAL_BUDGET_MS);
  budget.unref();
  try {
    log('starting the demo upstreams, fault proxies and a hub …');
    // The hub as shipped (default retries, breaker, bulkhead), limits that never refuse the load.
    t = await startTestHub({ upstreamTimeoutMs, limits: BENCH_LIMITS, resilience: { breakerCooldownMs: COOLDOWN_MS } });
    const hub = t;
    const healthyQuery = JSON.stringify({
      query: 'query($id: String!) { person(idNumber: $id) { insurance { insuranceType scheme status } } }',
      variables: { id: hub.upstreams.data.named.applicantWithJob },
    });
    const soapQuery = JSON.stringify({
      query: 'query($code: String!) { enterprise(creditCode: $code) { creditCode name status } }',
      variables: { code: hub.upstreams.examples.enterprise },
    });
    const headers = { authorization: `Bearer ${hub.token}` };
    const expected = async (body: string) => {
      const res = await fetch(hub.hub.graphqlUrl, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
      const text = await res.text();
      if (res.status !== 200 || text.includes('"errors"')) throw new Error(`reference answer failed: ${res.status} ${text.slice(0, 300)}`);
      return text;
    };
    const healthyExpect = await expected(healthyQuery);
    const soapExpect = await expected(soapQuery);
    workers.push(startLoadWorker(), startLoadWorker(), startLoadWorker(), startLoadWorker());
    const [healthyWarm, soapWarm, healthyLoad, soapLoad] = workers as [LoadWorker, LoadWorker, LoadWorker, LoadWorker];
    const job = (body: string, expectBody: string, seconds: number, rate?: number): LoadJob => ({
      url: hub.hub.graphqlUrl,
      body,
      expectBody,
      headers,
      connections,
      durationS: seconds,
      timeoutS: 10,
      ...(rate ? { rate } : {}),
    });
    // The SOAP side offers the same load in every phase: a fixed rate, not as fast as answered (a
    // dead upstream behind an open circuit answers at once, and a closed loop would then send many
    // times more requests than in the normal phase, and measure that instead of the fault).
    const soapJob = (seconds: number) => job(soapQuery, soapExpect, seconds, SOAP_RATE);

    const faults: ReadonlyArray<{ fault: PhaseResult['fault']; mode: FaultMode }> = [
      { fault: 'normal', mode: { kind: 'pass' } },
      { fault: 'slow', mode: { kind: 'delay', ms: slowMs } },
      { fault: 'normal', mode: { kind: 'pass' } },
      { fault: 'dead', mode: { kind: 'reset' } },
      { fault: 'normal', mode: { kind: 'pass' } },
      { fault: 'garbage', mode: { kind: 'garbage', contentType: 'text/xml', body: '<html><body>502 Bad Gateway</body' } },
      { fault: 'normal', mode: { kind: 'pass' } },
    ];
    const phases: PhaseResult[] = [];
    // One unmeasured run first, so the first measured phase does not pay for JIT warm-up.
    await Promise.all([healthyWarm.run(job(healthyQuery, healthyExpect, 3)), soapWarm.run(soapJob(3))]);
    for (const { fault, mode } of faults) {
      if (overBudget) throw new Error(`the resilience bench took more than ${TOTAL_BUDGET_MS / 1000} s`);
      hub.soapProxy.setMode(mode);
      if (fault === 'normal' && phases.length > 0) await recovered(hub);
      log(`phase ${fault}: ${warmupS} s warm-up, ${durationS} s measured, ${connections} + ${connections} connections`);
      await Promise.all([healthyWarm.run(job(healthyQuery, healthyExpect, warmupS)), soapWarm.run(soapJob(warmupS))]);
      const [healthy, soap] = await Promise.all([
        healthyLoad.run(job(healthyQuery, healthyExpect, durationS)),
        soapLoad.run(soapJob(durationS)),
      ]);
      const circuit = hub.hub.circuits().find((c) => c.source === 'MarketRegistry')?.state ?? 'none';
      phases.push({
        fault,
        healthy: { requests: healthy.requests, rps: round(healthy.rps, 1), latencyMs: healthy.latencyMs, non2xx: healthy.non2xx, mismatches: healthy.mismatches, errors: healthy.errors, timeouts: healthy.timeouts },
        soap: { requests: soap.requests, rps: round(soap.rps, 1), latencyMs: soap.latencyMs, mismatches: soap.mismatches },
        circuit,
      });
      log(
        `  healthy p50 ${round(healthy.latencyMs.p50)} ms, p99 ${round(healthy.latencyMs.p99)} ms, ${round(healthy.rps, 0)} req/s, ` +
          `${healthy.mismatches + healthy.non2xx + healthy.errors} bad; SOAP p50 ${round(soap.latencyMs.p50)} ms, ${soap.mismatches} not answered; circuit ${circuit}`,
      );
    }
    hub.soapProxy.setMode({ kind: 'pass' });

    // Each fault against the mean of the normal phases just before and just after it.
    const ratio = (fault: PhaseResult['fault']) => {
      const i = phases.findIndex((p) => p.fault === fault);
      const around = [phases[i - 1]!, phases[i + 1]!].map((p) => p.healthy.latencyMs);
      const normal = { p50: (around[0]!.p50 + around[1]!.p50) / 2, p99: (around[0]!.p99 + around[1]!.p99) / 2 };
      return { p50: round(phases[i]!.healthy.latencyMs.p50 / normal.p50), p99: round(phases[i]!.healthy.latencyMs.p99 / normal.p99) };
    };
    const ratios = { slow: ratio('slow'), dead: ratio('dead'), garbage: ratio('garbage') };
    const target = 1.2;
    const withinTarget = Object.values(ratios).every((r) => r.p50 <= target && r.p99 <= target);
    for (const p of phases.slice(1)) {
      if (p.healthy.mismatches + p.healthy.non2xx + p.healthy.errors > 0) log(`  note: the healthy query had failures during ${p.fault}`);
    }
    return {
      settings: { durationS, warmupS, connections, upstreamTimeoutMs, slowMs, breakerCooldownMs: COOLDOWN_MS, soapRate: SOAP_RATE },
      phases,
      ratios,
      target,
      withinTarget,
      elapsedS: round((performance.now() - started) / 1000, 1),
    };
  } finally {
    clearTimeout(budget);
    for (const w of workers) w.close();
    await t?.close();
  }
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  const { values } = parseArgs({ options: { duration: { type: 'string' }, connections: { type: 'string' } }, strict: true });
  const result = await runResilienceBench({
    ...(values.duration ? { durationS: Number(values.duration) } : {}),
    ...(values.connections ? { connections: Number(values.connections) } : {}),
  });
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  const line = (f: 'slow' | 'dead' | 'garbage') => `${f}: p50 ×${result.ratios[f].p50}, p99 ×${result.ratios[f].p99}`;
  process.stderr.write(`healthy-source latency, faulty / normal (target ≤ ${result.target}): ${line('slow')}; ${line('dead')}; ${line('garbage')}\n`);
  process.exit(0);
}
