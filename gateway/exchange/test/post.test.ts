/**
 * One webhook POST against real sockets on 127.0.0.1: what counts as delivered, and that a
 * redirect, a hanging receiver or a closed port each end as a failure in words, never with the
 * receiver's body.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postWebhook } from '../delivery.ts';
import { startReceiver, type Receiver } from './fixtures.ts';

const servers: Server[] = [];
const receivers: Receiver[] = [];
let target: Receiver;

beforeAll(async () => {
  target = await startReceiver(() => 200, '/internal-admin');
  receivers.push(target);
});

afterAll(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  await Promise.all(servers.map((s) => new Promise((resolve) => (s.closeAllConnections(), s.close(resolve)))));
});

async function server(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const s = createServer(handler);
  servers.push(s);
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const address = s.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hook`;
}

const body = Buffer.from('{"id":"dibao/341623.mzj/v1"}', 'utf8');

describe('one webhook POST', () => {
  it('sends the exact bytes with the headers given, and counts any 2xx as delivered', async () => {
    const r = await startReceiver((n) => [200, 202, 204][n] ?? 500);
    receivers.push(r);
    for (const status of [200, 202, 204]) {
      expect(await postWebhook(new URL(r.url), body, { 'Tongxiang-Signature': 'h..s' }, 1_000)).toEqual({ ok: true, status });
    }
    expect(r.requests.every((q) => q.body.equals(body) && q.headers['tongxiang-signature'] === 'h..s' && q.headers['content-length'] === String(body.length))).toBe(true);
  });

  it('does not follow a redirect: a 3xx is a failure, and the redirect target hears nothing', async () => {
    const url = await server((_req, res) => res.writeHead(307, { location: target.url }).end());
    expect(await postWebhook(new URL(url), body, {}, 1_000)).toEqual({ ok: false, error: 'HTTP 307 (redirects are not followed)' });
    expect(target.requests).toHaveLength(0);
  });

  it('reports a status without the body that came with it', async () => {
    const url = await server((_req, res) => res.writeHead(500).end('stack trace with SECRET-RESPONSE-BODY'));
    const result = await postWebhook(new URL(url), body, {}, 1_000);
    expect(result).toEqual({ ok: false, error: 'HTTP 500' });
  });

  it('gives up on a receiver that does not answer within the deadline', async () => {
    const url = await server(() => undefined);
    const started = Date.now();
    expect(await postWebhook(new URL(url), body, {}, 200)).toEqual({ ok: false, error: 'timeout' });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('names a refused connection by its code', async () => {
    const url = await server(() => undefined);
    const closed = servers.pop()!;
    await new Promise((resolve) => closed.close(resolve));
    expect(await postWebhook(new URL(url), body, {}, 1_000)).toEqual({ ok: false, error: 'ECONNREFUSED' });
  });

  it('delivers on a 2xx whose body never ends, without waiting for it', async () => {
    const url = await server((_req, res) => {
      res.writeHead(200);
      res.write('streaming…');
    });
    const started = Date.now();
    expect(await postWebhook(new URL(url), body, {}, 1_000)).toEqual({ ok: true, status: 200 });
    expect(Date.now() - started).toBeLessThan(900);
  });
});
