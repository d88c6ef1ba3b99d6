/**
 * Builds the unified graph from .meshrc.yml with GraphQL Mesh's own config processor, at start
 * (the same path `mesh dev` takes), with ${NAME} placeholders filled from the hub's configuration
 * instead of process.env, Mesh's artifacts kept in memory (nothing written into the repo), and the
 * upstream guard added to Mesh's fetch.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { processConfig } from '@graphql-mesh/config';
import { getMesh, type MeshInstance } from '@graphql-mesh/runtime';
import { InMemoryStoreStorageAdapter, MeshStore } from '@graphql-mesh/store';
import type { Logger as MeshLogger, YamlConfig } from '@graphql-mesh/types';
import { TongxiangError } from '../core/index.ts';
import { createSourceResilience, useUpstreamGuard, type GuardedSource, type ResilientSource, type SourceResilience } from '../mesh/index.ts';
import { parseSecretYaml, type HubConfig } from './config.ts';
import { silentLogger, type Logger } from './log.ts';

/** Mesh's log calls routed into the hub's JSON log (stderr), tagged with the source. Debug is dropped. */
export function meshLogger(logger: Logger, tags: Record<string, string | number> = {}): MeshLogger {
  const text = (args: unknown[]) => args.map((a) => (a instanceof Error ? a.message : typeof a === 'string' ? a : JSON.stringify(a))).join(' ');
  return {
    name: 'mesh',
    log: (...args: unknown[]) => logger.info(text(args), { component: 'mesh', ...tags }),
    info: (...args: unknown[]) => logger.info(text(args), { component: 'mesh', ...tags }),
    warn: (...args: unknown[]) => logger.warn(text(args), { component: 'mesh', ...tags }),
    error: (...args: unknown[]) => logger.error(text(args), { component: 'mesh', ...tags }),
    debug: () => undefined,
    child: (name) => meshLogger(logger, { ...tags, ...(typeof name === 'string' ? { scope: name } : name) }),
  };
}

const PLACEHOLDER = /\$\{([A-Z0-9_]+)(?::([^}]*))?\}/g;

/** Fills ${NAME} / ${NAME:default} in every string of a parsed config; lists what is missing. */
export function interpolate<T>(value: T, variables: Readonly<Record<string, string>>, missing: Set<string>): T {
  if (typeof value === 'string') {
    return value.replace(PLACEHOLDER, (_m, name: string, fallback: string | undefined) => {
      const v = variables[name];
      if (v !== undefined && v !== '') return v;
      if (fallback !== undefined) return fallback;
      missing.add(name);
      return '';
    }) as T;
  }
  if (Array.isArray(value)) return value.map((v) => interpolate(v, variables, missing)) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolate(v, variables, missing);
    return out as T;
  }
  return value;
}

export interface LoadedMesh {
  readonly mesh: MeshInstance;
  readonly config: YamlConfig.Config;
  /** This hub's circuit breakers, retries and bulkheads per remote source (mesh/resilience.ts). */
  readonly resilience: SourceResilience;
}

export async function loadMeshConfig(hub: HubConfig): Promise<YamlConfig.Config> {
  const path = join(hub.meshDir, '.meshrc.yml');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new TongxiangError('CONFIG_INVALID', { reason: `cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})` });
  }
  const parsed = parseSecretYaml(text, path);
  const missing = new Set<string>();
  const config = interpolate(parsed as YamlConfig.Config, hub.variables, missing);
  if (missing.size > 0) {
    throw new TongxiangError('CONFIG_INVALID', {
      reason: `.meshrc.yml needs these settings (environment or config file): ${[...missing].sort().join(', ')}`,
    });
  }
  if (!Array.isArray(config.sources) || config.sources.length === 0) {
    throw new TongxiangError('CONFIG_INVALID', { reason: '.meshrc.yml declares no sources' });
  }
  return config;
}

function guardedSources(config: YamlConfig.Config, hub: HubConfig): Record<string, GuardedSource> {
  const out: Record<string, GuardedSource> = {};
  for (const source of config.sources) {
    const handler = Object.values(source.handler)[0] as { timeout?: number; sourceLabel?: string; endpoint?: string } | undefined;
    out[source.name] = {
      label: handler?.sourceLabel ?? source.name,
      timeoutMs: Number(handler?.timeout ?? hub.upstreamTimeoutMs),
      ...(typeof handler?.endpoint === 'string' ? { endpoint: handler.endpoint } : {}),
    };
  }
  return out;
}

/** Every source that calls a remote system gets a policy; the file-drop rosters are local files. */
function resilientSources(config: YamlConfig.Config, hub: HubConfig): Record<string, ResilientSource> {
  const unknown = Object.keys(hub.resilience.sources).filter((name) => !config.sources.some((s) => s.name === name));
  if (unknown.length > 0) {
    throw new TongxiangError('CONFIG_INVALID', { reason: `resilience.sources names sources .meshrc.yml lacks: ${unknown.join(', ')}` });
  }
  const out: Record<string, ResilientSource> = {};
  for (const source of config.sources) {
    const [kind, raw] = Object.entries(source.handler)[0] ?? ['unknown', {}];
    if (kind === '@tongxiang/filedrop-handler') continue;
    const handler = (raw ?? {}) as { timeout?: unknown; timeoutMs?: unknown; sourceLabel?: string };
    out[source.name] = {
      ...(hub.resilience.sources[source.name] ?? hub.resilience.defaults),
      label: handler.sourceLabel ?? source.name,
      timeoutMs: Number(handler.timeoutMs ?? handler.timeout ?? hub.upstreamTimeoutMs),
    };
  }
  return out;
}

export async function loadMesh(hub: HubConfig, logger: Logger = silentLogger): Promise<LoadedMesh> {
  const config = await loadMeshConfig(hub);
  const store = new MeshStore(join(hub.dataDir, '.mesh'), new InMemoryStoreStorageAdapter(), {
    readonly: false,
    validate: false,
  });
  // Mesh resolves its logger by module name through importFn; hand it the hub's.
  const HUB_LOGGER = 'tongxiang-hub-logger';
  const hubMeshLogger = meshLogger(logger);
  const options = await processConfig(
    { ...config, logger: HUB_LOGGER },
    {
      dir: hub.meshDir,
      store,
      importFn: (moduleId: string) => (moduleId === HUB_LOGGER ? Promise.resolve({ default: hubMeshLogger }) : import(moduleId)),
      logger: hubMeshLogger,
    },
  );
  options.additionalEnvelopPlugins = [
    ...(options.additionalEnvelopPlugins ?? []),
    useUpstreamGuard({ sources: guardedSources(config, hub), defaultTimeoutMs: hub.upstreamTimeoutMs }),
  ];
  const resilience = createSourceResilience({ sources: resilientSources(config, hub) });
  const mesh = await getMesh(options);
  return { mesh, config, resilience };
}
