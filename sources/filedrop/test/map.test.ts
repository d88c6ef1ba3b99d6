import { beforeAll, describe, expect, it } from 'vitest';
import { TongxiangError } from '../../../core/index.ts';
import { columnOf, DIBAO_DATASET_PATH, loadDatasetDefinition, parseDatasetDefinition, type DatasetDefinition } from '../dataset.ts';
import { coerceValue, mapRecords, parseAmount, parseChineseDate, parseChineseMonth } from '../map.ts';
import type { RawRecord } from '../parse.ts';
import { household, idNumber, STANDARD_HEADERS, standardCells, withWrongCheckDigit } from './fixtures.ts';

let dibao: DatasetDefinition;
beforeAll(async () => {
  dibao = await loadDatasetDefinition(DIBAO_DATASET_PATH);
});

function reader(headers: string[], rows: string[][], firstRow = 2) {
  const records: RawRecord[] = rows.map((cells, i) => ({
    row: firstRow + i,
    fields: Object.fromEntries(headers.map((h, j) => [h, cells[j] ?? ''])),
  }));
  return {
    headers,
    async *records() {
      yield* records;
    },
  };
}

describe('value forms departments write', () => {
  it.each([
    ['2024-03-01', '2024-03-01'],
    ['2024/3/1', '2024-03-01'],
    ['2024年3月1日', '2024-03-01'],
    ['２０２４年３月１日', '2024-03-01'],
    ['2024.3.1', '2024-03-01'],
    ['20240301', '2024-03-01'],
    ['2024-03-01T00:00:00', '2024-03-01'],
    ['2024-02-30', undefined],
    ['3/1/2024', undefined],
  ])('date %s → %s', (raw, expected) => {
    expect(parseChineseDate(raw)).toBe(expected);
  });

  it.each([
    ['2026-10', '2026-10'],
    ['2026年10月', '2026-10'],
    ['2026年9月', '2026-09'],
    ['202610', '2026-10'],
    ['2026/10', '2026-10'],
    ['2026-10-01', '2026-10'],
    ['2026-13', undefined],
    ['十月', undefined],
  ])('month %s → %s', (raw, expected) => {
    expect(parseChineseMonth(raw)).toBe(expected);
  });

  it.each([
    ['1,234.50', 1234.5],
    ['1234.5元', 1234.5],
    ['￥680', 680],
    ['６８０．００', 680],
    [' 680 ', 680],
    ['-5', undefined],
    ['六百八', undefined],
  ])('amount %s → %s', (raw, expected) => {
    expect(parseAmount(raw)).toBe(expected);
  });

  it('normalises ID numbers written with full-width digits or a lower-case x', () => {
    const id = idNumber('341504', 7);
    const fullWidth = id.replace(/\d/g, (d) => String.fromCharCode(0xff10 + Number(d)));
    expect(coerceValue(columnOf(dibao, 'headIdNumber'), fullWidth)).toEqual({ ok: true, value: id });
  });

  it.each([
    ['length', '34150419700101100'],
    ['check digit', withWrongCheckDigit(idNumber('341504', 1))],
    ['birth date', '341504197013011001'],
  ])('rejects an ID number failing GB 11643 (%s)', (_clause, value) => {
    const result = coerceValue(columnOf(dibao, 'headIdNumber'), value);
    expect(result.ok).toBe(false);
  });
});

