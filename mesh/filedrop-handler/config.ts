/**
 * The handler's `.meshrc.yml` config, validated once: every problem is listed in one
 * CONFIG_INVALID, paths are resolved against Mesh's baseDir, dataset files are read and checked.
 */
import { isAbsolute, resolve } from 'node:path';
import { TongxiangError, isTongxiangError } from '../../core/index.ts';
import { loadDatasetDefinitionSync, type DatasetDefinition } from '../../sources/filedrop/index.ts';

/** As written under `'@tongxiang/filedrop-handler':` (already interpolated by Mesh). */
export interface FileDropHandlerConfig {
  /** Where departments drop files: `<dropDir>/<deptCode>/<dataset>/*`. Relative to baseDir or absolute. */
  dropDir: string;
  /** Where the embedded (PGlite) dataset store lives. */
  storeDir: string;
  /** Dataset definition files (YAML); must include the 低保 roster `dibao`. */
  datasets: string[];
  /** Human label of the source, shown in errors and readiness. */
  sourceLabel?: string;
}

export interface ResolvedFileDropConfig {
  readonly dropDir: string;
  readonly storeDir: string;
  readonly datasets: readonly DatasetDefinition[];
  readonly sourceLabel: string;
}

/** The dataset the graph's AllowanceHousehold type serves. */
export const ROSTER_DATASET = 'dibao';

const KEYS = new Set(['dropDir', 'storeDir', 'datasets', 'sourceLabel']);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const absolute = (baseDir: string, path: string): string => (isAbsolute(path) ? path : resolve(baseDir, path));

/** Paths only, for probes that must stay light. */
export function resolvePaths(config: unknown, baseDir: string): { dropDir: string; storeDir: string; problems: string[] } {
  const problems: string[] = [];
  const c = isRecord(config) ? config : {};
  if (!isRecord(config)) problems.push('handler config must be a mapping');
  const path = (key: 'dropDir' | 'storeDir'): string => {
    const value = c[key];
    if (typeof value !== 'string' || value.trim() === '') {
      problems.push(`${key} must be a non-empty path`);
      return '';
    }
    return absolute(baseDir, value);
  };
  return { dropDir: path('dropDir'), storeDir: path('storeDir'), problems };
}

export function resolveFileDropConfig(config: unknown, baseDir: string, sourceName: string): ResolvedFileDropConfig {
  const { dropDir, storeDir, problems } = resolvePaths(config, baseDir);
  const c = isRecord(config) ? config : {};
  for (const key of Object.keys(c)) if (!KEYS.has(key)) problems.push(`unknown key "${key}"`);
  if (c.sourceLabel !== undefined && (typeof c.sourceLabel !== 'string' || c.sourceLabel.trim() === '')) {
    problems.push('sourceLabel must be a non-empty string');
  }
  const datasets: DatasetDefinition[] = [];
  if (!Array.isArray(c.datasets) || c.datasets.length === 0 || c.datasets.some((d) => typeof d !== 'string' || d === '')) {
    problems.push('datasets must list one or more dataset definition files');
  } else {
    for (const file of c.datasets as string[]) {
      try {
        datasets.push(loadDatasetDefinitionSync(absolute(baseDir, file)));
      } catch (error) {
        problems.push(isTongxiangError(error) ? String(error.fields.reason) : `${file}: cannot be read`);
      }
    }
    const names = datasets.map((d) => d.name);
    if (new Set(names).size !== names.length) problems.push('datasets must not define the same dataset twice');
    if (datasets.length === (c.datasets as string[]).length && !names.includes(ROSTER_DATASET)) {
      problems.push(`datasets must include the ${ROSTER_DATASET} roster definition (sources/filedrop/dibao.dataset.yml)`);
    }
  }
  if (problems.length > 0) {
    throw new TongxiangError('CONFIG_INVALID', { reason: `source ${sourceName} (@tongxiang/filedrop-handler): ${problems.join('; ')}` });
  }
  return Object.freeze({
    dropDir,
    storeDir,
    datasets: Object.freeze(datasets),
    sourceLabel: typeof c.sourceLabel === 'string' ? c.sourceLabel : sourceName,
  });
}
