/**
 * Test upstreams on loopback: a recording pass-through in front of the real SOAP server, one that
 * accepts a request and never answers, one that drops the connection, and one that answers a fixed
 * body (HTML garbage, a wrong envelope). Plus a handler built the way Mesh builds it.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { DefaultLogger, LogLevel } from '@graphql-mesh/utils';
import type { MeshHandlerOptions } from '@graphql-mesh/types';
import type { GraphQLSchema } from 'graphql';
import { startFaultProxy, type SeenRequest } from '../../../sources/testing/fault-proxy.ts';
import SoapHandler, { type SoapHandlerConfig } from '../index.ts';

export const REPO_ROOT = new URL('../../../', import.meta.url).pathname;
export const WSDL_PATH = './sources/soap/samr-registry.wsdl';

export function createHandler(config: SoapHandlerConfig, name = 'MarketRegistry'): SoapHandler {
  const store = { proxy: () => ({ get: async () => undefined, set: async () => undefined, delete: async () => undefined, getWithSet: async (fn: () => unknown) => fn() }) };
  return new SoapHandler({
    name,
    config,
    baseDir: REPO_ROOT,
    cache: undefined,
    pubsub: undefined,
    store,
    logger: new DefaultLogger('test', LogLevel.warn),
    importFn: (m: string) => import(m),
  } as unknown as MeshHandlerOptions<SoapHandlerConfig>);
}

export async function schemaOf(config: SoapHandlerConfig, name?: string): Promise<GraphQLSchema> {
  return (await createHandler(config, name).getMeshSource({ fetchFn: fetch } as never)).schema;
}

export interface TestServer {
  readonly url: string;
  close(): Promise<void>;
}

async function serve(handler: (req: import('node:http').IncomingMessage, res: ServerResponse) => void): Promise<TestServer> {
  const sockets = new Set<Socket>();
  const server = createServer(handler);
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export type RecordedRequest = SeenRequest;

/** Forwards every request to `target` (same path) and records what arrived on the wire. */
export async function startRecordingProxy(target: string): Promise<TestServer & { requests: readonly RecordedRequest[] }> {
  const proxy = await startFaultProxy(target);
  return { url: proxy.url, close: () => proxy.close(), requests: proxy.seen };
}

/** Accepts connections and requests, and never answers. */
export function startHangingServer(): Promise<TestServer> {
  return serve(() => undefined);
}

/** Answers every request with the given status, content type and body. */
export function startFixedServer(status: number, contentType: string, body: string): Promise<TestServer> {
  return serve((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(status, { 'content-type': contentType });
      res.end(body);
    });
  });
}

/**
 * Reads each request to its end, then drops the connection without answering (RST). Unlike a
 * released port, nothing else on the machine can take this one while the test runs.
 */
export function startResettingServer(): Promise<TestServer> {
  return serve((req) => {
    req.resume();
    req.on('end', () => req.socket.resetAndDestroy());
  });
}
