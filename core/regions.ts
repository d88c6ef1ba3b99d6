/**
 * GB/T 2260 行政区划代码 known to the hub: 安徽省, the cities of the demo (六安市, 亳州市) and
 * their county-level divisions. Jurisdiction is containment: a department's region covers itself
 * and every code beneath it.
 */

export type RegionLevel = 'province' | 'city' | 'county';

export interface Region {
  readonly code: string;
  readonly name: string;
  readonly level: RegionLevel;
  readonly parent: string | null;
}

const RAW: ReadonlyArray<readonly [string, string]> = [
  ['340000', '安徽省'],
  ['340100', '合肥市'],
  ['341500', '六安市'],
  ['341502', '金安区'],
  ['341503', '裕安区'],
  ['341504', '叶集区'],
  ['341522', '霍邱县'],
  ['341523', '舒城县'],
  ['341524', '金寨县'],
  ['341525', '霍山县'],
  ['341600', '亳州市'],
  ['341602', '谯城区'],
  ['341621', '涡阳县'],
  ['341622', '蒙城县'],
  ['341623', '利辛县'],
];

function levelOf(code: string): RegionLevel {
  if (code.endsWith('0000')) return 'province';
  if (code.endsWith('00')) return 'city';
  return 'county';
}

function parentOf(code: string): string | null {
  const level = levelOf(code);
  if (level === 'province') return null;
  if (level === 'city') return `${code.slice(0, 2)}0000`;
  return `${code.slice(0, 4)}00`;
}

export const REGIONS: ReadonlyMap<string, Region> = new Map(
  RAW.map(([code, name]) => [code, Object.freeze({ code, name, level: levelOf(code), parent: parentOf(code) })]),
);

export function regionName(code: string): string | undefined {
  return REGIONS.get(code)?.name;
}

/** Level from the code's shape, so codes outside the table still have one. */
export function regionLevel(code: string): RegionLevel {
  return levelOf(code);
}

export function parentRegion(code: string): string | null {
  return parentOf(code);
}

/** True when `code` is `ancestor` or lies beneath it (e.g. 341504 within 341500 and 340000). */
export function isWithinRegion(code: string, ancestor: string): boolean {
  if (!/^\d{6}$/.test(code) || !/^\d{6}$/.test(ancestor)) return false;
  switch (levelOf(ancestor)) {
    case 'province':
      return code.slice(0, 2) === ancestor.slice(0, 2);
    case 'city':
      return code.slice(0, 4) === ancestor.slice(0, 4);
    case 'county':
      return code === ancestor;
  }
}
