/**
 * No data leaves without its audit record: the hooks the hub installs, on a real Fastify server
 * with the real audit runtime, whose log store is made to fail underneath it.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';
import { installAuditHooks, requestAudit } from '../audit/http.ts';
import { startHubAudit, type HubAudit } from '../audit/hub-audit.ts';
import { silentLogger } from '../log.ts';
import type { Catalogue } from '../../policies/index.ts';

const SECRET = '341504198712193778';
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function serve(mode: 'strict' | 'async', queueLimit: number): Promise<{ app: FastifyInstance; audit: HubAudit; url: string; ran: () => number }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'tx-audit-hooks-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const config = loadConfig({ env: {}, overrides: { dataDir, audit: { mode, queueLimit } } });
  const audit = await startHubAudit(config, silentLogger, { catalogueDigest: 'test' });
  cleanups.push(() => audit.close());
  const catalogue = { fields: new Map(), types: new Map() } as unknown as Catalogue;
  const app = Fastify();
  installAuditHooks(app, { path: '/graphql', audit, catalogue, logger: silentLogger, mode, queueLimit });
  let ran = 0;
  app.post('/graphql', async (request) => {
    requestAudit(request);
    ran += 1;
    return { data: { person: { idNumber: SECRET } } };
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  cleanups.push(() => app.close());
  const address = app.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/graphql`;
  return { app, audit, url, ran: () => ran };
}

const post = async (url: string) => {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ person { idNumber } }' }) });
  return { status: res.status, text: await res.text() };
};

describe('audit hooks', () => {
  it('answers normally while records are taken', async () => {
    const s = await serve('strict', 10);
    const r = await post(s.url);
    expect(r.status).toBe(200);
    expect(r.text).toContain(SECRET);
  });

  it('strict: withholds the response with 503 AUDIT_UNAVAILABLE when the record cannot be made durable', async () => {
    const s = await serve('strict', 1);
    await s.audit.store.close(); // the log store fails underneath the writer
    const results = await Promise.all([post(s.url), post(s.url), post(s.url)]);
    for (const r of results) {
      expect(r.status).toBe(503);
      expect(JSON.parse(r.text).errors[0].extensions.code).toBe('AUDIT_UNAVAILABLE');
      expect(r.text).not.toContain(SECRET);
    }
  });

  it('async: refuses new requests before they run once the queue is full, never dropping a record', async () => {
    const s = await serve('async', 2);
    await s.audit.store.close();
    const results = [];
    for (let i = 0; i < 6; i++) results.push(await post(s.url));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((x) => x === 503).length).toBeGreaterThanOrEqual(3);
    // Once refused for a full queue, the handler did not run for those requests.
    expect(s.ran()).toBeLessThan(6);
    for (const r of results.filter((x) => x.status === 503)) expect(r.text).not.toContain(SECRET);
    expect(s.audit.writer.status().queued).toBeLessThanOrEqual(2 + 1);
  });

  it('records hub-start at each start, and config-change / policy-reload only when the digest differs from the last start', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tx-audit-starts-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const start = async (checkpointEvery: number, catalogueDigest: string) => {
      const audit = await startHubAudit(loadConfig({ env: {}, overrides: { dataDir, audit: { checkpointEvery } } }), silentLogger, { catalogueDigest });
      await audit.close();
    };
    await start(1000, 'cat-1');
    await start(1000, 'cat-1');
    await start(500, 'cat-1');
    await start(500, 'cat-2');
    const actions = (await readFile(join(dataDir, 'audit', 'log.jsonl'), 'utf8'))
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { kind: string; record?: { type: string; action?: string } })
      .filter((e) => e.kind === 'record' && e.record!.type === 'admin')
      .map((e) => e.record!.action);
    expect(actions).toEqual(['hub-start', 'hub-stop', 'hub-start', 'hub-stop', 'hub-start', 'config-change', 'hub-stop', 'hub-start', 'policy-reload', 'hub-stop']);
  });
});
