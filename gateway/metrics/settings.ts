/**
 * Observability settings: Prometheus metrics at /metrics (on by default; TONGXIANG_METRICS=off
 * turns them off, TONGXIANG_METRICS_TOKEN or `metrics.token` makes them need
 * `Authorization: Bearer <token>`) and OpenTelemetry traces (off unless TONGXIANG_OTEL_ENDPOINT or
 * `otel.endpoint` names an OTLP/HTTP traces URL). Problems go to the caller's list (CONFIG_INVALID
 * once, with every problem); a token is never quoted in them.
 */

export interface MetricsSettings {
  /** Serve /metrics (TONGXIANG_METRICS, default true). */
  readonly enabled: boolean;
  /** When set, /metrics answers only `Authorization: Bearer <token>` (TONGXIANG_METRICS_TOKEN). A secret: never log it. */
  readonly token: string | null;
}

export interface OtelSettings {
  /** OTLP/HTTP traces URL, e.g. http://collector:4318/v1/traces (TONGXIANG_OTEL_ENDPOINT); null: no tracing. */
  readonly endpoint: string | null;
  /** `service.name` of the exported spans (TONGXIANG_OTEL_SERVICE_NAME, default `tongxiang`). */
  readonly serviceName: string;
}

type Env = Readonly<Record<string, string | undefined>>;

const text = (v: unknown): string | null => (v === undefined || v === null || String(v).trim() === '' ? null : String(v).trim());

/** Visible ASCII without spaces: what fits in a bearer header (RFC 6750 b64token and more). */
const TOKEN = /^[\x21-\x7e]{16,4096}$/;

export function readMetricsSettings(env: Env, file: Partial<Record<keyof MetricsSettings, unknown>>, o: Partial<MetricsSettings>, problems: string[]): MetricsSettings {
  const enabledRaw = o.enabled ?? env.TONGXIANG_METRICS ?? file.enabled ?? true;
  const enabledText = String(enabledRaw).toLowerCase();
  let enabled = true;
  if (['false', '0', 'off', 'no'].includes(enabledText)) enabled = false;
  else if (!['true', '1', 'on', 'yes'].includes(enabledText)) problems.push(`TONGXIANG_METRICS must be on or off (got ${JSON.stringify(enabledRaw)})`);
  const token = text(o.token ?? env.TONGXIANG_METRICS_TOKEN ?? file.token);
  // Never quote the value: it is a secret, and a wrong one is likely a real one mistyped.
  if (token !== null && !TOKEN.test(token)) problems.push('TONGXIANG_METRICS_TOKEN must be 16–4096 visible ASCII characters without spaces');
  return Object.freeze({ enabled, token });
}

export function readOtelSettings(env: Env, file: Partial<Record<keyof OtelSettings, unknown>>, o: Partial<OtelSettings>, problems: string[]): OtelSettings {
  const endpoint = text(o.endpoint ?? env.TONGXIANG_OTEL_ENDPOINT ?? file.endpoint);
  if (endpoint !== null) {
    let url: URL | null = null;
    try {
      url = new URL(endpoint);
    } catch {
      url = null;
    }
    // Credentials in the URL would travel with every export and show in errors: not accepted.
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.username !== '' || url.password !== '') {
      problems.push('TONGXIANG_OTEL_ENDPOINT must be an http:// or https:// URL without credentials (an OTLP/HTTP traces endpoint, e.g. http://collector:4318/v1/traces)');
    }
  }
  const serviceName = text(o.serviceName ?? env.TONGXIANG_OTEL_SERVICE_NAME ?? file.serviceName) ?? 'tongxiang';
  if (serviceName.length > 128 || /[\u0000-\u001f\u007f]/.test(serviceName)) problems.push('TONGXIANG_OTEL_SERVICE_NAME must be 1–128 characters without control characters');
  return Object.freeze({ endpoint, serviceName });
}
