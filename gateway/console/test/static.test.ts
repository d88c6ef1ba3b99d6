/**
 * The console's build served under /console/: files with their cache rules and the strict CSP,
 * index.html for client-side routes, a 503 page without a build, nothing outside the build.
 */
import { request as httpRequest } from 'node:http';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleCsp, fileInside, registerConsole } from '../static.ts';

const STRICT_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

let root: string;
let dist: string;
let app: FastifyInstance;
let base: string;

async function serve(options: Parameters<typeof registerConsole>[1]): Promise<{ app: FastifyInstance; base: string }> {
  const server = Fastify({ logger: false, forceCloseConnections: true });
  registerConsole(server, options);
  await server.listen({ port: 0, host: '127.0.0.1' });
  const address = server.server.address();
  return { app: server, base: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}` };
}

/** A GET with the path sent exactly as written (fetch would resolve `..` itself). */
function rawGet(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const url = new URL(base);
    const req = httpRequest({ host: url.hostname, port: url.port, path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'tongxiang-console-'));
  dist = join(root, 'dist');
  await mkdir(join(dist, 'assets'), { recursive: true });
  await writeFile(join(dist, 'index.html'), '<!doctype html><title>通享控制台</title><div id="root"></div><script type="module" src="/console/assets/x-abc123.js"></script>');
  await writeFile(join(dist, 'assets', 'x-abc123.js'), 'console.log("tongxiang")');
  await writeFile(join(dist, 'assets', 'y-def456.css'), 'body{margin:0}');
  await writeFile(join(dist, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  await writeFile(join(dist, '.env'), 'SECRET=1');
  await writeFile(join(root, 'package.json'), '{"name":"outside-the-build"}');
  await writeFile(join(root, 'secret'), 'outside the build');
  await symlink(join(root, 'package.json'), join(dist, 'assets', 'escape.json'));
  ({ app, base } = await serve({ distDir: dist }));
});
afterAll(async () => {
  await app?.close();
  await rm(root, { recursive: true, force: true });
});

function expectStrictHeaders(res: Response): void {
  expect(res.headers.get('content-security-policy')).toBe(STRICT_CSP);
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  expect(res.headers.get('referrer-policy')).toBe('no-referrer');
}

describe('console build', () => {
  it('serves index.html at /console/ with no-cache and the strict CSP', async () => {
    const res = await fetch(`${base}/console/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expectStrictHeaders(res);
    expect(await res.text()).toContain('通享控制台');
  });

  it('serves hashed assets as immutable for a year, with their types', async () => {
    const js = await fetch(`${base}/console/assets/x-abc123.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expectStrictHeaders(js);
    expect(await js.text()).toBe('console.log("tongxiang")');
    const css = await fetch(`${base}/console/assets/y-def456.css`);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    const icon = await fetch(`${base}/console/favicon.svg`);
    expect(icon.headers.get('content-type')).toBe('image/svg+xml');
    expect(icon.headers.get('cache-control')).toBe('no-cache');
  });

  it('answers a revalidation with 304', async () => {
    const first = await fetch(`${base}/console/`);
    const etag = first.headers.get('etag')!;
    await first.text();
    const again = await fetch(`${base}/console/`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
  });

  it('answers client-side routes with index.html, and a missing file with 404', async () => {
    for (const path of ['/console/owner/queue', '/console/callback?code=abc&state=xyz', '/console/audit/log/']) {
      const res = await fetch(`${base}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expectStrictHeaders(res);
      expect(await res.text()).toContain('通享控制台');
    }
    const missing = await fetch(`${base}/console/assets/gone-000000.js`);
    expect(missing.status).toBe(404);
    expectStrictHeaders(missing);
  });

  it('redirects /console to /console/', async () => {
    const res = await fetch(`${base}/console`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/console/');
  });

  it('never serves a file outside the build, hidden files or a link out of it', async () => {
    for (const path of [
      '/console/../package.json',
      '/console/..%2fpackage.json',
      '/console/%2e%2e/package.json',
      '/console/%2e%2e%2fpackage.json',
      '/console/assets/..%2f..%2fpackage.json',
      '/console/%2e%2e/secret',
      '/console/..%5c..%5cpackage.json',
      '/console/.env',
      '/console/assets/escape.json',
      '/console/%00index.html',
    ]) {
      const res = await rawGet(path);
      expect(res.body, path).not.toContain('outside-the-build');
      expect(res.body, path).not.toContain('outside the build');
      expect(res.body, path).not.toContain('SECRET');
      expect(res.status, path).toBe(404);
    }
  });

  it('keeps paths inside the build, whatever they spell', () => {
    expect(fileInside('/b', 'assets/x.js')).toBe('/b/assets/x.js');
    expect(fileInside('/b', '../x')).toBeNull();
    expect(fileInside('/b', 'a/../../x')).toBeNull();
    expect(fileInside('/b', 'a\\..\\..\\x')).toBeNull();
    expect(fileInside('/b', '.git/config')).toBeNull();
    expect(fileInside('/b', 'x\0.js')).toBeNull();
  });
});

describe('console without a build', () => {
  it('answers 503 with a bilingual page saying how to build it, and keeps running', async () => {
    const empty = await serve({ distDir: join(root, 'not-built') });
    try {
      for (const path of ['/console/', '/console/owner/queue']) {
        const res = await fetch(`${empty.base}${path}`);
        expect(res.status, path).toBe(503);
        expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
        expect(res.headers.get('content-security-policy')).toBe(STRICT_CSP);
        const html = await res.text();
        expect(html).toContain('控制台尚未构建：运行 <code>npm run console:build</code>');
        expect(html).toContain('The console is not built yet: run <code>npm run console:build</code>');
      }
      expect((await fetch(`${empty.base}/console/config.json`)).status).toBe(200);
    } finally {
      await empty.app.close();
    }
  });
});

describe('content security policy', () => {
  it('allows nothing from another host, except the OIDC issuer for connections', () => {
    expect(consoleCsp()).toBe(STRICT_CSP);
    const withIssuer = consoleCsp('https://sso.ah.gov.cn/realms/zwfw');
    expect(withIssuer).toContain("connect-src 'self' https://sso.ah.gov.cn;");
    expect(withIssuer.replace(" https://sso.ah.gov.cn", '')).toBe(STRICT_CSP);
  });

  it('tells the console to sign in at the issuer and adds its origin to connect-src', async () => {
    const oidc = { issuer: 'https://sso.ah.gov.cn/realms/zwfw', clientId: 'tongxiang-console', scope: 'openid profile' };
    const hub = await serve({ distDir: dist, oidc });
    try {
      const res = await fetch(`${hub.base}/console/config.json`);
      expect(await res.json()).toEqual({ graphqlPath: '/graphql', demoSignIn: null, oidc, examples: [] });
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('content-security-policy')).toContain("connect-src 'self' https://sso.ah.gov.cn;");
      const page = await fetch(`${hub.base}/console/`);
      expect(page.headers.get('content-security-policy')).toContain("connect-src 'self' https://sso.ah.gov.cn;");
      await page.text();
    } finally {
      await hub.app.close();
    }
  });
});
