/**
 * Masking rules (脱敏规则): named, total functions. Each takes any value and returns a masked
 * string, or null for null/undefined. None throws, and none returns the clear value: an input too
 * short to keep its ends and still hide enough is masked entirely.
 *
 * Names used in the catalogue's `mask:`: idNumber, creditCode, name, phone, address, amount,
 * and keep(n) / keep(n,m) (keep n characters at the start and m at the end).
 */

export type MaskFn = (value: unknown) => string | null;

const STAR = '*';

/** Characters as people count them (code points), so 𠮷 is one character. */
function chars(value: string): string[] {
  return Array.from(value);
}

function text(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value.trim();
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  return ''; // objects and arrays carry nothing a mask may show
}

/** The last line of defence: a result equal to its non-empty input is hidden entirely. */
function notClear(input: string, out: string): string {
  return out === input && input !== '' ? STAR.repeat(chars(input).length) : out;
}

/**
 * Keeps `head` characters at the start and `tail` at the end. At least 4 characters, and at least a
 * third of the value, stay hidden; when the value is too short for that, every character is hidden.
 */
export function keepEnds(value: string, head: number, tail: number): string {
  const cs = chars(value);
  const hidden = cs.length - head - tail;
  if (hidden < Math.max(4, Math.ceil(cs.length / 3))) return STAR.repeat(cs.length);
  return cs.slice(0, head).join('') + STAR.repeat(hidden) + cs.slice(cs.length - tail).join('');
}

/** Generic rule: keep `n` characters at the start and `m` at the end. */
export function keepN(n: number, m = 0): MaskFn {
  const head = Number.isSafeInteger(n) && n > 0 ? n : 0;
  const tail = Number.isSafeInteger(m) && m > 0 ? m : 0;
  return (value) => {
    const s = text(value);
    return s === null ? null : keepEnds(s, head, tail);
  };
}

/** 公民身份号码: region (first 6) and the last 4 — `340104********1234`. */
export const idNumber: MaskFn = keepN(6, 4);

/** 统一社会信用代码: registration authority, type and region (first 8) and the last 2. */
export const creditCode: MaskFn = keepN(8, 2);

/** Phone numbers: 3 + 4 — `138****5678`. */
export const phone: MaskFn = (value) => {
  const s = text(value);
  return s === null ? null : keepEnds(s.replace(/\s+/g, ''), 3, 4);
};

/** Two-character family names (复姓) common enough to meet in registers. */
export const COMPOUND_SURNAMES: ReadonlySet<string> = new Set([
  '欧阳', '司马', '诸葛', '上官', '东方', '皇甫', '尉迟', '公孙', '慕容', '长孙', '宇文', '司徒', '夏侯',
  '轩辕', '令狐', '钟离', '端木', '独孤', '南宫', '西门', '百里', '呼延', '万俟', '申屠', '闻人', '澹台',
  '公冶', '太史', '仲孙', '赫连', '濮阳', '淳于', '单于', '第五', '拓跋', '司空', '左丘', '东郭', '公羊',
]);

const NAME_SEPARATOR = /^[·•．.\s-]$/u;

/**
 * Names: the family name stays (a compound one when the name is longer than it), every other
 * character becomes `*`, separators (· in transliterated names, spaces) stay — `张*`, `欧阳**`.
 * A name that is only a family name is hidden entirely.
 */
export const name: MaskFn = (value) => {
  const s = text(value);
  if (s === null) return null;
  const cs = chars(s);
  if (cs.length <= 1) return STAR.repeat(cs.length);
  const keep = cs.length > 2 && COMPOUND_SURNAMES.has(cs[0]! + cs[1]!) ? 2 : 1;
  return notClear(s, cs.map((c, i) => (i < keep || NAME_SEPARATOR.test(c) ? c : STAR)).join(''));
};

const COUNTY = /[县区旗]/u;
const TOWNSHIP = /街道|镇|乡/u;

/**
 * Addresses down to the township (乡、镇、街道): `安徽省六安市叶集区三元镇***`. Without a township,
 * down to the county; without either, hidden entirely.
 */
export const address: MaskFn = (value) => {
  const s = text(value);
  if (s === null) return null;
  if (s === '') return '';
  const county = COUNTY.exec(s);
  const from = county ? county.index + county[0].length : 0;
  const township = TOWNSHIP.exec(s.slice(from));
  if (township) return notClear(s, `${s.slice(0, from + township.index + township[0].length)}***`);
  if (county) return notClear(s, `${s.slice(0, from)}***`);
  return '***';
};

/**
 * Amounts as bands on the 1-2-5 series: 1500 → `1000-2000`, 3600 → `2000-5000`, 0.5 → `0-1`,
 * 0 → `0`, a negative amount → `<0`, anything that is not a number → `***`.
 */
export const amount: MaskFn = (value) => {
  if (value === null || value === undefined) return null;
  const v = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : Number.NaN;
  if (!Number.isFinite(v)) return '***';
  if (v === 0) return '0';
  if (v < 0) return '<0';
  if (v < 1) return '0-1';
  let k = Math.floor(Math.log10(v));
  if (v >= 10 ** (k + 1)) k += 1;
  if (v < 10 ** k) k -= 1;
  const magnitude = 10 ** k;
  const mantissa = v / magnitude;
  const [lo, hi] = mantissa < 2 ? [1, 2] : mantissa < 5 ? [2, 5] : [5, 10];
  return `${lo * magnitude}-${hi * magnitude}`;
};

const NAMED: ReadonlyMap<string, MaskFn> = new Map([
  ['idNumber', idNumber],
  ['creditCode', creditCode],
  ['name', name],
  ['phone', phone],
  ['address', address],
  ['amount', amount],
]);

const KEEP = /^keep\((\d{1,2})(?:,\s*(\d{1,2}))?\)$/;

/** The names a catalogue may use (keep(n) and keep(n,m) besides these). */
export const MASK_RULES: readonly string[] = Object.freeze([...NAMED.keys(), 'keep(n)', 'keep(n,m)']);

/** The function for a rule name, or null when there is no such rule. */
export function maskRule(rule: string): MaskFn | null {
  const named = NAMED.get(rule);
  if (named) return named;
  const m = KEEP.exec(rule);
  return m ? keepN(Number(m[1]), m[2] === undefined ? 0 : Number(m[2])) : null;
}

/**
 * Applies a rule to a resolved value: lists element by element, null stays null, an object (a
 * masked field must be a leaf) becomes null, and an unknown rule hides everything (`***`).
 */
export function maskValue(rule: string, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (Array.isArray(value)) return value.map((v) => maskValue(rule, v));
  if (typeof value === 'object') return null;
  const fn = maskRule(rule);
  return fn ? fn(value) : '***';
}
