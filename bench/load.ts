/**
 * The load generator, meant to run in its own process so the client never shares an event loop
 * with the server it measures. One job = one bounded autocannon run against one URL with one
 * fixed request; every response body is compared with the expected bytes.
 *
 *   forked by bench/run.ts:  receives LoadJob messages over IPC, answers { ok, result | error }
 *   by hand:                 node --import tsx bench/load.ts '{"url":"http://127.0.0.1:4000/graphql",...}'
 *                            (prints one LoadResult as JSON on stdout)
 */
import { pathToFileURL } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import autocannon from 'autocannon';

export interface LoadJob {
  readonly url: string;
  readonly body: string;
  /**
   * Every 2xx body must equal this; anything else counts as a mismatch. With `sameJson`, a body
   * that differs only in the order of an object's keys passes too (M: Mesh's stitching orders keys
   * as fields resolve under load); it then costs the load generator a JSON.parse.
   */
  readonly expectBody: string;
  readonly sameJson?: boolean;
  /** Requests per second over all connections (autocannon's overallRate); default: as fast as answered. */
  readonly rate?: number;
  /** Extra request headers (the bearer token). */
  readonly headers?: Readonly<Record<string, string>>;
  readonly connections: number;
  readonly durationS: number;
  /** Per-request timeout. */
  readonly timeoutS?: number;
}

export interface LoadResult {
  readonly requests: number;
  readonly durationS: number;
  readonly rps: number;
  /** Milliseconds, from every response's own timing (sub-millisecond resolution). */
  readonly latencyMs: { readonly p50: number; readonly p90: number; readonly p99: number; readonly max: number; readonly mean: number };
  readonly errors: number;
  readonly timeouts: number;
  readonly non2xx: number;
  readonly mismatches: number;
  readonly statusCodes: Record<string, number>;
  /** First body that did not match, cut to 500 characters. */
  readonly mismatchSample: string | null;
  readonly firstError: string | null;
  readonly bytesPerResponse: number;
  /** CPU time of this (client) process during the run. */
  readonly clientCpuMs: number;
}

/**
 * autocannon builds each body as a string chunk by chunk (`body += chunk`), so a multi-byte
 * UTF-8 character split across two TCP reads arrives as U+FFFD runs. Such a body still matches
 * when every run stands where the expected text has one non-ASCII character.
 */
export function sameBody(body: string, expected: string): boolean {
  if (body === expected) return true;
  let i = 0;
  let j = 0;
  while (i < body.length && j < expected.length) {
    if (body[i] === expected[j]) {
      i++;
      j++;
    } else if (body[i] === '\uFFFD') {
      while (body[i] === '\uFFFD') i++;
      const cp = expected.codePointAt(j)!;
      if (cp < 0x80) return false;
      j += cp > 0xffff ? 2 : 1;
    } else {
      return false;
    }
  }
  return i === body.length && j === expected.length;
}

/** The same JSON value, whatever the order of each object's keys (array order counts). */
export function sameJson(body: string, expected: unknown): boolean {
  try {
    return isDeepStrictEqual(JSON.parse(body), expected);
  } catch {
    return false;
  }
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

export async function runLoad(job: LoadJob): Promise<LoadResult> {
  let latencies = new Float64Array(1 << 16);
  let count = 0;
  let bytes = 0;
  let mismatchSample: string | null = null;
  const expectedJson: unknown = job.sameJson ? JSON.parse(job.expectBody) : undefined;
  let firstError: string | null = null;

  const cpuBefore = process.cpuUsage();
  let finish: (error: unknown, result: autocannon.Result) => void = () => undefined;
  const finished = new Promise<autocannon.Result>((resolve, reject) => {
    finish = (error, result) => (error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(result));
  });
  const instance = autocannon({
    url: job.url,
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...job.headers },
    body: job.body,
    connections: job.connections,
    pipelining: 1,
    ...(job.rate ? { overallRate: job.rate } : {}),
    duration: job.durationS,
    timeout: job.timeoutS ?? 10,
    verifyBody: (body: unknown) => {
      if (typeof body === 'string' && sameBody(body, job.expectBody)) return true;
      if (expectedJson !== undefined && typeof body === 'string' && sameJson(body, expectedJson)) return true;
      mismatchSample ??= String(body).slice(0, 500);
      return false;
    },
  }, (error: unknown, result: autocannon.Result) => finish(error, result));
  instance.on('response', (_client, statusCode, resBytes, responseTime) => {
    if (statusCode < 200 || statusCode >= 300) return;
    if (count === latencies.length) {
      const grown = new Float64Array(latencies.length * 2);
      grown.set(latencies);
      latencies = grown;
    }
    latencies[count++] = responseTime;
    bytes += resBytes;
  });
  instance.on('reqError', (error: unknown) => {
    firstError ??= error instanceof Error ? error.message : String(error);
  });
  const result = await finished;
  const cpu = process.cpuUsage(cpuBefore);

  const sorted = latencies.subarray(0, count).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  const statusCodes: Record<string, number> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = stat.count ?? 0;
  const requests = result.requests.total;
  return {
    requests,
    durationS: result.duration,
    rps: requests / result.duration,
    latencyMs: {
      p50: percentile(sorted, 50),
      p90: percentile(sorted, 90),
      p99: percentile(sorted, 99),
      max: count ? sorted[count - 1]! : 0,
      mean: count ? sum / count : 0,
    },
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    mismatches: result.mismatches,
    statusCodes,
    mismatchSample,
    firstError,
    bytesPerResponse: count ? bytes / count : 0,
    clientCpuMs: (cpu.user + cpu.system) / 1000,
  };
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;

if (process.send) {
  // Forked by bench/run.ts: one job at a time over IPC; exit when the parent goes away.
  process.on('message', (job: LoadJob) => {
    runLoad(job).then(
      (result) => process.send!({ ok: true, result }),
      (error: unknown) => process.send!({ ok: false, error: error instanceof Error ? error.message : String(error) }),
    );
  });
  process.on('disconnect', () => process.exit(0));
} else if (isMain) {
  const raw = process.argv[2];
  if (!raw) {
    process.stderr.write('usage: node --import tsx bench/load.ts \'{"url":...,"body":...,"expectBody":...,"connections":16,"durationS":5}\'\n');
    process.exit(2);
  }
  const result = await runLoad(JSON.parse(raw) as LoadJob);
  process.stdout.write(JSON.stringify(result) + '\n');
}
