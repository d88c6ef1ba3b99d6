/**
 * The exchange's pipeline (数据交换流水线): a dropped file → a validated, versioned dataset →
 * a change event, and a report the dropping department can open.
 *
 *   resolve the folder → hash (streaming) → same bytes as a published version? → read, map and
 *   stage in batches → decide (pure: `decideOutcome`) → publish (one transaction) or reject →
 *   move the original to archive/ or quarantine/ → report (store + files) → tell listeners.
 *
 * The original is never modified or deleted: it is renamed, within its dataset folder, to
 * `archive/v<version>-<attempt>-<name>` or `quarantine/<attempt>-<name>`, never over another file.
 * A bad file never throws: its report says why, in Chinese. A store failure throws and leaves
 * the file where it was, so the watcher can retry; nothing half-done is visible (staged rows are
 * discarded, and cleared at the store's next open after a crash).
 *
 * Logs carry paths, counts and outcomes, never cell values.
 */
import { createHash } from 'node:crypto';
import { constants, type Dirent, type Stats } from 'node:fs';
import { lstat, mkdir, open, readdir, readlink, rename } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { isTongxiangError, TongxiangError } from '../../core/index.ts';
import { columnOf, intakeFolder, type DatasetDefinition } from './dataset.ts';
import { writeFileAtomicNoClobber } from './demo-drops.ts';
import { freshness } from './freshness.ts';
// One rule for what is still being written, shared with the watcher.
import { isTemporaryName } from './intake.ts';
import { createAliasIndex, createRowMapper, mapHeaders, rowKey, type CanonicalValue, type RowRejection } from './map.ts';
import type {
  ChangeEvent,
  DatasetRef,
  DatasetStatus,
  DatasetStore,
  DatasetVersion,
  DropOutcome,
  DropPipeline,
  DropReport,
  IngestOptions,
  IngestProgress,
  QualityIssue,
  ReportFilter,
  ScanResult,
  StagedRows,
} from './model.ts';
import { formatOf, openDropFile, type ParseOptions, type RawRecord } from './parse.ts';
import { reportFilePaths } from './report-files.ts';
import type { StagedDatasetRow } from './store.ts';

export interface PipelineLogger {
  info(message: string): void;
  warn(message: string): void;
}

export type ParseLimits = Pick<ParseOptions, 'maxBytes' | 'maxXmlDepth' | 'maxXlsxUnzippedBytes' | 'maxXlsxRows' | 'maxXlsxColumns'>;

export interface DropPipelineOptions {
  readonly dropDir: string;
  readonly store: DatasetStore;
  readonly datasets: readonly DatasetDefinition[];
  /** One line per file and per event; paths, counts and outcomes only. */
  readonly logger?: PipelineLogger;
  readonly now?: () => Date;
  /** Issues kept per report (all rejected rows are counted). Default 1000. */
  readonly maxIssues?: number;
  readonly parse?: ParseLimits;
  /**
   * Writes the report's files (`writeReportFiles` of report-files.ts: JSON, CSV, XLSX). Without
   * it the pipeline writes the JSON only.
   */
  readonly writeReports?: (args: { dropDir: string; report: DropReport; definition: DatasetDefinition }) => Promise<void>;
}

export const DEFAULT_MAX_ISSUES = 1000;
const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;
/** Rows staged per round trip: memory stays flat however large the file. */
const BATCH = 1000;
/** `341504.mzj` → region 341504. */
const DEPARTMENT_RE = /^(\d{6})\.[a-z][a-z0-9_-]*$/;
/** The hub's own folders inside a dataset folder; never ingested. */
const RESERVED = new Set(['archive', 'quarantine', 'reports']);

// ---------------------------------------------------------------------------------------------
// Pure decisions

/** The month a file name names: …2026-10…, …2026年10月…, …202610… */
export function periodFromFileName(name: string): string | undefined {
  const m = /(?<!\d)(20\d{2})(?:[-_.年]\s*(1[0-2]|0?[1-9])(?!\d)|(1[0-2]|0[1-9])(?!\d))/.exec(name);
  if (!m) return undefined;
  return `${m[1]}-${(m[2] ?? m[3])!.padStart(2, '0')}`;
}

