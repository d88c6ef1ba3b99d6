/**
 * A catalogue error as a GraphQL error: the message in both languages, the code and structured
 * fields in `extensions`, the TongxiangError as `originalError`. Thrown without a path, so
 * graphql-js places it at the field that threw — each field gets its own error.
 */
import { GraphQLError } from 'graphql';
import { TongxiangError, type ErrorCode, type ErrorFields } from './errors.ts';

export function toGraphQLError(error: TongxiangError): GraphQLError {
  return new GraphQLError(error.message, { extensions: error.toExtensions(), originalError: error });
}

export function graphQLError(code: ErrorCode, fields: ErrorFields = {}, cause?: unknown): GraphQLError {
  return toGraphQLError(new TongxiangError(code, fields, cause === undefined ? undefined : { cause }));
}
