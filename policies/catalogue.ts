/**
 * The data catalogue (数据资源目录): YAML files, one per owner department, classifying every type
 * and field of the graph — owner (一数一源), sharing type (共享类型), level (分级), masking rule,
 * data-subject key, region for jurisdiction, update cycle (更新周期). Format: docs/catalogue.md.
 *
 * Parsing is pure (`parseCatalogue` takes the files' text and returns problems or a frozen
 * catalogue); `loadCatalogue` reads a folder and throws CATALOGUE_INVALID listing every problem.
 */
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { parseDocument } from 'yaml';
import { parseDepartment, TongxiangError } from '../core/index.ts';
import { maskRule } from './masking.ts';

export const SHARING_TYPES = ['unconditional', 'conditional', 'not-shared'] as const;
/** 共享类型: 无条件共享 / 有条件共享 / 不予共享. */
export type SharingType = (typeof SHARING_TYPES)[number];

export const LEVELS = ['L1', 'L2', 'L3', 'L4'] as const;
/** 分级: L1 公开, L2 内部, L3 敏感, L4 核心. */
export type Level = (typeof LEVELS)[number];

export const UPDATE_CYCLES = ['realtime', 'daily', 'weekly', 'monthly', 'quarterly', 'yearly'] as const;
/** 更新周期: 实时, 每日, 每周, 每月, 每季度, 每年. */
export type UpdateCycle = (typeof UPDATE_CYCLES)[number];

export const SUBJECT_KEYS = ['idNumber', 'creditCode'] as const;
/** A data-subject key: 公民身份号码 or 统一社会信用代码. */
export type SubjectKey = (typeof SUBJECT_KEYS)[number];

export const REGION_SOURCES = ['regionCode', 'idNumber', 'creditCode', 'department'] as const;
/**
 * How a row's GB/T 2260 code is read from a field: the value itself (`regionCode`), the first 6
 * characters of a 公民身份号码 (`idNumber`), characters 3–8 of a 统一社会信用代码 (`creditCode`), or
 * the region part of a department code like `341504.mzj` (`department`).
 */
export type RegionSource = (typeof REGION_SOURCES)[number];

export interface RegionSpec {
  readonly field: string;
  readonly from: RegionSource;
}

/**
 * Who owns one row of a type whose fields several departments publish alike: the co-owner whose
 * region covers the row's region (`region`), or the department code held in a field (`field`).
 */
export type RowOwnerSpec = { readonly kind: 'region' } | { readonly kind: 'field'; readonly field: string };

export interface DepartmentEntry {
  readonly code: string;
  readonly name: string;
  readonly source: string | null;
  readonly file: string;
}

export interface TypeEntry {
  readonly name: string;
  readonly description: string;
  /** Where a row's region comes from; null: the row has none of its own (it inherits its parent's). */
  readonly region: RegionSpec | null;
  readonly rowOwner: RowOwnerSpec | null;
}

export interface FieldEntry {
  readonly coordinate: string;
  readonly typeName: string;
  readonly fieldName: string;
  /** One department, or several co-owners publishing the same field for their own rows. */
  readonly owners: readonly string[];
  readonly sharing: SharingType;
  readonly level: Level;
  /** Masking rule for masked grants; null: the field cannot be granted masked. */
  readonly mask: string | null;
  readonly subjectKey: SubjectKey | null;
  readonly updateCycle: UpdateCycle;
  readonly description: string;
}

export interface TechnicalEntry {
  readonly name: string;
  readonly reason: string;
  readonly file: string;
}

export interface Catalogue {
  readonly departments: ReadonlyMap<string, DepartmentEntry>;
  readonly types: ReadonlyMap<string, TypeEntry>;
  /** By coordinate, `Type.field`. */
  readonly fields: ReadonlyMap<string, FieldEntry>;
  /** Types no query can reach (left over by Mesh transforms); checked to stay unreachable. */
  readonly technical: ReadonlyMap<string, TechnicalEntry>;
}

export interface CatalogueFile {
  /** Shown in problems; its base name must be `<department code>.yml`. */
  readonly path: string;
  readonly text: string;
}