/** `20261123T031502Z-<first 8 hex of the content hash>` (UTC, to the second). */
export function attemptIdOf(at: Date, contentHash: string): string {
  return `${at.toISOString().slice(0, 19).replace(/[-:]/g, '')}Z-${contentHash.slice(0, 8)}`;
}

/** What a folder under the drop directory (relative, `/`-separated) is to the pipeline. */
export type DropTarget =
  | { readonly kind: 'dataset'; readonly definition: DatasetDefinition; readonly department: string; readonly folder: string; readonly allowed: boolean }
  | { readonly kind: 'unknown-dataset'; readonly dataset: string; readonly department: string; readonly folder: string };

/**
 * A configured dataset folder of an allowed department, the same folder of a department the
 * dataset does not list, or a `<department>/<name>` folder of no defined dataset (its files get
 * a report saying so). Anything else is not a drop folder (undefined).
 */
export function resolveDropFolder(folder: string, datasets: readonly DatasetDefinition[]): DropTarget | undefined {
  const parts = folder.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..')) return undefined;
  for (const definition of datasets) {
    for (const department of definition.intake.departments) {
      if (intakeFolder(definition, department) === folder) return { kind: 'dataset', definition, department, folder, allowed: true };
    }
  }
  for (const definition of datasets) {
    const pattern = definition.intake.folder
      .split(/(\{department\}|\{dataset\})/)
      .map((piece) => (piece === '{department}' ? '(\\d{6}\\.[a-z][a-z0-9_-]*)' : piece === '{dataset}' ? escapeRe(definition.name) : escapeRe(piece)))
      .join('');
    const department = new RegExp(`^${pattern}$`).exec(folder)?.[1];
    if (department !== undefined) return { kind: 'dataset', definition, department, folder, allowed: false };
  }
  const [department, dataset] = parts;
  if (parts.length === 2 && DEPARTMENT_RE.test(department!) && !isTemporaryName(dataset!) && !RESERVED.has(dataset!)) {
    return { kind: 'unknown-dataset', dataset: dataset!, department: department!, folder };
  }
  return undefined;
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export type OutcomeDecision =
  | { readonly publish: true; readonly outcome: 'published' | 'partially-published' }
  | { readonly publish: false; readonly reason: string };

/**
 * Publish or reject, from the counts alone. Rejected as a whole: no data rows, any duplicate key,
 * every row invalid, or a rejected share above the dataset's threshold (at the threshold passes).
 */
export function decideOutcome(input: {
  readonly rowsTotal: number;
  readonly rowsRejected: number;
  readonly duplicateKeys: number;
  readonly maxRejectedRatio: number;
  /** The key columns as the department named them, e.g. 户编号+保障月份. */
  readonly keyLabel: string;
}): OutcomeDecision {
  const { rowsTotal, rowsRejected, duplicateKeys, maxRejectedRatio, keyLabel } = input;
  if (rowsTotal === 0) return { publish: false, reason: '文件中没有数据行' };
  if (duplicateKeys > 0) {
    return { publish: false, reason: `文件中有重复的 ${keyLabel}（同一记录出现多次，见问题清单），整个文件未发布，请去重后重新投递` };
  }
  if (rowsRejected === rowsTotal) return { publish: false, reason: `全部 ${rowsTotal} 行均未通过校验，整个文件未发布` };
  if (rowsRejected / rowsTotal > maxRejectedRatio) {
    const pct = (x: number): string => `${Math.round(x * 1000) / 10}%`;
    return {
      publish: false,
      reason: `${rowsTotal} 行中有 ${rowsRejected} 行未通过校验（${pct(rowsRejected / rowsTotal)}），超过本数据集允许的 ${pct(maxRejectedRatio)}，整个文件未发布`,
    };
  }
  return { publish: true, outcome: rowsRejected === 0 ? 'published' : 'partially-published' };
}

function sizeText(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${Math.floor(bytes / 1024 / 1024)} MB` : `${Math.max(1, Math.floor(bytes / 1024))} KB`;
}

// ---------------------------------------------------------------------------------------------
// Small I/O helpers

const refuse = (file: string, reason: string): TongxiangError => new TongxiangError('DATASET_FILE_INVALID', { file, reason });

/** SHA-256 and size, streamed; never follows a link (O_NOFOLLOW) even if one replaced the file. */
async function hashFile(path: string): Promise<{ hash: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  const handle = await open(path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
  try {
    for await (const chunk of handle.createReadStream({ autoClose: false }) as AsyncIterable<Buffer>) {
      hash.update(chunk);
      bytes += chunk.length;
    }
  } finally {
    await handle.close();
  }
  return { hash: hash.digest('hex'), bytes };
}

const exists = (path: string): Promise<boolean> => lstat(path).then(() => true, () => false);

/** Renames within the drop directory, never over an existing file (fails instead). */
async function moveNoClobber(from: string, to: string): Promise<void> {
  await mkdir(dirname(to), { recursive: true });
  if (await exists(to)) throw Object.assign(new Error('target exists'), { code: 'EEXIST' });
  await rename(from, to);
}

const signatureOf = (s: Stats): string => `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}`;

async function listSorted(path: string): Promise<Dirent[]> {
  return (await readdir(path, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Stands in for a dataset that is not defined, so its folder's report files can still be written. */
function placeholderDefinition(name: string): DatasetDefinition {
  return {
    name, title: `未定义的数据集“${name}”`, key: [], period: undefined, region: undefined, subject: undefined, columns: [],
    graphqlType: undefined, intake: { departments: [], folder: '{department}/{dataset}', stableMs: 0 },
    publish: { maxRejectedRatio: 0 }, updateCycle: undefined, fingerprint: '',
  };
}

// ---------------------------------------------------------------------------------------------
// Reading a file into staging

interface ReadOutcome {
  format: string | null;
  encoding: string | null;
  rowsTotal: number;
  rowsRejected: number;
  issues: QualityIssue[];
  /** Set when the file as a whole could not be read (DATASET_FILE_INVALID's reason). */
  fileReason: string | null;
  keyLabel: string;
}

const valueOf = (name: string | undefined, values: Readonly<Record<string, CanonicalValue>>): string | null =>
  name === undefined || values[name] === null || values[name] === undefined ? null : String(values[name]);

/** The cell as written, for the department's report: the parser's own, or looked up by header. */
function cellOf(rejection: RowRejection, record: RawRecord): string | null {
  const given = (rejection as RowRejection & { readonly value?: string | null }).value;
  if (given !== undefined) return given;
  return rejection.column !== null && rejection.column in record.fields ? (record.fields[rejection.column] ?? null) : null;
}

// ---------------------------------------------------------------------------------------------

export function createDropPipeline(options: DropPipelineOptions): DropPipeline {
  const problems: string[] = [];
  if (typeof options?.dropDir !== 'string' || options.dropDir === '') problems.push('dropDir is required');
  if (!options?.store || typeof options.store.stage !== 'function') problems.push('store must be a DatasetStore');
  if (!Array.isArray(options?.datasets) || options.datasets.length === 0) problems.push('datasets must list one or more definitions');
  const names = (options?.datasets ?? []).map((d) => d.name);
  if (new Set(names).size !== names.length) problems.push('datasets must not define the same dataset twice');
  const maxIssues = options?.maxIssues ?? DEFAULT_MAX_ISSUES;
  if (!Number.isSafeInteger(maxIssues) || maxIssues < 1) problems.push('maxIssues must be a whole number ≥ 1');
  if (problems.length > 0) throw new TongxiangError('CONFIG_INVALID', { reason: `filedrop pipeline: ${problems.join('; ')}` });

  const dropDir = resolve(options.dropDir);
  const { store, logger, writeReports } = options;
  const datasets: readonly DatasetDefinition[] = Object.freeze([...options.datasets]);
  const limits: ParseLimits = Object.freeze({ ...options.parse });
  const maxBytes = limits.maxBytes ?? DEFAULT_MAX_BYTES;
  const now = options.now ?? (() => new Date());
  const listeners = new Set<(event: ChangeEvent) => void>();

  // One ingest (or rollback, or scan) at a time: versions follow the order files complete.
  let tail: Promise<unknown> = Promise.resolve();
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const run = tail.then(work, work);
    tail = run.catch(() => undefined);
    return run;
  };

  const abs = (rel: string): string => join(dropDir, ...rel.split('/'));

  function notify(event: ChangeEvent): void {
    logger?.info(`filedrop: ${event.id} published (${event.kind}, ${event.rows} rows: +${event.added} ~${event.changed} -${event.removed})`);
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (error) {
        logger?.warn(`filedrop: a change-event listener failed on ${event.id} (${error instanceof Error ? error.name : 'error'})`);
      }
    }
  }

  /** An attempt id not used by an earlier report of the same folder (same bytes in the same second). */
  async function uniqueAttemptId(base: string, ref: DatasetRef, folder: string): Promise<string> {
    const recent = new Set((await store.reports({ ...ref, limit: 50 })).map((r) => r.id));
    for (let i = 1; ; i++) {
      const id = i === 1 ? base : `${base}-${i}`;
      if (!recent.has(id) && !(await exists(abs(`${folder}/reports/${id}.json`)))) return id;
    }
  }

  async function readInto(
    staged: StagedRows,
    definition: DatasetDefinition,
    department: string,
    path: string,
    name: string,
    progress: (p: Omit<IngestProgress, 'bytesTotal' | 'phase'>) => void,
  ): Promise<ReadOutcome> {
    const region = DEPARTMENT_RE.exec(department)?.[1];
    const defaults: Record<string, string> = {};
    if (definition.region && region) defaults[definition.region] = region;
    const period = definition.period ? periodFromFileName(name) : undefined;
    if (definition.period && period) defaults[definition.period] = period;
    const known = createAliasIndex(definition);
    const out: ReadOutcome = {
      format: formatOf(name) ?? null, encoding: null, rowsTotal: 0, rowsRejected: 0, issues: [], fileReason: null,
      keyLabel: definition.key.map((k) => columnOf(definition, k).title).join('+'),
    };
    let bytesRead = 0;
    // `onBytes` (bytes read so far) comes with the streaming parser; an older parser ignores it.
    const parseOptions: ParseOptions & { onBytes?: (bytes: number) => void } = {
      ...limits,
      isKnownColumn: (h) => known(h) !== undefined,
      onBytes: (bytes) => {
        bytesRead = Math.max(bytesRead, bytes);
      },
    };
    let batch: StagedDatasetRow[] = [];
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      const rows = batch;
      batch = [];
      await staged.add(rows);
      progress({ bytesRead, rowsRead: out.rowsTotal });
    };
    const issue = (i: QualityIssue): void => {
      if (out.issues.length < maxIssues) out.issues.push(i);
    };
    try {
      const reader = await openDropFile(path, parseOptions);
      out.format = reader.format;
      out.encoding = reader.encoding ?? null;
      const mapOptions = { file: name, defaults, ...(region ? { jurisdiction: region } : {}) };
      const mapping = mapHeaders(definition, reader.headers, mapOptions);
      out.keyLabel = definition.key.map((k) => mapping.headerOf.get(k) ?? columnOf(definition, k).title).join('+');
      const mapRow = createRowMapper(definition, mapping, mapOptions);
      for await (const record of reader.records()) {
        out.rowsTotal++;
        const outcome = mapRow(record);
        if (outcome.ok) {
          const values = outcome.row.values;
          // PostgreSQL text cannot hold U+0000: a row with one is the department's to fix, not a store failure.
          const nul = Object.entries(values).find(([, v]) => typeof v === 'string' && v.includes('\u0000'));
          if (nul) {
            out.rowsRejected++;
            const header = mapping.headerOf.get(nul[0]) ?? columnOf(definition, nul[0]).title;
            issue({ row: record.row, column: header, value: null, reason: '含有不可见的空字符（U+0000），请删除后重新投递' });
            continue;
          }
          batch.push({
            key: rowKey(definition, values), period: valueOf(definition.period, values), regionCode: valueOf(definition.region, values),
            subjectId: valueOf(definition.subject, values), values, row: record.row,
          });
          if (batch.length >= BATCH) await flush();
        } else {
          out.rowsRejected++;
          for (const r of outcome.rejections) issue({ row: r.row, column: r.column, value: cellOf(r, record), reason: r.reason });
        }
      }
      await flush();
    } catch (error) {
      if (!isTongxiangError(error) || error.code !== 'DATASET_FILE_INVALID') throw error; // the store, or a bug: not the file's fault
      out.fileReason = String(error.fields.reason ?? '文件无法解析');
    }
    return out;
  }

  async function ingestNow(path: string, options: IngestOptions = {}): Promise<DropReport> {
    const actor = options.actor ?? null;
    const absolute = resolve(path);
    const rel = relative(dropDir, absolute);
    const segments = rel.split(sep);
    const name = segments.at(-1) ?? '';
    if (rel === '' || isAbsolute(rel) || segments.includes('..') || path.split(/[\\/]/).includes('..')) {
      throw refuse(name, '文件不在投递目录的数据集目录中');
    }
    if (isTemporaryName(name)) throw refuse(name, '临时文件（正在复制或被打开的文件）不处理');
    const folder = segments.slice(0, -1).join('/');
    const target = resolveDropFolder(folder, datasets);
    if (!target) throw refuse(name, `“${folder}”不是数据集目录（应为 <部门编码>/<数据集>，如 341504.mzj/dibao）`);
    const info = await lstat(absolute).catch(() => undefined);
    if (!info) throw refuse(name, '文件不存在（可能已被移走）');
    if (info.isDirectory()) throw refuse(name, '这是目录，不是文件');

    const receivedAt = now();
    const ref: DatasetRef = { dataset: target.kind === 'dataset' ? target.definition.name : target.dataset, department: target.department };
    const definition = target.kind === 'dataset' ? target.definition : placeholderDefinition(target.dataset);
    let bytesTotal = info.size;
    const progress = (p: Omit<IngestProgress, 'bytesTotal'>): void => {
      try {
        options.onProgress?.({ ...p, bytesRead: Math.min(p.bytesRead, bytesTotal), bytesTotal });
      } catch {
        // a progress display must not break an ingest
      }
    };
    progress({ bytesRead: 0, rowsRead: 0, phase: 'reading' });

    // A link is refused, never followed: its own text identifies it, nothing is read through it.
    let contentHash = createHash('sha256').update(info.isSymbolicLink() ? await readlink(absolute).catch(() => '') : '').digest('hex');
    let bytes = 0;
    let unreadable: string | null = null;
    if (info.isFile()) {
      try {
        ({ hash: contentHash, bytes } = await hashFile(absolute));
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') throw refuse(name, '文件不存在（可能已被移走）');
        // Locked (still open in Excel on a share) or the disk: passes; the watcher retries.
        if (code !== 'EACCES' && code !== 'EPERM' && code !== 'ELOOP') throw error;
        unreadable = code === 'ELOOP' ? '不是普通文件（符号链接、设备文件等不会被读取）' : '文件无法读取（没有读取权限）';
      }
    }
    bytesTotal = bytes;
    const id = await uniqueAttemptId(attemptIdOf(receivedAt, contentHash), ref, target.folder);

    const base = {
      id, dataset: ref.dataset, department: ref.department, fileName: name, contentHash, bytes, receivedAt, actor,
      format: (formatOf(name) ?? null) as string | null, encoding: null as string | null,
    };
    const counts = { rowsTotal: 0, rowsAccepted: 0, rowsRejected: 0 };

    const finish = async (
      outcome: DropOutcome,
      version: number | null,
      reason: string | null,
      issues: readonly QualityIssue[],
      moveTo: string = outcome === 'rejected'
        ? `${target.folder}/quarantine/${id}-${name}`
        : `${target.folder}/archive/v${version}-${id}-${name}`,
    ): Promise<DropReport> => {
      let movedTo: string | null = moveTo;
      try {
        await moveNoClobber(absolute, abs(moveTo));
      } catch (error) {
        movedTo = null;
        logger?.warn(`filedrop: ${rel} could not be moved to ${moveTo} (${(error as NodeJS.ErrnoException).code ?? 'error'}); it stays in place`);
      }
      const reportFiles = writeReports ? reportFilePaths(target.folder, id) : [`${target.folder}/reports/${id}.json`];
      const report: DropReport = {
        ...base, ...counts, outcome, version, issues, reason, movedTo, reportFiles, finishedAt: now(),
        ...(movedTo === null ? { reason: `${reason ? `${reason}；` : ''}原文件未能移入 ${outcome === 'rejected' ? 'quarantine' : 'archive'}/，仍在原处` } : {}),
      };
      try {
        if (writeReports) await writeReports({ dropDir, report, definition });
        else await writeJsonReport(report, target.folder);
      } catch (error) {
        logger?.warn(`filedrop: the report files of ${rel} could not be written (${error instanceof Error ? error.name : 'error'})`);
      }
      await store.saveReport(report);
      const line = `filedrop: ${rel}: ${outcome}${version !== null ? ` v${version}` : ''} (${report.rowsAccepted}/${report.rowsTotal} rows accepted, ${report.rowsRejected} rejected)`;
      if (outcome === 'rejected') logger?.warn(`${line} — ${report.reason ?? ''}`);
      else logger?.info(line);
      progress({ bytesRead: bytes, rowsRead: report.rowsTotal, phase: 'done' });
      return report;
    };
    const fileIssue = (reason: string): QualityIssue[] => [{ row: 0, column: null, value: null, reason }];
    const reject = (reason: string, issues: readonly QualityIssue[] = fileIssue(reason)): Promise<DropReport> =>
      finish('rejected', null, reason, issues);

    if (target.kind === 'unknown-dataset') {
      const known = datasets.map((d) => `${d.name}（${d.title}）`).join('、');
      return reject(`“${target.dataset}”不是已定义的数据集，无法接收此文件（已定义的数据集：${known}）`);
    }
    if (!target.allowed) return reject(`本部门未获准投递此数据集（${target.definition.title}）`);
    if (!info.isFile()) return reject('不是普通文件（符号链接、设备文件等不会被读取）');
    if (unreadable !== null) return reject(unreadable);
    if (bytes > maxBytes) return reject(`文件大小 ${sizeText(bytes)}，超过 ${sizeText(maxBytes)} 的上限`);
    if (bytes === 0) return reject('文件为空（文件中没有数据行）');

    const history = await store.versions(ref);
    const same = history.find((v) => v.kind === 'file' && v.contentHash === contentHash);
    if (same) {
      // The hub stopped between publishing this version and moving its file: the file goes where
      // the version says it lies. Otherwise (the same bytes dropped again) beside it, by attempt.
      const recorded = same.fileName === name && same.archivedAs !== null && same.archivedAs.startsWith(`${target.folder}/archive/`) && !(await exists(abs(same.archivedAs)));
      const note = `与已发布的版本 v${same.version} 内容相同，未生成新版本`;
      return recorded ? finish('unchanged', same.version, note, [], same.archivedAs!) : finish('unchanged', same.version, note, []);
    }

    const staged = await store.stage(ref, id);
    try {
      const read = await readInto(staged, definition, ref.department, absolute, name, (p) => progress({ ...p, phase: 'reading' }));
      base.format = read.format;
      base.encoding = read.encoding;
      counts.rowsTotal = read.rowsTotal;
      counts.rowsRejected = read.rowsRejected;
      counts.rowsAccepted = read.rowsTotal - read.rowsRejected;
      // The file must not have changed under us: what was hashed is what was read.
      const after = await lstat(absolute).catch(() => undefined);
      if (!after || signatureOf(after) !== signatureOf(info)) {
        throw refuse(name, '文件在读取期间被修改或移走，待写入完成后将重新处理');
      }
      if (read.fileReason !== null) return await reject(read.fileReason, [...fileIssue(read.fileReason), ...read.issues].slice(0, maxIssues));

      const duplicates = counts.rowsAccepted > 1 ? await staged.duplicateKeys(maxIssues) : [];
      const duplicateIssues: QualityIssue[] = duplicates.flatMap(({ key, rows }) => {
        const [first, ...later] = rows;
        const value = (JSON.parse(key) as unknown[]).map((v) => String(v ?? '')).join(' + ');
        return later.map((row) => ({ row, column: read.keyLabel, value, reason: `第 ${row} 行与第 ${first} 行的 ${read.keyLabel} 重复` }));
      });
      const issues = [...duplicateIssues, ...read.issues].slice(0, maxIssues);
      const decision = decideOutcome({
        rowsTotal: read.rowsTotal, rowsRejected: read.rowsRejected, duplicateKeys: duplicates.length,
        maxRejectedRatio: definition.publish.maxRejectedRatio, keyLabel: read.keyLabel,
      });
      if (!decision.publish) return await reject(decision.reason, issues.length > 0 ? issues : fileIssue(decision.reason));

      progress({ bytesRead: bytes, rowsRead: read.rowsTotal, phase: 'publishing' });
      // Ingests are serialised, so the next version number is known before publishing.
      const predicted = (history[0]?.version ?? 0) + 1;
      const result = await store.publish(
        staged,
        { fileName: name, contentHash, archivedAs: `${target.folder}/archive/v${predicted}-${id}-${name}`, actor, at: now() },
        { periodic: definition.period !== undefined },
      );
      if (!result.published) {
        const v = result.equals.version;
        const note = result.reason === 'same-content'
          ? `与已发布的版本 v${v} 内容相同，未生成新版本`
          : `文件中的数据与当前版本 v${v} 相同，未生成新版本`;
        return await finish('unchanged', v, note, issues);
      }
      if (result.version.version !== predicted) {
        logger?.warn(`filedrop: ${rel} became v${result.version.version}, not v${predicted}: another writer shares the store`);
      }
      notify(result.event);
      return await finish(decision.outcome, result.version.version, null, issues);
    } catch (error) {
      if (!(isTongxiangError(error) && error.code === 'DATASET_FILE_INVALID')) {
        logger?.warn(`filedrop: ingesting ${rel} failed (${error instanceof Error ? error.name : 'error'})`);
      }
      throw error;
    } finally {
      // Consumed by publish, or never published: either way nothing of this attempt stays staged.
      await staged.discard().catch(() => undefined);
    }
  }

  async function writeJsonReport(report: DropReport, folder: string): Promise<void> {
    const path = abs(`${folder}/reports/${report.id}.json`);
    await mkdir(dirname(path), { recursive: true });
    await writeFileAtomicNoClobber(path, Buffer.from(`${JSON.stringify(report, null, 2)}\n`, 'utf8'));
  }

  async function scanNow(): Promise<ScanResult> {
    await mkdir(dropDir, { recursive: true });
    const problems: string[] = [];
    const files = new Set<string>();
    const addFilesOf = async (folder: string): Promise<void> => {
      let entries: Dirent[];
      try {
        entries = await listSorted(abs(folder));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') problems.push(`${folder}：目录无法读取`);
        return;
      }
      for (const e of entries) if (!e.isDirectory() && !isTemporaryName(e.name)) files.add(`${folder}/${e.name}`);
    };
    // Configured folders first, whatever their template.
    const configured = new Set<string>();
    for (const def of datasets) for (const dept of def.intake.departments) configured.add(intakeFolder(def, dept));
    for (const folder of configured) await addFilesOf(folder);
    // Then every <department>/<folder>: what matches no dataset must hear why.
    const prefixes = new Set([...configured].map((f) => f.split('/')[0]!));
    let top: Dirent[] = [];
    try {
      top = await listSorted(dropDir);
    } catch {
      problems.push(`投递目录无法读取：${dropDir}`);
    }
    for (const entry of top) {
      if (isTemporaryName(entry.name)) continue;
      const isDepartment = entry.isDirectory() && DEPARTMENT_RE.test(entry.name);
      if (!isDepartment) {
        if (!(entry.isDirectory() && prefixes.has(entry.name))) {
          problems.push(entry.isDirectory()
            ? `“${entry.name}”不是部门目录（应为 <行政区划代码>.<部门简称>，如 341504.mzj）`
            : `“${entry.name}”不在任何部门的数据集目录中，未处理`);
        }
        continue;
      }
      let inner: Dirent[];
      try {
        inner = await listSorted(abs(entry.name));
      } catch {
        problems.push(`${entry.name}：目录无法读取`);
        continue;
      }
      for (const sub of inner) {
        if (isTemporaryName(sub.name)) continue;
        const folder = `${entry.name}/${sub.name}`;
        if (!sub.isDirectory()) {
          problems.push(`${folder}：文件应放在数据集目录中（如 ${entry.name}/${datasets[0]!.name}/），未处理`);
          continue;
        }
        if (configured.has(folder)) continue;
        const target = resolveDropFolder(folder, datasets);
        if (target?.kind === 'dataset' && !target.allowed) {
          problems.push(`${folder}：本部门未获准投递数据集“${target.definition.title}”，其中的文件已拒收`);
        } else if (target?.kind === 'unknown-dataset') {
          problems.push(`${folder}：不是已定义的数据集目录，其中的文件已拒收`);
        } else {
          continue; // another dataset's configured folder nested differently: not ours to judge
        }
        await addFilesOf(folder);
      }
    }
    const reports: DropReport[] = [];
    for (const rel of [...files].sort()) {
      try {
        reports.push(await ingestNow(abs(rel)));
      } catch (error) {
        if (!(isTongxiangError(error) && error.code === 'DATASET_FILE_INVALID')) throw error; // the store: the scan is retried
        problems.push(`${rel}：${String(error.fields.reason)}`);
      }
    }
    for (const p of problems) logger?.warn(`filedrop: ${p}`);
    return { reports, problems };
  }

  const pipeline: DropPipeline = {
    dropDir,
    datasets,
    ingestFile: (path, ingestOptions) => serial(() => ingestNow(path, ingestOptions)),
    scan: () => serial(scanNow),
    rollback: (ref, toVersion, actor) =>
      serial(async () => {
        if (!datasets.some((d) => d.name === ref.dataset)) {
          throw new TongxiangError('BAD_USER_INPUT', { reason: `没有名为“${ref.dataset}”的数据集` });
        }
        const { version, event } = await store.rollback(ref, toVersion, actor, now());
        notify(event);
        return version;
      }),
    versions: (ref) => store.versions(ref),
    reports: (filter: ReportFilter) => store.reports(filter),
    async status(at = now()) {
      const heads = await store.heads();
      const out: DatasetStatus[] = [];
      for (const def of datasets) {
        for (const department of def.intake.departments) {
          const head: DatasetVersion | null = heads.find((h) => h.dataset === def.name && h.department === department) ?? null;
          const [last] = await store.reports({ dataset: def.name, department, limit: 1 });
          out.push(freshness(def, department, head, last ?? null, at));
        }
      }
      return out;
    },
    events: (afterSeq, limit) => store.events(afterSeq, limit),
    onEvent(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    folderOf(ref) {
      const def = datasets.find((d) => d.name === ref.dataset);
      if (!def || !def.intake.departments.includes(ref.department)) return undefined;
      return abs(intakeFolder(def, ref.department));
    },
  };
  return Object.freeze(pipeline);
}
