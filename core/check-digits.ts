/**
 * Check digits of the two data-subject keys.
 * - GB 11643-1999 公民身份号码: 17 digits + ISO 7064 MOD 11-2 check character (0-9 or X).
 * - GB 32100-2015 统一社会信用代码: 17 characters + MOD 31 check character over the 31-character
 *   alphabet without I, O, S, V, Z; characters 9-17 are the GB 11714 organisation code whose
 *   own last character is a MOD 11 check.
 */

export type CheckResult = { ok: true } | { ok: false; reason: string };

const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2] as const;
const ID_CHECK = '10X98765432';

/** The GB 11643 check character for the first 17 digits. */
export function idNumberCheckDigit(first17: string): string {
  if (!/^\d{17}$/.test(first17)) throw new RangeError('idNumberCheckDigit needs 17 digits');
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * ID_WEIGHTS[i]!;
  return ID_CHECK[sum % 11]!;
}

export function validateIdNumber(value: string): CheckResult {
  if (typeof value !== 'string' || value.length !== 18) return { ok: false, reason: 'length' };
  if (!/^\d{17}[\dX]$/.test(value)) return { ok: false, reason: 'characters' };
  const month = Number(value.slice(10, 12));
  const day = Number(value.slice(12, 14));
  if (month < 1 || month > 12 || day < 1 || day > 31) return { ok: false, reason: 'birth date' };
  if (idNumberCheckDigit(value.slice(0, 17)) !== value[17]) return { ok: false, reason: 'check digit' };
  return { ok: true };
}

const CREDIT_ALPHABET = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const CREDIT_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28] as const;
const ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2] as const;
const ORG_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** The GB 11714 check character of an 8-character organisation code body. */
export function orgCodeCheckDigit(first8: string): string {
  if (!/^[0-9A-Z]{8}$/.test(first8)) throw new RangeError('orgCodeCheckDigit needs 8 characters');
  let sum = 0;
  for (let i = 0; i < 8; i++) sum += ORG_ALPHABET.indexOf(first8[i]!) * ORG_WEIGHTS[i]!;
  const c = 11 - (sum % 11);
  return c === 10 ? 'X' : c === 11 ? '0' : String(c);
}

/** The GB 32100 check character for the first 17 characters. */
export function creditCodeCheckDigit(first17: string): string {
  if (first17.length !== 17) throw new RangeError('creditCodeCheckDigit needs 17 characters');
  let sum = 0;
  for (let i = 0; i < 17; i++) {
    const v = CREDIT_ALPHABET.indexOf(first17[i]!);
    if (v < 0) throw new RangeError(`character ${first17[i]} is not in the GB 32100 alphabet`);
    sum += v * CREDIT_WEIGHTS[i]!;
  }
  return CREDIT_ALPHABET[(31 - (sum % 31)) % 31]!;
}

export function validateCreditCode(value: string): CheckResult {
  if (typeof value !== 'string' || value.length !== 18) return { ok: false, reason: 'length' };
  for (const ch of value) {
    if (!CREDIT_ALPHABET.includes(ch)) return { ok: false, reason: 'characters' };
  }
  if (!/^\d{6}$/.test(value.slice(2, 8))) return { ok: false, reason: 'region code' };
  if (creditCodeCheckDigit(value.slice(0, 17)) !== value[17]) return { ok: false, reason: 'check digit' };
  return { ok: true };
}
