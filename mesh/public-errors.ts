/**
 * What a caller may see of an error. Catalogue errors keep their code and structured fields;
 * errors coming out of Mesh's REST transport (DOWNSTREAM_SERVICE_ERROR, carrying the upstream
 * URL and body) are translated to UPSTREAM_*; GraphQL's own request errors (parse, validation,
 * variables) pass with their code; anything else becomes INTERNAL with the request id — the
 * original goes to the log, never to the caller.
 */
import type { GraphQLFormattedError } from 'graphql';
import { ERRORS, TongxiangError, type ErrorCode } from '../core/index.ts';

const REQUEST_ERROR_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'BAD_REQUEST',
]);

/** Field names a catalogue error may carry in extensions. */
const SAFE_FIELDS = new Set([
  'code', 'messageZh', 'messageEn', 'source', 'sourceLabel', 'reason', 'coordinate', 'coordinates', 'owner', 'regionCode', 'file', 'requestId', 'contractId', 'from', 'action', 'denials', 'reasonZh', 'reasonEn',
  // limits: which limit, its scope and quota, when to retry, rows left out; operation limits: which measure, actual, max
  'limit', 'scope', 'quota', 'retryAfterS', 'cut', 'measure', 'actual', 'max',
]);

function isCatalogueCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERRORS, code);
}

function fromCatalogue(formatted: GraphQLFormattedError, error: TongxiangError): GraphQLFormattedError {
  return { message: error.message, locations: formatted.locations, path: formatted.path, extensions: error.toExtensions() };
}

export interface PublicErrorResult {
  readonly error: GraphQLFormattedError;
  /** True when the original was unexpected and should be logged by the caller. */
  readonly unexpected: boolean;
}

export function toPublicError(formatted: GraphQLFormattedError, requestId: string): PublicErrorResult {
  const ext = (formatted.extensions ?? {}) as Record<string, unknown>;
  const code = ext.code;

  if (isCatalogueCode(code)) {
    const extensions: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(ext)) if (SAFE_FIELDS.has(k)) extensions[k] = v;
    return { error: { message: formatted.message, locations: formatted.locations, path: formatted.path, extensions }, unexpected: false };
  }

  if (code === 'DOWNSTREAM_SERVICE_ERROR') {
    const source = String(ext.serviceName ?? ext.subgraph ?? 'unknown');
    const status = Number((ext.response as { status?: number } | undefined)?.status ?? 0);
    const translated: ErrorCode = status === 401 || status === 403 ? 'UPSTREAM_AUTH_FAILED' : status >= 500 || status === 0 ? 'UPSTREAM_UNAVAILABLE' : 'UPSTREAM_INVALID';
    return { error: fromCatalogue(formatted, new TongxiangError(translated, { source, reason: status ? `HTTP ${status}` : 'no response' })), unexpected: false };
  }

  if (typeof code === 'string' && REQUEST_ERROR_CODES.has(code)) {
    return { error: { message: formatted.message, locations: formatted.locations, path: formatted.path, extensions: { code } }, unexpected: false };
  }

  return { error: fromCatalogue(formatted, new TongxiangError('INTERNAL', { requestId })), unexpected: true };
}
