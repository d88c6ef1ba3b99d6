/**
 * `auditVerification` over a hub's own log: OK on a fresh hub; after a record of the stopped
 * hub's log file is changed and the hub started again, not OK, naming the record as modified.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config.ts';
import { issueLocalToken } from '../../identity/index.ts';
import { silentLogger } from '../../log.ts';
import { startHub, type Hub } from '../../server.ts';
import { postGraphQL } from '../../test/harness.ts';

interface Verification {
  ok: boolean;
  records: number;
  checkpoints: number;
  instances: number;
  problem: { kind: string; instance: string | null; seq: number | null; message: string; line: number | null } | null;
}
const VERIFY = '{ auditVerification { ok records checkpoints instances from to verifiedAt problem { kind instance seq message line } } }';

let dataDir: string;
let hub: Hub | undefined;
const start = () => startHub(loadConfig({ env: {}, overrides: { port: 0, dataDir, demo: true, shutdownGraceMs: 5000 } }), { logger: silentLogger });

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'tongxiang-console-verify-'));
  hub = await start();
}, 120_000);
afterAll(async () => {
  await hub?.close();
  await rm(dataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
});

async function verify(): Promise<Verification> {
  const auditor = await issueLocalToken(hub!.config.identity, dataDir, { subject: 'auditor-v', department: '340000.sjzyj', roles: ['auditor'], ttlSeconds: 600 });
  const r = await postGraphQL<{ auditVerification: Verification }>(hub!.graphqlUrl, VERIFY, {}, { token: auditor });
  expect(r.body.errors).toBeUndefined();
  return r.body.data!.auditVerification;
}

describe('auditVerification', () => {
  it('finds a record changed in the log file of a stopped hub, once the hub runs again', async () => {
    const developer = await issueLocalToken(hub!.config.identity, dataDir, { subject: 'dev-v', department: '341504.mzj', roles: ['developer'], ttlSeconds: 600 });
    for (let i = 0; i < 3; i++) await postGraphQL(hub!.graphqlUrl, '{ catalogue { coordinate } }', {}, { token: developer });
    const fresh = await verify();
    expect(fresh).toMatchObject({ ok: true, instances: 1, problem: null });
    expect(fresh.records).toBeGreaterThan(3);

    await hub!.close();
    hub = undefined;
    const path = join(dataDir, 'audit', 'log.jsonl');
    const lines = (await readFile(path, 'utf8')).split('\n');
    const at = lines.findIndex((l) => l.includes('"type":"access"') && l.includes('"department":"341504.mzj"'));
    expect(at).toBeGreaterThan(0);
    const seq = (JSON.parse(lines[at]!) as { record: { seq: number } }).record.seq;
    lines[at] = lines[at]!.replace('"department":"341504.mzj"', '"department":"341504.mzk"');
    await writeFile(path, lines.join('\n'));

    hub = await start();
    const after = await verify();
    expect(after.ok).toBe(false);
    expect(after.problem).toMatchObject({ kind: 'record-modified', seq, line: at + 1 });
    expect(after.problem!.message).toMatch(/[\u4e00-\u9fff].* \/ [A-Z]/);
  });
});
