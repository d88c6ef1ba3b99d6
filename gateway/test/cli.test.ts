/**
 * `tongxiang start --demo` as a user runs it (what `npm start` does): a real child process that
 * prints its URL and a ready-to-paste example, answers that example, and stops cleanly on SIGTERM.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../config.ts';

function runCli(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'gateway/bin/tongxiang.js'), ...args], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, out: () => stdout, err: () => stderr };
}

describe('tongxiang CLI', () => {
  it('starts the demo hub, prints a working example, and exits 0 on SIGTERM', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tongxiang-cli-'));
    const run = runCli(['start', '--demo', '--port', '0', '--data-dir', dataDir]);
    try {
      const deadline = Date.now() + 60_000;
      while (!/curl -s (\S+)/.test(run.out()) && Date.now() < deadline) {
        if (run.child.exitCode !== null) throw new Error(`exited early: ${run.err()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const out = run.out();
      const url = /curl -s (\S+)/.exec(out)![1]!;
      const body = /--data '(.*)'$/m.exec(out)![1]!;
      expect(out).toContain('通享 Tongxiang');
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const json = (await res.json()) as { data: { person: { allowances: unknown[]; insurance: unknown[] } }; errors?: unknown };
      expect(json.errors).toBeUndefined();
      expect(json.data.person.allowances.length).toBeGreaterThan(0);
      expect(json.data.person.insurance.length).toBeGreaterThan(0);
      // Demo credentials never reach the terminal.
      expect(run.out() + run.err()).not.toMatch(/password|apiKey|X-API-Key/i);
      run.child.kill('SIGTERM');
      expect(await run.exited).toBe(0);
    } finally {
      if (run.child.exitCode === null) run.child.kill('SIGKILL');
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 90_000);

  it('never prints the upstream credentials it was given, even when every upstream fails', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tongxiang-cli-'));
    const secrets = { TONGXIANG_SAMR_PASSWORD: 'Pw-7f3a9c-secret', TONGXIANG_RSJ_API_KEY: 'Key-51d0e2-secret' };
    const run = runCli(['start', '--port', '0', '--data-dir', dataDir], {
      ...secrets,
      TONGXIANG_SAMR_URL: 'http://127.0.0.1:9/samr/registry',
      TONGXIANG_SAMR_USERNAME: 'tongxiang-hub',
      TONGXIANG_RSJ_URL: 'http://127.0.0.1:9',
      TONGXIANG_UPSTREAM_TIMEOUT_MS: '1000',
    });
    try {
      const deadline = Date.now() + 60_000;
      while (!/curl -s (\S+)/.test(run.out()) && Date.now() < deadline) {
        if (run.child.exitCode !== null) throw new Error(`exited early: ${run.err()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const url = /curl -s (\S+)/.exec(run.out())![1]!;
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ person(idNumber: "341504197111070137") { name insurance { status } enterprisesAsLegalRepresentative { name } } }' }),
      });
      const text = await res.text();
      expect(text).toContain('UPSTREAM_UNAVAILABLE');
      const ready = await fetch(url.replace('/graphql', '/readyz'));
      expect(ready.status).toBe(503);
      const seen = text + (await ready.text());
      run.child.kill('SIGTERM');
      expect(await run.exited).toBe(0);
      for (const value of Object.values(secrets)) {
        expect(run.out()).not.toContain(value);
        expect(run.err()).not.toContain(value);
        expect(seen).not.toContain(value);
      }
    } finally {
      if (run.child.exitCode === null) run.child.kill('SIGKILL');
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 90_000);

  it('refuses to start without upstream settings and lists what is missing', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tongxiang-cli-'));
    const run = runCli(['start', '--port', '0', '--data-dir', dataDir]);
    expect(await run.exited).toBe(1);
    expect(run.err()).toContain('CONFIG_INVALID');
    expect(run.err()).toContain('TONGXIANG_SAMR_URL');
    await rm(dataDir, { recursive: true, force: true });
  });

  it('answers an unknown command with usage and exit code 2', async () => {
    const run = runCli(['frobnicate']);
    expect(await run.exited).toBe(2);
    expect(run.err()).toContain('用法 / usage');
  });
});
