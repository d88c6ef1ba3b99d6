/**
 * `GET /metrics` — the hub's registry in Prometheus' text format. Open by default; with a token
 * configured (TONGXIANG_METRICS_TOKEN) only `Authorization: Bearer <token>` is answered, the
 * token compared in constant time (SHA-256 of both sides, then timingSafeEqual); otherwise 401.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { TongxiangError } from '../../core/index.ts';

export const METRICS_PATH = '/metrics';

const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** Whether `authorization` is `Bearer <token>`; the comparison takes the same time whatever was sent. */
export function bearerMatches(authorization: string | undefined, expected: Buffer): boolean {
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization ?? '');
  const same = timingSafeEqual(sha256(match?.[1] ?? ''), expected);
  return match !== null && same;
}

export function registerMetricsRoute(app: FastifyInstance, options: { registry: Registry; token: string | null; onError?: (error: unknown) => void }): void {
  const expected = options.token === null ? null : sha256(options.token);
  app.get(METRICS_PATH, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    if (expected !== null && !bearerMatches(request.headers.authorization, expected)) {
      const reason = request.headers.authorization ? 'bad metrics token' : 'missing';
      reply.code(401).header('www-authenticate', 'Bearer realm="tongxiang-metrics"');
      return { error: new TongxiangError('UNAUTHENTICATED', { reason }).toExtensions() };
    }
    try {
      const text = await options.registry.metrics();
      reply.header('content-type', options.registry.contentType);
      return text;
    } catch (error) {
      options.onError?.(error);
      reply.code(500);
      return { error: new TongxiangError('INTERNAL', { requestId: String(request.id) }).toExtensions() };
    }
  });
}
