/**
 * Configuration: a YAML file (optional) overridden by the environment, validated once and frozen.
 * Only gateway/ reads process.env; everything else receives these values as arguments.
 *
 * Environment: PORT (4000), HOST (127.0.0.1), TONGXIANG_DATA_DIR (./data), TONGXIANG_CONFIG (a YAML
 * file with the same settings), TONGXIANG_UPSTREAM_TIMEOUT_MS (5000), TONGXIANG_SHUTDOWN_GRACE_MS
 * (10000), TONGXIANG_CONTRACT_SWEEP_MS (60000), the identity settings (TONGXIANG_JWKS_FILE, TONGXIANG_OIDC_ISSUER,
 * TONGXIANG_TOKEN_ISSUER, TONGXIANG_TOKEN_AUDIENCE (tongxiang), TONGXIANG_TOKEN_CLOCK_SKEW_MS
 * (30000), TONGXIANG_TOKEN_MAX_BYTES (8192), TONGXIANG_TOKEN_CACHE_SIZE (10000); see
 * docs/identity.md), the limits (REDIS_URL, TONGXIANG_LIMIT_*; see docs/limits.md), the web console
 * (TONGXIANG_CONSOLE_OIDC_CLIENT_ID, TONGXIANG_CONSOLE_OIDC_SCOPE (openid), TONGXIANG_CONSOLE_DIR; see
 * docs/console.md), metrics and traces (TONGXIANG_METRICS (on), TONGXIANG_METRICS_TOKEN,
 * TONGXIANG_OTEL_ENDPOINT, TONGXIANG_OTEL_SERVICE_NAME (tongxiang); see docs/operations.md), and every other TONGXIANG_* variable, which .meshrc.yml may use as ${NAME}
 * or ${NAME:default} (upstream addresses and credentials).
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { TongxiangError } from '../core/index.ts';
import { readIdentitySettings, type IdentityInput, type IdentitySettings } from './identity/index.ts';
import { readLimitSettings, type LimitFileSettings, type LimitOverrides, type LimitSettings } from './limits/settings.ts';
import { readResilienceSettings, type ResilienceOverrides, type ResilienceSettings } from './resilience-settings.ts';
import { readMetricsSettings, readOtelSettings, type MetricsSettings, type OtelSettings } from './metrics/settings.ts';

export interface HubConfig {
  readonly port: number;
  readonly host: string;
  /** Absolute; everything the hub writes lives below it. */
  readonly dataDir: string;
  /** Folder holding .meshrc.yml and the files it names. */
  readonly meshDir: string;
  readonly upstreamTimeoutMs: number;
  readonly shutdownGraceMs: number;
  /** How often contracts past their validUntil are marked expired (their grants already end at validUntil). */
  readonly contractSweepMs: number;
  /** Start the demo upstreams (SOAP registry, REST bureau, drop folders) in-process. */
  readonly demo: boolean;
  /** How callers are authenticated: the local issuer, a JWKS file or an OIDC issuer. */
  readonly identity: IdentitySettings;
  /** `null-field` (default): a denied field is null with FORBIDDEN_FIELD; `reject-operation`: 403 for the whole operation. */
  readonly enforcementMode: 'null-field' | 'reject-operation';
  /** The audit trail: where records go, how durable before a response, how they are chained and signed. */
  readonly audit: AuditSettings;
  /** PostgreSQL for contracts (DATABASE_URL); null: PGlite in the data directory. Holds a password: never log it. */
  readonly databaseUrl: string | null;
  /** Rate limits, quotas and operation limits (REDIS_URL for limits shared by every replica). */
  readonly limits: LimitSettings;
  /** The file-drop exchange: watching, uploads, webhooks, change events to Kafka. */
  readonly exchange: ExchangeSettings;
  /** The web console at /console/: where its build lies, and the OIDC client it signs in with. */
  readonly console: ConsoleSettings;
  /** Prometheus metrics at /metrics: on by default, behind a bearer token when one is set. */
  readonly metrics: MetricsSettings;
  /** OpenTelemetry traces over OTLP/HTTP: off unless an endpoint is set. */
  readonly otel: OtelSettings;
  /** Retries, circuit breaker and bulkhead per upstream source (TONGXIANG_UPSTREAM_RETRIES, TONGXIANG_CIRCUIT_*, …; docs/resilience.md). */
  readonly resilience: ResilienceSettings;
  /** Values for ${NAME} placeholders in .meshrc.yml. Holds secrets: never log it. */
  readonly variables: Readonly<Record<string, string>>;
}

