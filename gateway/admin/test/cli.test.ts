import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../../core/index.ts';
import { parseFieldArg, parseScopeArg, runContracts, table } from '../cli.ts';
import { adminFixture, person, type AdminFixture } from './support.ts';

const PEOPLE: Record<string, Principal> = {
  'dev-token': person('341504.mzj', ['developer'], 'zhang.san'),
  'owner-token': person('341500.rsj', ['data_owner'], 'li.si'),
  'other-token': person('341623.mzj', ['data_owner'], 'qian.qi'),
};

let fx: AdminFixture;
let server: ApolloServer<{ principal: Principal | null }>;
let url: string;

beforeAll(async () => {
  fx = await adminFixture();
  server = new ApolloServer<{ principal: Principal | null }>({ schema: fx.schema });
  ({ url } = await startStandaloneServer(server, {
    listen: { host: '127.0.0.1', port: 0 },
    context: async ({ req }) => ({ principal: PEOPLE[String(req.headers.authorization ?? '').replace(/^Bearer /, '')] ?? null }),
  }));
});
afterAll(async () => {
  await server?.stop();
  await fx?.dispose();
});

async function cli(args: string[], env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const code = await runContracts(args, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env });
  return { code, stdout, stderr };
}

describe('tongxiang contracts over HTTP', () => {
  let id: string;

  it('request → JSON with the new contract, pending', async () => {
    const r = await cli([
      'request', '--url', url, '--token', 'dev-token', '--json',
      '--provider', '341500.rsj', '--field', 'PersonInsurance.name', '--field', 'InsuranceRecord.contributionBase:masked',
      '--purpose', '低保审核', '--basis', '《社会救助暂行办法》', '--scope', 'regions:341504',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const c = JSON.parse(r.stdout);
    id = c.id;
    expect(c).toMatchObject({ state: 'PENDING', consumer: '341504.mzj', scope: { kind: 'REGIONS', regionCodes: ['341504'] } });
    expect(c.fields).toEqual([
      { coordinate: 'PersonInsurance.name', mode: 'CLEAR' },
      { coordinate: 'InsuranceRecord.contributionBase', mode: 'MASKED' },
    ]);
  });

  it('pending for the owner (token and URL from the environment), as a table', async () => {
    const r = await cli(['pending'], { TONGXIANG_URL: url, TONGXIANG_TOKEN: 'owner-token' });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/编号 id\s+状态 state/);
    expect(r.stdout).toContain(id);
    expect(r.stdout).toContain('待审批 pending');
  });

  it('a refusal prints the code in both languages and exits 1', async () => {
    const r = await cli(['approve', id, '--url', url, '--token', 'other-token']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^\[FORBIDDEN_ACTION\] 无权执行此操作/m);
    expect(r.stderr).toMatch(/^\[FORBIDDEN_ACTION\] Not allowed to do this/m);
  });

  it('approve with narrowing, then show lists the history with actors and reasons', async () => {
    const approve = await cli(['approve', id, '--field', 'PersonInsurance.name:masked', '--reason', '最小必要', '--url', url, '--token', 'owner-token']);
    expect(approve.code).toBe(0);
    expect(approve.stdout).toContain('生效 active');
    const show = await cli(['show', id, '--url', url, '--token', 'dev-token']);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain('PersonInsurance.name(脱敏 masked)');
    expect(show.stdout).toMatch(/approve \[PersonInsurance\.name\(脱敏 masked\)\]\s+pending → active\s+li\.si \(341500\.rsj\)\s+最小必要/);
    expect(show.stdout).toMatch(/create\s+— → draft\s+zhang\.san \(341504\.mzj\)/);
  });

  it('an illegal transition: CONTRACT_TRANSITION_INVALID', async () => {
    const r = await cli(['withdraw', id, '--url', url, '--token', 'dev-token']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^\[CONTRACT_TRANSITION_INVALID\]/m);
  });

  it('revoke needs --reason; with it the contract is revoked; list shows it', async () => {
    await expect(cli(['revoke', id, '--url', url, '--token', 'owner-token'])).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    const r = await cli(['revoke', id, '--reason', '停止使用', '--url', url, '--token', 'owner-token', '--json']);
    expect(JSON.parse(r.stdout).state).toBe('REVOKED');
    const list = await cli(['list', '--url', url, '--token', 'dev-token']);
    expect(list.stdout).toMatch(new RegExp(`${id}\\s+已撤销 revoked`));
  });

  it('no token, a bad token, an unreachable hub', async () => {
    await expect(cli(['list', '--url', url])).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    const bad = await cli(['list', '--url', url, '--token', 'nobody']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^\[UNAUTHENTICATED\]/m);
    await expect(cli(['list', '--url', 'http://127.0.0.1:9/graphql', '--token', 'x'])).rejects.toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
  });

  it('usage and unknown verbs', async () => {
    expect((await cli([])).code).toBe(2);
    expect((await cli(['help'])).stdout).toContain('tongxiang contracts <verb>');
    expect((await cli(['frobnicate'])).code).toBe(2);
    await expect(cli(['list', '--local', '--as-dept', '341504.mzj', '--as-role', 'developer', '--token', 'x'])).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(cli(['list', '--as-dept', '341504.mzj', '--token', 'x', '--url', url])).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
  });
});

describe('tongxiang contracts --local (operators, no token)', () => {
  it('acts on the store in --data-dir as the given department and role', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tx-admin-cli-'));
    try {
      const asDev = ['--local', '--data-dir', dataDir, '--as-dept', '341504.mzj', '--as-role', 'developer', '--as-sub', 'ops'];
      const made = await cli(['request', ...asDev, '--json', '--provider', '341500.rsj', '--field', 'PersonInsurance.name', '--purpose', 'p', '--basis', 'b']);
      expect(made.stderr).toBe('');
      const c = JSON.parse(made.stdout);
      expect(c.state).toBe('PENDING');
      const asOwner = ['--local', '--data-dir', dataDir, '--as-dept', '341500.rsj', '--as-role', 'data_owner'];
      const approved = await cli(['approve', c.id, ...asOwner, '--json']);
      expect(JSON.parse(approved.stdout).state).toBe('ACTIVE');
      await expect(cli(['list', '--local', '--data-dir', dataDir, '--as-dept', 'nope', '--as-role', 'developer'])).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('argument parsing and tables', () => {
  it('fields and scopes', () => {
    expect(parseFieldArg('Person.insurance')).toEqual({ coordinate: 'Person.insurance', mode: 'CLEAR' });
    expect(parseFieldArg('PersonInsurance.name:masked')).toEqual({ coordinate: 'PersonInsurance.name', mode: 'MASKED' });
    expect(() => parseFieldArg('name')).toThrow(/Type\.field/);
    expect(parseScopeArg('regions:341504, 341623')).toEqual({ kind: 'REGIONS', regionCodes: ['341504', '341623'] });
    expect(parseScopeArg('all')).toEqual({ kind: 'ALL' });
    expect(() => parseScopeArg('county')).toThrow();
  });

  it('aligns CJK text by display width', () => {
    const out = table(['状态', 'x'], [['待审批', '1'], ['ok', '2']]).split('\n');
    expect(out[0]).toBe('状态    x');
    expect(out[2]).toBe('待审批  1');
    expect(out[3]).toBe('ok      2');
  });
});
