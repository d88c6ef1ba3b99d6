/**
 * npm run bench:filedrop [-- --quick] [--runs N] [--rows N] [--xlsx-rows N] [--sizes 10,100,1024]
 *                          [--docs | --no-docs] [--keep]
 *
 * The file-drop intake without persistence — open (encoding decided, decoding), parse, header
 * mapping and the per-row mapper, i.e. everything the pipeline does before it stages a row — on
 * generated 低保 rosters (valid GB 11643 check digits, real region codes), against the raw
 * libraries on the same files in the same run:
 *   - CSV rows/s, a UTF-8 roster (叶集区's habit) and a GB18030 one (利辛县's), against csv-parse's
 *     streaming parser counting records (target: intake/raw ≥ 0.6);
 *   - XLSX rows/s against exceljs's streaming WorkbookReader counting rows;
 *   - peak RSS of the intake on 10 MB, 100 MB and 1 GB CSV files, each in a fresh child process
 *     (target: flat). --quick: 10 MB and 100 MB only, fewer rows and runs.
 * Measurements are interleaved and their order rotated each run; the heap is collected before
 * each (--expose-gc). Prints a table and writes the section between `<!-- filedrop:start -->` and
 * `<!-- filedrop:end -->` of docs/benchmarks.md (full runs, or --docs). Generated files live in a
 * temporary directory removed at the end (--keep leaves it). Exits 1 when a file does not read
 * back with every row accepted.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DIBAO_DATASET_PATH, loadDatasetDefinition } from '../sources/filedrop/dataset.ts';
import { BENCHMARKS_MD, FILEDROP_END, FILEDROP_START, withFiledropSection } from './filedrop-docs.ts';
import { roster, writeRosterCsv, writeRosterXlsx, type RosterStyle } from './filedrop-data.ts';
import { intake, rawCsvParse, rawExcelJs, type Counted } from './filedrop-measure.ts';
import type { RssResult } from './filedrop-rss.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MiB = 1024 * 1024;

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    runs: { type: 'string' },
    rows: { type: 'string' },
    'xlsx-rows': { type: 'string' },
    sizes: { type: 'string' },
    docs: { type: 'boolean' },
    'no-docs': { type: 'boolean' },
    keep: { type: 'boolean', default: false },
  },
});
const quick = args.quick === true;
const settings = {
  runs: Number(args.runs ?? (quick ? 3 : 5)),
  csvRows: Number(args.rows ?? (quick ? 100_000 : 200_000)),
  xlsxRows: Number(args['xlsx-rows'] ?? (quick ? 20_000 : 50_000)),
  sizesMB: (args.sizes ?? (quick ? '10,100' : '10,100,1024')).split(',').map(Number),
};
const writeDocs = args['no-docs'] ? false : (args.docs ?? !quick);
const command = `npm run bench:filedrop${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;

class BenchFailure extends Error {}

const log = (line: string) => process.stderr.write(`${line}\n`);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

// ---------------------------------------------------------------------------------------------
// What is measured

interface Subject {
  readonly id: string;
  readonly title: string;
  readonly file: string;
  readonly bytes: number;
  readonly expectRows: number;
  run(): Promise<Counted>;
}

interface Sample {
  readonly id: string;
  readonly run: number;
  readonly rows: number;
  readonly wallMs: number;
  readonly cpuMs: number;
}

interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

const spread = (xs: readonly number[]): Spread => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs) });

async function measure(subject: Subject, run: number): Promise<Sample> {
  gc();
  const c0 = cpuMs();
  const t0 = performance.now();
  const counted = await subject.run();
  const wallMs = performance.now() - t0;
  const sample = { id: subject.id, run, rows: counted.rows, wallMs, cpuMs: cpuMs() - c0 };
  if (counted.rows !== subject.expectRows || (counted.accepted !== null && counted.accepted !== counted.rows)) {
    throw new BenchFailure(`${subject.id}: read ${counted.rows} rows (${counted.accepted ?? '–'} accepted), expected ${subject.expectRows}, all accepted`);
  }
  return sample;
}

function machine() {
  let cpuModel = cpus()[0]?.model ?? 'unknown';
  let commit = 'unknown (not a git checkout)';
  try {
    const git = (...a: string[]) => execFileSync('git', a, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    // The bench's own files and its output do not change what is measured.
    const changed = git('status', '--porcelain', '--untracked-files=no', '--', '.', ':!bench', ':!docs/benchmarks.md') !== '';
    commit = `${git('rev-parse', '--short', 'HEAD')}${changed ? ' with uncommitted changes' : ''}`;
  } catch {
    // no git: unknown
  }
  cpuModel = cpuModel.replace(/\s+/g, ' ').trim();
  return { cpuModel, nproc: availableParallelism(), node: process.version, platform: `${process.platform}-${process.arch}`, commit };
}

/** One peak-RSS child: a fresh process running the intake over `path`. */
function rssChild(path: string, jurisdiction: string, maxBytes: number): Promise<RssResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/filedrop-rss.ts', path, jurisdiction, String(maxBytes)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new BenchFailure(`peak-RSS child for ${path} exited with ${code}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').at(-1)!) as RssResult);
      } catch (error) {
        reject(new BenchFailure(`peak-RSS child for ${path} printed no result: ${String(error)}`));
      }
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Output

