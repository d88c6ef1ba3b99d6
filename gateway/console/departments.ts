/**
 * The departments the console names (部门目录): every department of the data catalogue (each
 * file of policies/catalogue names one, with its Chinese name — the platform's own 安徽省数据资源管理局
 * among them) and every department a file-drop dataset takes files from. A code the catalogue
 * does not name gets a name made from its region and a known short name (`341600.mzj` →
 * 亳州市民政局), or the code itself.
 */
import { parseDepartment, regionName } from '../../core/index.ts';
import type { Catalogue } from '../../policies/index.ts';

export interface ConsoleDepartment {
  readonly code: string;
  readonly name: string;
}

/** Short names of departments as the codes spell them (`<region>.<short>`). */
const SHORT_NAMES: Readonly<Record<string, string>> = Object.freeze({
  mzj: '民政局',
  rsj: '人力资源和社会保障局',
  scjgj: '市场监督管理局',
  sjzyj: '数据资源管理局',
  gaj: '公安局',
  wjw: '卫生健康委员会',
  jyj: '教育局',
  swj: '税务局',
});

/** A name for a code the catalogue does not know. */
export function departmentName(code: string): string {
  const department = parseDepartment(code);
  if (!department) return code;
  const region = regionName(department.regionCode);
  const short = SHORT_NAMES[department.shortName];
  return region && short ? `${region}${short}` : code;
}

/** Pure: the directory, by code, from the catalogue and the codes of other departments the hub serves. */
export function departmentDirectory(catalogue: Pick<Catalogue, 'departments'>, others: Iterable<string> = []): readonly ConsoleDepartment[] {
  const byCode = new Map<string, ConsoleDepartment>();
  for (const entry of catalogue.departments.values()) byCode.set(entry.code, Object.freeze({ code: entry.code, name: entry.name }));
  for (const code of others) if (!byCode.has(code) && parseDepartment(code)) byCode.set(code, Object.freeze({ code, name: departmentName(code) }));
  return Object.freeze([...byCode.values()].sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0)));
}
