import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DefaultLogger, PubSub } from '@graphql-mesh/utils';
import type { MeshHandlerOptions } from '@graphql-mesh/types';
import FileDropHandler, { probeFileDropSource, settleFileDropStores, type FileDropHandlerConfig } from '@tongxiang/filedrop-handler';
import { graphql, type GraphQLSchema } from 'graphql';
import iconv from 'iconv-lite';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { idNumberCheckDigit, TongxiangError } from '../../../core/index.ts';
import type { DemoAllowanceHousehold } from '../../../sources/demo-data/model.ts';
import { createPgliteDatasetStore, DIBAO_DATASET_PATH, writeDemoDrops } from '../../../sources/filedrop/index.ts';
import { acquireStore, releaseStore } from '../store-registry.ts';

function idNumber(region: string, i: number): string {
  const first17 = `${region}1980${String(1 + (i % 12)).padStart(2, '0')}${String(1 + (i % 28)).padStart(2, '0')}${String(100 + i).padStart(3, '0')}`;
  return first17 + idNumberCheckDigit(first17);
}

function roster(region: string, month: string, n: number): DemoAllowanceHousehold[] {
  return Array.from({ length: n }, (_, i) => ({
    householdId: `${region}-2026-${String(i + 1).padStart(6, '0')}`,
    headName: ['周立', '吴婷', '郑凯', '孙悦'][i % 4]!,
    headIdNumber: idNumber(region, i),
    members: 1 + (i % 4),
    monthlyAmount: 700 + i,
    township: '城关镇',
    village: '新华社区',
    approvalDate: '2025-09-15',
    regionCode: region,
    month,
  }));
}

const demo = [...roster('341504', '2026-09', 3), ...roster('341504', '2026-10', 3), ...roster('341623', '2026-09', 2), ...roster('341623', '2026-10', 4)];

let base: string;
let pubsub: PubSub;
let logged: string[];
const handlers: FileDropHandler[] = [];

function options(config: Partial<FileDropHandlerConfig> | Record<string, unknown> = {}): MeshHandlerOptions<FileDropHandlerConfig> {
  const sink = (...args: unknown[]) => logged.push(args.map(String).join(' '));
  const fakeConsole = { log: sink, info: sink, warn: sink, error: sink, debug: sink } as unknown as Console;
  return {
    name: 'CivilAffairsRosters',
    config: { dropDir: './drop', storeDir: './store', datasets: [DIBAO_DATASET_PATH], sourceLabel: '县区民政局低保名册', ...config } as FileDropHandlerConfig,
    baseDir: base,
    cache: undefined as never,
    pubsub,
    store: undefined as never,
    logger: new DefaultLogger('test', undefined, undefined, fakeConsole),
    importFn: (m: string) => import(m),
  };
}

async function start(config?: Partial<FileDropHandlerConfig>): Promise<{ handler: FileDropHandler; schema: GraphQLSchema }> {
  const handler = new FileDropHandler(options(config));
  handlers.push(handler);
  const { schema } = await handler.getMeshSource({ fetchFn: fetch as never });
  return { handler, schema };
}

async function run(schema: GraphQLSchema, source: string, variableValues?: Record<string, unknown>) {
  return graphql({ schema, source, variableValues });
}

const PAGE = `query($id: String, $region: String, $month: String, $first: Int, $offset: Int) {
  allowanceHouseholds(headIdNumber: $id, regionCode: $region, month: $month, first: $first, offset: $offset) {
    total
    items { householdId headName headIdNumber members monthlyAmount township village approvalDate regionCode month }
  }
}`;

let template: string;
beforeAll(async () => {
  // PGlite's first start (initdb) takes seconds: make one migrated store and copy it per test.
  template = await mkdtemp(join(tmpdir(), 'filedrop-handler-template-'));
  await (await createPgliteDatasetStore({ dataDir: join(template, 'store') })).close();
});
afterAll(() => rm(template, { recursive: true, force: true }));

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'filedrop-handler-'));
  await cp(join(template, 'store'), join(base, 'store'), { recursive: true });
  pubsub = new PubSub();
  logged = [];
  await writeDemoDrops(join(base, 'drop'), demo);
});

afterEach(async () => {
  await Promise.all(handlers.splice(0).map((h) => h.close()));
  await rm(base, { recursive: true, force: true });
});

