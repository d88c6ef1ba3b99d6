/**
 * An authentication failure as Apollo Server answers it from the `context` function: a
 * GraphQLError (Apollo passes it on unwrapped) whose `extensions.http` makes the response
 * HTTP 401 with an RFC 6750 challenge; the extensions are the catalogue's (code, both messages,
 * reason) and nothing else — no stack, no jose message, no token.
 */
import { HeaderMap } from '@apollo/server';
import { GraphQLError } from 'graphql';
import type { TongxiangError } from '../../core/index.ts';

export function authenticationFailure(error: TongxiangError): GraphQLError {
  const reason = String(error.fields.reason ?? '');
  const challenge = reason === 'missing'
    ? 'Bearer realm="tongxiang"'
    : `Bearer realm="tongxiang", error="invalid_token", error_description="${reason.replace(/[^a-z ]/g, '')}"`;
  return new GraphQLError(error.message, {
    extensions: { ...error.toExtensions(), http: { status: error.status, headers: new HeaderMap([['www-authenticate', challenge]]) } },
  });
}
