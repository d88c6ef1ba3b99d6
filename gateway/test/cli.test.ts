/**
 * `tongxiang start --demo` as a user runs it (what `npm start` does): a real child process that
 * prints its URL and a ready-to-paste example, answers that example, and stops cleanly on SIGTERM.
 * `tongxiang token` as a script runs it: the token alone on stdout, errors on stderr.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT, loadConfig } from '../config.ts';
import { PRIVATE_KEY_FILE, createIdentity, localKeyDir } from '../identity/index.ts';

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

const ONE_TOKEN = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\n$/;

/** `tongxiang token ...` to completion: its exit code and what it wrote. */
async function token(args: string[], env: Record<string, string> = {}) {
  const run = runCli(['token', ...args], env);
  const code = await run.exited;
  return { code, out: run.out(), err: run.err() };
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
      expect(out).toContain('-H "authorization: Bearer $TOKEN"');
      // The banner's own token command, run as printed.
      const tokenArgs = /^TOKEN=\$\(npx tongxiang token (.+)\)$/m.exec(out)![1]!.split(' ');
      expect(tokenArgs).toEqual(['--dept', '341504.mzj', '--role', 'developer', '--data-dir', dataDir]);
      const issued = await token(tokenArgs);
      expect(issued.code).toBe(0);
      expect(issued.out).toMatch(ONE_TOKEN);
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${issued.out.trim()}` }, body });
      const json = (await res.json()) as { data: { person: { name: string; allowances: unknown[]; insurance: unknown[] | null; enterprisesAsLegalRepresentative: unknown[] } }; errors?: unknown };
      expect(json.errors).toBeUndefined();
      expect(json.data.person.allowances.length).toBeGreaterThan(0);
      expect(json.data.person.insurance).not.toBeNull(); // granted by the seeded 人社 contract
      expect(json.data.person.enterprisesAsLegalRepresentative.length).toBeGreaterThan(0);
      expect(json.data.person.name).toMatch(/^\p{Script=Han}\*+$/u); // granted masked
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
      const issued = await token(['--dept', '341504.mzj', '--role', 'developer', '--data-dir', dataDir]);
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${issued.out.trim()}` },
        body: JSON.stringify({ query: '{ getEnterprise(creditCode: "914403001922038216") { name } personInsurance(idNumber: "341504197111070137") { idNumber } }' }),
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

  it('prints a token alone on one line, which the data directory\'s key verifies with the claims asked for', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tongxiang-cli-'));
    try {
      const issued = await token(['--dept', '341623.mzj', '--role', 'developer', '--role', 'data_owner', '--sub', 'wang.li', '--client', 'lixin-dibao', '--ttl', '1h', '--data-dir', dataDir]);
      expect(issued.code).toBe(0);
      expect(issued.out).toMatch(ONE_TOKEN);
      expect(issued.err).toBe('');
      const key = await stat(join(localKeyDir(dataDir), PRIVATE_KEY_FILE));
      if (process.platform !== 'win32') expect(key.mode & 0o777).toBe(0o600);
      const identity = await createIdentity(loadConfig({ env: {} }).identity, { dataDir });
      const principal = await identity.authenticate(`Bearer ${issued.out.trim()}`);
      expect(principal).toMatchObject({ subject: 'wang.li', client: 'lixin-dibao', roles: ['developer', 'data_owner'] });
      expect(principal.department).toMatchObject({ code: '341623.mzj', regionCode: '341623', level: 'county' });
      expect(principal.expiresAt * 1000 - Date.now()).toBeGreaterThan(50 * 60_000);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 60_000);

  it('refuses to sign when the hub is set up to verify an external issuer\'s tokens', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tongxiang-cli-'));
    try {
      const issued = await token(['--dept', '341504.mzj', '--role', 'developer', '--data-dir', dataDir], { TONGXIANG_OIDC_ISSUER: 'https://idp.example.gov.cn/realms/ah' });
      expect(issued.code).not.toBe(0);
      expect(issued.out).toBe('');
      expect(issued.err).toContain('FORBIDDEN_ACTION');
      await expect(stat(localKeyDir(dataDir))).rejects.toMatchObject({ code: 'ENOENT' });
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 60_000);

  it('refuses an unknown role or department on stderr, with nothing on stdout', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tongxiang-cli-'));
    try {
      for (const args of [['--dept', '341504.mzj', '--role', 'superuser'], ['--dept', 'mzj', '--role', 'developer'], ['--role', 'developer']]) {
        const issued = await token([...args, '--data-dir', dataDir]);
        expect(issued.code).not.toBe(0);
        expect(issued.out).toBe('');
        expect(issued.err).toContain('BAD_USER_INPUT');
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 60_000);

  it('answers an unknown command with usage and exit code 2', async () => {
    const run = runCli(['frobnicate']);
    expect(await run.exited).toBe(2);
    expect(run.err()).toContain('用法 / usage');
  });
});
