/**
 * Small valid roster fixtures for the file-drop tests: every 公民身份号码 carries a real GB 11643
 * check digit (computed, not hard-coded), region codes are real GB/T 2260 codes.
 */
import { rmSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { idNumberCheckDigit } from '../../../core/index.ts';
import type { DemoAllowanceHousehold } from '../../demo-data/model.ts';

/** A valid ID number born 1970-01-01 + i days in `region`. */
export function idNumber(region: string, i: number): string {
  const birth = new Date(Date.UTC(1970, 0, 1 + i)).toISOString().slice(0, 10).replace(/-/g, '');
  const first17 = `${region}${birth}${String(100 + (i % 900)).padStart(3, '0')}`;
  return first17 + idNumberCheckDigit(first17);
}

/** The same ID number with a wrong check character. */
export function withWrongCheckDigit(id: string): string {
  const right = id[17]!;
  const wrong = right === '0' ? '1' : '0';
  return id.slice(0, 17) + wrong;
}

const NAMES = ['张伟', '王芳', '李娜', '刘洋', '陈静', '杨磊', '赵敏', '黄强'];

export function household(region: string, month: string, i: number, overrides: Partial<DemoAllowanceHousehold> = {}): DemoAllowanceHousehold {
  return {
    householdId: `${region}-2026-${String(i + 1).padStart(6, '0')}`,
    headName: NAMES[i % NAMES.length]!,
    headIdNumber: idNumber(region, i),
    members: 1 + (i % 5),
    monthlyAmount: 650 + i * 10.5,
    township: region === '341504' ? '史河街道' : '城关镇',
    village: `第${i + 1}村`,
    approvalDate: `2024-0${1 + (i % 9)}-1${i % 10}`,
    regionCode: region,
    month,
    ...overrides,
  };
}

export function households(region: string, month: string, n: number): DemoAllowanceHousehold[] {
  return Array.from({ length: n }, (_, i) => household(region, month, i));
}

export const STANDARD_HEADERS = ['户编号', '户主姓名', '户主身份证号', '家庭人口', '月保障金额', '乡镇（街道）', '村（社区）', '批准日期', '行政区划代码', '保障月份'];

export function standardCells(h: DemoAllowanceHousehold): string[] {
  return [h.householdId, h.headName, h.headIdNumber, String(h.members), h.monthlyAmount.toFixed(2), h.township, h.village, h.approvalDate, h.regionCode, h.month];
}

/** CSV text with simple quoting. */
export function csv(rows: readonly (readonly string[])[], { delimiter = ',', eol = '\n' } = {}): string {
  const quote = (c: string) => (c.includes(delimiter) || /["\r\n]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c);
  return rows.map((r) => r.map(quote).join(delimiter)).join(eol) + eol;
}

export async function tempDir(prefix = 'filedrop-'): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

let template: Promise<string> | undefined;

/**
 * A fresh, migrated store directory for one test: PGlite's first start (initdb) takes seconds,
 * so one closed store is made per test file and copied.
 */
export async function freshStoreDir(target: string): Promise<string> {
  template ??= (async () => {
    const { createPgliteDatasetStore } = await import('../store.ts');
    const path = await mkdtemp(join(tmpdir(), 'filedrop-template-'));
    const store = await createPgliteDatasetStore({ dataDir: join(path, 'store') });
    await store.close();
    process.once('exit', () => rmSync(path, { recursive: true, force: true }));
    return join(path, 'store');
  })();
  await cp(await template, target, { recursive: true });
  return target;
}
