import { appendFile, chmod, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TongxiangError } from '../../../core/index.ts';
import { DIBAO_DATASET_PATH, loadDatasetDefinition, type DatasetDefinition } from '../dataset.ts';
import { classifyDropPath, isTemporaryName, retryDelay, watchDropFolder, type DropWatcher, type WatchDropFolderOptions } from '../intake.ts';
import { tempDir } from './fixtures.ts';

const dibao = await loadDatasetDefinition(DIBAO_DATASET_PATH); // 341504.mzj and 341623.mzj drop into {department}/{dataset}
const withStable = (stableMs: number): DatasetDefinition => ({ ...dibao, intake: { ...dibao.intake, stableMs } });

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits for a condition, polling, failing at the deadline: no fixed sleeps in these tests. */
async function waitFor(condition: () => boolean, what: string, deadlineMs = 10_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

describe('isTemporaryName and classifyDropPath (pure)', () => {
  const folders = new Set(['341504.mzj/dibao', '341623.mzj/dibao', 'county/341504.mzj/in']);

  it.each(['.x.csv', '~$名册.xlsx', '名册.csv.tmp', '名册.XLSX.TMP', '名册.csv.part', '名册.csv.crdownload', '.~lock.名册.csv#'])(
    'knows a temporary name: %s',
    (name) => {
      expect(isTemporaryName(name)).toBe(true);
    },
  );

  it.each(['名册.csv', '名册-2026-10.xlsx', 'tmp.csv', 'partial.csv', '名册.tmp.csv'])('knows a real name: %s', (name) => {
    expect(isTemporaryName(name)).toBe(false);
  });

  it('takes files directly in a dataset folder, configured or any <dept>/<dataset>', () => {
    expect(classifyDropPath('341504.mzj/dibao/名册.csv', folders)).toBe('candidate');
    expect(classifyDropPath('county/341504.mzj/in/名册.csv', folders)).toBe('candidate');
    expect(classifyDropPath('999999.xyz/dibao/名册.csv', folders)).toBe('candidate'); // the pipeline tells them why not
    expect(classifyDropPath('341504.mzj/unknown/名册.csv', folders)).toBe('candidate');
    expect(classifyDropPath('341504.mzj/dibao/.名册.csv.tmp', folders)).toBe('temporary');
  });

  it('ignores the hub’s own folders, deeper paths and files outside dataset folders', () => {
    for (const path of [
      '341504.mzj/dibao/archive/名册.csv',
      '341504.mzj/dibao/reports/x.csv',
      '341504.mzj/dibao/quarantine/deep/名册.csv',
      'archive/341504.mzj/名册.csv',
      '.trash/341504.mzj/名册.csv',
      '341504.mzj/名册.csv',
      '名册.csv',
      'county/341504.mzj/other/名册.csv',
    ]) {
      expect(classifyDropPath(path, folders), path).toBe('ignored');
    }
  });

  it('backs off 1 s, 2 s, 4 s … up to 60 s', () => {
    const retry = { firstMs: 1000, maxMs: 60_000 };
    expect([1, 2, 3, 4, 5, 6, 7, 20].map((n) => retryDelay(n, retry))).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000]);
  });
});

type Mode = 'events' | 'polling';

