/**
 * Column checks and value forms, as data: GB 32100 credit codes, dates departments write (and
 * dates that do not exist), amounts, and what a rejection carries — plus the header mapping's
 * verdicts on unknown and missing columns.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { creditCodeCheckDigit } from '../../../core/index.ts';
import { columnOf, DIBAO_DATASET_PATH, loadDatasetDefinition, parseDatasetDefinition, type DatasetDefinition } from '../dataset.ts';
import { coerceValue, createRowMapper, mapHeaders, parseAmount, parseChineseDate } from '../map.ts';
import { fileInvalidReason, household, STANDARD_HEADERS, standardCells } from './fixtures.ts';

let dibao: DatasetDefinition;
beforeAll(async () => {
  dibao = await loadDatasetDefinition(DIBAO_DATASET_PATH);
});

/** A small enterprise roster: a credit-code column checked against GB 32100. */
const enterprises = parseDatasetDefinition(
  `name: enterprises
title: 企业名录
key: [creditCode]
columns:
  - { name: creditCode, title: 统一社会信用代码, type: string, required: true, check: gb32100, aliases: [统一社会信用代码, 信用代码] }
  - { name: name, title: 企业名称, type: string, required: true, aliases: [企业名称] }
`,
  'enterprises.yml',
);

/** A valid code: 9 (工商) 1 (企业), region 341504, an organisation code, the GB 32100 check character. */
const withCheck = (first17: string) => first17 + creditCodeCheckDigit(first17);
const VALID = withCheck('91341504MA2N0C8K3');

const fullWidth = (s: string) => s.replace(/[0-9A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0));

describe('GB 32100 统一社会信用代码 (check: gb32100)', () => {
  const column = () => columnOf(enterprises, 'creditCode');

  it.each([
    ['the GB 32100-2015 worked example', '91350100M000100Y43', '91350100M000100Y43'],
    ['a generated code for 叶集区', VALID, VALID],
    ['full-width characters (NFKC)', fullWidth(VALID), VALID],
    ['lower case and surrounding blanks', ` ${VALID.toLowerCase()}\u3000`, VALID],
  ])('accepts %s', (_clause, raw, canonical) => {
    expect(coerceValue(column(), raw)).toEqual({ ok: true, value: canonical });
  });

  const wrongCheck = VALID.slice(0, 17) + (VALID[17] === '0' ? '1' : '0');
  it.each([
    ['a wrong check character', wrongCheck, '校验码'],
    ['the letter I (outside the alphabet)', `${VALID.slice(0, 10)}I${VALID.slice(11)}`, '非法字符'],
    ['the letter O', `${VALID.slice(0, 10)}O${VALID.slice(11)}`, '非法字符'],
    ['the letter Z', `${VALID.slice(0, 10)}Z${VALID.slice(11)}`, '非法字符'],
    ['the letter S', `${VALID.slice(0, 10)}S${VALID.slice(11)}`, '非法字符'],
    ['the letter V', `${VALID.slice(0, 10)}V${VALID.slice(11)}`, '非法字符'],
    ['17 characters', VALID.slice(0, 17), '18 位'],
    ['19 characters', `${VALID}1`, '18 位'],
    ['letters where the region code goes', withCheck('91ABCDEFMA2N0C8K3'), '行政区划代码'],
  ])('rejects %s', (_clause, raw, reason) => {
    const result = coerceValue(column(), raw);
    expect(result).toEqual({ ok: false, reason: expect.stringContaining(reason) });
  });

  it('rejects a bad code in a row with the column and the code as written', () => {
    const mapping = mapHeaders(enterprises, ['信用代码', '企业名称'], { file: 'e.csv' });
    const mapRow = createRowMapper(enterprises, mapping, { file: 'e.csv' });
    expect(mapRow({ row: 2, fields: { 信用代码: VALID, 企业名称: '六安某公司' } })).toMatchObject({ ok: true, row: { values: { creditCode: VALID } } });
    const outcome = mapRow({ row: 3, fields: { 信用代码: ` ${wrongCheck} `, 企业名称: '六安某公司' } });
    expect(outcome).toEqual({ ok: false, rejections: [{ row: 3, column: '信用代码', value: wrongCheck, reason: expect.stringContaining('GB 32100') }] });
  });
});

