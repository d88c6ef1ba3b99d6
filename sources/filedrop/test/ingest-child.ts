/**
 * A hub that dies mid-ingest, for pipeline-restart.test.ts:
 *
 *   node --import tsx ingest-child.ts <storeDir> <dropDir> <file> <mode>
 *
 * mode `stop-while-reading`: prints `reading <rows>` once rows are staged, then blocks (the
 *   parent kills it with SIGKILL there);
 * mode `die-after-publish`: kills itself with SIGKILL right after the publication has committed,
 *   before the original is moved or the report kept — printing `published v<n>` first.
 * Nothing is closed or cleaned up: the process dies as a crashed hub would.
 */
import { DIBAO_DATASET_PATH, loadDatasetDefinition } from '../dataset.ts';
import type { DatasetStore } from '../model.ts';
import { createDropPipeline } from '../pipeline.ts';
import { createPgliteDatasetStore } from '../store.ts';

const [storeDir, dropDir, file, mode] = process.argv.slice(2);
if (!storeDir || !dropDir || !file || (mode !== 'stop-while-reading' && mode !== 'die-after-publish')) {
  process.stderr.write('usage: ingest-child.ts <storeDir> <dropDir> <file> stop-while-reading|die-after-publish\n');
  process.exit(2);
}
const dibao = await loadDatasetDefinition(DIBAO_DATASET_PATH);
const real = await createPgliteDatasetStore({ dataDir: storeDir });
const store: DatasetStore =
  mode === 'die-after-publish'
    ? {
        ...real,
        publish: async (...args) => {
          const result = await real.publish(...args);
          process.stdout.write(`published v${result.published ? result.version.version : 0}\n`); // synchronous on a pipe
          process.kill(process.pid, 'SIGKILL');
          return result;
        },
      }
    : real;
const pipeline = createDropPipeline({ dropDir, store, datasets: [dibao] });
let stopped = false;
await pipeline.ingestFile(file, {
  onProgress: (p) => {
    if (mode !== 'stop-while-reading' || stopped || p.phase !== 'reading' || p.rowsRead === 0) return;
    stopped = true;
    process.stdout.write(`reading ${p.rowsRead}\n`);
    // Block the event loop, mid-read, until the parent's SIGKILL arrives.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000);
  },
});
process.stderr.write('the ingest finished: the parent was meant to kill this process first\n');
process.exit(3);
