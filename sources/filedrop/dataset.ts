/**
 * Dataset definitions (数据集定义): what a dropped file must contain, column by column, and the
 * header names departments really write for each column. Kept as YAML beside the code
 * (`dibao.dataset.yml`), validated once and frozen.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { TongxiangError } from '../../core/index.ts';

export const COLUMN_TYPES = ['string', 'int', 'decimal', 'date', 'month'] as const;
export type ColumnType = (typeof COLUMN_TYPES)[number];

/** Extra value checks beyond the type. */
export const COLUMN_CHECKS = ['gb11643', 'gb32100', 'regionCode'] as const;
export type ColumnCheck = (typeof COLUMN_CHECKS)[number];

export interface DatasetColumn {
  /** Canonical name, camelCase; becomes the GraphQL field. */
  readonly name: string;
  /** Chinese title, used in reports (e.g. 户主公民身份号码). */
  readonly title: string;
  readonly type: ColumnType;
  /** Must have a value in every row (after defaults: region from the department, month from the file name). */
  readonly required: boolean;
  readonly check: ColumnCheck | undefined;
  /** Header names departments write for this column; the canonical name always matches too. */
  readonly aliases: readonly string[];
}

/** How often a dataset must be refreshed, and by when (China Standard Time). */
export const UPDATE_CYCLES = ['daily', 'weekly', 'monthly', 'quarterly', 'yearly'] as const;
export type UpdateCycleKind = (typeof UPDATE_CYCLES)[number];

export interface UpdateCycle {
  readonly every: UpdateCycleKind;
  /**
   * Day of the cycle by which each cycle's version is due (1-based; CST): monthly 5 = by the end
   * of the 5th of every month; weekly 1..7 (Monday = 1); quarterly / yearly: day of the cycle's
   * first month; daily: ignored (due by the end of each day).
   */
  readonly dueDay: number;
}

/** Who drops files for the dataset and where (`<dropDir>/<folder>`, `{department}` and `{dataset}` filled in). */
export interface DatasetIntake {
  /** Departments allowed to drop this dataset; a folder of any other department is refused. */
  readonly departments: readonly string[];
  /** Folder template under the drop directory; default `{department}/{dataset}`. */
  readonly folder: string;
  /** A file whose size and modification time have not changed for this long counts as complete. */
  readonly stableMs: number;
}

/** What to do with a file whose rows fail validation. */
export interface DatasetPublishPolicy {
  /**
   * Share of data rows (0..1) that may be rejected: above it the whole file is rejected and
   * quarantined; at or below it the valid rows are published and the rest quarantined.
   */
  readonly maxRejectedRatio: number;
}

export interface DatasetDefinition {
  readonly name: string;
  readonly title: string;
  /** Columns that identify a row within a department's dataset. */
  readonly key: readonly string[];
  /** The month column (a roster is a monthly snapshot); may default from the file name. */
  readonly period: string | undefined;
  /** The jurisdiction column; defaults to the dropping department's region. */
  readonly region: string | undefined;
  /** The data-subject key column (公民身份号码). */
  readonly subject: string | undefined;
  readonly columns: readonly DatasetColumn[];
  /** The graph type whose rows this dataset serves (contracts on it govern subscriptions). */
  readonly graphqlType: string | undefined;
  readonly intake: DatasetIntake;
  readonly publish: DatasetPublishPolicy;
  readonly updateCycle: UpdateCycle | undefined;
  /** SHA-256 of the definition: a changed definition makes unchanged files load again. */
  readonly fingerprint: string;
}

/** Where the 低保 roster definition ships. */
export const DIBAO_DATASET_PATH = fileURLToPath(new URL('./dibao.dataset.yml', import.meta.url));

const NAME_RE = /^[a-z][a-zA-Z0-9]*$/;

/** Compares header names the way departments' spreadsheets vary: NFKC, no spaces, any case. */
export function normalizeHeader(header: string): string {
  return header.normalize('NFKC').replace(/[\s\u3000\uFEFF]+/g, '').toLowerCase();
}

