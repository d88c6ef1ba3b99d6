/**
 * The 法人库's lookups over an in-memory list of enterprises, indexed once. Pure: no I/O, no SOAP;
 * invalid input comes back as a value (`{ error }`) for the server to turn into a SOAP Fault.
 */
import { isWithinRegion, validateCreditCode, validateIdNumber } from '../../core/index.ts';
import type { DemoEnterprise } from '../demo-data/model.ts';
import { invalidKeyMessageZh } from '../upstream-messages.ts';

export const MAX_PAGE_SIZE = 100;

export interface SearchQuery {
  nameContains?: string | undefined;
  regionCode?: string | undefined;
  page: number;
  pageSize: number;
}

export interface SearchPage {
  total: number;
  page: number;
  pageSize: number;
  enterprises: readonly DemoEnterprise[];
}

/** A rejected query: `reason` is a Chinese sentence for the SOAP faultstring and never echoes the input. */
export interface QueryError {
  error: string;
}

export interface EnterpriseIndex {
  get(creditCode: string): DemoEnterprise | null | QueryError;
  search(query: SearchQuery): SearchPage | QueryError;
  listByLegalRepresentative(idNumber: string): readonly DemoEnterprise[] | QueryError;
}

export function isQueryError(value: unknown): value is QueryError {
  return typeof value === 'object' && value !== null && 'error' in value;
}

export function createEnterpriseIndex(enterprises: readonly DemoEnterprise[]): EnterpriseIndex {
  const sorted = enterprises
    .map((e) => Object.freeze({ ...e }))
    .sort((a, b) => (a.creditCode < b.creditCode ? -1 : a.creditCode > b.creditCode ? 1 : 0));
  const byCreditCode = new Map<string, DemoEnterprise>();
  const byLegalRepresentative = new Map<string, DemoEnterprise[]>();
  for (const e of sorted) {
    if (byCreditCode.has(e.creditCode)) throw new RangeError('duplicate credit code in the enterprise list');
    byCreditCode.set(e.creditCode, e);
    const list = byLegalRepresentative.get(e.legalRepresentativeIdNumber) ?? [];
    list.push(e);
    byLegalRepresentative.set(e.legalRepresentativeIdNumber, list);
  }

  return {
    get(creditCode) {
      const check = validateCreditCode(creditCode);
      if (!check.ok) return { error: invalidKeyMessageZh('INVALID_CREDIT_CODE', check.reason) };
      return byCreditCode.get(creditCode) ?? null;
    },

    search({ nameContains, regionCode, page, pageSize }) {
      if (!Number.isInteger(page) || page < 1) return { error: '页码无效：须为不小于 1 的整数' };
      if (!Number.isInteger(pageSize) || pageSize < 1) return { error: `每页条数无效：须为 1 至 ${MAX_PAGE_SIZE} 的整数` };
      if (regionCode !== undefined && !/^\d{6}$/.test(regionCode)) {
        return { error: '行政区划代码无效：须为 6 位数字（GB/T 2260）' };
      }
      const size = Math.min(pageSize, MAX_PAGE_SIZE);
      const needle = nameContains?.trim() ?? '';
      const matches = sorted.filter(
        (e) => (needle === '' || e.name.includes(needle)) && (regionCode === undefined || isWithinRegion(e.regionCode, regionCode)),
      );
      const start = (page - 1) * size;
      return { total: matches.length, page, pageSize: size, enterprises: matches.slice(start, start + size) };
    },

    listByLegalRepresentative(idNumber) {
      const check = validateIdNumber(idNumber);
      if (!check.ok) return { error: invalidKeyMessageZh('INVALID_ID_NUMBER', check.reason) };
      return byLegalRepresentative.get(idNumber) ?? [];
    },
  };
}