export interface AuditSettings {
  /** `strict` (default): no response before its record is durable; `async`: bounded queue, 503 when full. */
  readonly mode: 'strict' | 'async';
  readonly hash: 'sha256' | 'sm3';
  /** Records not yet durable the writer holds at most (async queue; strict backlog while the store fails). */
  readonly queueLimit: number;
  /** Sign a checkpoint after this many records or this many milliseconds, whichever first. */
  readonly checkpointEvery: number;
  readonly checkpointIntervalMs: number;
  /** This gateway instance's name in the records (its own hash chain); default: made once, kept in the data directory. */
  readonly instance: string | null;
  /** Kafka bootstrap servers (KAFKA_BROKERS); null: no shipping. */
  readonly kafkaBrokers: string | null;
  readonly kafkaTopic: string;
}

export interface ExchangeSettings {
  /** Watch the drop folders (TONGXIANG_DROP_WATCH, default true); off: files are taken at start and on upload. */
  readonly watch: boolean;
  /** Poll instead of inotify (TONGXIANG_DROP_POLLING; SMB / NFS shares). */
  readonly usePolling: boolean;
  /** Largest upload, bytes (TONGXIANG_DROP_MAX_BYTES, default 64 MiB). */
  readonly maxUploadBytes: number;
  /** Hosts, addresses or CIDRs webhooks may go to (TONGXIANG_WEBHOOK_ALLOW, comma-separated); default loopback only. */
  readonly webhookAllow: readonly string[] | null;
  /** Kafka topic for change events when KAFKA_BROKERS is set (TONGXIANG_EXCHANGE_TOPIC). */
  readonly kafkaTopic: string;
}

export interface ConsoleSettings {
  /** The console's build (index.html, assets/); null: the repository's console/dist (TONGXIANG_CONSOLE_DIR). */
  readonly distDir: string | null;
  /**
   * The console's public OIDC client at the issuer (TONGXIANG_CONSOLE_OIDC_CLIENT_ID): with
   * TONGXIANG_OIDC_ISSUER set, the console signs users in there (authorization code + PKCE).
   */
  readonly oidcClientId: string | null;
  /** Scopes the console asks for (TONGXIANG_CONSOLE_OIDC_SCOPE, default `openid`). */
  readonly oidcScope: string;
}

export interface ConfigInput {
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly file?: string;
  readonly overrides?: Partial<Omit<HubConfig, 'variables' | 'identity' | 'audit' | 'limits' | 'exchange' | 'console' | 'resilience' | 'metrics' | 'otel'>> & {
    variables?: Record<string, string>;
    identity?: IdentityInput;
    audit?: Partial<AuditSettings>;
    limits?: LimitOverrides;
    resilience?: ResilienceOverrides;
    exchange?: Partial<ExchangeSettings>;
    console?: Partial<ConsoleSettings>;
    metrics?: Partial<MetricsSettings>;
    otel?: Partial<OtelSettings>;
  };
  readonly cwd?: string;
}

export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

interface FileSettings {
  enforcementMode?: string;
  port?: number;
  host?: string;
  dataDir?: string;
  upstreamTimeoutMs?: number;
  shutdownGraceMs?: number;
  contractSweepMs?: number;
  audit?: Partial<Record<keyof AuditSettings, unknown>>;
  limits?: LimitFileSettings;
  resilience?: unknown;
  exchange?: Partial<Record<keyof ExchangeSettings, unknown>>;
  console?: Partial<Record<keyof ConsoleSettings, unknown>>;
  metrics?: Partial<Record<keyof MetricsSettings, unknown>>;
  otel?: Partial<Record<keyof OtelSettings, unknown>>;
  demo?: boolean;
  identity?: IdentityInput;
  variables?: Record<string, string>;
}

/**
 * Parses YAML that may hold secrets. The parser's own messages quote the offending line, which
 * may be a password: report only where and what kind of error.
 */
