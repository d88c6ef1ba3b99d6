/**
 * Intake (收件): watches the drop directory and hands each dropped file to the pipeline once it
 * is complete — never a file still being copied in over SMB, never a copy tool's temporary.
 *
 * A file counts as complete when
 * (a) it appeared by rename (or hard link) from a temporary name the watcher had seen — the way
 *     careful copy tools and our own writers finish a file: same inode, same birth time; or
 * (b) its size and modification time have not changed for the dataset's `intake.stableMs`
 *     (what a plain Explorer copy or `cp` gives, with no rename at the end).
 * Temporary names — `.…`, `~$…` (Excel's owner file), `….tmp`, `….part`, `….crdownload` — are
 * never ingested themselves.
 *
 * chokidar reports events only; deciding completeness is done here, from our own `lstat`s
 * (chokidar's `awaitWriteFinish` is off: it polls only after an event and cannot tell a rename).
 * Ingests are serialised, so versions follow the order files complete. A failed ingest (the store
 * down) is retried with backoff while the file is still there.
 */
import type { BigIntStats } from 'node:fs';
import { lstat, mkdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { isTongxiangError, TongxiangError } from '../../core/index.ts';
import { DEFAULT_STABLE_MS, intakeFolder, type DatasetDefinition } from './dataset.ts';

export interface DropWatcher {
  /** Stops watching; waits for an ingest under way. */
  close(): Promise<void>;
  /** resolves when nothing is waiting or being ingested (for tests) */
  idle(): Promise<void>;
}

export interface IntakeLogger {
  info(message: string): void;
  warn(message: string): void;
}

export interface WatchDropFolderOptions {
  readonly dropDir: string;
  readonly datasets: readonly DatasetDefinition[];
  /** Ingests one complete file (`DropPipeline.ingestFile`); throws only when it could not (store down). */
  readonly ingest: (path: string) => Promise<unknown>;
  /** Picks up files that landed while the hub was down (`DropPipeline.scan`); run once at start. */
  readonly scan: () => Promise<unknown>;
  /** Paths relative to the drop directory, never file contents. */
  readonly logger?: IntakeLogger;
  /** Poll instead of inotify/FSEvents: for network shares (SMB, NFS), where events do not arrive. */
  readonly usePolling?: boolean;
  /** Polling interval in ms when polling; default 1000. */
  readonly pollIntervalMs?: number;
  readonly now?: () => number;
  /** Delays between retries of a failed ingest or scan: `firstMs`, doubling, at most `maxMs`. Default 1 s … 60 s. */
  readonly retry?: { readonly firstMs: number; readonly maxMs: number };
}

/** Copy tools' and editors' in-progress names, Excel's `~$` owner file, our own atomic writes. */
export function isTemporaryName(name: string): boolean {
  return name.startsWith('.') || name.startsWith('~$') || /\.(tmp|part|crdownload)$/i.test(name);
}

/** Folders under a dataset folder or beside the departments that hold the hub's own files. */
const RESERVED_FOLDERS = new Set(['archive', 'quarantine', 'reports']);

export type DropPathRole = 'candidate' | 'temporary' | 'ignored';

/**
 * What a path under the drop directory (relative, `/`-separated) is to intake: a file to ingest
 * once complete (directly inside a configured dataset folder, or inside any `<dept>/<dataset>`
 * folder, so the pipeline can tell an unknown department or dataset why its file was refused),
 * a temporary file (watched only to recognise its rename), or nothing.
 */
export function classifyDropPath(path: string, folders: ReadonlySet<string>): DropPathRole {
  const parts = path.split('/');
  const name = parts.at(-1) ?? '';
  const parent = parts.slice(0, -1);
  const inConfigured = folders.has(parent.join('/'));
  const inGeneric = parent.length === 2 && parent.every((p) => !isTemporaryName(p) && !RESERVED_FOLDERS.has(p));
  if (!inConfigured && !inGeneric) return 'ignored';
  return isTemporaryName(name) ? 'temporary' : 'candidate';
}

/** Backoff before retry number `attempt` (1-based): first, 2 × first, 4 × first … capped. */
export function retryDelay(attempt: number, retry: { readonly firstMs: number; readonly maxMs: number }): number {
  return Math.min(retry.firstMs * 2 ** Math.max(0, attempt - 1), retry.maxMs);
}

/** A rename keeps inode and birth time; a temporary that vanished this long ago no longer vouches for a file. */
const RENAME_WINDOW_MS = 10_000;
const DEFAULT_RETRY = { firstMs: 1000, maxMs: 60_000 };

type Phase = 'settling' | 'queued' | 'ingesting' | 'retrying' | 'done';

interface Entry {
  readonly path: string;
  readonly rel: string;
  readonly stableMs: number;
  phase: Phase;
  /** Identity, size and mtime at the last look. */
  signature: string;
  /** When `signature` was first seen. */
  since: number;
  timer: NodeJS.Timeout | undefined;
  attempts: number;
}

const identityOf = (s: BigIntStats): string => `${s.dev}:${s.ino}:${s.birthtimeNs}`;
const signatureOf = (s: BigIntStats): string => `${identityOf(s)}:${s.size}:${s.mtimeNs}`;

/** Why an ingest failed, for the log: a code or a class name, never the message (it may quote cells). */
function failureOf(error: unknown): string {
  if (isTongxiangError(error)) return error.code;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  return error instanceof Error ? error.name : 'unknown error';
}

function invalid(reason: string): TongxiangError {
  return new TongxiangError('CONFIG_INVALID', { reason: `filedrop intake: ${reason}` });
}

/**
 * Starts watching `dropDir`: resolves once the watcher is ready, with `scan()` queued first (files
 * that landed while the hub was down), before anything the watcher sees.
 */
export async function watchDropFolder(options: WatchDropFolderOptions): Promise<DropWatcher> {
  const { dropDir, datasets, ingest, scan, logger, usePolling = false, pollIntervalMs = 1000 } = options;
  const now = options.now ?? Date.now;
  const retry = options.retry ?? DEFAULT_RETRY;
  if (typeof dropDir !== 'string' || dropDir === '') throw invalid('dropDir is required');
  if (typeof ingest !== 'function' || typeof scan !== 'function') throw invalid('ingest and scan must be functions');
  if (!Number.isInteger(pollIntervalMs) || pollIntervalMs < 10) throw invalid('pollIntervalMs must be a whole number of ms, at least 10');
  if (!(retry.firstMs > 0 && retry.maxMs >= retry.firstMs)) throw invalid('retry.firstMs must be positive and retry.maxMs at least firstMs');

  // Configured folders and how long each waits; a generic <dept>/<dataset> folder waits as its
  // dataset does, or the default for an unknown dataset.
  const stableByFolder = new Map<string, number>();
  for (const def of datasets) for (const dept of def.intake.departments) stableByFolder.set(intakeFolder(def, dept), def.intake.stableMs);
  const stableByDataset = new Map(datasets.map((d) => [d.name, d.intake.stableMs]));
  const folders = new Set(stableByFolder.keys());
  const stableOf = (parent: string): number =>
    stableByFolder.get(parent) ?? stableByDataset.get(parent.split('/')[1] ?? '') ?? DEFAULT_STABLE_MS;
  // chokidar's depth counts folders below dropDir: a file in <a>/<b>/ is at depth 2.
  const depth = Math.max(2, ...[...folders].map((f) => f.split('/').length));

  const files = new Map<string, Entry>();
  /** Temporaries seen, by identity: their rename makes a file complete. */
  const temporaries = new Map<string, { path: string; goneAt: number | null }>();
  const queue: Array<Entry | 'scan'> = [];
  let scanPending = true;
  let scanAttempts = 0;
  let scanTimer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let looking = 0;
  let closed = false;
  let idleWaiters: Array<() => void> = [];

  const relOf = (path: string): string => relative(dropDir, path).split(sep).join('/');
  const busy = (): boolean =>
    scanPending || running !== undefined || looking > 0 || queue.length > 0 || [...files.values()].some((e) => e.phase !== 'done');
  const maybeIdle = (): void => {
    if (idleWaiters.length === 0 || (!closed && busy())) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const resolve of waiters) resolve();
  };

  const forget = (entry: Entry): void => {
    clearTimeout(entry.timer);
    const at = queue.indexOf(entry);
    if (at >= 0) queue.splice(at, 1);
    if (files.get(entry.path) === entry) files.delete(entry.path);
  };

  const enqueue = (entry: Entry, why: string): void => {
    clearTimeout(entry.timer);
    entry.phase = 'queued';
    logger?.info(`filedrop: ${entry.rel} complete (${why})`);
    queue.push(entry);
    pump();
  };

  const settle = (entry: Entry, signature: string): void => {
    entry.phase = 'settling';
    entry.signature = signature;
    entry.since = now();
    if (entry.stableMs === 0) return enqueue(entry, 'stable');
    arm(entry, entry.stableMs);
  };

  const arm = (entry: Entry, delay: number): void => {
    clearTimeout(entry.timer);
    entry.timer = setTimeout(() => void check(entry), delay);
  };

  /** A settling file's timer: unchanged for stableMs → complete; changed → wait again; gone → forget. */
  const check = async (entry: Entry): Promise<void> => {
    if (closed || files.get(entry.path) !== entry || entry.phase !== 'settling') return;
    looking++;
    try {
      const stats = await lstat(entry.path, { bigint: true }).catch(() => undefined);
      if (closed || files.get(entry.path) !== entry || entry.phase !== 'settling') return;
      if (!stats) return forget(entry); // removed before it was complete
      const signature = signatureOf(stats);
      if (signature !== entry.signature) return settle(entry, signature);
      const waited = now() - entry.since;
      if (waited >= entry.stableMs) enqueue(entry, `unchanged for ${entry.stableMs} ms`);
      else arm(entry, entry.stableMs - waited);
    } finally {
      looking--;
      maybeIdle();
    }
  };

  /** A temporary that vanished within the window and had this identity: the file is its rename. */
  const renamedFromTemporary = (identity: string): boolean => {
    const cutoff = now() - RENAME_WINDOW_MS;
    for (const [key, t] of temporaries) if (t.goneAt !== null && t.goneAt < cutoff) temporaries.delete(key);
    return temporaries.has(identity);
  };

  /** add / change: a look at the file decides what it is now. */
  const observe = async (path: string): Promise<void> => {
    if (closed) return;
    const rel = relOf(path);
    const role = classifyDropPath(rel, folders);
    if (role === 'ignored') return;
    looking++;
    try {
      const stats = await lstat(path, { bigint: true }).catch(() => undefined);
      if (closed || !stats || stats.isDirectory()) return; // gone already: its unlink follows
      if (role === 'temporary') {
        temporaries.set(identityOf(stats), { path, goneAt: null });
        return;
      }
      const signature = signatureOf(stats);
      const byRename = renamedFromTemporary(identityOf(stats));
      let entry = files.get(path);
      if (entry) {
        // ingesting: looked at again when the ingest returns; otherwise nothing new unless it changed
        if (entry.phase === 'ingesting' || entry.signature === signature) return;
        clearTimeout(entry.timer);
        const at = queue.indexOf(entry);
        if (at >= 0) queue.splice(at, 1);
        if (entry.phase === 'done') entry.attempts = 0; // a new appearance under the same name
      } else {
        const parent = rel.slice(0, rel.lastIndexOf('/'));
        entry = { path, rel, stableMs: stableOf(parent), phase: 'settling', signature, since: now(), timer: undefined, attempts: 0 };
        files.set(path, entry);
      }
      if (byRename) {
        entry.signature = signature;
        entry.since = now();
        enqueue(entry, 'moved in from a temporary name');
      } else {
        settle(entry, signature);
      }
    } finally {
      looking--;
      maybeIdle();
    }
  };

  const removed = (path: string): void => {
    const rel = relOf(path);
    const role = classifyDropPath(rel, folders);
    if (role === 'temporary') {
      for (const t of temporaries.values()) if (t.path === path && t.goneAt === null) t.goneAt = now();
      return;
    }
    const entry = files.get(path);
    // an ingest under way moves the file itself; its end looks again
    if (entry && entry.phase !== 'ingesting') forget(entry);
    maybeIdle();
  };

  const ingestOne = async (entry: Entry): Promise<void> => {
    if (files.get(entry.path) !== entry || entry.phase !== 'queued') return;
    const before = await lstat(entry.path, { bigint: true }).catch(() => undefined);
    if (!before) return forget(entry); // taken meanwhile (by the scan, or the department)
    if (signatureOf(before) !== entry.signature) return settle(entry, signatureOf(before)); // written to again
    entry.phase = 'ingesting';
    try {
      await ingest(join(dropDir, ...entry.rel.split('/')));
      entry.attempts = 0;
      entry.phase = 'done';
    } catch (error) {
      if (isTongxiangError(error) && error.code === 'DATASET_FILE_INVALID') {
        // Not a store failure: the pipeline refuses the path itself; retrying cannot help.
        logger?.warn(`filedrop: ${entry.rel} was not ingested (${failureOf(error)}); it stays until it changes or is removed`);
        entry.phase = 'done';
      } else {
        entry.attempts++;
        const delay = retryDelay(entry.attempts, retry);
        logger?.warn(`filedrop: ingesting ${entry.rel} failed (${failureOf(error)}); retry ${entry.attempts} in ${delay} ms`);
        entry.phase = 'retrying';
        entry.timer = setTimeout(() => {
          if (!closed && files.get(entry.path) === entry && entry.phase === 'retrying') {
            entry.phase = 'queued';
            queue.push(entry);
            pump();
          }
        }, delay);
      }
    }
    // The pipeline moves the file away; whatever lies at the path now is gone, the same, or new.
    const after = await lstat(entry.path, { bigint: true }).catch(() => undefined);
    if (!after) {
      forget(entry); // moved away (ingested), or removed while failing: nothing left to retry
    } else if (signatureOf(after) !== entry.signature && files.get(entry.path) === entry) {
      clearTimeout(entry.timer);
      entry.attempts = 0;
      settle(entry, signatureOf(after));
    }
  };

  const scanOnce = async (): Promise<void> => {
    try {
      await scan();
      scanPending = false;
    } catch (error) {
      scanAttempts++;
      const delay = retryDelay(scanAttempts, retry);
      logger?.warn(`filedrop: start-up scan of the drop directory failed (${failureOf(error)}); retry ${scanAttempts} in ${delay} ms`);
      scanTimer = setTimeout(() => {
        if (closed) return;
        queue.push('scan');
        pump();
      }, delay);
    }
  };

  function pump(): void {
    if (running || closed) return;
    const next = queue.shift();
    if (next === undefined) return maybeIdle();
    running = (next === 'scan' ? scanOnce() : ingestOne(next))
      .catch((error: unknown) => logger?.warn(`filedrop: intake error (${failureOf(error)})`))
      .finally(() => {
        running = undefined;
        pump();
        maybeIdle();
      });
  }

  await mkdir(dropDir, { recursive: true });
  const watcher: FSWatcher = watch(dropDir, {
    ignoreInitial: true, // files already there are the scan's
    depth,
    followSymlinks: false, // a link in a drop folder must not lead the watcher elsewhere
    usePolling,
    interval: pollIntervalMs,
    binaryInterval: pollIntervalMs,
    atomic: false, // we want every unlink and add as it happens (renames are ours to recognise)
    awaitWriteFinish: false, // completeness is decided here (see the top of the file)
    ignorePermissionErrors: true,
  });
  watcher.on('add', (path) => void observe(path));
  watcher.on('change', (path) => void observe(path));
  watcher.on('unlink', removed);
  watcher.on('error', (error) => logger?.warn(`filedrop: watching the drop directory failed (${failureOf(error)})`));
  await new Promise<void>((resolve, reject) => {
    watcher.once('ready', resolve);
    watcher.once('error', reject);
  }).catch(async (error: unknown) => {
    await watcher.close();
    throw invalid(`cannot watch the drop directory (${failureOf(error)})`);
  });

  queue.unshift('scan');
  pump();

  return {
    async close() {
      if (closed) {
        await running;
        return;
      }
      closed = true;
      clearTimeout(scanTimer);
      for (const entry of files.values()) clearTimeout(entry.timer);
      queue.length = 0;
      await watcher.close();
      await running;
      maybeIdle();
    },
    idle() {
      return new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
        maybeIdle();
      });
    },
  };
}
