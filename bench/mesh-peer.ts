/**
 * Target M — the peer a team would pick instead of Tongxiang: GraphQL Mesh's own server
 * (`mesh build`, then `mesh start`) on the same `.meshrc.yml`, with Mesh's rate-limit plugin
 * (`@graphql-mesh/plugin-rate-limit`) and GraphQL Yoga's JWT plugin (`@graphql-yoga/plugin-jwt`),
 * in one process (`serve.fork: false`: the hub is one process too).
 *
 * The peer's directory is made under bench/ (it must resolve this repo's node_modules: the custom
 * handlers, the plugins): `.meshrc.yml` is the hub's own, its ${NAME} placeholders filled the way
 * the hub fills them (gateway/mesh-loader.ts) with this run's upstreams, paths made absolute
 * (`additionalResolvers` relative: the built artifact imports it from `.mesh/`), plus `plugins`,
 * `additionalEnvelopPlugins` (the JWT plugin, verifying ES256 tokens against a key made for this
 * run) and `serve`. The directory is deleted when the target closes.
 *
 * The rate limit: every root field of Query, 1,000,000,000 per second per caller (the plugin keys
 * by the Authorization header), so it runs on every request but never refuses — as the hub's
 * limits do in the bench. The plugin keeps a list of timestamps per key and window (a sliding
 * log), so a one-second window keeps its lists short; a per-minute window would cost it more.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { stringify } from 'yaml';
import { loadConfig } from '../gateway/config.ts';
import { loadMeshConfig } from '../gateway/mesh-loader.ts';
import type { Target } from './targets.ts';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const MESH_BIN = join(ROOT, 'node_modules', '@graphql-mesh', 'cli', 'esm', 'bin.js');
const ISSUER = 'urn:tongxiang:bench:mesh-peer';
const AUDIENCE = 'mesh-peer';
const BUILD_TIMEOUT_MS = 240_000;
const START_TIMEOUT_MS = 120_000;

/** The JWT plugin module the peer loads (`additionalEnvelopPlugins`); the key is this run's. */
function jwtPluginModule(publicKeyPem: string): string {
  return `import { createInlineSigningKeyProvider, extractFromHeader, useJWT } from '@graphql-yoga/plugin-jwt';
export default [
  useJWT({
    signingKeyProviders: [createInlineSigningKeyProvider(${JSON.stringify(publicKeyPem)})],
    tokenLookupLocations: [extractFromHeader({ name: 'authorization', prefix: 'Bearer' })],
    tokenVerification: { issuer: ${JSON.stringify(ISSUER)}, audience: ${JSON.stringify(AUDIENCE)}, algorithms: ['ES256'] },
    reject: { missingToken: true, invalidToken: true },
  }),
];
`;
}

/** Strings starting with ./ made absolute against the repo root, everywhere in the config. */
function absolutePaths(value: unknown): unknown {
  if (typeof value === 'string') return value.startsWith('./') ? join(ROOT, value) : value;
  if (Array.isArray(value)) return value.map(absolutePaths);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, absolutePaths(v)]));
  return value;
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/** Runs the Mesh CLI in `dir` (baseDir = cwd for the built artifact), its output kept for errors. */
function meshCli(dir: string, command: 'build' | 'start'): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', MESH_BIN, command], {
    cwd: dir,
    env: { ...process.env, NODE_ENV: 'production', FORK: '0', DEBUG: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  const keep = (chunk: Buffer) => {
    text = (text + chunk.toString('utf8')).slice(-20_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return { child, output: () => text };
}

/** CPU time (user + system) of a process so far, from /proc (Linux); null elsewhere. */
async function processCpuUs(pid: number): Promise<{ userUs: number; systemUs: number } | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces, in parentheses): utime is the 14th, stime the 15th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticksPerSecond = 100; // USER_HZ, 100 on every Linux this runs on
    return { userUs: (Number(fields[11]) * 1e6) / ticksPerSecond, systemUs: (Number(fields[12]) * 1e6) / ticksPerSecond };
  } catch {
    return null;
  }
}