export type CatalogueResult =
  | { readonly ok: true; readonly catalogue: Catalogue }
  | { readonly ok: false; readonly problems: readonly string[] };

const NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;
const CJK = /[\u3400-\u9fff]/u;
const FILE_KEYS = new Set(['department', 'name', 'source', 'types', 'technical']);
const TYPE_KEYS = new Set(['description', 'region', 'rowOwner', 'updateCycle', 'coOwners', 'fields']);
const FIELD_KEYS = new Set(['sharing', 'level', 'mask', 'subjectKey', 'updateCycle', 'description']);

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function oneOf<T extends string>(values: readonly T[], v: unknown): v is T {
  return typeof v === 'string' && (values as readonly string[]).includes(v);
}

/** A field as one file declares it, before co-owners' declarations are merged. */
interface Declared {
  readonly file: string;
  /** The declaring file's department. */
  readonly owner: string;
  readonly owners: readonly string[];
  readonly entry: Omit<FieldEntry, 'owners'>;
}

/** A type-level attribute as one file declares it; all declarations must agree. */
interface TypeAttr {
  readonly file: string;
  readonly value: unknown;
}

class Collector {
  readonly problems: string[] = [];
  readonly departments = new Map<string, DepartmentEntry>();
  readonly declared = new Map<string, Declared[]>();
  readonly typeAttrs = new Map<string, Map<string, TypeAttr[]>>();
  readonly technical = new Map<string, TechnicalEntry>();

  problem(file: string, where: string, message: string): void {
    this.problems.push(`${file}: ${where}: ${message}`);
  }

  unknownKeys(file: string, where: string, obj: Obj, allowed: ReadonlySet<string>): void {
    for (const key of Object.keys(obj)) {
      if (!allowed.has(key)) this.problem(file, where, `未知的键 / unknown key "${key}" (allowed: ${[...allowed].join(', ')})`);
    }
  }

  typeAttr(type: string, key: string, file: string, value: unknown): void {
    let attrs = this.typeAttrs.get(type);
    if (!attrs) this.typeAttrs.set(type, (attrs = new Map()));
    attrs.set(key, [...(attrs.get(key) ?? []), { file, value }]);
  }
}

/** Parses and validates catalogue files; every problem is listed with its file and entry. */
export function parseCatalogue(files: readonly CatalogueFile[]): CatalogueResult {
  const c = new Collector();
  if (files.length === 0) c.problems.push('目录为空 / no catalogue files');
  for (const file of [...files].sort((a, b) => a.path.localeCompare(b.path))) parseFile(c, file);
  const types = mergeTypes(c);
  const fields = mergeFields(c, types);
  if (c.problems.length > 0) return { ok: false, problems: Object.freeze([...c.problems]) };
  return {
    ok: true,
    catalogue: Object.freeze({
      departments: c.departments,
      types,
      fields,
      technical: c.technical,
    }),
  };
}

function parseFile(c: Collector, { path, text }: CatalogueFile): void {
  const file = basename(path);
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    for (const e of doc.errors) c.problem(file, 'YAML', e.message.split('\n')[0]!);
    return;
  }
  const root: unknown = doc.toJS();
  if (!isObj(root)) return c.problem(file, '(file)', '须为映射 / must be a mapping');
  c.unknownKeys(file, '(file)', root, FILE_KEYS);

  const dept = typeof root.department === 'string' ? parseDepartment(root.department) : null;
  if (!dept) return c.problem(file, 'department', '须为部门编码，如 341504.mzj / must be a department code such as 341504.mzj');
  if (!/\.ya?ml$/.test(file) || file.replace(/\.ya?ml$/, '') !== dept.code) {
    c.problem(file, 'department', `文件名须为 ${dept.code}.yml / the file must be named ${dept.code}.yml`);
  }
  if (c.departments.has(dept.code)) return c.problem(file, 'department', `${dept.code} 已在 ${c.departments.get(dept.code)!.file} 中声明 / declared twice`);
  if (typeof root.name !== 'string' || !CJK.test(root.name)) c.problem(file, 'name', '须为部门中文名称 / the department\'s Chinese name is required');
  if (root.source !== undefined && typeof root.source !== 'string') c.problem(file, 'source', '须为字符串 / must be a string');
  c.departments.set(dept.code, Object.freeze({
    code: dept.code,
    name: typeof root.name === 'string' ? root.name : '',
    source: typeof root.source === 'string' ? root.source : null,
    file,
  }));

  if (root.technical !== undefined) parseTechnical(c, file, root.technical);
  if (root.types === undefined) return;
  if (!isObj(root.types)) return c.problem(file, 'types', '须为映射 / must be a mapping of type names');
  for (const [typeName, section] of Object.entries(root.types)) parseTypeSection(c, file, dept.code, typeName, section);
}

