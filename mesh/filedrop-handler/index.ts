/**
 * GraphQL Mesh handler `@tongxiang/filedrop-handler`: serves file-drop datasets (county 低保
 * rosters) from the embedded dataset store. On start it opens the store, loads the drop folder
 * once and builds the schema; on Mesh's `destroy` it closes the store.
 *
 *   - name: CivilAffairsRosters
 *     handler:
 *       '@tongxiang/filedrop-handler':
 *         dropDir: ./data/drop
 *         storeDir: ./data/filedrop
 *         datasets: [./sources/filedrop/dibao.dataset.yml]
 *         sourceLabel: 县区民政局低保名册
 */
import { access, constants, readdir } from 'node:fs/promises';
import type { GetMeshSourcePayload, Logger, MeshHandler, MeshHandlerOptions, MeshPubSub, MeshSource } from '@graphql-mesh/types';
import { toMeshPubSub } from '@graphql-mesh/types';
import {
  createPgliteDatasetStore,
  loadDropFolder,
  type DatasetStore,
  type LoadReport,
} from '../../sources/filedrop/index.ts';
import { resolveFileDropConfig, resolvePaths, type FileDropHandlerConfig, type ResolvedFileDropConfig } from './config.ts';
import { buildFileDropSchema } from './schema.ts';

export type { FileDropHandlerConfig, ResolvedFileDropConfig } from './config.ts';
export { resolveFileDropConfig, ROSTER_DATASET } from './config.ts';
export { buildFileDropSchema, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './schema.ts';

// ---------------------------------------------------------------------------------------------
// One open store per directory in this process: PGlite must not open a data directory twice,
// and the readiness probe asks the store the handler already holds.

interface OpenStore {
  readonly store: Promise<DatasetStore>;
  refs: number;
}

const openStores = new Map<string, OpenStore>();

async function acquireStore(storeDir: string): Promise<DatasetStore> {
  let entry = openStores.get(storeDir);
  if (!entry) {
    const store = createPgliteDatasetStore({ dataDir: storeDir });
    entry = { store, refs: 0 };
    openStores.set(storeDir, entry);
    store.catch(() => {
      if (openStores.get(storeDir) === entry) openStores.delete(storeDir);
    });
  }
  entry.refs++;
  return entry.store;
}

async function releaseStore(storeDir: string): Promise<void> {
  const entry = openStores.get(storeDir);
  if (!entry) return;
  entry.refs--;
  if (entry.refs > 0) return;
  openStores.delete(storeDir);
  await (await entry.store).close();
}

// ---------------------------------------------------------------------------------------------

export default class FileDropHandler implements MeshHandler {
  readonly name: string;
  readonly config: ResolvedFileDropConfig;
  private readonly logger: Logger;
  private readonly pubsub: MeshPubSub | undefined;
  private store: DatasetStore | undefined;
  private opening: Promise<DatasetStore | undefined> | undefined;
  private reloading: Promise<LoadReport> = Promise.resolve(undefined as never);
  private destroySubscription: number | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;

  constructor({ name, config, baseDir, pubsub, logger }: MeshHandlerOptions<FileDropHandlerConfig>) {
    this.name = name;
    this.logger = logger;
    this.config = resolveFileDropConfig(config, baseDir, name);
    this.pubsub = pubsub ? toMeshPubSub(pubsub) : undefined;
    this.destroySubscription = this.pubsub?.subscribe('destroy', () => {
      void this.close().catch((error: unknown) => this.logger.error(`could not close the dataset store: ${describe(error)}`));
    });
  }

  async getMeshSource(_payload: GetMeshSourcePayload): Promise<MeshSource> {
    if (await this.openStore()) {
      try {
        await this.reloadDropFolder();
      } catch (error) {
        this.logger.error(`loading ${this.config.dropDir} failed: ${describe(error)}`);
      }
    }
    const schema = buildFileDropSchema({
      sourceName: this.name,
      sourceLabel: this.config.sourceLabel,
      store: () => {
        if (!this.store) throw new Error(this.closed ? 'dataset store closed' : 'dataset store not open');
        return this.store;
      },
      onStoreError: (error) => this.logger.error(`dataset store error: ${describe(error)}`),
    });
    return { schema };
  }

  /** Scans the drop folder again (one scan at a time); files unchanged since the last load are skipped. */
  async reloadDropFolder(): Promise<LoadReport> {
    const run = async (): Promise<LoadReport> => {
      const store = await this.openStore();
      if (!store) throw new Error('dataset store not open');
      const report = await loadDropFolder({
        dropDir: this.config.dropDir,
        store,
        datasets: this.config.datasets,
        logger: this.logger,
      });
      for (const problem of report.problems) this.logger.warn(problem);
      return report;
    };
    const next = this.reloading.then(run, run);
    this.reloading = next.catch(() => undefined as never);
    return next;
  }

  /** Closes the store (once; later calls wait for the same close). Mesh's `destroy` calls this. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      if (this.destroySubscription !== undefined) this.pubsub?.unsubscribe(this.destroySubscription);
      await this.reloading.catch(() => undefined);
      await this.opening;
      if (this.store) {
        this.store = undefined;
        await releaseStore(this.config.storeDir);
      }
    })();
    return this.closing;
  }

  private openStore(): Promise<DatasetStore | undefined> {
    if (this.store || this.closed) return Promise.resolve(this.store);
    this.opening ??= acquireStore(this.config.storeDir).then(
      (store) => {
        this.store = store;
        return store;
      },
      (error: unknown) => {
        this.opening = undefined; // a later reload tries again
        this.logger.error(`dataset store at ${this.config.storeDir} could not be opened: ${describe(error)}`);
        return undefined;
      },
    );
    return this.opening;
  }
}

/** An error's class and message, never its cause chain or data. */
function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

// ---------------------------------------------------------------------------------------------

export interface ProbeResult {
  readonly ok: boolean;
  readonly latencyMs: number;
  readonly detail: string;
}

/**
 * Readiness of a file-drop source (/readyz): the drop directory is readable and the store the
 * running handler holds answers. `baseDir` resolves relative paths (default: the process's cwd).
 */
export async function probeFileDropSource(config: FileDropHandlerConfig & { baseDir?: string }): Promise<ProbeResult> {
  const started = performance.now();
  const done = (ok: boolean, detail: string): ProbeResult => ({ ok, latencyMs: Math.round(performance.now() - started), detail });
  const { dropDir, storeDir, problems } = resolvePaths(config, config?.baseDir ?? process.cwd());
  if (problems.length > 0) return done(false, `config invalid: ${problems.join('; ')}`);
  try {
    await access(dropDir, constants.R_OK | constants.X_OK);
    await readdir(dropDir);
  } catch {
    return done(false, 'drop directory not readable');
  }
  const entry = openStores.get(storeDir);
  if (!entry) return done(false, 'dataset store not open');
  try {
    const store = await entry.store;
    await store.ping();
  } catch {
    return done(false, 'dataset store not answering');
  }
  return done(true, 'drop directory readable, dataset store answering');
}
