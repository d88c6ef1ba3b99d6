/**
 * Readiness probes per source, chosen by the source's handler in .meshrc.yml: the SOAP and
 * file-drop handlers bring their own; any HTTP source (OpenAPI) is reachable when its endpoint
 * answers with a status below 500 within the deadline.
 */
import type { YamlConfig } from '@graphql-mesh/types';
import { probeFileDropSource } from '@tongxiang/filedrop-handler';
import { probeSoapSource } from '@tongxiang/soap-handler';
import type { ProbeResult } from './probe-result.ts';
import { describeNetworkFailure } from './upstream-guard.ts';

export interface SourceStatus {
  readonly name: string;
  readonly label: string;
  readonly kind: string;
  readonly ok: boolean;
  readonly latencyMs: number;
  readonly detail: string;
}

async function probeHttp(endpoint: string, timeoutMs: number): Promise<ProbeResult> {
  const started = performance.now();
  try {
    const response = await fetch(endpoint, { signal: AbortSignal.timeout(timeoutMs) });
    await response.body?.cancel().catch(() => undefined);
    const latencyMs = Math.round(performance.now() - started);
    return { ok: response.status < 500, latencyMs, detail: `HTTP ${response.status}` };
  } catch (error) {
    return { ok: false, latencyMs: Math.round(performance.now() - started), detail: describeNetworkFailure(error) };
  }
}

export async function probeSources(sources: readonly YamlConfig.Source[], timeoutMs: number, baseDir: string): Promise<SourceStatus[]> {
  return Promise.all(
    sources.map(async (source): Promise<SourceStatus> => {
      const [kind, raw] = Object.entries(source.handler)[0] ?? ['unknown', {}];
      const config = { ...(raw as Record<string, unknown>), baseDir } as Record<string, unknown>;
      const label = String(config.sourceLabel ?? source.name);
      let result: ProbeResult;
      try {
        if (kind === '@tongxiang/soap-handler') result = await probeSoapSource({ ...config, timeoutMs } as never);
        else if (kind === '@tongxiang/filedrop-handler') result = await probeFileDropSource(config as never);
        else if (typeof config.endpoint === 'string') result = await probeHttp(config.endpoint, timeoutMs);
        else result = { ok: true, latencyMs: 0, detail: 'no endpoint to probe' };
      } catch (error) {
        result = { ok: false, latencyMs: 0, detail: describeNetworkFailure(error) };
      }
      return { name: source.name, label, kind, ...result };
    }),
  );
}