const f0 = (n: number) => Math.round(n).toLocaleString('en-US');
const f1 = (n: number) => n.toFixed(1);
const f2 = (n: number) => n.toFixed(2);
const mb = (bytes: number) => `${f1(bytes / MiB)} MB`;

interface Row {
  readonly subject: Subject;
  readonly rowsPerS: Spread;
  readonly cpuUsPerRow: number;
}

interface Pair {
  readonly title: string;
  readonly ours: Row;
  readonly raw: Row;
  /** Median of the per-run ratios (each run's intake against the same run's raw reader). */
  readonly ratio: Spread;
  readonly target: number | null;
}

interface RssRow {
  readonly sizeMB: number;
  readonly bytes: number;
  readonly result: RssResult;
}

function table(pairs: readonly Pair[], rss: readonly RssRow[]): string[] {
  const lines = [
    '| file | reader | rows | rows/s median (min–max) | MB/s | CPU µs/row | intake/raw rows/s (per-run min–max) |',
    '|---|---|---:|---:|---:|---:|---:|',
  ];
  for (const p of pairs) {
    for (const [r, label] of [[p.ours, 'intake: openDropFile + mapHeaders + createRowMapper'], [p.raw, p.raw.subject.title]] as const) {
      const s = r.subject;
      const ratio =
        r === p.ours ? `**${f2(p.ratio.median)}** (${f2(p.ratio.min)}–${f2(p.ratio.max)})${p.target === null ? '' : p.ratio.median >= p.target ? ` ✓ ≥ ${p.target}` : ` ✗ target ≥ ${p.target}`}` : '';
      lines.push(
        `| ${p.title} (${mb(s.bytes)}) | ${label} | ${f0(s.expectRows)} | ${f0(r.rowsPerS.median)} (${f0(r.rowsPerS.min)}–${f0(r.rowsPerS.max)}) | ${f1((r.rowsPerS.median * s.bytes) / s.expectRows / MiB)} | ${f2(r.cpuUsPerRow)} | ${ratio} |`,
      );
    }
  }
  const rssLines = [
    '| CSV (GB18030) | rows | intake rows/s | RSS after start-up | peak RSS (VmHWM) | peak − start-up |',
    '|---:|---:|---:|---:|---:|---:|',
    ...rss.map(
      ({ bytes, result: r }) =>
        `| ${bytes >= 1024 * MiB ? `${f2(bytes / 1024 / MiB)} GB` : mb(bytes)} | ${f0(r.rows)} | ${f0((r.rows / r.wallMs) * 1000)} | ${f1(r.startRssKiB / 1024)} MB | **${f1(r.peakRssKiB / 1024)} MB** | ${f1((r.peakRssKiB - r.startRssKiB) / 1024)} MB |`,
    ),
  ];
  return [...lines, '', ...rssLines];
}

/** The two targets, met or not, in one paragraph (console and docs). */
function verdict(pairs: readonly Pair[], rss: readonly RssRow[]): string {
  const peaks = rss.map((r) => r.result.peakRssKiB / 1024);
  const flat = peaks.length > 1 ? Math.max(...peaks) / Math.min(...peaks) : 1;
  const csvPairs = pairs.filter((p) => p.target !== null);
  const met = csvPairs.every((p) => p.ratio.median >= p.target!);
  return (
    `Ratio target (intake/raw rows/s ≥ 0.6 on CSV): **${met ? 'met' : 'not met'}** — ${csvPairs.map((p) => `${p.title} ${f2(p.ratio.median)}`).join(', ')} ` +
    `(by CPU time per row, which other processes on the machine disturb less: ${pairs.map((p) => `${p.title} ${f2(p.raw.cpuUsPerRow / p.ours.cpuUsPerRow)}`).join(', ')}). ` +
    `Peak RSS ${peaks.map((p) => `${f0(p)} MB`).join(' / ')} for ${rss.map((r) => `${r.sizeMB >= 1024 ? `${r.sizeMB / 1024} GB` : `${r.sizeMB} MB`}`).join(' / ')} (largest/smallest ${f2(flat)}): ${flat <= 1.25 ? '**flat**, memory does not grow with the file' : '**not flat**'}.`
  );
}