describe('@tongxiang/filedrop-handler', () => {
  it('serves GBK CSV rows by the head of household’s ID number', async () => {
    const { schema } = await start();
    const wanted = demo.find((h) => h.regionCode === '341623' && h.month === '2026-10')!;
    const result = await run(schema, PAGE, { id: wanted.headIdNumber, month: '2026-10' });
    expect(result.errors).toBeUndefined();
    const page = result.data!.allowanceHouseholds as { total: number; items: unknown[] };
    expect(page.total).toBe(1);
    expect(page.items).toEqual([wanted]);
    const bothMonths = (await run(schema, PAGE, { id: wanted.headIdNumber })).data!.allowanceHouseholds as { items: Array<{ month: string }> };
    expect(bothMonths.items.map((h) => h.month)).toEqual(['2026-10', '2026-09']);
  });

  it('filters by region at any level and by month in Chinese forms', async () => {
    const { schema } = await start();
    const total = async (vars: Record<string, unknown>) =>
      ((await run(schema, PAGE, vars)).data!.allowanceHouseholds as { total: number }).total;
    expect(await total({})).toBe(12);
    expect(await total({ region: '341500' })).toBe(6); // 六安市 → 叶集区
    expect(await total({ region: '341623' })).toBe(6);
    expect(await total({ month: '2026年10月' })).toBe(7);
    expect(await total({ region: '341623', month: '202609' })).toBe(2);
  });

  it('pages with first and offset, capping first at 500', async () => {
    const { schema } = await start();
    const seen: string[] = [];
    for (const offset of [0, 5, 10]) {
      const result = await run(schema, PAGE, { first: 5, offset });
      const page = result.data!.allowanceHouseholds as { total: number; items: Array<{ householdId: string; month: string }> };
      expect(page.total).toBe(12);
      seen.push(...page.items.map((h) => `${h.month}|${h.householdId}`));
    }
    expect(seen).toHaveLength(12);
    expect(new Set(seen).size).toBe(12);

    const big = roster('341504', '2026-11', 520);
    const lines = ['户编号,户主姓名,户主身份证号,家庭人口,月保障金额,保障月份', ...big.map((h) => [h.householdId, h.headName, h.headIdNumber, h.members, h.monthlyAmount, h.month].join(','))];
    await writeFile(join(base, 'drop', '341504.mzj', 'dibao', '2026-11.csv'), lines.join('\n'));
    const { schema: again } = await start({ storeDir: './store2' });
    const capped = await run(again, PAGE, { month: '2026-11', first: 10_000 });
    const page = capped.data!.allowanceHouseholds as { total: number; items: unknown[] };
    expect(page.total).toBe(520);
    expect(page.items).toHaveLength(500);
  });

  it('refuses a bad ID number, region or page size with coded errors', async () => {
    const { schema } = await start();
    const good = demo[0]!.headIdNumber;
    const badCheck = good.slice(0, 17) + (good[17] === '0' ? '1' : '0');
    const bad = await run(schema, PAGE, { id: badCheck });
    expect(bad.data).toBeNull();
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'INVALID_ID_NUMBER', reason: 'check digit' });
    expect((await run(schema, PAGE, { region: '3415' })).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect((await run(schema, PAGE, { month: '十月' })).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect((await run(schema, PAGE, { first: -1 })).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('reports to departments what happened to their files, rejections with their reason, originals kept in quarantine', async () => {
    await writeFile(join(base, 'drop', '341504.mzj', 'dibao', '叶集区低保名册-2026-11.xlsx'), Buffer.from('not a workbook at all'));
    const gbkMissingId = iconv.encode('户编号,户主姓名,保障人数,保障金额（元）\r\n341623-2026-000009,x,1,600\r\n', 'gbk');
    await writeFile(join(base, 'drop', '341623.mzj', 'dibao', '利辛县低保名册-2026-11.csv'), gbkMissingId);
    const { schema } = await start();
    const result = await run(schema, `{ dropReports { fileName department dataset outcome version rowsAccepted rowsRejected reason format encoding movedTo issues { row column value reason } } }`);
    expect(result.errors).toBeUndefined();
    const reports = result.data!.dropReports as Array<Record<string, unknown>>;
    expect(reports).toHaveLength(6);
    expect(reports.find((f) => f.fileName === '叶集区低保名册-2026-11.xlsx')).toMatchObject({
      department: '341504.mzj', dataset: 'dibao', outcome: 'REJECTED', version: null, movedTo: expect.stringContaining('/quarantine/'),
    });
    const missing = reports.find((f) => f.fileName === '利辛县低保名册-2026-11.csv')!;
    expect(missing).toMatchObject({ outcome: 'REJECTED', encoding: 'gb18030', reason: expect.stringContaining('户主公民身份号码') });
    expect(await readFile(join(base, 'drop', String(missing.movedTo)))).toEqual(gbkMissingId);
    expect(reports.find((f) => f.fileName === '利辛县低保名册-2026-10.csv')).toMatchObject({
      outcome: 'PUBLISHED', rowsAccepted: 4, rowsRejected: 0, encoding: 'gb18030', format: 'csv',
    });
    const only = await run(schema, `{ dropReports(department: "341623.mzj") { fileName } }`);
    expect((only.data!.dropReports as unknown[]).length).toBe(3);
  });

  it('logs without names or ID numbers', async () => {
    await start();
    for (const h of demo) {
      expect(logged.join('\n')).not.toContain(h.headIdNumber);
      expect(logged.join('\n')).not.toContain(h.headName);
    }
  });

  it('ingests newly dropped files on demand; a file dropped again with the same bytes makes no new version', async () => {
    const { handler, schema } = await start();
    await writeDemoDrops(join(base, 'drop'), roster('341623', '2026-11', 2));
    const first = await handler.reloadDropFolder();
    expect(first.reports.map((r) => r.outcome)).toEqual(['published']);
    const page = (await run(schema, PAGE, { month: '2026-11' })).data!.allowanceHouseholds as { total: number };
    expect(page.total).toBe(2);
    const versions = await run(schema, `{ datasetVersions(dataset: "dibao", department: "341623.mzj") { version } }`);
    expect((versions.data!.datasetVersions as unknown[]).length).toBe(3);
    await writeDemoDrops(join(base, 'drop'), roster('341623', '2026-11', 2));
    const again = await handler.reloadDropFolder();
    expect(again.reports.map((r) => r.outcome)).toEqual(['unchanged']);
  });

  it('shows each department’s freshness against the monthly cycle', async () => {
    const { schema } = await start();
    const result = await run(schema, `{ datasetStatus { dataset department currentVersion state cycle } }`);
    expect(result.errors).toBeUndefined();
    const rows = result.data!.datasetStatus as Array<Record<string, unknown>>;
    expect(rows.map((r) => r.department).sort()).toEqual(['341504.mzj', '341623.mzj']);
    for (const r of rows) expect(r).toMatchObject({ dataset: 'dibao', cycle: 'monthly', currentVersion: 2 });
  });

  it('is ready while running and closes its store when Mesh is destroyed', async () => {
    const { schema } = await start();
    const config = { ...options().config, baseDir: base };
    expect(await probeFileDropSource(config)).toMatchObject({ ok: true });

    pubsub.publish('destroy', undefined);
    await vi.waitFor(async () => expect((await probeFileDropSource(config)).ok).toBe(false));
    const after = await run(schema, PAGE, {});
    expect(after.errors?.[0]?.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', source: 'CivilAffairsRosters' });
    expect(await probeFileDropSource(config)).toMatchObject({ ok: false, detail: 'dataset store not open' });
    expect(await probeFileDropSource({ ...config, dropDir: './missing' })).toMatchObject({ ok: false, detail: 'drop directory not readable' });
  });

  it('serves from a new handler on the same store directory started right after destroy, and settles once the store is closed', async () => {
    await start();
    pubsub.publish('destroy', undefined); // Mesh's destroy(): synchronous, the close runs on
    const { schema } = await start();
    const result = await run(schema, PAGE, {});
    expect(result.errors).toBeUndefined();
    expect((result.data!.allowanceHouseholds as { total: number }).total).toBe(12);

    pubsub.publish('destroy', undefined);
    await settleFileDropStores();
    // PGlite removes its postmaster.pid when it has closed the directory.
    expect(existsSync(join(base, 'store', 'postmaster.pid'))).toBe(false);
  });

  it('opens a directory again only once its previous close has finished', async () => {
    const dir = join(base, 'store');
    const first = await acquireStore(dir);
    let firstClosed = false;
    void releaseStore(dir).then(() => (firstClosed = true));
    const second = await acquireStore(dir);
    expect(firstClosed).toBe(true);
    expect(second).not.toBe(first);
    await expect(first.ping()).rejects.toThrow();
    await second.ping();
    void releaseStore(dir);
    await settleFileDropStores();
    await expect(second.ping()).rejects.toThrow();
    expect(existsSync(join(dir, 'postmaster.pid'))).toBe(false);
  });

  it('lists every problem of a bad config in one CONFIG_INVALID', async () => {
    await mkdir(join(base, 'defs'), { recursive: true });
    await writeFile(join(base, 'defs', 'other.yml'), 'name: other\ntitle: 其他\nkey: [a]\ncolumns:\n  - {name: a, title: A, type: string, required: true}\n');
    const attempt = (config: Record<string, unknown>) => {
      try {
        new FileDropHandler(options(config));
      } catch (error) {
        return error as TongxiangError;
      }
      return undefined;
    };
    const error = attempt({ dropDir: '', datasets: [], colour: 'blue' });
    expect(error).toBeInstanceOf(TongxiangError);
    expect(error!.code).toBe('CONFIG_INVALID');
    const reason = String(error!.fields.reason);
    expect(reason).toContain('dropDir');
    expect(reason).toContain('datasets');
    expect(reason).toContain('colour');
    expect(String(attempt({ datasets: ['./defs/other.yml'] })?.fields.reason)).toContain('dibao');
    expect(String(attempt({ datasets: ['./defs/none.yml'] })?.fields.reason)).toContain('cannot be read');
  });
});
