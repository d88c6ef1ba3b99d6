/**
 * Test data for the 法人库: the shared demo generator at a small size, and builders for valid keys
 * that are not in it (GB 32100 credit codes, GB 11643 ID numbers).
 */
import { creditCodeCheckDigit, idNumberCheckDigit, orgCodeCheckDigit } from '../../../core/index.ts';
import { generateDemoData, type DemoEnterprise } from '../../demo-data/index.ts';

/** '91' + region + 8-character organisation body + its GB 11714 check + the GB 32100 check. */
export function creditCode(region: string, orgBody: string): string {
  const first17 = `91${region}${orgBody}${orgCodeCheckDigit(orgBody)}`;
  return first17 + creditCodeCheckDigit(first17);
}

export function idNumber(first17: string): string {
  return first17 + idNumberCheckDigit(first17);
}

/** The same input with its last (check) character changed: invalid by check digit only. */
export function withWrongCheckDigit(value: string): string {
  return value.slice(0, -1) + (value.endsWith('0') ? '1' : '0');
}

export function demoEnterprises(): DemoEnterprise[] {
  return generateDemoData({ persons: 300, enterprises: 60 }).enterprises;
}

/** The legal representative with the most enterprises in the list. */
export function busiestRepresentative(enterprises: readonly DemoEnterprise[]): string {
  const counts = new Map<string, number>();
  for (const e of enterprises) counts.set(e.legalRepresentativeIdNumber, (counts.get(e.legalRepresentativeIdNumber) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1])[0]![0];
}

/** A valid credit code that is not any of the enterprises'. */
export function unregisteredCreditCode(enterprises: readonly DemoEnterprise[]): string {
  const taken = new Set(enterprises.map((e) => e.creditCode));
  for (let i = 0; ; i++) {
    const code = creditCode('341504', `TX${String(i).padStart(6, '0')}`);
    if (!taken.has(code)) return code;
  }
}