function parseTechnical(c: Collector, file: string, technical: unknown): void {
  if (!isObj(technical)) return c.problem(file, 'technical', '须为“类型名: 原因”的映射 / must map type names to reasons');
  for (const [name, reason] of Object.entries(technical)) {
    if (!NAME.test(name)) c.problem(file, `technical.${name}`, '不是 GraphQL 类型名 / not a GraphQL type name');
    if (typeof reason !== 'string' || !CJK.test(reason)) c.problem(file, `technical.${name}`, '须说明原因（中文）/ a reason in Chinese is required');
    if (c.technical.has(name)) c.problem(file, `technical.${name}`, '重复声明 / declared twice');
    c.technical.set(name, Object.freeze({ name, reason: typeof reason === 'string' ? reason : '', file }));
  }
}

function parseTypeSection(c: Collector, file: string, owner: string, typeName: string, section: unknown): void {
  if (!NAME.test(typeName)) return c.problem(file, typeName, '不是 GraphQL 类型名 / not a GraphQL type name');
  if (!isObj(section)) return c.problem(file, typeName, '须为映射 / must be a mapping');
  c.unknownKeys(file, typeName, section, TYPE_KEYS);

  if (section.description !== undefined) {
    if (typeof section.description !== 'string' || !CJK.test(section.description)) {
      c.problem(file, `${typeName}.description`, '须为中文说明 / must be a Chinese description');
    } else c.typeAttr(typeName, 'description', file, section.description);
  }
  if (section.region !== undefined) {
    const region = parseRegion(section.region);
    if (region === null) {
      c.problem(file, `${typeName}.region`, `须为 { field: 字段名, from: ${REGION_SOURCES.join(' | ')} } / must be { field, from }`);
    } else c.typeAttr(typeName, 'region', file, region);
  }
  if (section.rowOwner !== undefined) {
    const rowOwner = parseRowOwner(section.rowOwner);
    if (rowOwner === null) c.problem(file, `${typeName}.rowOwner`, '须为 region 或 { field: 字段名 } / must be region or { field }');
    else c.typeAttr(typeName, 'rowOwner', file, rowOwner);
  }
  const typeCycle = section.updateCycle;
  if (typeCycle !== undefined && !oneOf(UPDATE_CYCLES, typeCycle)) {
    c.problem(file, `${typeName}.updateCycle`, `须为 ${UPDATE_CYCLES.join(' | ')} / must be one of these`);
  }

  const coOwners: string[] = [];
  if (section.coOwners !== undefined) {
    if (!Array.isArray(section.coOwners) || section.coOwners.length === 0) {
      c.problem(file, `${typeName}.coOwners`, '须为部门编码列表 / must list department codes');
    } else {
      for (const code of section.coOwners as unknown[]) {
        if (typeof code !== 'string' || !parseDepartment(code)) c.problem(file, `${typeName}.coOwners`, `${String(code)} 不是部门编码 / not a department code`);
        else if (code === owner || coOwners.includes(code)) c.problem(file, `${typeName}.coOwners`, `${code} 重复 / listed twice or is this file's department`);
        else coOwners.push(code);
      }
    }
  }
  const owners = Object.freeze([owner, ...coOwners].sort());

  if (section.fields === undefined) return;
  if (!isObj(section.fields)) return c.problem(file, `${typeName}.fields`, '须为映射 / must be a mapping of field names');
  for (const [fieldName, raw] of Object.entries(section.fields)) {
    const coordinate = `${typeName}.${fieldName}`;
    const entry = parseField(c, file, coordinate, raw, oneOf(UPDATE_CYCLES, typeCycle) ? typeCycle : null);
    if (!NAME.test(fieldName)) c.problem(file, coordinate, '不是 GraphQL 字段名 / not a GraphQL field name');
    if (entry) c.declared.set(coordinate, [...(c.declared.get(coordinate) ?? []), { file, owner, owners, entry }]);
  }
}