export function parseSecretYaml(text: string, path: string): unknown {
  try {
    return parseYaml(text, { prettyErrors: false });
  } catch (error) {
    const { code, pos } = error as { code?: string; pos?: [number, number] };
    const where = pos ? ` at line ${text.slice(0, pos[0]).split('\n').length}` : '';
    throw new TongxiangError('CONFIG_INVALID', { reason: `${path} is not valid YAML${where} (${code ?? 'syntax error'})` });
  }
}

function readFileSettings(path: string): FileSettings {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new TongxiangError('CONFIG_INVALID', { reason: `cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})` });
  }
  const parsed = parseSecretYaml(text, path);
  if (parsed == null) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new TongxiangError('CONFIG_INVALID', { reason: `${path} must be a YAML mapping` });
  }
  return parsed as FileSettings;
}

function integer(name: string, raw: unknown, min: number, max: number, problems: string[]): number {
  const value = typeof raw === 'number' ? raw : Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    problems.push(`${name} must be an integer between ${min} and ${max} (got ${JSON.stringify(raw)})`);
    return min;
  }
  return value;
}

export function loadConfig(input: ConfigInput = {}): HubConfig {
  const env = input.env ?? {};
  const cwd = input.cwd ?? process.cwd();
  const filePath = input.file ?? env.TONGXIANG_CONFIG;
  const file = filePath ? readFileSettings(resolve(cwd, filePath)) : {};
  const o = input.overrides ?? {};
  const problems: string[] = [];

  const port = integer('PORT', o.port ?? env.PORT ?? file.port ?? 4000, 0, 65535, problems);
  const host = String(o.host ?? env.HOST ?? file.host ?? '127.0.0.1');
  const dataDir = resolve(cwd, String(o.dataDir ?? env.TONGXIANG_DATA_DIR ?? file.dataDir ?? './data'));
  const upstreamTimeoutMs = integer(
    'TONGXIANG_UPSTREAM_TIMEOUT_MS',
    o.upstreamTimeoutMs ?? env.TONGXIANG_UPSTREAM_TIMEOUT_MS ?? file.upstreamTimeoutMs ?? 5000,
    50,
    120_000,
    problems,
  );
  const shutdownGraceMs = integer(
    'TONGXIANG_SHUTDOWN_GRACE_MS',
    o.shutdownGraceMs ?? env.TONGXIANG_SHUTDOWN_GRACE_MS ?? file.shutdownGraceMs ?? 10_000,
    0,
    600_000,
    problems,
  );
  const contractSweepMs = integer(
    'TONGXIANG_CONTRACT_SWEEP_MS',
    o.contractSweepMs ?? env.TONGXIANG_CONTRACT_SWEEP_MS ?? file.contractSweepMs ?? 60_000,
    50,
    86_400_000,
    problems,
  );
  const demoRaw = o.demo ?? env.TONGXIANG_DEMO ?? file.demo ?? false;
  const demo = demoRaw === true || demoRaw === 'true' || demoRaw === '1';
  const meshDir = resolve(cwd, String(o.meshDir ?? env.TONGXIANG_MESH_DIR ?? PROJECT_ROOT));
  const fi: IdentityInput = file.identity ?? {};
  const oi: IdentityInput = o.identity ?? {};
  const identity = readIdentitySettings(
    {
      jwksFile: oi.jwksFile ?? env.TONGXIANG_JWKS_FILE ?? fi.jwksFile,
      oidcIssuer: oi.oidcIssuer ?? env.TONGXIANG_OIDC_ISSUER ?? fi.oidcIssuer,
      issuer: oi.issuer ?? env.TONGXIANG_TOKEN_ISSUER ?? fi.issuer,
      audience: oi.audience ?? env.TONGXIANG_TOKEN_AUDIENCE ?? fi.audience,
      clockSkewMs: oi.clockSkewMs ?? env.TONGXIANG_TOKEN_CLOCK_SKEW_MS ?? fi.clockSkewMs,
      maxTokenBytes: oi.maxTokenBytes ?? env.TONGXIANG_TOKEN_MAX_BYTES ?? fi.maxTokenBytes,
      cacheSize: oi.cacheSize ?? env.TONGXIANG_TOKEN_CACHE_SIZE ?? fi.cacheSize,
    },
    cwd,
    problems,
  );

  const variables: Record<string, string> = {};
  for (const [k, v] of Object.entries(file.variables ?? {})) variables[k] = String(v);
  for (const [k, v] of Object.entries(env)) if (k.startsWith('TONGXIANG_') && v !== undefined) variables[k] = v;
  Object.assign(variables, o.variables ?? {});
  variables.TONGXIANG_DATA_DIR = dataDir;
  variables.TONGXIANG_DROP_DIR = resolve(cwd, variables.TONGXIANG_DROP_DIR ?? join(dataDir, 'drop'));
  variables.TONGXIANG_UPSTREAM_TIMEOUT_MS = String(upstreamTimeoutMs);

  const modeRaw = String(o.enforcementMode ?? env.TONGXIANG_ENFORCEMENT_MODE ?? file.enforcementMode ?? 'null-field');
  if (modeRaw !== 'null-field' && modeRaw !== 'reject-operation') {
    problems.push(`TONGXIANG_ENFORCEMENT_MODE must be null-field or reject-operation (got ${JSON.stringify(modeRaw)})`);
  }
  const enforcementMode = modeRaw === 'reject-operation' ? 'reject-operation' : 'null-field';

  const fa = file.audit ?? {};
  const oa = o.audit ?? {};
  const auditMode = String(oa.mode ?? env.TONGXIANG_AUDIT_MODE ?? fa.mode ?? 'strict');
  if (auditMode !== 'strict' && auditMode !== 'async') problems.push(`TONGXIANG_AUDIT_MODE must be strict or async (got ${JSON.stringify(auditMode)})`);
  const auditHash = String(oa.hash ?? env.TONGXIANG_AUDIT_HASH ?? fa.hash ?? 'sha256');
  if (auditHash !== 'sha256' && auditHash !== 'sm3') problems.push(`TONGXIANG_AUDIT_HASH must be sha256 or sm3 (got ${JSON.stringify(auditHash)})`);
  const instanceRaw = oa.instance ?? env.TONGXIANG_INSTANCE ?? fa.instance ?? null;
  const instance = instanceRaw === null || instanceRaw === undefined || instanceRaw === '' ? null : String(instanceRaw);
  if (instance !== null && !/^[A-Za-z0-9._-]{1,64}$/.test(instance)) problems.push('TONGXIANG_INSTANCE must be 1–64 letters, digits, dots, dashes or underscores');
  const kafkaRaw = oa.kafkaBrokers ?? env.KAFKA_BROKERS ?? fa.kafkaBrokers ?? null;
  const audit: AuditSettings = Object.freeze({
    mode: auditMode === 'async' ? 'async' : 'strict',
    hash: auditHash === 'sm3' ? 'sm3' : 'sha256',
    queueLimit: integer('TONGXIANG_AUDIT_QUEUE_LIMIT', oa.queueLimit ?? env.TONGXIANG_AUDIT_QUEUE_LIMIT ?? fa.queueLimit ?? 10_000, 1, 10_000_000, problems),
    checkpointEvery: integer('TONGXIANG_AUDIT_CHECKPOINT_EVERY', oa.checkpointEvery ?? env.TONGXIANG_AUDIT_CHECKPOINT_EVERY ?? fa.checkpointEvery ?? 1000, 1, 10_000_000, problems),
    checkpointIntervalMs: integer(
      'TONGXIANG_AUDIT_CHECKPOINT_MS',
      oa.checkpointIntervalMs ?? env.TONGXIANG_AUDIT_CHECKPOINT_MS ?? fa.checkpointIntervalMs ?? 10_000,
      10,
      86_400_000,
      problems,
    ),
    instance,
    kafkaBrokers: kafkaRaw === null || kafkaRaw === undefined || kafkaRaw === '' ? null : String(kafkaRaw),
    kafkaTopic: String(oa.kafkaTopic ?? env.TONGXIANG_AUDIT_TOPIC ?? fa.kafkaTopic ?? 'tongxiang.audit'),
  });
  const limits = readLimitSettings(env, file.limits, o.limits, problems);
  const fx = file.exchange ?? {};
  const ox = o.exchange ?? {};
  const flag = (v: unknown, fallback: boolean): boolean => (v === undefined || v === null ? fallback : v === true || v === 'true' || v === '1');
  const allowRaw = ox.webhookAllow ?? env.TONGXIANG_WEBHOOK_ALLOW ?? fx.webhookAllow ?? null;
  const webhookAllow =
    allowRaw === null
      ? null
      : (Array.isArray(allowRaw) ? allowRaw.map(String) : String(allowRaw).split(',')).map((h) => h.trim()).filter((h) => h !== '');
  const exchange: ExchangeSettings = Object.freeze({
    watch: flag(ox.watch ?? env.TONGXIANG_DROP_WATCH ?? fx.watch, true),
    usePolling: flag(ox.usePolling ?? env.TONGXIANG_DROP_POLLING ?? fx.usePolling, false),
    maxUploadBytes: integer('TONGXIANG_DROP_MAX_BYTES', ox.maxUploadBytes ?? env.TONGXIANG_DROP_MAX_BYTES ?? fx.maxUploadBytes ?? 64 * 1024 * 1024, 1, 4 * 1024 ** 3, problems),
    webhookAllow: webhookAllow === null ? null : Object.freeze(webhookAllow),
    kafkaTopic: String(ox.kafkaTopic ?? env.TONGXIANG_EXCHANGE_TOPIC ?? fx.kafkaTopic ?? 'tongxiang.exchange'),
  });
  const resilience = readResilienceSettings(env, file.resilience, o.resilience, problems);
  const consoleSettings = readConsoleSettings(env, file.console ?? {}, o.console ?? {}, cwd, problems);
  const metrics = readMetricsSettings(env, file.metrics ?? {}, o.metrics ?? {}, problems);
  const otel = readOtelSettings(env, file.otel ?? {}, o.otel ?? {}, problems);
  if (problems.length > 0) throw new TongxiangError('CONFIG_INVALID', { reason: problems.join('; ') });
  return Object.freeze({
    port,
    host,
    dataDir,
    meshDir,
    upstreamTimeoutMs,
    shutdownGraceMs,
    contractSweepMs,
    demo,
    identity,
    enforcementMode,
    audit,
    databaseUrl: env.DATABASE_URL ? String(env.DATABASE_URL) : null,
    limits,
    resilience,
    exchange,
    console: consoleSettings,
    metrics,
    otel,
    variables: Object.freeze(variables),
  });
}

