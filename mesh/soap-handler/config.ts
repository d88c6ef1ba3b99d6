/**
 * The handler's `.meshrc.yml` block, validated once and frozen. Values arrive already interpolated
 * and may be strings where numbers are meant (`timeoutMs: ${TIMEOUT:5000}`, `soapVersion: 1.2`
 * read by YAML as a number); both are accepted. Every problem is listed in one CONFIG_INVALID;
 * the password never appears in it.
 */
import { TongxiangError } from '../../core/index.ts';
import type { SoapVersion } from './wsdl-annotations.ts';

export type PasswordType = 'PasswordText' | 'PasswordDigest';

/** As written in .meshrc.yml. */
export interface SoapHandlerConfig {
  /** Path relative to baseDir, or an http(s) URL. */
  wsdl: string;
  /** Overrides the WSDL's address of the chosen port. */
  endpoint?: string;
  soapVersion?: '1.1' | '1.2' | 1.1 | 1.2;
  /** A port name, when the service has several of the chosen version. */
  port?: string;
  timeoutMs?: number | string;
  security?: { username: string; password: string; passwordType?: PasswordType };
  /** Shown in errors; defaults to the source name. */
  sourceLabel?: string;
  /** Operation names (as in the WSDL) to put on Mutation instead of Query. */
  mutations?: string[];
}

export interface ResolvedSoapConfig {
  readonly wsdl: string;
  readonly endpoint: string | undefined;
  readonly soapVersion: SoapVersion;
  readonly port: string | undefined;
  readonly timeoutMs: number;
  readonly security: Readonly<{ username: string; password: string; passwordType: PasswordType }> | undefined;
  readonly sourceLabel: string | undefined;
  readonly mutations: readonly string[];
}

export const DEFAULT_TIMEOUT_MS = 10_000;
const MAX_TIMEOUT_MS = 300_000;
const KNOWN = new Set(['wsdl', 'endpoint', 'soapVersion', 'port', 'timeoutMs', 'security', 'sourceLabel', 'mutations']);

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

export function validateSoapConfig(raw: unknown, allowExtra: readonly string[] = []): ResolvedSoapConfig {
  const problems: string[] = [];
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new TongxiangError('CONFIG_INVALID', { reason: '@tongxiang/soap-handler: the handler block must be a mapping' });
  }
  const c = raw as Record<string, unknown>;
  for (const key of Object.keys(c)) if (!KNOWN.has(key) && !allowExtra.includes(key)) problems.push(`unknown key "${key}"`);

  if (typeof c.wsdl !== 'string' || c.wsdl.trim() === '') problems.push('wsdl must be a file path or an http(s) URL');

  let endpoint: string | undefined;
  if (c.endpoint !== undefined && c.endpoint !== null && c.endpoint !== '') {
    if (typeof c.endpoint === 'string' && isHttpUrl(c.endpoint)) endpoint = c.endpoint;
    else problems.push('endpoint must be an http(s) URL');
  }

  const version = c.soapVersion === undefined || c.soapVersion === '' ? '1.1' : String(c.soapVersion);
  if (version !== '1.1' && version !== '1.2') problems.push("soapVersion must be '1.1' or '1.2'");

  if (c.port !== undefined && (typeof c.port !== 'string' || c.port === '')) problems.push('port must be a port name');

  let timeoutMs = DEFAULT_TIMEOUT_MS;
  if (c.timeoutMs !== undefined && c.timeoutMs !== '') {
    const n = typeof c.timeoutMs === 'string' && /^\d+$/.test(c.timeoutMs.trim()) ? Number(c.timeoutMs) : c.timeoutMs;
    if (typeof n === 'number' && Number.isInteger(n) && n > 0 && n <= MAX_TIMEOUT_MS) timeoutMs = n;
    else problems.push(`timeoutMs must be an integer from 1 to ${MAX_TIMEOUT_MS}`);
  }

  let security: ResolvedSoapConfig['security'];
  if (c.security !== undefined && c.security !== null) {
    const s = c.security as Record<string, unknown>;
    if (typeof s !== 'object' || Array.isArray(s)) problems.push('security must be a mapping of username, password, passwordType');
    else {
      for (const key of Object.keys(s)) if (!['username', 'password', 'passwordType'].includes(key)) problems.push(`unknown key "security.${key}"`);
      if (typeof s.username !== 'string' || s.username === '') problems.push('security.username must be a non-empty string');
      if (typeof s.password !== 'string' || s.password === '') problems.push('security.password must be a non-empty string');
      const passwordType = s.passwordType ?? 'PasswordText';
      if (passwordType !== 'PasswordText' && passwordType !== 'PasswordDigest') {
        problems.push('security.passwordType must be PasswordText or PasswordDigest');
      }
      if (typeof s.username === 'string' && typeof s.password === 'string') {
        security = Object.freeze({ username: s.username, password: s.password, passwordType: passwordType as PasswordType });
      }
    }
  }

  if (c.sourceLabel !== undefined && typeof c.sourceLabel !== 'string') problems.push('sourceLabel must be a string');

  let mutations: string[] = [];
  if (c.mutations !== undefined) {
    if (Array.isArray(c.mutations) && c.mutations.every((m) => typeof m === 'string' && m !== '')) mutations = [...(c.mutations as string[])];
    else problems.push('mutations must be a list of operation names');
  }

  if (problems.length > 0) {
    throw new TongxiangError('CONFIG_INVALID', { reason: `@tongxiang/soap-handler: ${problems.join('; ')}` });
  }
  return Object.freeze({
    wsdl: (c.wsdl as string).trim(),
    endpoint,
    soapVersion: version as SoapVersion,
    port: c.port as string | undefined,
    timeoutMs,
    security,
    sourceLabel: (c.sourceLabel as string | undefined) || undefined,
    mutations: Object.freeze(mutations),
  });
}

export function isWsdlUrl(wsdl: string): boolean {
  return isHttpUrl(wsdl);
}
