/**
 * Readiness of a file-drop source (/readyz): the drop directory is readable and the store the
 * running handler holds answers. `baseDir` resolves relative paths (default: the process's cwd).
 */
import { access, constants, readdir } from 'node:fs/promises';
import type { ProbeResult } from '../probe-result.ts';
import { resolvePaths, type FileDropHandlerConfig } from './config.ts';
import { heldStore } from './store-registry.ts';

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
  const held = heldStore(storeDir);
  if (!held) return done(false, 'dataset store not open');
  try {
    await (await held).ping();
  } catch {
    return done(false, 'dataset store not answering');
  }
  return done(true, 'drop directory readable, dataset store answering');
}
