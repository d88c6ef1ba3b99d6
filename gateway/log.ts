/**
 * One-line JSON logs on stderr, written by pino: `{"level":"info","time":"<ISO 8601>",
 * "message":"…", …fields}`. Callers pass structured fields; never tokens, secrets or personal
 * data (ID numbers, names) — those are for the audit log, in keyed-hash form. As defence in depth
 * the fields below are censored (`[REDACTED]`) wherever a caller passes them anyway, at the top
 * level or one level down (`{ headers: { authorization } }`).
 */
import { pino, type DestinationStream } from 'pino';

export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Keys that could carry a secret or personal data: censored wherever they appear in a log line's fields. */
export const REDACTED_KEYS: readonly string[] = Object.freeze([
  'authorization',
  'Authorization',
  'cookie',
  'token',
  'accessToken',
  'refreshToken',
  'idToken',
  'password',
  'passwd',
  'secret',
  'clientSecret',
  'apiKey',
  'api_key',
  'privateKey',
  'databaseUrl',
  'idNumber',
  'legalRepresentativeIdNumber',
  'name',
  'personName',
  'legalRepresentativeName',
  'phone',
  'mobile',
  'address',
]);

export const REDACTED = '[REDACTED]';

const redactPaths = REDACTED_KEYS.flatMap((key) => [key, `*.${key}`]);

export function createLogger(write: (line: string) => void = (line) => process.stderr.write(line + '\n')): Logger {
  // The default goes to stderr synchronously (a crash loses no line); a given `write` gets each
  // line without its newline, as it always has.
  const destination: DestinationStream = { write: (chunk: string) => write(chunk.endsWith('\n') ? chunk.slice(0, -1) : chunk) };
  const log = pino(
    {
      base: null,
      messageKey: 'message',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: redactPaths, censor: REDACTED },
    },
    destination,
  );
  const emit = (level: 'info' | 'warn' | 'error') => (message: string, fields: Record<string, unknown> = {}) => log[level](fields, message);
  return { info: emit('info'), warn: emit('warn'), error: emit('error') };
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