/** A scope list as OAuth 2.0 defines it (RFC 6749 §3.3): space-separated tokens of visible ASCII without `"` or `\`. */
const SCOPE = /^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$/;

function readConsoleSettings(
  env: Readonly<Record<string, string | undefined>>,
  file: Partial<Record<keyof ConsoleSettings, unknown>>,
  o: Partial<ConsoleSettings>,
  cwd: string,
  problems: string[],
): ConsoleSettings {
  const text = (v: unknown): string | null => (v === undefined || v === null || String(v).trim() === '' ? null : String(v).trim());
  const distDir = text(o.distDir ?? env.TONGXIANG_CONSOLE_DIR ?? file.distDir);
  const oidcClientId = text(o.oidcClientId ?? env.TONGXIANG_CONSOLE_OIDC_CLIENT_ID ?? file.oidcClientId);
  if (oidcClientId !== null && (oidcClientId.length > 256 || /[\u0000-\u001f\u007f]/.test(oidcClientId))) {
    problems.push('TONGXIANG_CONSOLE_OIDC_CLIENT_ID must be 1–256 characters without control characters');
  }
  const oidcScope = text(o.oidcScope ?? env.TONGXIANG_CONSOLE_OIDC_SCOPE ?? file.oidcScope) ?? 'openid';
  if (!SCOPE.test(oidcScope) || oidcScope.length > 1024) {
    problems.push(`TONGXIANG_CONSOLE_OIDC_SCOPE must be space-separated OAuth scopes (got ${JSON.stringify(oidcScope)})`);
  } else if (!oidcScope.split(' ').includes('openid')) {
    problems.push(`TONGXIANG_CONSOLE_OIDC_SCOPE must include openid (got ${JSON.stringify(oidcScope)})`);
  }
  return Object.freeze({ distDir: distDir === null ? null : resolve(cwd, distDir), oidcClientId, oidcScope });
}
