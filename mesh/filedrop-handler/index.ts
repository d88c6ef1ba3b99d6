/**
 * GraphQL Mesh handler `@tongxiang/filedrop-handler`: serves file-drop datasets (county 低保
 * rosters) from the embedded dataset store.
 *
 *   - name: CivilAffairsRosters
 *     handler:
 *       '@tongxiang/filedrop-handler':
 *         dropDir: ./data/drop
 *         storeDir: ./data/filedrop
 *         datasets: [./sources/filedrop/dibao.dataset.yml]
 *         sourceLabel: 县区民政局低保名册
 *
 * At shutdown, after `mesh.destroy()`, await `settleFileDropStores()` before removing or reopening
 * the store directories.
 */
import FileDropHandler from './handler.ts';

export default FileDropHandler;
export type { FileDropHandlerConfig, ResolvedFileDropConfig } from './config.ts';
export { resolveFileDropConfig, ROSTER_DATASET } from './config.ts';
export { buildFileDropSchema, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './schema.ts';
export type { FileDropSchemaOptions } from './schema.ts';
export { probeFileDropSource } from './probe.ts';
export type { ProbeResult } from '../probe-result.ts';
export { heldPipeline, heldStore, settleFileDropStores } from './store-registry.ts';