describe('header aliases', () => {
  it('maps each department’s own headers, full-width or half-width brackets alike', async () => {
    const h = household('341623', '2026-10', 0);
    const headers = ['户编号', '户主姓名', '身份证号', '保障人数', '保障金额(元)', '乡镇', '村居', '审批日期', '区划代码', '保障月份'];
    const cells = [h.householdId, h.headName, h.headIdNumber, String(h.members), '1,234.50', h.township, h.village, '2026年9月15日', h.regionCode, '2026年10月'];
    const result = await mapRecords(dibao, reader(headers, [cells]), { file: 'x.csv' });
    expect(result.rowsRejected).toBe(0);
    expect(result.rows[0]!.values).toEqual({
      householdId: h.householdId,
      headName: h.headName,
      headIdNumber: h.headIdNumber,
      members: h.members,
      monthlyAmount: 1234.5,
      township: h.township,
      village: h.village,
      approvalDate: '2026-09-15',
      regionCode: h.regionCode,
      month: '2026-10',
    });
    expect(result.mapping.headerOf.get('monthlyAmount')).toBe('保障金额(元)');
  });

  it('treats a header with none of the required columns as an invalid file', async () => {
    const error = await mapRecords(dibao, reader(['序号', '备注'], [['1', '']]), { file: 'x.csv' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TongxiangError);
    expect((error as TongxiangError).code).toBe('DATASET_FILE_INVALID');
    expect((error as TongxiangError).fields.file).toBe('x.csv');
  });

  it('treats a missing required column as an invalid file rather than rejecting every row', async () => {
    const headers = STANDARD_HEADERS.filter((h) => h !== '户主身份证号');
    const h = household('341504', '2026-10', 0);
    const cells = standardCells(h).filter((_, i) => STANDARD_HEADERS[i] !== '户主身份证号');
    const error = await mapRecords(dibao, reader(headers, [cells]), { file: 'x.csv' }).catch((e: unknown) => e);
    expect((error as TongxiangError).code).toBe('DATASET_FILE_INVALID');
    expect(String((error as TongxiangError).fields.reason)).toContain('户主公民身份号码');
  });

  it('fills region and month from defaults when the file has no such columns', async () => {
    const headers = STANDARD_HEADERS.filter((h) => h !== '行政区划代码' && h !== '保障月份');
    const h = household('341504', '2026-10', 0);
    const result = await mapRecords(dibao, reader(headers, [standardCells(h).slice(0, 8)]), {
      file: 'x.csv',
      defaults: { regionCode: '341504', month: '2026-10' },
    });
    expect(result.rows[0]!.values.regionCode).toBe('341504');
    expect(result.rows[0]!.values.month).toBe('2026-10');
  });
});

describe('row rejections', () => {
  it('rejects a bad check digit with the row number, the department’s header and the cell as written, never quoting it in the reason', async () => {
    const good = household('341504', '2026-10', 0);
    const bad = household('341504', '2026-10', 1, { headIdNumber: withWrongCheckDigit(idNumber('341504', 1)) });
    const cells = standardCells(bad);
    cells[2] = ` ${bad.headIdNumber}\u3000`;
    const result = await mapRecords(dibao, reader(STANDARD_HEADERS, [standardCells(good), cells]), { file: 'x.csv' });
    expect(result.rows.map((r) => r.values.householdId)).toEqual([good.householdId]);
    expect(result.rowsRejected).toBe(1);
    expect(result.rejections).toEqual([{ row: 3, column: '户主身份证号', value: bad.headIdNumber, reason: expect.stringContaining('校验码') }]);
    expect(result.rejections[0]!.reason).not.toContain(bad.headIdNumber);
    expect(JSON.stringify(result.rejections)).not.toContain(bad.headName);
  });

  it('rejects empty required cells, bad numbers and dates, each with its column', async () => {
    const h = household('341504', '2026-10', 0);
    const cells = standardCells(h);
    cells[1] = '';
    cells[3] = '三人';
    cells[7] = '去年春天';
    const result = await mapRecords(dibao, reader(STANDARD_HEADERS, [cells]), { file: 'x.csv' });
    expect(result.rowsRejected).toBe(1);
    expect(result.rejections.map((r) => [r.column, r.value])).toEqual([
      ['户主姓名', ''],
      ['家庭人口', '三人'],
      ['批准日期', '去年春天'],
    ]);
  });

  it('rejects rows outside the department’s jurisdiction', async () => {
    const inside = household('341504', '2026-10', 0);
    const outside = household('341623', '2026-10', 1);
    const result = await mapRecords(dibao, reader(STANDARD_HEADERS, [standardCells(inside), standardCells(outside)]), {
      file: 'x.csv',
      jurisdiction: '341504',
    });
    expect(result.rows).toHaveLength(1);
    expect(result.rejections[0]).toMatchObject({ row: 3, column: '行政区划代码', value: '341623' });
    expect(result.rejections[0]!.reason).toContain('341504');
    expect(result.rejections[0]!.reason).not.toContain('341623');
  });

  it('rejects a second row with the same household and month', async () => {
    const h = household('341504', '2026-10', 0);
    const result = await mapRecords(dibao, reader(STANDARD_HEADERS, [standardCells(h), standardCells(h)]), { file: 'x.csv' });
    expect(result.rows).toHaveLength(1);
    expect(result.rejections[0]).toMatchObject({ row: 3, column: '户编号 + 保障月份', value: `${h.householdId} + 2026-10`, reason: expect.stringContaining('第 2 行') });
  });

  it('counts every rejected row but keeps only the first reasons', async () => {
    const bad = Array.from({ length: 8 }, (_, i) =>
      standardCells(household('341504', '2026-10', i, { headIdNumber: withWrongCheckDigit(idNumber('341504', i)) })),
    );
    const result = await mapRecords(dibao, reader(STANDARD_HEADERS, bad), { file: 'x.csv', maxRejections: 3 });
    expect(result.rowsRejected).toBe(8);
    expect(result.rejections).toHaveLength(3);
  });
});

describe('dataset definitions', () => {
  it('lists every problem of a bad definition in one CONFIG_INVALID', () => {
    const error = (() => {
      try {
        parseDatasetDefinition('name: Bad Name\ncolumns:\n  - name: a\n    type: text\nkey: [b]\n', 'bad.yml');
      } catch (e) {
        return e as TongxiangError;
      }
      return undefined;
    })();
    expect(error?.code).toBe('CONFIG_INVALID');
    const reason = String(error?.fields.reason);
    expect(reason).toContain('name must be');
    expect(reason).toContain('title is required');
    expect(reason).toContain('type must be');
    expect(reason).toContain('key must');
  });

  it('ships the 低保 roster definition keyed by household and month', () => {
    expect(dibao.name).toBe('dibao');
    expect(dibao.title).toBe('最低生活保障家庭名册');
    expect(dibao.key).toEqual(['householdId', 'month']);
    expect(Object.isFrozen(dibao.columns)).toBe(true);
  });
});
