/**
 * The demo upstreams (SOAP registry, REST bureau, roster files) in a process of their own, so the
 * CPU time the benchmark charges to the gateway is the gateway's alone.
 *
 *   node --import tsx bench/upstreams.ts
 *
 * Prints one JSON line on stdout when ready: { type: "ready", pid, dataDir, variables, examples }.
 * `variables` holds this run's fresh demo credentials (loopback-only servers, gone when the
 * process exits): it is meant for a pipe, as bench/run.ts reads it. Afterwards each line "cpu" on
 * stdin is answered with { type: "cpu", userUs, systemUs }. Closing stdin (or SIGINT / SIGTERM)
 * stops the servers, removes the temporary data directory and exits.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startDemoUpstreams } from '../gateway/demo.ts';

export interface UpstreamsReady {
  readonly type: 'ready';
  readonly pid: number;
  readonly dataDir: string;
  readonly variables: Record<string, string>;
  readonly examples: { applicant: string; enterprise: string };
}

export interface UpstreamsCpu {
  readonly type: 'cpu';
  readonly userUs: number;
  readonly systemUs: number;
}

// The ready line carries this run's demo credentials: it is for bench/run.ts's pipe, not a terminal.
if (process.stdout.isTTY) {
  process.stderr.write('bench/upstreams.ts is started by bench/run.ts (npm run bench), not by hand.\n');
  process.exit(2);
}

const dataDir = await mkdtemp(join(tmpdir(), 'tongxiang-bench-upstreams-'));
const upstreams = await startDemoUpstreams({ dataDir });

let stopping: Promise<void> | null = null;
const stop = () => {
  stopping ??= (async () => {
    const force = setTimeout(() => process.exit(1), 5000);
    force.unref();
    await upstreams.close();
    await rm(dataDir, { recursive: true, force: true });
    process.exit(0);
  })();
  return stopping;
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());

const send = (message: UpstreamsReady | UpstreamsCpu) => process.stdout.write(JSON.stringify(message) + '\n');

createInterface({ input: process.stdin })
  .on('line', (line) => {
    if (line.trim() === 'cpu') {
      const { user, system } = process.cpuUsage();
      send({ type: 'cpu', userUs: user, systemUs: system });
    }
  })
  .on('close', () => void stop());

send({ type: 'ready', pid: process.pid, dataDir, variables: { ...upstreams.variables }, examples: upstreams.examples });
