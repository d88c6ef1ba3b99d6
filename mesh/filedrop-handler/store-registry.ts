/**
 * One open dataset store per directory in this process: PGlite must not open a data directory
 * twice, and the readiness probe asks the store the running handler holds.
 *
 * A store being closed stays known until its close has finished: opening the same directory again
 * waits for that close first, and `settleFileDropStores()` resolves only once every handler
 * shutdown and every store close under way is done. Mesh's `destroy()` is synchronous and only
 * starts the handlers' shutdowns; the hub awaits `settleFileDropStores()` after it.
 */
import { createPgliteDatasetStore, type DatasetStore, type DropPipeline } from '../../sources/filedrop/index.ts';

interface OpenStore {
  readonly store: Promise<DatasetStore>;
  refs: number;
  /** The exchange pipeline over this store: one per store, so ingests are serialised across holders. */
  pipeline?: DropPipeline;
}

const openStores = new Map<string, OpenStore>();
const closingStores = new Map<string, Promise<void>>();
const shutdowns = new Set<Promise<unknown>>();

/** The open store for `storeDir`, shared with every other holder; waits for a close of that directory under way. */
export async function acquireStore(storeDir: string): Promise<DatasetStore> {
  for (let pending = closingStores.get(storeDir); pending; pending = closingStores.get(storeDir)) {
    await pending.catch(() => undefined);
  }
  let entry = openStores.get(storeDir);
  if (!entry) {
    const store = createPgliteDatasetStore({ dataDir: storeDir });
    const created: OpenStore = { store, refs: 0 };
    openStores.set(storeDir, created);
    store.catch(() => {
      if (openStores.get(storeDir) === created) openStores.delete(storeDir);
    });
    entry = created;
  }
  entry.refs++;
  return entry.store;
}

/** Gives up one hold; the last one closes the store (the directory stays "closing" until it has). */
export function releaseStore(storeDir: string): Promise<void> {
  const entry = openStores.get(storeDir);
  if (!entry) return Promise.resolve();
  entry.refs--;
  if (entry.refs > 0) return Promise.resolve();
  openStores.delete(storeDir);
  const closing: Promise<void> = entry.store.then((store) => store.close());
  closingStores.set(storeDir, closing);
  const forget = () => {
    if (closingStores.get(storeDir) === closing) closingStores.delete(storeDir);
  };
  closing.then(forget, forget);
  return closing;
}

/**
 * The pipeline over the open store of `storeDir`, made by `create` the first time (the store must
 * be held). Every holder shares it, so files are ingested one at a time whoever asks.
 */
export function pipelineFor(storeDir: string, create: () => DropPipeline): DropPipeline {
  const entry = openStores.get(storeDir);
  if (!entry) throw new Error(`dataset store ${storeDir} is not held`);
  entry.pipeline ??= create();
  return entry.pipeline;
}

/** The pipeline a running handler made for `storeDir`, if any (the gateway's watcher, uploads, subscriptions). */
export function heldPipeline(storeDir: string): DropPipeline | undefined {
  return openStores.get(storeDir)?.pipeline;
}

/** The store a running handler holds for `storeDir`, if any (for the readiness probe). */
export function heldStore(storeDir: string): Promise<DatasetStore> | undefined {
  return openStores.get(storeDir)?.store;
}

/** Counts a handler's shutdown (waiting for its load, then releasing its store) as under way until it settles. */
export function trackShutdown<T>(shutdown: Promise<T>): Promise<T> {
  shutdowns.add(shutdown);
  const forget = () => shutdowns.delete(shutdown);
  shutdown.then(forget, forget);
  return shutdown;
}

/**
 * Resolves once every shutdown of a destroyed file-drop handler, and every store close, has
 * finished — so the data directories can be removed or reopened. Never rejects (close failures
 * are logged by the handler); stores still held by running handlers stay open.
 */
export async function settleFileDropStores(): Promise<void> {
  while (shutdowns.size > 0 || closingStores.size > 0) {
    await Promise.allSettled([...shutdowns, ...closingStores.values()]);
  }
}
