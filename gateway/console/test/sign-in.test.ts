/**
 * How the console signs in: config.json on a demo hub and on one that is not, demo tokens that
 * work on /graphql with the role asked for (audited, never with the token), refusals of bad
 * input, and the console's OIDC settings.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdminRecord, LogEntry } from '../../../audit/types.ts';
import { loadConfig } from '../../config.ts';
import { silentLogger } from '../../log.ts';
import { startHub, type Hub } from '../../server.ts';
import { postGraphQL, startTestHub, type TestHub } from '../../test/harness.ts';
import { consoleOidc } from '../sign-in.ts';

interface ConsoleConfig {
  graphqlPath: string;
  demoSignIn: { departments: Array<{ code: string; name: string }>; roles: string[] } | null;
  oidc: { issuer: string; clientId: string; scope: string } | null;
}

const post = (url: string, body: string, contentType = 'application/json') =>
  fetch(`${url}/console/demo-token`, { method: 'POST', headers: { 'content-type': contentType }, body });

describe('on a demo hub (local issuer, demo sources)', () => {
  let dataDir: string;
  let hub: Hub;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tongxiang-console-demo-'));
    hub = await startHub(loadConfig({ env: {}, overrides: { port: 0, dataDir, demo: true, shutdownGraceMs: 5000 } }), { logger: silentLogger });
  }, 120_000);
  afterAll(async () => {
    await hub?.close();
    await rm(dataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  });

  it('offers the demo sign-in: the demo departments, the platform department and the four roles', async () => {
    const res = await fetch(`${hub.url}/console/config.json`);
    expect(res.status).toBe(200);
    const config = (await res.json()) as ConsoleConfig;
    expect(config.graphqlPath).toBe('/graphql');
    expect(config.oidc).toBeNull();
    expect(config.demoSignIn!.roles).toEqual(['developer', 'data_owner', 'auditor', 'operator']);
    expect(config.demoSignIn!.departments).toEqual(
      expect.arrayContaining([
        { code: '341504.mzj', name: '六安市叶集区民政局' },
        { code: '341623.mzj', name: '亳州市利辛县民政局' },
        { code: '341500.rsj', name: '六安市人力资源和社会保障局' },
        { code: '340000.scjgj', name: '安徽省市场监督管理局' },
        { code: '340000.sjzyj', name: '安徽省数据资源管理局' },
      ]),
    );
  });

  it('issues an 8-hour token that works on /graphql and carries the role asked for', async () => {
    const res = await post(hub.url, JSON.stringify({ department: '341504.mzj', role: 'developer' }));
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const { token, expiresAt } = (await res.json()) as { token: string; expiresAt: string };
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({ sub: 'console-demo:developer@341504.mzj', dept: '341504.mzj', roles: ['developer'], azp: 'tongxiang-console' });
    expect(Date.parse(expiresAt)).toBe(claims.exp! * 1000);
    expect(claims.exp! - claims.iat!).toBe(8 * 3600);

    const mine = await postGraphQL<{ myContracts: Array<{ consumer: string }> }>(hub.graphqlUrl, '{ myContracts { consumer } }', {}, { token });
    expect(mine.status).toBe(200);
    expect(mine.body.data!.myContracts.length).toBeGreaterThan(0);
    // A developer is no operator; an operator's token is.
    const refused = await postGraphQL(hub.graphqlUrl, '{ hubSources { name } }', {}, { token });
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN_ACTION');
    const operator = (await (await post(hub.url, JSON.stringify({ department: '340000.sjzyj', role: 'operator' }))).json()) as { token: string };
    const allowed = await postGraphQL<{ hubSources: unknown[] }>(hub.graphqlUrl, '{ hubSources { name } }', {}, { token: operator.token });
    expect(allowed.body.errors).toBeUndefined();
    expect(allowed.body.data!.hubSources).toHaveLength(3);
  });

  it('refuses an unknown department or role with BAD_USER_INPUT in Chinese and English', async () => {
    for (const body of [
      { department: '341504.xxx', role: 'developer' },
      { department: '341504.mzj', role: 'root' },
      { department: 341504, role: 'developer' },
      { role: 'developer' },
      ['341504.mzj', 'developer'],
    ]) {
      const res = await post(hub.url, JSON.stringify(body));
      expect(res.status, JSON.stringify(body)).toBe(400);
      const { error } = (await res.json()) as { error: { code: string; messageZh: string; messageEn: string } };
      expect(error.code).toBe('BAD_USER_INPUT');
      expect(error.messageZh).toMatch(/^参数无效/);
      expect(error.messageEn).toMatch(/^Invalid argument/);
    }
    const notJson = await post(hub.url, 'department=341504.mzj&role=developer', 'application/x-www-form-urlencoded');
    expect(notJson.status).toBe(415);
    expect(((await notJson.json()) as { error: { code: string } }).error.code).toBe('BAD_USER_INPUT');
    const broken = await post(hub.url, '{"department":');
    expect(broken.status).toBe(400);
  });

  it('refuses a body over 1 KiB', async () => {
    const res = await post(hub.url, JSON.stringify({ department: '341504.mzj', role: 'developer', padding: 'x'.repeat(1100) }));
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('BAD_USER_INPUT');
  });

  it('records each sign-in as an admin event with department and role, never the token', async () => {
    const res = await post(hub.url, JSON.stringify({ department: '341623.mzj', role: 'data_owner' }));
    const { token } = (await res.json()) as { token: string };
    const text = await readFile(join(dataDir, 'audit', 'log.jsonl'), 'utf8');
    expect(text).not.toContain(token);
    expect(text).not.toContain(token.split('.')[2]!);
    const events = text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as LogEntry)
      .flatMap((e) => (e.kind === 'record' && e.record.type === 'admin' && e.record.action === 'console-demo-sign-in' ? [e.record as AdminRecord] : []));
    expect(events.at(-1)).toMatchObject({
      actor: { department: '341623.mzj', user: 'console-demo:data_owner@341623.mzj' },
      details: { department: '341623.mzj', role: 'data_owner', client: 'tongxiang-console' },
    });
    expect(events.length).toBeGreaterThanOrEqual(3);
  });

  it('sends / to the console and keeps the query page at /graphql, linking to the console', async () => {
    const root = await fetch(`${hub.url}/`, { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/console/');
    const page = await fetch(hub.graphqlUrl, { headers: { accept: 'text/html' } });
    expect(await page.text()).toContain('href="/console/"');
  });
});

describe('on a hub that is not a demo', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startTestHub();
  }, 120_000);
  afterAll(async () => {
    await t?.close();
  });

  it('offers no demo sign-in and answers the demo-token route 404 with a coded body', async () => {
    const config = (await (await fetch(`${t.hub.url}/console/config.json`)).json()) as ConsoleConfig;
    expect(config).toMatchObject({ graphqlPath: '/graphql', demoSignIn: null, oidc: null });
    // The example queries GraphiQL preloads, with this hub's example subjects.
    expect((config as unknown as { examples: { title: string; query: string }[] }).examples.map((e) => e.query).join('\n')).toContain('person(idNumber');
    const res = await post(t.hub.url, JSON.stringify({ department: '341504.mzj', role: 'operator' }));
    expect(res.status).toBe(404);
    const { error } = (await res.json()) as { error: { code: string; messageZh: string; messageEn: string } };
    expect(error.code).toBe('DEMO_SIGN_IN_UNAVAILABLE');
    expect(error.messageZh).toContain('演示登录');
    expect(error.messageEn).toContain('Demo sign-in');
  });
});

describe('console OIDC settings', () => {
  it('reads the client id and scope from the environment or the YAML file, scope openid by default', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tongxiang-console-config-'));
    try {
      const fromEnv = loadConfig({ env: { TONGXIANG_CONSOLE_OIDC_CLIENT_ID: 'tongxiang-console', TONGXIANG_DATA_DIR: dir }, cwd: dir });
      expect(fromEnv.console).toEqual({ distDir: null, oidcClientId: 'tongxiang-console', oidcScope: 'openid' });
      const file = join(dir, 'hub.yml');
      await writeFile(file, 'console:\n  oidcClientId: console-from-yaml\n  oidcScope: openid profile\n  distDir: ./web\n');
      const fromFile = loadConfig({ env: {}, file, cwd: dir });
      expect(fromFile.console).toEqual({ distDir: join(dir, 'web'), oidcClientId: 'console-from-yaml', oidcScope: 'openid profile' });
      const envWins = loadConfig({ env: { TONGXIANG_CONSOLE_OIDC_SCOPE: 'openid email' }, file, cwd: dir });
      expect(envWins.console.oidcScope).toBe('openid email');
      expect(() => loadConfig({ env: { TONGXIANG_CONSOLE_OIDC_SCOPE: 'profile' }, cwd: dir })).toThrow(/must include openid/);
      expect(() => loadConfig({ env: { TONGXIANG_CONSOLE_OIDC_SCOPE: 'openid "x"' }, cwd: dir })).toThrow(/TONGXIANG_CONSOLE_OIDC_SCOPE/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('tells the console to use OIDC only when the hub verifies an OIDC issuer and a client is configured', () => {
    const console = { oidcClientId: 'tongxiang-console', oidcScope: 'openid' };
    expect(consoleOidc({ mode: 'oidc', oidcIssuer: 'https://sso.ah.gov.cn/realms/zwfw' }, console)).toEqual({
      issuer: 'https://sso.ah.gov.cn/realms/zwfw',
      clientId: 'tongxiang-console',
      scope: 'openid',
    });
    expect(consoleOidc({ mode: 'oidc', oidcIssuer: 'https://sso.ah.gov.cn/realms/zwfw' }, { ...console, oidcClientId: null })).toBeNull();
    expect(consoleOidc({ mode: 'local', oidcIssuer: null }, console)).toBeNull();
    expect(consoleOidc({ mode: 'jwks-file', oidcIssuer: null }, console)).toBeNull();
  });
});