function section(info: ReturnType<typeof machine>, date: string, wallS: number, pairs: readonly Pair[], rss: readonly RssRow[], load: readonly number[][]): string {
  const csvPairs = pairs.filter((p) => p.target !== null);
  return [
    FILEDROP_START,
    '## File-drop intake',
    '',
    'Generated by `npm run bench:filedrop` (bench/filedrop.ts); do not edit by hand — rerun it. The intake is the file-drop pipeline without persistence: `openDropFile` (encoding decided on the first 64 KiB, the file read, decoded and parsed chunk by chunk) + `mapHeaders` + `createRowMapper` on every row (GB 11643 check digits, dates, amounts, jurisdiction) — everything before a row is staged in the store. It is compared, on the same file in the same run, with the raw library reading it: csv-parse\'s streaming parser piped from `createReadStream`, counting records (it decodes nothing: it reads the GB18030 file as if it were UTF-8); exceljs\'s streaming `WorkbookReader` with the options the intake uses, counting rows.',
    '',
    `- Command: \`${command}\``,
    `- Date: ${date} (wall time ${f0(wallS)} s)`,
    `- Code: ${info.commit}`,
    `- Machine: ${info.nproc} cores, ${info.cpuModel}, Node.js ${info.node} on ${info.platform}; load average at start ${load[0]!.map(f2).join(' / ')}, at end ${load[1]!.map(f2).join(' / ')}`,
    `- Files: generated 低保 rosters (bench/filedrop-data.ts) — 叶集区\'s UTF-8 CSV with BOM, ISO dates; 利辛县\'s GB18030 CSV with CRLF, other header aliases, dates written 2024年3月1日; an XLSX with a title row and date cells (shared strings) — every row valid, a rare name character outside GBK (𠮷, four bytes in GB18030) or from Extension A (䶮) about once in a thousand rows`,
    `- Runs: ${settings.runs} measured runs per reader after one warm-up, readers interleaved and the order rotated each run, the heap collected before each; medians, with min–max`,
    '',
    ...table(pairs, rss),
    '',
    verdict(pairs, rss),
    '',
    `Reading: csv-parse itself is most of the time on both sides (${csvPairs.map((p) => `${f1((p.raw.rowsPerS.median * p.raw.subject.bytes) / p.raw.subject.expectRows / MiB)} MB/s raw on the ${p.title} file`).join(', ')}); ` +
      `the intake adds ${csvPairs.map((p) => `${f2(p.ours.cpuUsPerRow - p.raw.cpuUsPerRow)} µs CPU per row (${p.title})`).join(' and ')}: the per-row mapping and checks, the records handed out one by one, ` +
      'the explicit line-end set that keeps a file mixing LF, CRLF and CR one record per line, and for GB18030 the decoding (the platform\'s ICU decoder) and the UTF-8 re-encoding csv-parse needs. ' +
      'The XLSX intake also inflates every part once more before exceljs sees the workbook (the zip-bomb check). Peak RSS is measured in a fresh process per file (VmHWM from /proc/self/status at the end); ' +
      '"after start-up" is the same process with its modules loaded, before the file is opened. CPU µs/row is this process\'s CPU time (all threads) per row. ' +
      'Compare ratios, not absolute numbers, across machines; rerun on a quiet machine (`uptime`).',
    '',
    '```sh',
    'npm run bench:filedrop             # full run (a few minutes, the 1 GB file included); rewrites this section',
    'npm run bench:filedrop -- --quick  # 10 MB and 100 MB only, fewer rows and runs; leaves this file alone unless --docs',
    '```',
    FILEDROP_END,
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const started = performance.now();
  const info = machine();
  const loadStart = loadavg();
  log(`bench:filedrop: ${info.nproc} cores, ${info.cpuModel}, Node.js ${info.node}; load average ${loadStart.map(f2).join(' ')}`);
  if (!(globalThis as { gc?: unknown }).gc) log('bench:filedrop: run with --expose-gc (npm run bench:filedrop does) to collect the heap between runs');
  const def = await loadDatasetDefinition(DIBAO_DATASET_PATH);
  const dir = await mkdtemp(join(tmpdir(), 'tongxiang-filedrop-bench-'));
  try {
    // Throughput files.
    const csvFiles: { style: RosterStyle; title: string; path: string }[] = [
      { style: 'yeji-utf8', title: 'CSV UTF-8', path: join(dir, '叶集区低保名册-2026-10.csv') },
      { style: 'lixin-gb18030', title: 'CSV GB18030', path: join(dir, '利辛县低保名册-2026-10.csv') },
    ];
    const subjects: [Subject, Subject, string, number | null][] = [];
    for (const f of csvFiles) {
      log(`bench:filedrop: writing ${f.title}, ${f0(settings.csvRows)} rows`);
      const { bytes } = await writeRosterCsv(f.path, f.style, { rows: settings.csvRows });
      const region = roster(f.style).region;
      const maxBytes = bytes + MiB;
      subjects.push([
        { id: `intake ${f.title}`, title: 'intake', file: f.path, bytes, expectRows: settings.csvRows, run: () => intake(def, f.path, region, maxBytes) },
        // The raw parser counts the header too.
        { id: `raw ${f.title}`, title: 'raw csv-parse (stream, count records)', file: f.path, bytes, expectRows: settings.csvRows + 1, run: () => rawCsvParse(f.path) },
        f.title,
        0.6,
      ]);
    }
    const xlsxPath = join(dir, '叶集区低保名册-2026-10.xlsx');
    log(`bench:filedrop: writing XLSX, ${f0(settings.xlsxRows)} rows`);
    await writeRosterXlsx(xlsxPath, settings.xlsxRows);
    const xlsxBytes = (await stat(xlsxPath)).size;
    subjects.push([
      { id: 'intake XLSX', title: 'intake', file: xlsxPath, bytes: xlsxBytes, expectRows: settings.xlsxRows, run: () => intake(def, xlsxPath, '341504', xlsxBytes + MiB) },
      // The raw reader counts the title row and the header too.
      { id: 'raw XLSX', title: 'raw exceljs WorkbookReader (stream, count rows)', file: xlsxPath, bytes: xlsxBytes, expectRows: settings.xlsxRows + 2, run: () => rawExcelJs(xlsxPath) },
      'XLSX',
      null,
    ]);

    const all = subjects.flatMap(([ours, raw]) => [ours, raw]);
    log('bench:filedrop: warm-up');
    for (const s of all) await measure(s, 0);
    const samples: Sample[] = [];
    for (let run = 1; run <= settings.runs; run++) {
      const k = (run - 1) % all.length;
      for (const s of [...all.slice(k), ...all.slice(0, k)]) {
        const sample = await measure(s, run);
        samples.push(sample);
        log(`bench:filedrop: run ${run} ${s.id}: ${f0((sample.rows / sample.wallMs) * 1000)} rows/s`);
      }
    }

    const rowOf = (s: Subject): Row => {
      const mine = samples.filter((x) => x.id === s.id);
      return {
        subject: s,
        rowsPerS: spread(mine.map((x) => (x.rows / x.wallMs) * 1000)),
        cpuUsPerRow: median(mine.map((x) => (x.cpuMs * 1000) / x.rows)),
      };
    };
    const pairs: Pair[] = subjects.map(([ours, raw, title, target]) => {
      const ratios = [];
      for (let run = 1; run <= settings.runs; run++) {
        const a = samples.find((x) => x.id === ours.id && x.run === run)!;
        const b = samples.find((x) => x.id === raw.id && x.run === run)!;
        ratios.push(a.rows / a.wallMs / (b.rows / b.wallMs));
      }
      return { title, ours: rowOf(ours), raw: rowOf(raw), ratio: spread(ratios), target };
    });
    for (const s of all) await rm(s.file, { force: true });

    // Peak RSS, one fresh process per size.
    const rss: RssRow[] = [];
    for (const sizeMB of settings.sizesMB) {
      const path = join(dir, `利辛县低保名册-${sizeMB}MB.csv`);
      log(`bench:filedrop: writing a ${sizeMB} MB GB18030 roster`);
      const { bytes, rows } = await writeRosterCsv(path, 'lixin-gb18030', { bytes: sizeMB * MiB });
      log(`bench:filedrop: peak RSS, ${sizeMB} MB (${f0(rows)} rows)`);
      const result = await rssChild(path, '341623', bytes + MiB);
      await rm(path, { force: true });
      if (result.rows !== rows || result.accepted !== rows) throw new BenchFailure(`peak RSS ${sizeMB} MB: read ${result.rows} rows (${result.accepted} accepted), expected ${rows}`);
      rss.push({ sizeMB, bytes, result });
      log(`bench:filedrop: ${sizeMB} MB: peak RSS ${f1(result.peakRssKiB / 1024)} MB`);
    }

    const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const wallS = (performance.now() - started) / 1000;
    process.stdout.write(`\n${table(pairs, rss).join('\n')}\n\n${verdict(pairs, rss)}\n\n`);
    if (writeDocs) {
      const doc = await readFile(BENCHMARKS_MD, 'utf8').catch(() => '# Benchmarks\n');
      await writeFile(BENCHMARKS_MD, withFiledropSection(doc, section(info, date, wallS, pairs, rss, [loadStart, loadavg()])));
      log('bench:filedrop: wrote the file-drop section of docs/benchmarks.md');
    }
  } finally {
    if (args.keep) log(`bench:filedrop: files kept in ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  log(`bench:filedrop: ${error instanceof BenchFailure ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
});
