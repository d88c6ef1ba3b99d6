/**
 * `kill -9` of a running hub under load: every request that got a response has a durable audit
 * record, and after a restart (which cuts a torn last line aside and records that it did) the log
 * verifies with the public keys alone.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AccessRecord, LogEntry } from '../../audit/types.ts';
import { runAuditCli } from '../audit/cli.ts';
import { PROJECT_ROOT } from '../config.ts';

function startHubProcess(dataDir: string) {
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'gateway/bin/tongxiang.js'), 'start', '--demo', '--port', '0', '--data-dir', dataDir], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const ready = (async () => {
    const deadline = Date.now() + 60_000;
    while (!/curl -s (\S+)/.test(out)) {
      if (child.exitCode !== null) throw new Error(`hub exited early: ${err.slice(-2000)}`);
      if (Date.now() > deadline) throw new Error(`hub did not start: ${err.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return { url: /curl -s (\S+)/.exec(out)![1]!, body: /--data '(.*)'$/m.exec(out)![1]! };
  })();
  return { child, exited, ready, err: () => err };
}

async function tokenFor(dataDir: string): Promise<string> {
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'gateway/bin/tongxiang.js'), 'token', '--dept', '341504.mzj', '--role', 'developer', '--data-dir', dataDir], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
  await new Promise((resolve) => child.on('exit', resolve));
  return out.trim();
}

describe('audit durability', () => {
  it('keeps a record of every answered request through kill -9, and verifies after restart', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tongxiang-crash-'));
    let hub = startHubProcess(dataDir);
    try {
      const { url, body } = await hub.ready;
      const token = await tokenFor(dataDir);
      const answered: string[] = [];
      let stop = false;
      const worker = async (w: number) => {
        for (let i = 0; !stop; i++) {
          const id = `crash-${w}-${i}`;
          try {
            const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'x-request-id': id }, body });
            await res.text();
            // Every response counts, refusals too: the demo contracts' requests per minute soon
            // answer 429, and a 429 must have its record as much as a 200.
            answered.push(id);
          } catch {
            return; // the hub is gone
          }
        }
      };
      const load = Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)));
      while (answered.length < 150) await new Promise((r) => setTimeout(r, 20));
      hub.child.kill('SIGKILL');
      stop = true;
      await hub.exited;
      await load;

      const before = (await readFile(join(dataDir, 'audit', 'log.jsonl'), 'utf8')).split('\n');
      const records = new Set<string>();
      for (const line of before) {
        try {
          const e = JSON.parse(line) as LogEntry;
          if (e.kind === 'record' && e.record.type === 'access') records.add((e.record as AccessRecord).requestId);
        } catch {
          // a torn last line: the restart deals with it
        }
      }
      const missing = answered.filter((id) => !records.has(id));
      expect(missing).toEqual([]);

      // Restart: recovery, then a clean stop (final checkpoint), then verify offline.
      hub = startHubProcess(dataDir);
      await hub.ready;
      hub.child.kill('SIGTERM');
      expect(await hub.exited).toBe(0);
      let out = '';
      const code = await runAuditCli(['verify', '--data-dir', dataDir, '--json'], { stdout: (s) => (out += s), stderr: () => undefined, env: {} });
      const result = JSON.parse(out) as { ok: boolean; records: number; instances: Array<{ lastSeq: number; lastCheckpointSeq: number | null }> };
      expect(result.ok).toBe(true);
      expect(code).toBe(0);
      expect(result.records).toBeGreaterThanOrEqual(answered.length);
      // The clean stop signed everything.
      expect(result.instances.every((i) => i.lastCheckpointSeq === i.lastSeq)).toBe(true);
    } finally {
      if (hub.child.exitCode === null) hub.child.kill('SIGKILL');
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 180_000);
});
