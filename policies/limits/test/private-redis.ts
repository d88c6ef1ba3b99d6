/**
 * A private `redis-server` on a free loopback port, for tests that take Redis away mid-test
 * (killed, stopped, restarted on the same port). No persistence: a restart starts empty.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export function startRedisServer(port: number): ChildProcess {
  return spawn('/usr/bin/redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
}

/** Kills `server` (SIGKILL) and waits for it to exit; nothing if it already has. */
export async function killRedisServer(server: ChildProcess | undefined): Promise<void> {
  if (server && server.exitCode === null && server.signalCode === null) {
    server.kill('SIGKILL');
    await once(server, 'exit');
  }
}
