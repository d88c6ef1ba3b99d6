/**
 * Loader (装载): scans `<dropDir>/<deptCode>/<dataset>/*` and loads each file through
 * parse → map → store. Originals are only ever read. A file that cannot be loaded is reported
 * (file, reason) and recorded in the store's manifest; the rows it contributed before stay.
 * Files whose bytes and dataset definition are unchanged since the last attempt are skipped.
 */
import { createHash } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isTongxiangError } from '../../core/index.ts';
import type { DatasetDefinition } from './dataset.ts';
import { createAliasIndex, mapRecords, rowKey, type RowRejection } from './map.ts';
import { formatOf, openDropFile, type DropFileFormat, type ParseOptions } from './parse.ts';
import type { DatasetRow, DatasetStore, DropFileState, DropFileStatus } from './store.ts';

export interface LoaderLogger {
  info(message: string): void;
  warn(message: string): void;
}

export interface LoadDropFolderOptions {
  readonly dropDir: string;
  readonly store: DatasetStore;
  readonly datasets: readonly DatasetDefinition[];
  /** One line per file, without personal data. */
  readonly logger?: LoaderLogger;
  readonly now?: () => Date;
  /** Rejection reasons kept per file (all rejected rows are counted). Default 20. */
  readonly maxRejections?: number;
  readonly parse?: Pick<ParseOptions, 'maxBytes' | 'maxXmlDepth' | 'maxXlsxUnzippedBytes' | 'maxXlsxRows' | 'maxXlsxColumns'>;
}

export type FileLoadStatus = 'loaded' | 'unchanged' | 'failed';

export interface FileLoadReport {
  readonly department: string;
  readonly dataset: string;
  readonly fileName: string;
  readonly path: string;
  readonly status: FileLoadStatus;
  readonly format: DropFileFormat | null;
  readonly encoding: string | null;
  readonly rowsAccepted: number;
  readonly rowsRejected: number;
  readonly rejections: readonly RowRejection[];
  readonly reason: string | null;
  /** For an unchanged file: the outcome recorded when it was last attempted. */
  readonly previousStatus?: DropFileState;
}

export interface LoadReport {
  readonly dropDir: string;
  readonly startedAt: Date;
  readonly finishedAt: Date;
  readonly files: readonly FileLoadReport[];
  /** Folder-level problems: unreadable drop dir, folders that are not departments or datasets. */
  readonly problems: readonly string[];
}

/** `341504.mzj` → region 341504. */
const DEPARTMENT_RE = /^(\d{6})\.[a-z][a-z0-9_-]*$/;

/** Temp and lock files: a copy in progress, Excel's `~$` owner file, our own atomic writes. */
const isTransient = (name: string): boolean =>
  name.startsWith('.') || name.startsWith('~$') || /\.(tmp|part|crdownload)$/i.test(name);

/** The month a file name names: …2026-10…, …2026年10月…, …202610… */
export function periodFromFileName(name: string): string | undefined {
  const m = /(?<!\d)(20\d{2})(?:[-_.年]\s*(1[0-2]|0?[1-9])(?!\d)|(1[0-2]|0[1-9])(?!\d))/.exec(name);
  if (!m) return undefined;
  return `${m[1]}-${(m[2] ?? m[3])!.padStart(2, '0')}`;
}

export function summarizeFileReport(r: FileLoadReport): string {
  const where = `${r.department}/${r.dataset}/${r.fileName}`;
  switch (r.status) {
    case 'loaded':
      return `${where}: loaded ${r.rowsAccepted} rows, ${r.rowsRejected} rejected`;
    case 'unchanged':
      return `${where}: unchanged since last load (${r.previousStatus ?? 'loaded'})`;
    case 'failed':
      return `${where}: failed — ${r.reason ?? 'unknown'}`;
  }
}

