/**
 * A fault-injecting HTTP proxy for tests: sits in front of a real upstream on loopback and, on
 * command, forwards faithfully, answers late, never answers, resets the connection, or answers
 * garbage. Lets the tests make the real SOAP and REST servers down, slow or malformed. It also
 * counts what reached it: every request in `seen`, and how many were in flight at once.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type FaultMode =
  | { kind: 'pass' }
  | { kind: 'delay'; ms: number }
  | { kind: 'hang' }
  | { kind: 'reset' }
  | { kind: 'garbage'; status?: number; contentType: string; body: string }
  /** The next requests meet `first` in order (one each), every later one `then`. */
  | { kind: 'series'; first: readonly FaultMode[]; then: FaultMode };

export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The request body as UTF-8 text (bodies here are small: SOAP envelopes, JSON). */
  readonly body: string;
}

export interface FaultProxy {
  /** Base URL of the proxy (http://127.0.0.1:port). */
  readonly url: string;
  /** Maps a URL of the upstream to the same path through the proxy. */
  through(upstreamUrl: string): string;
  setMode(mode: FaultMode): void;
  /** Requests seen so far, with their headers (tests check what reaches an upstream). */
  readonly seen: ReadonlyArray<SeenRequest>;
  /** Requests being handled now (received, not yet answered or dropped). */
  readonly inFlight: number;
  /** The most requests in flight at once since start or the last resetPeak(). */
  readonly peakInFlight: number;
  resetPeak(): void;
  close(): Promise<void>;
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  let mode: FaultMode = { kind: 'pass' };
  const seen: SeenRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const forward = (req: IncomingMessage, body: Buffer, res: ServerResponse) => {
    const out = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    out.on('error', () => res.destroy());
    out.end(body);
  };

  let inFlight = 0;
  let peakInFlight = 0;
  const server: Server = createServer(async (req, res) => {
    inFlight++;
    peakInFlight = Math.max(peakInFlight, inFlight);
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      inFlight--;
    };
    res.on('close', finish); // answered, or the connection dropped
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    seen.push({ method: req.method ?? 'GET', path: req.url ?? '/', headers: { ...req.headers }, body: body.toString('utf8') });
    let current = mode;
    if (current.kind === 'series') {
      const [next, ...rest] = current.first;
      mode = rest.length > 0 ? { kind: 'series', first: rest, then: current.then } : current.then;
      current = next ?? current.then;
    }
    switch (current.kind) {
      case 'pass':
        return forward(req, body, res);
      case 'delay': {
        const t = setTimeout(() => {
          timers.delete(t);
          forward(req, body, res);
        }, current.ms);
        timers.add(t);
        return;
      }
      case 'hang':
        return; // never answers; the socket is destroyed on close()
      case 'reset':
        req.socket.destroy();
        return;
      case 'garbage':
        res.writeHead(current.status ?? 200, { 'content-type': current.contentType });
        res.end(current.body);
        return;
      case 'series': // nested series: treated as pass
        return forward(req, body, res);
    }
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    through(upstreamUrl: string) {
      const u = new URL(upstreamUrl);
      return `${url}${u.pathname}${u.search}`;
    },
    setMode(next) {
      mode = next;
    },
    seen,
    get inFlight() {
      return inFlight;
    },
    get peakInFlight() {
      return peakInFlight;
    },
    resetPeak() {
      peakInFlight = inFlight;
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
