/**
 * Readiness of a SOAP source for the gateway's /readyz: `GET <endpoint>?wsdl` within a short
 * deadline. Ready when the endpoint serves a WSDL. The detail names the outcome (HTTP status,
 * `timeout`, `connection refused`…), never the URL or credentials.
 */
import { readFile } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import type { ProbeResult } from '../probe-result.ts';
import { describeNetworkFailure } from '../upstream-guard.ts';
import { isWsdlUrl, validateSoapConfig, type SoapHandlerConfig } from './config.ts';

const DEFAULT_PROBE_MS = 2_000;

/** The address of the configured version's port in a local WSDL file, for configs without `endpoint`. */
async function addressFromFile(path: string, version: '1.1' | '1.2'): Promise<string | undefined> {
  const xml = await readFile(path, 'utf8');
  const ns = version === '1.2' ? 'http://schemas.xmlsoap.org/wsdl/soap12/' : 'http://schemas.xmlsoap.org/wsdl/soap/';
  const prefix = new RegExp(`xmlns:([\\w.-]+)\\s*=\\s*["']${ns.replace(/[./]/g, '\\$&')}["']`).exec(xml)?.[1];
  if (!prefix) return undefined;
  return new RegExp(`<${prefix}:address\\s+location\\s*=\\s*["']([^"']+)["']`).exec(xml)?.[1];
}

export async function probeSoapSource(config: SoapHandlerConfig & { baseDir?: string }): Promise<ProbeResult> {
  const resolved = validateSoapConfig(config, ['baseDir']);
  const deadline = config.timeoutMs === undefined ? DEFAULT_PROBE_MS : resolved.timeoutMs;
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);

  let target: string | undefined;
  if (resolved.endpoint) target = `${resolved.endpoint}?wsdl`;
  else if (isWsdlUrl(resolved.wsdl)) target = resolved.wsdl;
  else {
    const address = await addressFromFile(resolvePath(config.baseDir ?? process.cwd(), resolved.wsdl), resolved.soapVersion).catch(() => undefined);
    if (address) target = `${address}?wsdl`;
  }
  if (!target) return { ok: false, latencyMs: 0, detail: 'no endpoint to probe' };

  try {
    const response = await fetch(target, { signal: AbortSignal.timeout(deadline) });
    const body = await response.text();
    const latencyMs = elapsed();
    if (response.status !== 200) return { ok: false, latencyMs, detail: `HTTP ${response.status}` };
    if (!/<(?:[\w.-]+:)?definitions\b/.test(body)) return { ok: false, latencyMs, detail: 'HTTP 200 but not a WSDL' };
    return { ok: true, latencyMs, detail: 'WSDL served (HTTP 200)' };
  } catch (error) {
    return { ok: false, latencyMs: elapsed(), detail: describeNetworkFailure(error) };
  }
}