function invalid(source: string, problems: string[]): TongxiangError {
  return new TongxiangError('CONFIG_INVALID', { reason: `${source}: ${problems.join('; ')}` });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

/** Validates a parsed definition; every problem is listed in one CONFIG_INVALID. */
export function defineDataset(raw: unknown, source = 'dataset'): DatasetDefinition {
  const problems: string[] = [];
  if (!isRecord(raw)) throw invalid(source, ['not a mapping']);
  const name = raw.name;
  const title = raw.title;
  if (typeof name !== 'string' || !/^[a-z][a-z0-9_-]*$/.test(name)) problems.push('name must be lower-case letters, digits, - or _');
  if (typeof title !== 'string' || title.trim() === '') problems.push('title is required');
  for (const k of Object.keys(raw)) {
    if (!['name', 'title', 'key', 'period', 'region', 'subject', 'columns', 'graphqlType', 'intake', 'publish', 'updateCycle'].includes(k)) {
      problems.push(`unknown key "${k}"`);
    }
  }

  const columns: DatasetColumn[] = [];
  if (!Array.isArray(raw.columns) || raw.columns.length === 0) problems.push('columns must be a non-empty list');
  const seenAliases = new Map<string, string>();
  for (const [i, col] of (Array.isArray(raw.columns) ? raw.columns : []).entries()) {
    const at = `columns[${i}]`;
    if (!isRecord(col)) {
      problems.push(`${at} is not a mapping`);
      continue;
    }
    const { name: cName, title: cTitle, type, required = false, check, aliases = [] } = col;
    if (typeof cName !== 'string' || !NAME_RE.test(cName)) problems.push(`${at}.name must be camelCase`);
    if (typeof cTitle !== 'string' || cTitle.trim() === '') problems.push(`${at}.title is required`);
    if (!COLUMN_TYPES.includes(type as ColumnType)) problems.push(`${at}.type must be one of ${COLUMN_TYPES.join('|')}`);
    if (typeof required !== 'boolean') problems.push(`${at}.required must be true or false`);
    if (check !== undefined && !COLUMN_CHECKS.includes(check as ColumnCheck)) problems.push(`${at}.check must be one of ${COLUMN_CHECKS.join('|')}`);
    if (!Array.isArray(aliases) || aliases.some((a) => typeof a !== 'string' || a.trim() === '')) {
      problems.push(`${at}.aliases must be a list of header names`);
      continue;
    }
    for (const k of Object.keys(col)) {
      if (!['name', 'title', 'type', 'required', 'check', 'aliases'].includes(k)) problems.push(`${at}: unknown key "${k}"`);
    }
    if (typeof cName !== 'string') continue;
    const all = [cName, ...(aliases as string[])];
    for (const alias of all) {
      const norm = normalizeHeader(alias);
      const owner = seenAliases.get(norm);
      if (owner !== undefined && owner !== cName) problems.push(`alias "${alias}" belongs to both ${owner} and ${cName}`);
      seenAliases.set(norm, cName);
    }
    columns.push({
      name: cName,
      title: typeof cTitle === 'string' ? cTitle : cName,
      type: type as ColumnType,
      required: required === true,
      check: check as ColumnCheck | undefined,
      aliases: [...new Set(aliases as string[])],
    });
  }
  const names = new Set(columns.map((c) => c.name));
  if (names.size !== columns.length) problems.push('column names must be unique');

  const key = raw.key;
  if (!Array.isArray(key) || key.length === 0 || key.some((k) => typeof k !== 'string' || !names.has(k))) {
    problems.push('key must list one or more column names');
  } else {
    for (const k of key as string[]) {
      if (!columns.find((c) => c.name === k)?.required) problems.push(`key column ${k} must be required`);
    }
  }
  const role = (field: 'period' | 'region' | 'subject', type?: ColumnType): string | undefined => {
    const value = raw[field];
    if (value === undefined) return undefined;
    const column = columns.find((c) => c.name === value);
    if (!column) problems.push(`${field} must name a column`);
    else if (type && column.type !== type) problems.push(`${field} column must have type ${type}`);
    return typeof value === 'string' ? value : undefined;
  };
  const period = role('period', 'month');
  const region = role('region');
  const subject = role('subject');

  const graphqlType = raw.graphqlType;
  if (graphqlType !== undefined && (typeof graphqlType !== 'string' || !/^[A-Z][A-Za-z0-9]*$/.test(graphqlType))) {
    problems.push('graphqlType must be a GraphQL type name');
  }
  const intake = intakeOf(raw.intake, problems);
  const publish = publishOf(raw.publish, problems);
  const updateCycle = updateCycleOf(raw.updateCycle, problems);

  if (problems.length > 0) throw invalid(source, problems);
  const body = {
    name: name as string, title: title as string, key: key as string[], period, region, subject, columns,
    graphqlType: graphqlType as string | undefined, intake, publish, updateCycle,
  };
  const fingerprint = createHash('sha256').update(JSON.stringify(body)).digest('hex');
  return deepFreeze({ ...body, fingerprint });
}

const DEPARTMENT_RE = /^\d{6}\.[a-z][a-z0-9_-]*$/;
export const DEFAULT_STABLE_MS = 2000;
export const DEFAULT_MAX_REJECTED_RATIO = 0.1;

function intakeOf(raw: unknown, problems: string[]): DatasetIntake {
  const fallback: DatasetIntake = { departments: [], folder: '{department}/{dataset}', stableMs: DEFAULT_STABLE_MS };
  if (raw === undefined) return fallback;
  if (!isRecord(raw)) {
    problems.push('intake must be a mapping');
    return fallback;
  }
  for (const k of Object.keys(raw)) if (!['departments', 'folder', 'stableMs'].includes(k)) problems.push(`intake: unknown key "${k}"`);
  const { departments = [], folder = fallback.folder, stableMs = DEFAULT_STABLE_MS } = raw;
  if (!Array.isArray(departments) || departments.some((d) => typeof d !== 'string' || !DEPARTMENT_RE.test(d))) {
    problems.push('intake.departments must list department codes such as 341504.mzj');
  }
  if (typeof folder !== 'string' || !folder.includes('{department}') || folder.split('/').some((p) => p === '' || p === '.' || p === '..')) {
    problems.push('intake.folder must be a relative path containing {department}, e.g. {department}/{dataset}');
  }
  if (typeof stableMs !== 'number' || !Number.isInteger(stableMs) || stableMs < 0 || stableMs > 3_600_000) {
    problems.push('intake.stableMs must be a whole number of milliseconds between 0 and 3600000');
  }
  return {
    departments: Array.isArray(departments) ? [...new Set(departments as string[])] : [],
    folder: typeof folder === 'string' ? folder : fallback.folder,
    stableMs: typeof stableMs === 'number' ? stableMs : DEFAULT_STABLE_MS,
  };
}

function publishOf(raw: unknown, problems: string[]): DatasetPublishPolicy {
  if (raw === undefined) return { maxRejectedRatio: DEFAULT_MAX_REJECTED_RATIO };
  if (!isRecord(raw)) {
    problems.push('publish must be a mapping');
    return { maxRejectedRatio: DEFAULT_MAX_REJECTED_RATIO };
  }
  for (const k of Object.keys(raw)) if (k !== 'maxRejectedRatio') problems.push(`publish: unknown key "${k}"`);
  const ratio = raw.maxRejectedRatio ?? DEFAULT_MAX_REJECTED_RATIO;
  if (typeof ratio !== 'number' || !(ratio >= 0 && ratio <= 1)) problems.push('publish.maxRejectedRatio must be a number from 0 to 1');
  return { maxRejectedRatio: typeof ratio === 'number' ? ratio : DEFAULT_MAX_REJECTED_RATIO };
}

function updateCycleOf(raw: unknown, problems: string[]): UpdateCycle | undefined {
  if (raw === undefined) return undefined;
  if (!isRecord(raw)) {
    problems.push('updateCycle must be a mapping');
    return undefined;
  }
  for (const k of Object.keys(raw)) if (!['every', 'dueDay'].includes(k)) problems.push(`updateCycle: unknown key "${k}"`);
  const { every, dueDay = 1 } = raw;
  if (!UPDATE_CYCLES.includes(every as UpdateCycleKind)) problems.push(`updateCycle.every must be one of ${UPDATE_CYCLES.join('|')}`);
  const maxDay: Record<UpdateCycleKind, number> = { daily: 1, weekly: 7, monthly: 28, quarterly: 28, yearly: 28 };
  const max = maxDay[every as UpdateCycleKind] ?? 28;
  if (typeof dueDay !== 'number' || !Number.isInteger(dueDay) || dueDay < 1 || dueDay > max) {
    problems.push(`updateCycle.dueDay must be a whole day from 1 to ${max}`);
  }
  return { every: every as UpdateCycleKind, dueDay: typeof dueDay === 'number' ? dueDay : 1 };
}

/** The folder (relative to the drop directory, `/`-separated) a department drops a dataset into. */
export function intakeFolder(def: DatasetDefinition, department: string): string {
  return def.intake.folder.replaceAll('{department}', department).replaceAll('{dataset}', def.name);
}

export function parseDatasetDefinition(text: string, source = 'dataset'): DatasetDefinition {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    throw new TongxiangError('CONFIG_INVALID', { reason: `${source}: not valid YAML` }, { cause: error });
  }
  return defineDataset(raw, source);
}

export async function loadDatasetDefinition(path: string): Promise<DatasetDefinition> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new TongxiangError('CONFIG_INVALID', { reason: `${path}: cannot be read` }, { cause: error });
  }
  return parseDatasetDefinition(text, path);
}

/** For start-up validation (a Mesh handler's constructor cannot wait). */
export function loadDatasetDefinitionSync(path: string): DatasetDefinition {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new TongxiangError('CONFIG_INVALID', { reason: `${path}: cannot be read` }, { cause: error });
  }
  return parseDatasetDefinition(text, path);
}

/** Column by canonical name; throws for a name the definition does not have (a programming error). */
export function columnOf(def: DatasetDefinition, name: string): DatasetColumn {
  const column = def.columns.find((c) => c.name === name);
  if (!column) throw new RangeError(`dataset ${def.name} has no column ${name}`);
  return column;
}
