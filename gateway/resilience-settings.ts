/**
 * Resilience settings per upstream source (熔断、重试、隔离配置), read by gateway/config.ts from the
 * environment and the YAML file (`resilience:`), validated once. Defaults apply to every remote
 * source; `resilience.sources.<MeshSourceName>` (YAML only, it is a map) overrides them per source.
 * The policies themselves are mesh/resilience.ts; docs/resilience.md explains them.
 *
 *   TONGXIANG_UPSTREAM_RETRIES (2)               further attempts of a failed read
 *   TONGXIANG_UPSTREAM_RETRY_BASE_MS (50)        first back-off delay; exponential with jitter
 *   TONGXIANG_UPSTREAM_RETRY_MAX_MS (500)        longest back-off delay
 *   TONGXIANG_CIRCUIT_FAILURES (5)               consecutive failed calls that open the circuit
 *   TONGXIANG_CIRCUIT_FAILURE_RATIO (0.8)        or more than this share failed among the last …
 *   TONGXIANG_CIRCUIT_WINDOW (20)                … calls, once at least …
 *   TONGXIANG_CIRCUIT_MIN_CALLS (10)             … calls were made; ratio `off` disables it
 *   TONGXIANG_CIRCUIT_COOLDOWN_MS (10000)        open this long before a probe may go through
 *   TONGXIANG_UPSTREAM_MAX_CONCURRENT (32)       calls in flight to one source at most
 *   TONGXIANG_UPSTREAM_MAX_QUEUED (16)           calls waiting for a slot at most
 */
import { DEFAULT_RESILIENCE, type ResiliencePolicySettings } from '../mesh/index.ts';

export interface ResilienceSettings {
  /** For every remote source without its own entry. */
  readonly defaults: ResiliencePolicySettings;
  /** Per Mesh source name, complete (defaults filled in). */
  readonly sources: Readonly<Record<string, ResiliencePolicySettings>>;
}

export type ResilienceOverrides = Partial<ResiliencePolicySettings> & {
  readonly sources?: Readonly<Record<string, Partial<ResiliencePolicySettings>>>;
};

type Env = Readonly<Record<string, string | undefined>>;

const ENV: Record<keyof ResiliencePolicySettings, string> = {
  retries: 'TONGXIANG_UPSTREAM_RETRIES',
  retryBaseDelayMs: 'TONGXIANG_UPSTREAM_RETRY_BASE_MS',
  retryMaxDelayMs: 'TONGXIANG_UPSTREAM_RETRY_MAX_MS',
  breakerConsecutiveFailures: 'TONGXIANG_CIRCUIT_FAILURES',
  breakerFailureRatio: 'TONGXIANG_CIRCUIT_FAILURE_RATIO',
  breakerWindow: 'TONGXIANG_CIRCUIT_WINDOW',
  breakerMinimumCalls: 'TONGXIANG_CIRCUIT_MIN_CALLS',
  breakerCooldownMs: 'TONGXIANG_CIRCUIT_COOLDOWN_MS',
  maxConcurrent: 'TONGXIANG_UPSTREAM_MAX_CONCURRENT',
  maxQueued: 'TONGXIANG_UPSTREAM_MAX_QUEUED',
};

const RANGES: Record<Exclude<keyof ResiliencePolicySettings, 'breakerFailureRatio'>, [number, number]> = {
  retries: [0, 10],
  retryBaseDelayMs: [0, 60_000],
  retryMaxDelayMs: [0, 60_000],
  breakerConsecutiveFailures: [1, 10_000],
  breakerWindow: [1, 10_000],
  breakerMinimumCalls: [1, 10_000],
  breakerCooldownMs: [1, 3_600_000],
  maxConcurrent: [1, 100_000],
  maxQueued: [0, 100_000],
};

function readOne(
  where: (key: keyof ResiliencePolicySettings) => string,
  pick: (key: keyof ResiliencePolicySettings) => unknown,
  base: ResiliencePolicySettings,
  problems: string[],
): ResiliencePolicySettings {
  const out: Record<string, number | null> = {};
  for (const [key, [min, max]] of Object.entries(RANGES) as Array<[keyof typeof RANGES, [number, number]]>) {
    const raw = pick(key) ?? base[key];
    const value = typeof raw === 'number' ? raw : Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${where(key)} must be an integer between ${min} and ${max} (got ${JSON.stringify(raw)})`);
      out[key] = base[key];
    } else out[key] = value;
  }
  const ratioRaw = pick('breakerFailureRatio');
  let ratio = base.breakerFailureRatio;
  if (ratioRaw === null || ratioRaw === 'off' || ratioRaw === false) ratio = null;
  else if (ratioRaw !== undefined) {
    const value = typeof ratioRaw === 'number' ? ratioRaw : Number(ratioRaw);
    if (!(value > 0 && value < 1)) problems.push(`${where('breakerFailureRatio')} must be a number between 0 and 1 (exclusive) or off (got ${JSON.stringify(ratioRaw)})`);
    else ratio = value;
  }
  out.breakerFailureRatio = ratio;
  const settings = out as unknown as ResiliencePolicySettings;
  if (settings.retryMaxDelayMs < settings.retryBaseDelayMs) problems.push(`${where('retryMaxDelayMs')} must not be below ${where('retryBaseDelayMs')}`);
  if (settings.breakerMinimumCalls > settings.breakerWindow) problems.push(`${where('breakerMinimumCalls')} must not exceed ${where('breakerWindow')}`);
  return Object.freeze(settings);
}

/** Overrides (tests, code) over the environment over the YAML file over the built-in defaults. */
export function readResilienceSettings(env: Env, file: unknown, overrides: ResilienceOverrides | undefined, problems: string[]): ResilienceSettings {
  const f = file && typeof file === 'object' && !Array.isArray(file) ? (file as Record<string, unknown>) : {};
  if (file !== undefined && file !== null && f !== file) problems.push('resilience must be a YAML mapping');
  const o = overrides ?? {};
  const defaults = readOne(
    (key) => ENV[key],
    (key) => (key in o ? (o as Record<string, unknown>)[key] : env[ENV[key]] ?? f[key]),
    DEFAULT_RESILIENCE,
    problems,
  );
  const sources: Record<string, ResiliencePolicySettings> = {};
  const fileSources = f.sources && typeof f.sources === 'object' && !Array.isArray(f.sources) ? (f.sources as Record<string, unknown>) : {};
  if (f.sources !== undefined && fileSources !== f.sources) problems.push('resilience.sources must map Mesh source names to settings');
  const names = new Set([...Object.keys(fileSources), ...Object.keys(o.sources ?? {})]);
  for (const name of names) {
    const fs = fileSources[name];
    const fromFile = fs && typeof fs === 'object' && !Array.isArray(fs) ? (fs as Record<string, unknown>) : {};
    const fromCode = (o.sources?.[name] ?? {}) as Record<string, unknown>;
    sources[name] = readOne((key) => `resilience.sources.${name}.${key}`, (key) => (key in fromCode ? fromCode[key] : fromFile[key]), defaults, problems);
  }
  return Object.freeze({ defaults, sources: Object.freeze(sources) });
}
