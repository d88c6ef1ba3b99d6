/**
 * How this handler's failures reach the graph: every one becomes a GraphQLError whose extensions
 * are a catalogue TongxiangError naming the source. Reasons are short fixed phrases or SOAP fault
 * codes — never fault text, URLs, request bodies or credentials.
 */
import { GraphQLError } from 'graphql';
import { graphQLError, type ErrorCode } from '../../core/index.ts';

/** A classified upstream failure, before the source's name is attached. */
export class SoapSourceError extends Error {
  constructor(
    readonly code: Extract<ErrorCode, 'UPSTREAM_UNAVAILABLE' | 'UPSTREAM_INVALID' | 'UPSTREAM_AUTH_FAILED'>,
    readonly reason: string,
  ) {
    super(`${code}: ${reason}`);
    this.name = 'SoapSourceError';
  }
}

export function sourceErrorToGraphQL(error: unknown, source: string, sourceLabel: string): GraphQLError {
  if (error instanceof GraphQLError) return error;
  const classified = error instanceof SoapSourceError ? error : new SoapSourceError('UPSTREAM_INVALID', 'unexpected failure');
  return graphQLError(classified.code, { source, sourceLabel, reason: classified.reason });
}