export interface PeerTarget extends Target {
  /** CPU of the peer's server process (a child of the target process), µs so far. */
  childCpuUs(): Promise<{ userUs: number; systemUs: number } | null>;
}

export async function startMeshPeer(variables: Record<string, string>): Promise<PeerTarget> {
  await mkdir(join(ROOT, 'bench'), { recursive: true });
  const dir = await mkdtemp(join(ROOT, 'bench', '.mesh-peer-'));
  let server: ChildProcess | undefined;
  const cleanup = async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((r) => server!.once('exit', r));
      server.kill('SIGTERM');
      const force = setTimeout(() => server!.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(force);
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const own: Record<string, string> = { ...variables, TONGXIANG_DATA_DIR: join(dir, 'data') };
    if (variables.TONGXIANG_DROP_DIR) {
      own.TONGXIANG_DROP_DIR = join(dir, 'drop');
      await cp(variables.TONGXIANG_DROP_DIR, own.TONGXIANG_DROP_DIR, { recursive: true });
    }
    const hubConfig = loadConfig({ env: {}, overrides: { port: 0, dataDir: own.TONGXIANG_DATA_DIR, variables: own } });
    const meshConfig = (await loadMeshConfig(await hubConfig)) as unknown as Record<string, unknown>;
    const port = await freePort();
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    await writeFile(join(dir, 'jwt-plugin.ts'), jwtPluginModule(await exportSPKI(publicKey)));
    const resolvers = (meshConfig.additionalResolvers as string[] | undefined) ?? [];
    const peerConfig = {
      ...(absolutePaths(meshConfig) as Record<string, unknown>),
      additionalResolvers: resolvers.map((p) => (typeof p === 'string' && p.startsWith('./') ? relative(dir, join(ROOT, p)) : p)),
      additionalEnvelopPlugins: './jwt-plugin.ts',
      plugins: [{ rateLimit: { config: [{ type: 'Query', field: '*', max: 1_000_000_000, ttl: 1000 }] } }],
      serve: { port, hostname: '127.0.0.1', fork: false, browser: false, playground: false },
    };
    await writeFile(join(dir, '.meshrc.yml'), stringify(peerConfig));

    const build = meshCli(dir, 'build');
    const built = await new Promise<number | null>((resolveExit) => {
      const timer = setTimeout(() => build.child.kill('SIGKILL'), BUILD_TIMEOUT_MS);
      build.child.once('exit', (code) => {
        clearTimeout(timer);
        resolveExit(code);
      });
    });
    if (built !== 0) throw new Error(`mesh build failed (exit ${built}):\n${build.output().slice(-3000)}`);

    const start = meshCli(dir, 'start');
    server = start.child;
    const token = await new SignJWT({ department: '341504.mzj' })
      .setProtectedHeader({ alg: 'ES256' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject('bench')
      .setIssuedAt()
      .setExpirationTime('1d')
      .sign(privateKey);
    const url = `http://127.0.0.1:${port}/graphql`;
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (server.exitCode !== null) throw new Error(`mesh start exited (${server.exitCode}):\n${start.output().slice(-3000)}`);
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ query: '{ __typename }' }),
        });
        await response.text();
        if (response.status === 200) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`mesh start did not answer within ${START_TIMEOUT_MS / 1000} s:\n${start.output().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    // The JWT plugin must be in force: without a token the peer refuses, or the comparison is void.
    const anonymous = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ __typename }' }) });
    await anonymous.text();
    if (anonymous.status === 200) throw new Error('mesh start answered without a token: the JWT plugin is not in force');
    const pid = server.pid!;
    return {
      id: 'M',
      name: 'GraphQL Mesh (mesh start) with its JWT and rate-limit plugins',
      urlFor: () => url,
      headers: { authorization: `Bearer ${token}` },
      childCpuUs: () => processCpuUs(pid),
      close: cleanup,
    };
  } catch (error) {
    await cleanup().catch(() => undefined);
    throw error;
  }
}