describe.each<Mode>(['events', 'polling'])('watchDropFolder (%s)', (mode) => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let dropDir: string;
  let watcher: DropWatcher | undefined;
  /** What happened, in order: `scan`, `ingest:<relative path>`. */
  let log: string[];
  let warnings: string[];

  beforeEach(async () => {
    dir = await tempDir('filedrop-intake-');
    dropDir = join(dir.path, 'drop');
    await mkdir(join(dropDir, '341504.mzj', 'dibao'), { recursive: true });
    log = [];
    warnings = [];
  });
  afterEach(async () => {
    await watcher?.close();
    watcher = undefined;
    await dir.cleanup();
  });

  const rel = (path: string) => relative(dropDir, path).split(sep).join('/');
  const folder = (...parts: string[]) => join(dropDir, '341504.mzj', 'dibao', ...parts);
  const ingested = () => log.filter((l) => l.startsWith('ingest:')).map((l) => l.slice('ingest:'.length));

  /** Moves the file to archive/ the way the pipeline does. */
  async function archive(path: string): Promise<void> {
    await mkdir(join(dirname(path), 'archive'), { recursive: true });
    await rename(path, join(dirname(path), 'archive', `${Date.now()}-${basename(path)}`));
  }

  async function start(overrides: Partial<WatchDropFolderOptions> = {}): Promise<DropWatcher> {
    watcher = await watchDropFolder({
      dropDir,
      datasets: [withStable(300)],
      scan: async () => {
        log.push('scan');
      },
      ingest: async (path) => {
        log.push(`ingest:${rel(path)}`);
        await archive(path);
      },
      logger: { info: () => undefined, warn: (m) => warnings.push(m) },
      usePolling: mode === 'polling',
      pollIntervalMs: 25,
      retry: { firstMs: 50, maxMs: 400 },
      ...overrides,
    });
    return watcher;
  }

  it('ingests a file renamed from a .tmp name at once, exactly once, and never the .tmp', async () => {
    const w = await start({ datasets: [withStable(60_000)] }); // stability alone would take a minute
    const temp = folder('叶集区低保名册-2026-11.csv.tmp');
    await writeFile(temp, '户编号,户主姓名\n');
    for (let i = 0; i < 3; i++) {
      await sleep(60); // a copy takes a while: the watcher sees the temporary being written
      await appendFile(temp, `341504-2026-00000${i},张伟\n`);
    }
    // The rename rule needs the watcher to have seen the temporary (its identity is read with
    // lstat after the watcher's event); on a loaded machine polling sees it late, so give it time.
    await sleep(mode === 'polling' ? 1500 : 300);
    const started = Date.now();
    await rename(temp, folder('叶集区低保名册-2026-11.csv'));
    await waitFor(() => ingested().length > 0, 'the renamed file');
    expect(Date.now() - started).toBeLessThan(5_000);
    await w.idle();
    expect(ingested()).toEqual(['341504.mzj/dibao/叶集区低保名册-2026-11.csv']);
  });

  it('waits until a slowly written file stops changing for stableMs, then ingests it once', async () => {
    const w = await start(); // stableMs 300
    const path = folder('利辛县低保名册-2026-11.csv');
    await writeFile(path, '户编号,户主姓名\n');
    for (let i = 0; i < 8; i++) {
      await sleep(100); // longer in all than stableMs, never a pause as long as it
      expect(ingested()).toEqual([]);
      await appendFile(path, `341504-2026-00000${i},王芳\n`);
    }
    const lastWrite = Date.now();
    await waitFor(() => ingested().length === 1, 'the file once stable');
    expect(Date.now() - lastWrite).toBeGreaterThanOrEqual(250);
    await w.idle();
    expect(ingested()).toEqual(['341504.mzj/dibao/利辛县低保名册-2026-11.csv']);
  });

  it('ignores archive/, deeper folders, files outside dataset folders and temporary names', async () => {
    const w = await start();
    await mkdir(folder('archive', 'deeper'), { recursive: true });
    await writeFile(folder('archive', 'old.csv'), 'x');
    await writeFile(folder('archive', 'deeper', 'old.csv'), 'x');
    await writeFile(join(dropDir, '341504.mzj', 'loose.csv'), 'x');
    await writeFile(join(dropDir, 'top.csv'), 'x');
    for (const name of ['~$名册.xlsx', '.名册.csv', '名册.csv.part', '名册.csv.crdownload']) await writeFile(folder(name), 'x');
    await writeFile(folder('sentinel.csv'), 'x'); // ingested after the others were seen
    await waitFor(() => ingested().length > 0, 'the sentinel');
    await w.idle();
    expect(ingested()).toEqual(['341504.mzj/dibao/sentinel.csv']);
  });

  it('hands files of an unknown department or dataset to the pipeline, which tells them why not', async () => {
    const w = await start();
    await mkdir(join(dropDir, '999999.xyz', 'dibao'), { recursive: true }); // a folder created after start
    await writeFile(join(dropDir, '999999.xyz', 'dibao', 'a.csv'), 'x');
    await mkdir(join(dropDir, '341504.mzj', 'unknown'), { recursive: true });
    await writeFile(join(dropDir, '341504.mzj', 'unknown', 'b.csv'), 'x');
    await waitFor(() => ingested().length === 2, 'both files');
    await w.idle();
    expect(ingested().sort()).toEqual(['341504.mzj/unknown/b.csv', '999999.xyz/dibao/a.csv']);
  });
});