describe('dates in the usual Chinese forms', () => {
  it.each([
    ['2024-03-01', '2024-03-01'],
    ['2024/3/1', '2024-03-01'],
    ['2024年3月1日', '2024-03-01'],
    ['20240301', '2024-03-01'],
    ['2024-02-29', '2024-02-29'], // a leap day
    ['2000年2月29日', '2000-02-29'], // divisible by 400: a leap year
  ])('reads %s as %s', (raw, iso) => {
    expect(parseChineseDate(raw)).toBe(iso);
  });

  it.each([
    ['2024-02-30', 'February has no 30th'],
    ['2023-02-29', 'not a leap year'],
    ['1900-02-29', 'divisible by 100, not by 400'],
    ['2024-04-31', 'April has 30 days'],
    ['2024年2月30日', 'the Chinese form, same check'],
    ['20240230', 'the compact form, same check'],
    ['2024/13/1', 'no 13th month'],
    ['2024-00-10', 'no month 0'],
    ['2024-03-00', 'no day 0'],
    ['24-3-1', 'a two-digit year'],
    ['2024-3', 'a month, not a date'],
  ])('refuses %s (%s)', (raw) => {
    expect(parseChineseDate(raw)).toBeUndefined();
    expect(coerceValue(columnOf(dibao, 'approvalDate'), raw)).toEqual({ ok: false, reason: expect.stringContaining('日期') });
  });
});

describe('amounts', () => {
  it.each([
    ['1,234.50', 1234.5],
    ['¥680', 680],
    ['￥680', 680],
    ['680元', 680],
    ['¥1,234.56元', 1234.56],
    ['６８０', 680],
    ['１，２３４．５０', 1234.5],
    ['680.456', 680.46], // rounded to cents
    ['0', 0],
  ])('reads %s as %s', (raw, value) => {
    expect(parseAmount(raw)).toBe(value);
  });

  it.each([
    ['1,2,3', 'commas not in thousands'],
    ['12,5', 'a decimal comma'],
    ['-680', 'negative'],
    ['680.00.0', 'two decimal points'],
    ['六百八十元', 'in words'],
    ['$680', 'another currency'],
  ])('refuses %s (%s)', (raw) => {
    expect(parseAmount(raw)).toBeUndefined();
  });
});

describe('header mapping', () => {
  it('ignores columns the dataset does not know, and a second header for a mapped column, listing both', () => {
    const headers = [...STANDARD_HEADERS, '备注', '联系电话', '户主姓名#2'];
    const mapping = mapHeaders(dibao, headers, { file: 'x.csv' });
    expect(mapping.ignored).toEqual(['备注', '联系电话', '户主姓名#2']);
    expect(mapping.headerOf.get('headName')).toBe('户主姓名');
    expect(mapping.headerOf.size).toBe(dibao.columns.length);
  });

  it('names a missing required column by its Chinese title and the headers it may be written as', async () => {
    const headers = STANDARD_HEADERS.filter((h) => h !== '月保障金额');
    const reason = await fileInvalidReason(Promise.resolve().then(() => mapHeaders(dibao, headers, { file: 'x.csv' })));
    expect(reason).toContain('缺少必填列');
    expect(reason).toContain('月保障金额（元）');
    expect(reason).toContain('保障金额（元）');
  });
});

describe('what a rejection carries', () => {
  it('gives null as the value when the failing value came from a default, not from a cell', () => {
    const headers = STANDARD_HEADERS.filter((h) => h !== '保障月份');
    const mapping = mapHeaders(dibao, headers, { file: 'x.csv', defaults: { month: '2026-13' } });
    const mapRow = createRowMapper(dibao, mapping, { file: 'x.csv', defaults: { month: '2026-13' } });
    const h = household('341504', '2026-10', 0);
    const fields = Object.fromEntries(headers.map((name, i) => [name, standardCells(h)[i]!]));
    expect(mapRow({ row: 2, fields })).toEqual({ ok: false, rejections: [{ row: 2, column: '保障月份', value: null, reason: expect.stringContaining('月份') }] });
  });

  it('never quotes the cell in the reason, whichever check fails', () => {
    const h = household('341504', '2026-10', 0);
    const cells = standardCells(h);
    cells[2] = '34150419700101001Y';
    cells[3] = '三口人';
    cells[4] = '六百元整';
    cells[7] = '2024年2月30日';
    cells[8] = '3415O4';
    cells[9] = '二〇二六年十月';
    const mapping = mapHeaders(dibao, STANDARD_HEADERS, { file: 'x.csv' });
    const outcome = createRowMapper(dibao, mapping, { file: 'x.csv' })({ row: 2, fields: Object.fromEntries(STANDARD_HEADERS.map((name, i) => [name, cells[i]!])) });
    expect(outcome.ok).toBe(false);
    const rejections = outcome.ok ? [] : outcome.rejections;
    expect(rejections.map((r) => r.value)).toEqual([cells[2], cells[3], cells[4], cells[7], cells[8], cells[9]]);
    for (const r of rejections) expect(r.reason).not.toContain(r.value!);
  });
});
