import { describe, expect, it } from 'vitest';
import { TongxiangError } from '../../core/index.ts';
import { toPublicError } from '../public-errors.ts';

describe('public errors', () => {
  it('translates a REST transport error to UPSTREAM_* and drops the upstream URL and body', () => {
    const { error, unexpected } = toPublicError(
      {
        message: 'Upstream HTTP Error: 503, Could not invoke operation GET /api/v1/persons/{idNumber}/insurance',
        path: ['person', 'insurance'],
        extensions: {
          code: 'DOWNSTREAM_SERVICE_ERROR',
          serviceName: 'SocialInsurance',
          request: { url: 'http://10.1.2.3/api/v1/persons/341504198001010011/insurance', method: 'GET' },
          response: { status: 503, body: { secret: 1 } },
        },
      },
      'req-1',
    );
    expect(unexpected).toBe(false);
    expect(error.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', source: 'SocialInsurance', reason: 'HTTP 503' });
    expect(error.path).toEqual(['person', 'insurance']);
    expect(JSON.stringify(error)).not.toMatch(/10\.1\.2\.3|341504198001010011|secret/);
  });

  it('maps 401 from an upstream to UPSTREAM_AUTH_FAILED', () => {
    const { error } = toPublicError(
      { message: 'x', extensions: { code: 'DOWNSTREAM_SERVICE_ERROR', serviceName: 'S', response: { status: 401 } } },
      'r',
    );
    expect(error.extensions?.code).toBe('UPSTREAM_AUTH_FAILED');
  });

  it.each([
    ['UPSTREAM_CIRCUIT_OPEN', { source: 'MarketRegistry', sourceLabel: '法人库', retryAfterS: 7 }],
    ['UPSTREAM_BUSY', { source: 'MarketRegistry', sourceLabel: '法人库', reason: 'max 32 calls, 16 queued' }],
  ] as const)('passes %s to callers with its source, label and fields', (code, fields) => {
    const failure = new TongxiangError(code, fields);
    const { error, unexpected } = toPublicError({ message: failure.message, path: ['enterprise'], extensions: { ...failure.toExtensions(), stacktrace: ['x'] } }, 'r');
    expect(unexpected).toBe(false);
    expect(error.extensions).toEqual(failure.toExtensions());
  });

  it('keeps catalogue errors but only their whitelisted fields', () => {
    const { error } = toPublicError(
      { message: 'm', extensions: { code: 'UPSTREAM_INVALID', source: 'S', reason: 'malformed JSON', originalError: { stack: 'at x' }, stacktrace: ['a'] } },
      'r',
    );
    expect(error.extensions).toEqual({ code: 'UPSTREAM_INVALID', source: 'S', reason: 'malformed JSON' });
  });

  it('hides an unexpected error behind INTERNAL with the request id', () => {
    const { error, unexpected } = toPublicError({ message: 'TypeError: cannot read x of undefined at /srv/hub/x.ts:3' }, 'req-42');
    expect(unexpected).toBe(true);
    expect(error.extensions).toMatchObject({ code: 'INTERNAL', requestId: 'req-42' });
    expect(error.message).not.toContain('/srv/hub');
  });

  it('passes GraphQL validation errors with their own code', () => {
    const { error } = toPublicError({ message: 'Cannot query field "x" on type "Query".', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }, 'r');
    expect(error).toMatchObject({ message: 'Cannot query field "x" on type "Query".', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });
  });
});

describe('upstream answers', () => {
  it('classifies every status the REST guard can see', async () => {
    const { classifyResponse } = await import('../upstream-guard.ts');
    expect(classifyResponse(200, 'application/json; charset=utf-8')).toBeNull();
    expect(classifyResponse(204, '')).toBeNull();
    expect(classifyResponse(200, 'text/html')).toMatchObject({ code: 'UPSTREAM_INVALID' });
    expect(classifyResponse(401, 'application/json')).toMatchObject({ code: 'UPSTREAM_AUTH_FAILED' });
    expect(classifyResponse(403, 'text/html')).toMatchObject({ code: 'UPSTREAM_AUTH_FAILED' });
    expect(classifyResponse(404, 'application/json')).toMatchObject({ code: 'UPSTREAM_INVALID', reason: 'HTTP 404' });
    expect(classifyResponse(429, 'application/json')).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', reason: 'HTTP 429' });
    expect(classifyResponse(408, 'application/json')).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
    expect(classifyResponse(500, 'application/json')).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', reason: 'HTTP 500' });
  });
});
