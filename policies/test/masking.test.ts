import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { keepN, MASK_RULES, maskRule, maskValue } from '../index.ts';

const cases: ReadonlyArray<readonly [rule: string, input: unknown, expected: string | null]> = [
  // 公民身份号码: first 6 and last 4
  ['idNumber', '340104199003071234', '340104********1234'],
  ['idNumber', '34150419900307123X', '341504********123X'],
  ['idNumber', ' 340104199003071234 ', '340104********1234'],
  ['idNumber', '340104900307123', '340104*****7123'], // 15-digit number of the first generation
  ['idNumber', '3401041234', '**********'], // too short to keep both ends
  ['idNumber', '12', '**'],
  ['idNumber', '', ''],
  ['idNumber', null, null],
  ['idNumber', undefined, null],
  ['idNumber', { idNumber: '340104199003071234' }, ''],
  // 统一社会信用代码: first 8 and last 2
  ['creditCode', '91341504MA2T3K4L5X', '91341504********5X'],
  ['creditCode', '9134', '****'],
  // names: the family name stays
  ['name', '张三', '张*'],
  ['name', '张三丰', '张**'],
  ['name', '欧阳娜娜', '欧阳**'],
  ['name', '欧阳修', '欧阳*'],
  ['name', '诸葛亮', '诸葛*'],
  ['name', '上官婉儿', '上官**'],
  ['name', '司马相如', '司马**'],
  ['name', '欧阳', '欧*'], // two characters: 欧 and a given name, never shown whole
  ['name', '张', '*'],
  ['name', '买买提·艾力', '买**·**'],
  ['name', '𠮷田', '𠮷*'], // a character outside the BMP counts once
  ['name', '张·', '**'], // nothing but the family name and a separator
  ['name', '', ''],
  ['name', null, null],
  // phones: 3 + 4
  ['phone', '13812345678', '138****5678'],
  ['phone', '138 1234 5678', '138****5678'],
  ['phone', '0564-1234567', '056*****4567'],
  ['phone', '1234567', '*******'],
  ['phone', '12345678', '********'],
  // addresses: down to the township
  ['address', '安徽省六安市叶集区三元镇新街村12号', '安徽省六安市叶集区三元镇***'],
  ['address', '安徽省六安市金安区三里桥街道梅山路88号', '安徽省六安市金安区三里桥街道***'],
  ['address', '安徽省六安市金安区翁墩乡大墩村', '安徽省六安市金安区翁墩乡***'],
  ['address', '安徽省亳州市利辛县城关镇人民路5号', '安徽省亳州市利辛县城关镇***'],
  ['address', '安徽省六安市霍山县与儿街镇老街3号', '安徽省六安市霍山县与儿街镇***'],
  ['address', '安徽省合肥市蜀山区长江西路100号', '安徽省合肥市蜀山区***'],
  ['address', '人民路5号', '***'],
  ['address', '三元镇***', '******'], // would come back unchanged
  ['address', '', ''],
  ['address', null, null],
  // amounts: bands on the 1-2-5 series
  ['amount', 1500, '1000-2000'],
  ['amount', 1000, '1000-2000'],
  ['amount', 2000, '2000-5000'],
  ['amount', 4999.99, '2000-5000'],
  ['amount', 5000, '5000-10000'],
  ['amount', 680, '500-1000'],
  ['amount', 12, '10-20'],
  ['amount', 1, '1-2'],
  ['amount', 0.5, '0-1'],
  ['amount', 0, '0'],
  ['amount', -3, '<0'],
  ['amount', '3600', '2000-5000'],
  ['amount', 'abc', '***'],
  ['amount', '', '***'],
  ['amount', Number.NaN, '***'],
  ['amount', Number.POSITIVE_INFINITY, '***'],
  ['amount', null, null],
  // keep(n) and keep(n,m)
  ['keep(2)', '六安市人社局参保中心', '六安********'],
  ['keep(1,1)', 'ABCDEFGH', 'A******H'],
  ['keep(3)', 'ABCDE', '*****'],
  ['keep(0)', 'ABC', '***'],
];

describe('masking rules', () => {
  it.each(cases)('%s masks %j as %j', (rule, input, expected) => {
    const fn = maskRule(rule);
    expect(fn).not.toBeNull();
    expect(fn!(input)).toBe(expected);
  });

  it('knows the rules the catalogue may name and no others', () => {
    for (const rule of ['idNumber', 'creditCode', 'name', 'phone', 'address', 'amount', 'keep(4)', 'keep(3,4)']) {
      expect(maskRule(rule), rule).not.toBeNull();
    }
    for (const rule of ['', 'keep', 'keep(n)', 'keep(-1)', 'keep(1,2,3)', 'Name', 'idnumber']) {
      expect(maskRule(rule), rule).toBeNull();
    }
    expect(MASK_RULES).toContain('keep(n,m)');
  });

  it('applies a rule to each element of a list and hides everything under an unknown rule', () => {
    expect(maskValue('name', ['张三', null, '欧阳娜娜'])).toEqual(['张*', null, '欧阳**']);
    expect(maskValue('no-such-rule', '340104199003071234')).toBe('***');
    expect(maskValue('idNumber', { a: 1 })).toBeNull();
    expect(maskValue('amount', null)).toBeNull();
  });

  it('a negative or fractional keep count keeps nothing', () => {
    expect(keepN(-2)('ABCDEFG')).toBe('*******');
    expect(keepN(1.5, Number.NaN)('ABCDEFG')).toBe('*******');
  });

  it('never throws and never returns a non-empty clear value, whatever the input', () => {
    const rules = ['idNumber', 'creditCode', 'name', 'phone', 'address', 'amount', 'keep(3)', 'keep(2,2)'];
    fc.assert(
      fc.property(fc.constantFrom(...rules), fc.oneof(
          fc.string(),
          fc.string({ unit: 'grapheme' }),
          fc.string({ unit: fc.constantFrom('*', '镇', '区', '街道', '-', '·', ' ', '张', '欧', '阳', '1') }),
          fc.double(),
          fc.integer(),
          fc.constant(null),
        ), (rule, value) => {
        const out = maskRule(rule)!(value);
        if (value === null) return out === null;
        const clear = typeof value === 'string' ? value.trim() : String(value);
        if (rule === 'amount' || clear === '') return typeof out === 'string';
        return typeof out === 'string' && (out !== clear || /^\*+$/.test(clear));
      }),
      { numRuns: 2000 },
    );
  });
});
