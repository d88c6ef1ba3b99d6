import { describe, expect, it } from 'vitest';
import {
  creditCodeCheckDigit,
  idNumberCheckDigit,
  orgCodeCheckDigit,
  validateCreditCode,
  validateIdNumber,
} from '../check-digits.ts';

// Published examples, titled by the clause they check.
const ID_VECTORS = [
  { clause: 'GB 11643-1999 annex example (check character X)', id: '11010519491231002X' },
  { clause: 'GB 11643-1999 annex example (check digit 4)', id: '440524188001010014' },
];

const CREDIT_VECTORS = [
  { clause: 'GB 32100-2015 worked example', code: '91350100M000100Y43' },
  { clause: 'published licence of an enterprise in 深圳 (numeric check)', code: '914403001922038216' },
];

describe('GB 11643 公民身份号码', () => {
  for (const v of ID_VECTORS) {
    it(`accepts the ${v.clause}`, () => {
      expect(idNumberCheckDigit(v.id.slice(0, 17))).toBe(v.id[17]);
      expect(validateIdNumber(v.id)).toEqual({ ok: true });
    });
  }

  it('rejects every single-character change of the check character', () => {
    const good = ID_VECTORS[0]!.id;
    for (const c of '0123456789X') {
      if (c === good[17]) continue;
      expect(validateIdNumber(good.slice(0, 17) + c)).toEqual({ ok: false, reason: 'check digit' });
    }
  });

  it('rejects wrong length, lowercase x and impossible birth dates', () => {
    expect(validateIdNumber('11010519491231002')).toMatchObject({ ok: false, reason: 'length' });
    expect(validateIdNumber('11010519491231002x')).toMatchObject({ ok: false, reason: 'characters' });
    expect(validateIdNumber('110105194913310020')).toMatchObject({ ok: false, reason: 'birth date' });
  });
});

describe('GB 32100 统一社会信用代码', () => {
  for (const v of CREDIT_VECTORS) {
    it(`accepts the ${v.clause}`, () => {
      expect(creditCodeCheckDigit(v.code.slice(0, 17))).toBe(v.code[17]);
      expect(validateCreditCode(v.code)).toEqual({ ok: true });
    });
  }

  it('rejects a transposition of two characters', () => {
    const good = CREDIT_VECTORS[1]!.code;
    const swapped = good.slice(0, 9) + good[10] + good[9] + good.slice(11);
    expect(validateCreditCode(swapped)).toMatchObject({ ok: false });
  });

  it('rejects characters outside the alphabet (I, O, S, V, Z)', () => {
    expect(validateCreditCode('91350100M000100YO3')).toMatchObject({ ok: false, reason: 'characters' });
  });

  it('computes the GB 11714 organisation-code check inside the credit code', () => {
    // 组织机构代码 19220382-1 from the 深圳 example above (characters 9-17).
    expect(orgCodeCheckDigit('19220382')).toBe('1');
  });
});