function parseRegion(raw: unknown): RegionSpec | null {
  if (!isObj(raw) || typeof raw.field !== 'string' || !NAME.test(raw.field)) return null;
  if (Object.keys(raw).some((k) => k !== 'field' && k !== 'from')) return null;
  const from = raw.from ?? 'regionCode';
  return oneOf(REGION_SOURCES, from) ? Object.freeze({ field: raw.field, from }) : null;
}

function parseRowOwner(raw: unknown): RowOwnerSpec | null {
  if (raw === 'region') return Object.freeze({ kind: 'region' });
  if (isObj(raw) && Object.keys(raw).length === 1 && typeof raw.field === 'string' && NAME.test(raw.field)) {
    return Object.freeze({ kind: 'field', field: raw.field });
  }
  return null;
}

function parseField(c: Collector, file: string, coordinate: string, raw: unknown, typeCycle: UpdateCycle | null): Declared['entry'] | null {
  if (!isObj(raw)) {
    c.problem(file, coordinate, '须为映射（sharing、level、description…）/ must be a mapping');
    return null;
  }
  const before = c.problems.length;
  c.unknownKeys(file, coordinate, raw, FIELD_KEYS);
  const { sharing, level, mask, subjectKey, description } = raw;
  const updateCycle = raw.updateCycle ?? typeCycle;
  if (!oneOf(SHARING_TYPES, sharing)) c.problem(file, coordinate, `sharing 须为 ${SHARING_TYPES.join(' | ')} / sharing must be one of these`);
  if (!oneOf(LEVELS, level)) c.problem(file, coordinate, `level 须为 ${LEVELS.join(' | ')} / level must be one of these`);
  if (!oneOf(UPDATE_CYCLES, updateCycle)) c.problem(file, coordinate, `updateCycle 须为 ${UPDATE_CYCLES.join(' | ')}（字段或类型上）/ updateCycle (on the field or its type) must be one of these`);
  if (typeof description !== 'string' || !CJK.test(description)) c.problem(file, coordinate, 'description 须为中文说明 / description must be Chinese text');
  if (subjectKey !== undefined && !oneOf(SUBJECT_KEYS, subjectKey)) c.problem(file, coordinate, `subjectKey 须为 ${SUBJECT_KEYS.join(' | ')} / subjectKey must be one of these`);
  if (mask !== undefined) {
    if (typeof mask !== 'string' || maskRule(mask) === null) c.problem(file, coordinate, `没有脱敏规则 “${String(mask)}” / no masking rule "${String(mask)}"`);
    else if (sharing !== 'conditional') c.problem(file, coordinate, '仅有条件共享的字段可设脱敏规则 / only conditional fields have a masking rule');
  }
  if (sharing === 'unconditional' && (level === 'L3' || level === 'L4')) {
    c.problem(file, coordinate, `${level} 的字段不能无条件共享 / an ${level} field cannot be unconditional`);
  }
  if (level === 'L4' && sharing !== 'not-shared') c.problem(file, coordinate, 'L4（核心）的字段不予共享 / an L4 field must be not-shared');
  if (c.problems.length > before) return null;
  const [typeName, fieldName] = coordinate.split('.') as [string, string];
  return Object.freeze({
    coordinate,
    typeName,
    fieldName,
    sharing: sharing as SharingType,
    level: level as Level,
    mask: typeof mask === 'string' ? mask : null,
    subjectKey: (subjectKey as SubjectKey | undefined) ?? null,
    updateCycle: updateCycle as UpdateCycle,
    description: (description as string).trim(),
  });
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function mergeTypes(c: Collector): ReadonlyMap<string, TypeEntry> {
  const names = new Set([...c.typeAttrs.keys(), ...[...c.declared.keys()].map((k) => k.split('.')[0]!)]);
  const types = new Map<string, TypeEntry>();
  for (const name of [...names].sort()) {
    const attrs = c.typeAttrs.get(name) ?? new Map<string, TypeAttr[]>();
    for (const [key, decls] of attrs) {
      const differing = decls.filter((d) => !same(d.value, decls[0]!.value));
      if (differing.length > 0) {
        c.problems.push(`${decls.map((d) => d.file).join(', ')}: ${name}.${key}: 各文件的声明不一致 / the files declare it differently`);
      }
    }
    const description = attrs.get('description')?.[0]?.value;
    if (typeof description !== 'string') {
      c.problems.push(`(catalogue): ${name}: 没有类型说明（description）/ no file describes this type`);
    }
    types.set(name, Object.freeze({
      name,
      description: typeof description === 'string' ? description.trim() : '',
      region: (attrs.get('region')?.[0]?.value as RegionSpec | undefined) ?? null,
      rowOwner: (attrs.get('rowOwner')?.[0]?.value as RowOwnerSpec | undefined) ?? null,
    }));
  }
  return types;
}

function mergeFields(c: Collector, types: ReadonlyMap<string, TypeEntry>): ReadonlyMap<string, FieldEntry> {
  const fields = new Map<string, FieldEntry>();
  for (const coordinate of [...c.declared.keys()].sort()) {
    const decls = c.declared.get(coordinate)!;
    const first = decls[0]!;
    const files = decls.map((d) => d.file).join(', ');
    let ok = true;
    if (decls.some((d) => !same(d.owners, first.owners) || !same(d.entry, first.entry))) {
      c.problems.push(`${files}: ${coordinate}: 多个文件声明且不一致（共有字段须在 coOwners 中互列且分类相同）/ declared by several files that disagree (co-owners must list each other and classify alike)`);
      ok = false;
    }
    const declaring = new Set(decls.map((d) => d.owner));
    const missing = first.owners.filter((o) => !declaring.has(o));
    if (ok && missing.length > 0) {
      c.problems.push(`${files}: ${coordinate}: 共有部门 ${missing.join(', ')} 未在其目录文件中声明该字段 / co-owners that do not declare it in their own file`);
      ok = false;
    }
    if (ok && decls.length !== first.owners.length) {
      c.problems.push(`${files}: ${coordinate}: 同一部门重复声明 / declared twice`);
      ok = false;
    }
    if (ok) fields.set(coordinate, Object.freeze({ ...first.entry, owners: first.owners }));
  }
  for (const [name, type] of types) {
    if (type.rowOwner === null) continue;
    const owned = [...fields.values()].filter((f) => f.typeName === name);
    if (owned.every((f) => f.owners.length < 2)) {
      c.problems.push(`(catalogue): ${name}.rowOwner: 只有共有的类型需要 rowOwner / rowOwner is for types published by several co-owners`);
    }
    if (type.rowOwner.kind === 'region' && type.region === null) {
      c.problems.push(`(catalogue): ${name}.rowOwner: 按地区确定行的所有者需要 region / rowOwner: region needs the type's region`);
    }
  }
  return fields;
}

/** Reads every `*.yml` / `*.yaml` file of a folder; throws CATALOGUE_INVALID listing every problem. */
export async function loadCatalogue(dir: string): Promise<Catalogue> {
  const names = (await readdir(dir)).filter((n) => /\.ya?ml$/.test(n)).sort();
  const files = await Promise.all(names.map(async (n) => ({ path: join(dir, n), text: await readFile(join(dir, n), 'utf8') })));
  const result = parseCatalogue(files);
  if (!result.ok) throw catalogueInvalid(result.problems);
  return result.catalogue;
}

/** The start-up error: CATALOGUE_INVALID with every problem, one per line, in `reason`. */
export function catalogueInvalid(problems: readonly string[]): TongxiangError {
  return new TongxiangError('CATALOGUE_INVALID', { reason: `\n${problems.map((p) => `  - ${p}`).join('\n')}`, count: problems.length });
}
