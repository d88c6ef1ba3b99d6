/**
 * The file-drop exchange end to end through the hub: an upload over HTTP becomes a version served
 * by the graph, a subscriber's webhook receives the signed change event, a rollback publishes an
 * earlier version again, and hostile uploads are refused before anything is written.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idNumberCheckDigit } from '../../core/index.ts';
import { runDropCli } from '../drops/cli.ts';
import { verifyEventSignature } from '../exchange/index.ts';
import { startTestHub, type TestHub } from './harness.ts';

let t: TestHub;
let receiver: Server;
let hookUrl: string;
const received: Array<{ body: string; signature: string }> = [];

function idNumber(i: number): string {
  const first17 = `34150419800101${String(500 + i).padStart(3, '0')}`;
  return first17 + idNumberCheckDigit(first17);
}

const roster = (month: string, n: number, amount = 700) =>
  ['户编号,户主姓名,户主身份证号,保障人数,月保障金额,行政区划代码,保障月份']
    .concat(Array.from({ length: n }, (_, i) => `HH-E2E-${i + 1},测试户主${i + 1},${idNumber(i)},2,${amount + i},341504,${month}`))
    .join('\r\n') + '\r\n';

async function upload(token: string, dataset: string, fileName: string, body: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${t.hub.url}/drops/${encodeURIComponent(dataset)}/${encodeURIComponent(fileName)}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
    body,
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

async function waitFor<T>(what: string, probe: () => T | undefined, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

beforeAll(async () => {
  t = await startTestHub();
  receiver = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ body: Buffer.concat(chunks).toString('utf8'), signature: String(req.headers['tongxiang-signature'] ?? '') });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
}, 120_000);

afterAll(async () => {
  await new Promise((resolve) => receiver?.close(resolve));
  await t?.close();
});

describe('file-drop exchange through the hub', () => {
  it('publishes an upload as a new version, tells the subscriber with a signed event, and rolls back', async () => {
    const sub = await t.query<{ subscribeDataset: { id: string } }>(
      `mutation($url: String!) { subscribeDataset(dataset: "dibao", provider: "341504.mzj", webhookUrl: $url) { id } }`,
      { url: hookUrl },
    );
    expect(JSON.stringify(sub.body.errors ?? null)).toBe("null");

    const first = await upload(t.token, 'dibao', '叶集区低保名册-2026-11.csv', roster('2026-11', 3));
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({ outcome: 'published', rowsAccepted: 3, department: '341504.mzj' });
    const version = first.json.version as number;

    const page = await t.query<{ allowanceHouseholds: { total: number } }>(`{ allowanceHouseholds(regionCode: "341504", month: "2026-11") { total } }`);
    expect(page.body.data!.allowanceHouseholds.total).toBe(3);

    const event = await waitFor('the webhook', () => received.find((r) => JSON.parse(r.body).version === version));
    const jwks = (await (await fetch(`${t.hub.url}/exchange/jwks.json`)).json()) as { keys: never[] };
    await expect(verifyEventSignature(event.body, event.signature, jwks)).resolves.toBeTruthy();
    expect(JSON.parse(event.body)).toMatchObject({ dataset: 'dibao', department: '341504.mzj', version, added: 3, kind: 'file' });
    // Counts only: no field value of the roster is in the event.
    expect(event.body).not.toContain(idNumber(0));
    await expect(verifyEventSignature(event.body.replace('"added":3', '"added":4'), event.signature, jwks)).rejects.toBeTruthy();

    const second = await upload(t.token, 'dibao', '叶集区低保名册-2026-11-更正.csv', roster('2026-11', 3, 900));
    expect(second.json).toMatchObject({ outcome: 'published', version: version + 1 });

    const owner = await t.tokenFor({ roles: ['data_owner'] });
    const rolled = await t.query<{ rollbackDataset: { version: number; restoredFrom: number; kind: string } }>(
      `mutation($to: Int!) { rollbackDataset(dataset: "dibao", department: "341504.mzj", toVersion: $to) { version restoredFrom kind } }`,
      { to: version },
      { token: owner },
    );
    expect(JSON.stringify(rolled.body.errors ?? null)).toBe("null");
    expect(rolled.body.data!.rollbackDataset).toMatchObject({ version: version + 2, restoredFrom: version, kind: 'rollback' });
    await waitFor('the rollback event', () => received.find((r) => JSON.parse(r.body).kind === 'rollback'));

    const same = await upload(t.token, 'dibao', '再次投递.csv', roster('2026-11', 3));
    expect(same.json).toMatchObject({ outcome: 'unchanged' });
  });

  it('refuses rollback to a developer, and uploads with a path, a temporary name, another department’s dataset or no token', async () => {
    const rolled = await t.query(`mutation { rollbackDataset(dataset: "dibao", department: "341504.mzj", toVersion: 1) { version } }`);
    expect(rolled.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN_ACTION');

    expect((await upload(t.token, 'dibao', '../escape.csv', roster('2026-12', 1))).status).toBe(400);
    expect((await upload(t.token, 'dibao', '.hidden.csv', roster('2026-12', 1))).status).toBe(400);
    expect((await upload(t.token, 'dibao', 'a.exe', 'MZ')).status).toBe(400);
    const city = await t.tokenFor({ department: '341500.rsj' });
    const other = await upload(city, 'dibao', 'x.csv', roster('2026-12', 1));
    expect(other.status).toBe(403);
    expect((other.json.error as { code: string }).code).toBe('FORBIDDEN_ACTION');
    const anonymous = await fetch(`${t.hub.url}/drops/dibao/x.csv`, { method: 'PUT', body: 'a,b\r\n' });
    expect(anonymous.status).toBe(401);
  });

  it('tongxiang drop ingest uploads a file with progress and prints the report; a rejected file exits 1', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'drop-cli-'));
    try {
      const good = join(dir, '叶集区低保名册-2027-01.csv');
      await writeFile(good, roster('2027-01', 2));
      const out: string[] = [];
      const err: string[] = [];
      const io = { stdout: (s: string) => void out.push(s), stderr: (s: string) => void err.push(s), env: {}, fetch, tty: false };
      const code = await runDropCli(['ingest', good, '--dataset', 'dibao', '--url', t.hub.graphqlUrl, '--token', t.token], io);
      expect(code).toBe(0);
      expect(out.join('')).toContain('已发布 / published');
      expect(err.join('')).toContain('上传 / uploading 100%');

      const bad = join(dir, '叶集区低保名册-2027-02.csv');
      await writeFile(bad, '户编号,户主姓名\r\nHH-1,某\r\n');
      out.length = 0;
      const rejected = await runDropCli(['ingest', bad, '--dataset', 'dibao', '--url', t.hub.graphqlUrl, '--token', t.token], io);
      expect(rejected).toBe(1);
      expect(out.join('')).toContain('已拒绝，上一版本继续提供 / rejected');
      expect(out.join('')).toMatch(/原因 \/ reason: .*户主公民身份号码/);

      expect(await runDropCli(['ingest', good, '--url', t.hub.graphqlUrl, '--token', t.token], io)).toBe(2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