async function listDir(path: string): Promise<Dirent[]> {
  return (await readdir(path, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** A sub-folder that cannot be listed is a problem of that folder, not of the whole scan. */
async function listSub(path: string, label: string, problems: string[]): Promise<Dirent[]> {
  try {
    return await listDir(path);
  } catch {
    problems.push(`${label}：目录无法读取`);
    return [];
  }
}

export async function loadDropFolder(options: LoadDropFolderOptions): Promise<LoadReport> {
  const { dropDir, store, logger } = options;
  const now = options.now ?? (() => new Date());
  const startedAt = now();
  const files: FileLoadReport[] = [];
  const problems: string[] = [];
  const datasets = new Map(options.datasets.map((d) => [d.name, d]));
  const finish = (): LoadReport => ({ dropDir, startedAt, finishedAt: now(), files, problems });

  let departments: Dirent[];
  try {
    departments = await listDir(dropDir);
  } catch {
    problems.push(`投递目录无法读取：${dropDir}`);
    logger?.warn(`filedrop: drop directory ${dropDir} cannot be read`);
    return finish();
  }
  const manifest = new Map<string, DropFileStatus>();
  for (const s of await store.fileStatus()) manifest.set(`${s.department}/${s.dataset}/${s.fileName}`, s);

  for (const dept of departments) {
    if (isTransient(dept.name)) continue;
    const region = DEPARTMENT_RE.exec(dept.name)?.[1];
    if (!dept.isDirectory() || region === undefined) {
      problems.push(`“${dept.name}”不是部门目录（应为 <行政区划代码>.<部门简称>，如 341504.mzj）`);
      continue;
    }
    for (const ds of await listSub(join(dropDir, dept.name), dept.name, problems)) {
      if (isTransient(ds.name)) continue;
      const def = datasets.get(ds.name);
      if (!ds.isDirectory() || !def) {
        problems.push(`${dept.name}/${ds.name}：不是已定义的数据集目录`);
        continue;
      }
      for (const entry of await listSub(join(dropDir, dept.name, ds.name), `${dept.name}/${ds.name}`, problems)) {
        if (isTransient(entry.name)) continue;
        const report = await loadOne({ ...options, now }, def, dept.name, region, entry.name, manifest);
        files.push(report);
        if (report.status === 'failed') logger?.warn(`filedrop: ${summarizeFileReport(report)}`);
        else logger?.info(`filedrop: ${summarizeFileReport(report)}`);
      }
    }
  }
  return finish();
}

async function loadOne(
  options: LoadDropFolderOptions & { now: () => Date },
  def: DatasetDefinition,
  department: string,
  region: string,
  fileName: string,
  manifest: ReadonlyMap<string, DropFileStatus>,
): Promise<FileLoadReport> {
  const { store } = options;
  const path = join(options.dropDir, department, def.name, fileName);
  const base = { department, dataset: def.name, fileName, path };
  const format = formatOf(fileName) ?? null;
  const failed = (reason: string, extra: Partial<FileLoadReport> = {}): FileLoadReport => ({
    ...base, status: 'failed', format, encoding: null, rowsAccepted: 0, rowsRejected: 0, rejections: [], reason, ...extra,
  });

  const info = await lstat(path).catch(() => undefined);
  if (!info?.isFile()) return failed('不是普通文件（目录或符号链接不会被读取）');
  const maxBytes = options.parse?.maxBytes ?? 64 * 1024 * 1024;
  if (info.size > maxBytes) return failed(`文件超过 ${Math.floor(maxBytes / 1024 / 1024)} MB`);

  let bytes: Buffer;
  try {
    bytes = await readFile(path); // read-only; the original is never written, moved or deleted
  } catch {
    return failed('文件无法读取');
  }
  const contentHash = createHash('sha256').update(bytes).digest('hex');
  const previous = manifest.get(`${department}/${def.name}/${fileName}`);
  if (previous && previous.contentHash === contentHash && previous.definitionHash === def.fingerprint) {
    return {
      ...base, status: 'unchanged', format, encoding: previous.encoding, rowsAccepted: previous.rowsAccepted,
      rowsRejected: previous.rowsRejected, rejections: previous.rejections, reason: previous.reason,
      previousStatus: previous.status,
    };
  }

  const at = options.now();
  const attempt = { dataset: def.name, department, fileName, contentHash, definitionHash: def.fingerprint, format, at };
  const recordFailure = async (report: FileLoadReport): Promise<FileLoadReport> => {
    try {
      await store.recordFailure({
        ...attempt, encoding: report.encoding, reason: report.reason ?? '', rowsRejected: report.rowsRejected,
        rejections: report.rejections,
      });
    } catch {
      options.logger?.warn(`filedrop: could not record the failure of ${department}/${def.name}/${fileName}`);
    }
    return report;
  };

  const known = createAliasIndex(def);
  const defaults: Record<string, string> = {};
  if (def.region) defaults[def.region] = region;
  const period = def.period ? periodFromFileName(fileName) : undefined;
  if (def.period && period) defaults[def.period] = period;

  let encoding: string | null = null;
  let mapped;
  try {
    const reader = await openDropFile(
      { name: fileName, bytes },
      { ...options.parse, isKnownColumn: (h) => known(h) !== undefined },
    );
    encoding = reader.encoding ?? null;
    mapped = await mapRecords(def, reader, {
      file: fileName, defaults, jurisdiction: region, maxRejections: options.maxRejections ?? 20,
    });
  } catch (error) {
    const reason = isTongxiangError(error) && error.code === 'DATASET_FILE_INVALID' ? String(error.fields.reason) : '文件无法解析';
    return recordFailure(failed(reason, { encoding }));
  }

  const { rows, rowsRejected, rejections } = mapped;
  if (rows.length === 0) {
    const reason = rowsRejected > 0 ? `全部 ${rowsRejected} 行均未通过校验，已保留上一版本数据` : '文件中没有数据行';
    return recordFailure(failed(reason, { encoding, rowsRejected, rejections }));
  }
  const value = (name: string | undefined, values: Readonly<Record<string, unknown>>): string | null =>
    name === undefined || values[name] === null || values[name] === undefined ? null : String(values[name]);
  const datasetRows: DatasetRow[] = rows.map((r) => ({
    key: rowKey(def, r.values),
    period: value(def.period, r.values),
    regionCode: value(def.region, r.values),
    subjectId: value(def.subject, r.values),
    values: r.values,
  }));
  try {
    await store.replaceFile({ ...attempt, encoding, rowsRejected, rejections }, datasetRows);
  } catch (error) {
    if (isTongxiangError(error) && error.code === 'DATASET_FILE_INVALID') {
      return recordFailure(failed(String(error.fields.reason), { encoding, rowsRejected, rejections }));
    }
    const what = error instanceof Error ? `${error.name}: ${error.message}` : 'unknown error';
    options.logger?.warn(`filedrop: storing ${department}/${def.name}/${fileName} failed: ${what}`);
    return failed('数据集存储写入失败，已保留上一版本数据', { encoding, rowsRejected, rejections });
  }
  return { ...base, status: 'loaded', format, encoding, rowsAccepted: rows.length, rowsRejected, rejections, reason: null };
}
