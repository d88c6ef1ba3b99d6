/**
 * The Mesh handler: on start it opens the store, makes the exchange pipeline over it, ingests
 * every file waiting in the drop folders (files that landed while the hub was down) and builds
 * the schema; on Mesh's `destroy` it closes the store (see store-registry.ts for waiting on that
 * close). Watching the folders afterwards is the running hub's (gateway), through `heldPipeline`.
 */
import type { GetMeshSourcePayload, Logger, MeshHandler, MeshHandlerOptions, MeshPubSub, MeshSource } from '@graphql-mesh/types';
import { toMeshPubSub } from '@graphql-mesh/types';
import { createDropPipeline, writeReportFiles, type DatasetStore, type DropPipeline, type ScanResult } from '../../sources/filedrop/index.ts';
import { resolveFileDropConfig, type FileDropHandlerConfig, type ResolvedFileDropConfig } from './config.ts';
import { buildFileDropSchema } from './schema.ts';
import { acquireStore, pipelineFor, releaseStore, trackShutdown } from './store-registry.ts';

export default class FileDropHandler implements MeshHandler {
  readonly name: string;
  readonly config: ResolvedFileDropConfig;
  private readonly logger: Logger;
  private store: DatasetStore | undefined;
  private opening: Promise<DatasetStore | undefined> | undefined;
  private pipeline: DropPipeline | undefined;
  private reloading: Promise<ScanResult> = Promise.resolve(undefined as never);
  private closed = false;
  private closing: Promise<void> | undefined;

  constructor({ name, config, baseDir, pubsub, logger }: MeshHandlerOptions<FileDropHandlerConfig>) {
    this.name = name;
    this.logger = logger;
    this.config = resolveFileDropConfig(config, baseDir, name);
    // Not unsubscribed on close: Mesh's PubSub numbers subscriptions by Date.now(), so two taken in
    // the same millisecond share an id and unsubscribing one would drop the other. close() is idempotent.
    const meshPubSub: MeshPubSub | undefined = pubsub ? toMeshPubSub(pubsub) : undefined;
    meshPubSub?.subscribe('destroy', () => {
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
      pipeline: () => {
        if (!this.store || !this.pipeline) throw new Error(this.closed ? 'dataset store closed' : 'dataset store not open');
        return this.pipeline;
      },
      onStoreError: (error) => this.logger.error(`dataset store error: ${describe(error)}`),
    });
    return { schema };
  }

  /** Ingests every file waiting in the drop folders (the pipeline ingests one file at a time). */
  async reloadDropFolder(): Promise<ScanResult> {
    const run = async (): Promise<ScanResult> => {
      const store = await this.openStore();
      if (!store || !this.pipeline) throw new Error('dataset store not open');
      const result = await this.pipeline.scan();
      for (const problem of result.problems) this.logger.warn(problem);
      return result;
    };
    const next = this.reloading.then(run, run);
    this.reloading = next.catch(() => undefined as never);
    return next;
  }

  /**
   * Closes the store (once; later calls wait for the same close): waits for a load under way, then
   * gives up its hold. Mesh's `destroy` calls this; `settleFileDropStores()` waits for it.
   */
  close(): Promise<void> {
    this.closing ??= trackShutdown(
      (async () => {
        this.closed = true;
        await this.reloading.catch(() => undefined);
        await this.opening;
        if (this.store) {
          this.store = undefined;
          this.pipeline = undefined;
          await releaseStore(this.config.storeDir);
        }
      })(),
    );
    return this.closing;
  }

  private openStore(): Promise<DatasetStore | undefined> {
    if (this.store || this.closed) return Promise.resolve(this.store);
    this.opening ??= acquireStore(this.config.storeDir).then(
      (store) => {
        this.store = store;
        const { dropDir, datasets, storeDir } = this.config;
        this.pipeline = pipelineFor(storeDir, () =>
          createDropPipeline({ dropDir, store, datasets, logger: this.logger, writeReports: writeReportFiles }),
        );
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
