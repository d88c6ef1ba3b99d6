/**
 * `GET /audit/export`: an auditor downloads the self-contained export, which verifies offline
 * with the hub's published keys; everyone else is refused; the download is itself audited.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdminRecord, LogEntry } from '../../audit/types.ts';
import { runAuditCli } from '../audit/cli.ts';
import { startTestHub, type TestHub } from './harness.ts';

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub();
}, 120_000);
afterAll(async () => {
  await t?.close();
});

const exportUrl = (query = '') => `${t.hub.url}/audit/export${query}`;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

const cli = async (argv: string[]) => {
  let out = '';
  let err = '';
  const code = await runAuditCli(argv, { stdout: (s) => (out += s), stderr: (s) => (err += s), env: {} });
  return { code, out, err };
};

describe('GET /audit/export', () => {
  it('gives an auditor a JSONL export of the range that verifies offline with the published keys', async () => {
    const from = new Date(Date.now() - 60_000).toISOString();
    for (let i = 0; i < 3; i++) await t.query('{ catalogue { coordinate } }');
    const to = new Date().toISOString();
    const auditor = await t.tokenFor({ subject: 'auditor-export', department: '340000.sjzyj', roles: ['auditor'] });
    const res = await fetch(exportUrl(`?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`), { headers: bearer(auditor) });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8');
    const stamp = (iso: string) => iso.slice(0, 19).replace(/[-:]/g, '') + 'Z';
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="tongxiang-audit-${stamp(from)}-${stamp(to)}.jsonl"`);
    const text = await res.text();
    const lines = text.trim().split('\n').map((l) => JSON.parse(l) as { kind: string; from?: string; to?: string });
    expect(lines[0]).toMatchObject({ kind: 'export', format: 'tongxiang-audit-export/1', from, to });
    expect(lines.filter((l) => l.kind === 'record').length).toBeGreaterThanOrEqual(3);
    expect(lines.filter((l) => l.kind === 'checkpoint').length).toBeGreaterThanOrEqual(1);
    expect(text).not.toMatch(/"d":/); // public keys only

    const file = join(t.dataDir, 'downloaded-export.jsonl');
    await writeFile(file, text);
    const keys = join(t.dataDir, 'published-jwks.json');
    await writeFile(keys, JSON.stringify(await (await fetch(`${t.hub.url}/audit/jwks.json`)).json()));
    const verified = await cli(['verify', '--file', file, '--keys', keys, '--json']);
    expect(verified.err).toBe('');
    expect(verified.code).toBe(0);
    const result = JSON.parse(verified.out) as { ok: boolean; records: number; unsigned: number };
    expect(result.ok).toBe(true);
    // The hub signed a checkpoint before exporting: the export's last records are signed.
    expect(result.unsigned).toBe(0);

    // A changed byte in the download is found.
    const tampered = join(t.dataDir, 'downloaded-tampered.jsonl');
    await writeFile(tampered, text.replace('"department":"341504.mzj"', '"department":"341504.mzk"'));
    const bad = await cli(['verify', '--file', tampered, '--keys', keys, '--json']);
    expect(bad.code).toBe(1);
    expect((JSON.parse(bad.out) as { problem: { kind: string } }).problem.kind).toBe('record-modified');
  });

  it('records the download as an admin event', async () => {
    const auditor = await t.tokenFor({ subject: 'auditor-export-2', department: '340000.sjzyj', roles: ['auditor'] });
    const res = await fetch(exportUrl(), { headers: bearer(auditor) });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="tongxiang-audit-start-now.jsonl"');
    await res.text();
    const events = (await readFile(join(t.dataDir, 'audit', 'log.jsonl'), 'utf8'))
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as LogEntry)
      .flatMap((e) => (e.kind === 'record' && e.record.type === 'admin' && e.record.action === 'audit-export' ? [e.record as AdminRecord] : []));
    expect(events.at(-1)).toMatchObject({ actor: { department: '340000.sjzyj', user: 'auditor-export-2' }, details: { from: null, to: null } });
  });

  it('refuses a developer (403), a caller without a token (401) and a range that is no range (400)', async () => {
    const developer = await fetch(exportUrl(), { headers: bearer(t.token) });
    expect(developer.status).toBe(403);
    expect(((await developer.json()) as { error: { code: string } }).error.code).toBe('FORBIDDEN_ACTION');
    const operator = await t.tokenFor({ subject: 'ops-export', department: '340000.sjzyj', roles: ['operator'] });
    expect((await fetch(exportUrl(), { headers: bearer(operator) })).status).toBe(403);

    const anonymous = await fetch(exportUrl());
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toContain('Bearer');
    expect(((await anonymous.json()) as { error: { code: string; reason: string } }).error).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'missing' });
    expect((await fetch(exportUrl(), { headers: bearer('not.a.token') })).status).toBe(401);

    const auditor = await t.tokenFor({ subject: 'auditor-export-3', department: '340000.sjzyj', roles: ['auditor'] });
    const notTime = await fetch(exportUrl('?from=yesterday'), { headers: bearer(auditor) });
    expect(notTime.status).toBe(400);
    expect(((await notTime.json()) as { error: { code: string } }).error.code).toBe('BAD_USER_INPUT');
    const backwards = await fetch(exportUrl('?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z'), { headers: bearer(auditor) });
    expect(backwards.status).toBe(400);
  });
});