describe('watchDropFolder', () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let dropDir: string;
  let watcher: DropWatcher | undefined;
  let log: string[];
  let warnings: string[];

  beforeEach(async () => {
    dir = await tempDir('filedrop-intake-');
    dropDir = join(dir.path, 'drop');
    await mkdir(join(dropDir, '341504.mzj', 'dibao'), { recursive: true });
    log = [];
    warnings = [];
  });
  afterEach(async () => {
    await watcher?.close();
    watcher = undefined;
    await dir.cleanup();
  });

  const rel = (path: string) => relative(dropDir, path).split(sep).join('/');
  const folder = (...parts: string[]) => join(dropDir, '341504.mzj', 'dibao', ...parts);
  const ingested = () => log.filter((l) => l.startsWith('ingest:')).map((l) => l.slice('ingest:'.length));

  async function archive(path: string): Promise<void> {
    await mkdir(join(dirname(path), 'archive'), { recursive: true });
    await rename(path, join(dirname(path), 'archive', `${Date.now()}-${basename(path)}`));
  }

  /** Writes under a temporary name, then renames: complete at once. */
  async function drop(name: string, text = 'x'): Promise<string> {
    const temp = folder(`.${name}.tmp`);
    await writeFile(temp, text);
    await sleep(50); // let the watcher see the temporary (otherwise the stability rule applies: slower, still right)
    await rename(temp, folder(name));
    return folder(name);
  }

  async function start(overrides: Partial<WatchDropFolderOptions> = {}): Promise<DropWatcher> {
    watcher = await watchDropFolder({
      dropDir,
      datasets: [withStable(300)],
      scan: async () => {
        log.push('scan');
      },
      ingest: async (path) => {
        log.push(`ingest:${rel(path)}`);
        await archive(path);
      },
      logger: { info: () => undefined, warn: (m) => warnings.push(m) },
      retry: { firstMs: 50, maxMs: 400 },
      ...overrides,
    });
    return watcher;
  }

  it('leaves files present before start to the scan, which runs before any watched ingest', async () => {
    await writeFile(folder('停机期间到达.csv'), 'x');
    const scanning = gate();
    const w = await start({
      scan: async () => {
        log.push('scan:start');
        await scanning.promise;
        log.push('scan:end');
      },
    });
    await waitFor(() => log.includes('scan:start'), 'the scan');
    await drop('运行期间到达.csv');
    await sleep(400); // past the rename and stableMs: the watched file is ready but must wait for the scan
    expect(ingested()).toEqual([]);
    scanning.open();
    await waitFor(() => ingested().length === 1, 'the watched file');
    await w.idle();
    expect(log).toEqual(['scan:start', 'scan:end', 'ingest:341504.mzj/dibao/运行期间到达.csv']);
    // the file that was there before start is the scan's: the watcher never took it
    expect(await stat(folder('停机期间到达.csv')).then(() => true)).toBe(true);
  });

  it('retries an ingest that throws (store down) with backoff, logging no cell values, until it succeeds once', async () => {
    const times: number[] = [];
    const w = await start({
      ingest: async (path) => {
        times.push(Date.now());
        if (times.length <= 2) {
          throw Object.assign(new Error('duplicate key value: 张伟 341504197001010010'), { code: 'ECONNREFUSED' });
        }
        log.push(`ingest:${rel(path)}`);
        await archive(path);
      },
    });
    await drop('名册.csv');
    await waitFor(() => ingested().length === 1, 'the third attempt');
    await w.idle();
    expect(times).toHaveLength(3);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(45); // first retry after 50 ms
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(95); // then 100 ms
    expect(ingested()).toEqual(['341504.mzj/dibao/名册.csv']);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain('341504.mzj/dibao/名册.csv');
    expect(warnings[0]).toContain('ECONNREFUSED');
    for (const w of warnings) expect(w).not.toMatch(/张伟|341504197001010010|duplicate/);
  });

  it('forgets a failing file once it is removed, instead of retrying it for ever', async () => {
    let calls = 0;
    const w = await start({
      retry: { firstMs: 200, maxMs: 200 },
      ingest: async () => {
        calls++;
        throw new Error('store down');
      },
    });
    const path = await drop('名册.csv');
    await waitFor(() => calls === 1, 'the first attempt');
    await rm(path);
    await w.idle(); // nothing left waiting
    expect(calls).toBe(1);
  });

  it('does not retry a path the pipeline refuses (DATASET_FILE_INVALID)', async () => {
    let calls = 0;
    const w = await start({
      ingest: async () => {
        calls++;
        throw new TongxiangError('DATASET_FILE_INVALID', { file: 'x', reason: 'not in a dataset folder' });
      },
    });
    await drop('名册.csv');
    await waitFor(() => calls === 1, 'the attempt');
    await w.idle();
    await sleep(150); // three retry delays' worth: none comes
    expect(calls).toBe(1);
    expect(warnings.join('\n')).toContain('DATASET_FILE_INVALID');
  });

  it('forgets a file removed before it was stable', async () => {
    const w = await start();
    await writeFile(folder('半截.csv'), 'x');
    await sleep(100);
    await rm(folder('半截.csv'));
    await drop('sentinel.csv');
    await waitFor(() => ingested().length > 0, 'the sentinel');
    await w.idle();
    await sleep(350); // past stableMs of the removed file
    expect(ingested()).toEqual(['341504.mzj/dibao/sentinel.csv']);
  });

  it('ingests a file once per appearance: left in place it is not taken again, changed it is', async () => {
    const w = await start({
      ingest: async (path) => {
        log.push(`ingest:${rel(path)}`); // leaves the file where it is
      },
    });
    const path = folder('名册.csv');
    await writeFile(path, 'v1');
    await waitFor(() => ingested().length === 1, 'the first appearance');
    await w.idle();
    await chmod(path, 0o600); // an event without new content (inotify IN_ATTRIB): not a new appearance
    await sleep(400); // more than stableMs: still once
    expect(ingested()).toHaveLength(1);
    await appendFile(path, ' v2');
    await waitFor(() => ingested().length === 2, 'the changed file');
  });

  it('re-runs a failed start-up scan with backoff', async () => {
    let scans = 0;
    const w = await start({
      scan: async () => {
        scans++;
        if (scans === 1) throw new Error('store down');
      },
    });
    await w.idle();
    expect(scans).toBe(2);
    expect(warnings.some((m) => m.includes('scan'))).toBe(true);
  });

  it('close() waits for the ingest under way, and nothing is ingested after it', async () => {
    const release = gate();
    let finished = false;
    const w = await start({
      ingest: async (path) => {
        log.push(`ingest:${rel(path)}`);
        await release.promise;
        finished = true;
      },
    });
    await drop('名册.csv');
    await waitFor(() => ingested().length === 1, 'the ingest to start');
    let closed = false;
    const closing = w.close().then(() => {
      closed = true;
    });
    await sleep(50);
    const closedWhileIngesting = closed;
    release.open(); // before asserting: a failure must not leave the ingest hanging
    expect(closedWhileIngesting).toBe(false);
    await closing;
    expect(finished).toBe(true);
    await drop('之后.csv');
    await sleep(400);
    expect(ingested()).toEqual(['341504.mzj/dibao/名册.csv']);
  });
});
