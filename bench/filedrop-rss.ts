/**
 * One peak-RSS measurement of the file-drop intake, in a process of its own so that nothing
 * else's memory counts: `node --import tsx bench/filedrop-rss.ts <file.csv> <jurisdiction> <maxBytes>`.
 * Loads the modules, notes the resident set, runs the intake (no persistence) over the file and
 * prints one JSON line (`RssResult`): rows, the resident set after start-up, the peak (the
 * kernel's VmHWM, and Node's `resourceUsage().maxRSS`), wall time.
 */
import { readFileSync } from 'node:fs';
import { DIBAO_DATASET_PATH, loadDatasetDefinition } from '../sources/filedrop/dataset.ts';
import { intake } from './filedrop-measure.ts';

export interface RssResult {
  readonly rows: number;
  readonly accepted: number;
  /** KiB resident once the modules are loaded, before the file is opened. */
  readonly startRssKiB: number;
  /** KiB: the most the process ever had resident (VmHWM; maxRSS where /proc is missing). */
  readonly peakRssKiB: number;
  readonly maxRssKiB: number;
  readonly wallMs: number;
}

/** A line of /proc/self/status in KiB, or undefined off Linux. */
function status(field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

const [path, jurisdiction, maxBytes] = process.argv.slice(2);
if (!path || !jurisdiction || !maxBytes) {
  console.error('usage: node --import tsx bench/filedrop-rss.ts <file.csv> <jurisdiction> <maxBytes>');
  process.exit(2);
}
const def = await loadDatasetDefinition(DIBAO_DATASET_PATH);
const startRssKiB = status('VmRSS') ?? Math.round(process.memoryUsage().rss / 1024);
const started = performance.now();
const counted = await intake(def, path, jurisdiction, Number(maxBytes));
const wallMs = performance.now() - started;
const maxRssKiB = process.resourceUsage().maxRSS;
const result: RssResult = {
  rows: counted.rows,
  accepted: counted.accepted ?? 0,
  startRssKiB,
  peakRssKiB: status('VmHWM') ?? maxRssKiB,
  maxRssKiB,
  wallMs,
};
process.stdout.write(`${JSON.stringify(result)}\n`);
