/**
 * The web console's HTTP side (控制台): the single-page app Vite builds into `console/dist`,
 * served under `/console/`, and the two routes it needs besides the graph:
 *
 *   GET  /console                → 302 /console/
 *   GET  /console/               → index.html (no-cache)
 *   GET  /console/assets/<file>  → hashed build files (immutable for a year)
 *   GET  /console/<route>        → index.html for any path without an extension that is no file
 *                                   (client-side routes: /console/owner/queue, /console/callback)
 *   GET  /console/config.json    → how to sign in (sign-in.ts)
 *   POST /console/demo-token     → a demo token (demo hubs only; sign-in.ts)
 *
 * Every response here carries a strict Content Security Policy — nothing from any other host,
 * except the OIDC issuer the console talks to — `nosniff` and `no-referrer`. Files are served
 * only from inside the build folder: no `..`, no hidden names, no symbolic link out of it. Without
 * a build, the console's pages answer 503 with a page saying how to build it; the hub runs on.
 */
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { extname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isTongxiangError, TongxiangError } from '../../core/index.ts';
import type { ConsoleOidc, DemoSignIn } from './sign-in.ts';

/** The repository's console build. */
export const DEFAULT_CONSOLE_DIST = fileURLToPath(new URL('../../console/dist', import.meta.url));
export const CONSOLE_PATH = '/console/';
const DEMO_BODY_LIMIT = 1024;

export interface ConsoleRoutesOptions {
  /** The build to serve (index.html, assets/); default the repository's console/dist. */
  readonly distDir?: string | null | undefined;
  /** Where the console sends GraphQL (default /graphql). */
  readonly graphqlPath?: string;
  /** Sign-in at an OIDC issuer; its origin is added to the CSP's connect-src. */
  readonly oidc?: ConsoleOidc | null;
  /** The demo sign-in (demo hubs only). */
  readonly demoSignIn?: DemoSignIn | null;
  /** The hub's example queries (GraphiQL preloads them as tabs). */
  readonly examples?: readonly { readonly title: string; readonly query: string; readonly variables: Readonly<Record<string, unknown>> }[];
  /** Told of failures on the hub's side (never of a caller's bad input). */
  readonly onError?: (error: unknown) => void;
}

/** The console's Content Security Policy: itself only, plus the OIDC issuer's origin for discovery and the token endpoint. */
export function consoleCsp(oidcIssuer?: string | null): string {
  let connect = "'self'";
  if (oidcIssuer) {
    const origin = new URL(oidcIssuer).origin;
    if (origin !== 'null') connect += ` ${origin}`;
  }
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "worker-src 'self' blob:",
    `connect-src ${connect}`,
    "frame-ancestors 'none'",
    "base-uri 'self'",
    "form-action 'self'",
  ].join('; ');
}

const MIME: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.otf': 'font/otf',
  '.wasm': 'application/wasm',
  '.webmanifest': 'application/manifest+json',
};

const NOT_BUILT_PAGE = `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>通享控制台尚未构建 / Tongxiang console not built</title>
<style>body{font-family:"Microsoft YaHei","PingFang SC","Noto Sans CJK SC",system-ui,sans-serif;margin:40px auto;max-width:640px;color:#1f2d3d;line-height:1.6}code{background:#eef1f5;padding:2px 6px;border-radius:3px}</style>
</head><body>
<h1>控制台尚未构建 / The console is not built yet</h1>
<p>控制台尚未构建：运行 <code>npm run console:build</code></p>
<p>The console is not built yet: run <code>npm run console:build</code></p>
<p><a href="/graphql">GraphQL 查询页 / GraphQL query page</a></p>
</body></html>
`;

/** Where `rel` (a path below the build, `/`-separated) lies, or null when it would leave the build or names something hidden. */
export function fileInside(root: string, rel: string): string | null {
  if (rel.includes('\0')) return null;
  const segments = rel.split(/[\\/]+/).filter((s) => s !== '');
  if (segments.some((s) => s === '.' || s === '..' || s.startsWith('.'))) return null;
  return join(root, ...segments);
}

interface Found {
  readonly path: string;
  readonly size: number;
  readonly mtimeMs: number;
}

/** The file at `path` if it is a regular file whose real location is inside `root`; null otherwise. */
async function regularFileInside(root: string, path: string): Promise<Found | null> {
  try {
    const [realRoot, realPath] = await Promise.all([realpath(root), realpath(path)]);
    if (realPath !== realRoot && !realPath.startsWith(realRoot + sep)) return null;
    const info = await stat(realPath);
    return info.isFile() ? { path: realPath, size: info.size, mtimeMs: info.mtimeMs } : null;
  } catch {
    return null;
  }
}

function sendFile(request: FastifyRequest, reply: FastifyReply, file: Found, cacheControl: string): FastifyReply {
  const etag = `W/"${file.size.toString(16)}-${Math.floor(file.mtimeMs).toString(16)}"`;
  reply.header('cache-control', cacheControl).header('etag', etag);
  reply.type(MIME[extname(file.path).toLowerCase()] ?? 'application/octet-stream');
  if (request.headers['if-none-match'] === etag) return reply.code(304).send();
  reply.header('content-length', file.size);
  return reply.send(createReadStream(file.path));
}

function errorBody(error: TongxiangError): { error: Record<string, unknown> } {
  return { error: error.toExtensions() };
}

/** Fastify's own refusals of a request body, as the catalogue's BAD_USER_INPUT (with Fastify's 4xx status). */
function bodyRefusal(error: { code?: string; statusCode?: number }): { status: number; error: TongxiangError } | null {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, error: new TongxiangError('BAD_USER_INPUT', { reason: `请求体超过 ${DEMO_BODY_LIMIT} 字节 / the request body is larger than ${DEMO_BODY_LIMIT} bytes` }) };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, error: new TongxiangError('BAD_USER_INPUT', { reason: '请求体应为 JSON（content-type: application/json）/ the body must be JSON (content-type: application/json)' }) };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { status: 400, error: new TongxiangError('BAD_USER_INPUT', { reason: '请求体不是有效的 JSON / the body is not valid JSON' }) };
    default:
      return typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500 && error.code?.startsWith('FST_ERR_CTP')
        ? { status: error.statusCode, error: new TongxiangError('BAD_USER_INPUT', { reason: error.code }) }
        : null;
  }
}

/** Registers the console's routes on `app` (in a scope of their own: the headers and error handling stay here). */
export function registerConsole(app: FastifyInstance, options: ConsoleRoutesOptions = {}): void {
  const distDir = options.distDir ?? DEFAULT_CONSOLE_DIST;
  const csp = consoleCsp(options.oidc?.issuer);
  const config = Object.freeze({
    graphqlPath: options.graphqlPath ?? '/graphql',
    demoSignIn: options.demoSignIn ? { departments: options.demoSignIn.departments, roles: options.demoSignIn.roles } : null,
    oidc: options.oidc ? { issuer: options.oidc.issuer, clientId: options.oidc.clientId, scope: options.oidc.scope } : null,
    examples: (options.examples ?? []).map((e) => ({ title: e.title, query: e.query, variables: e.variables })),
  });

  void app.register(async (scope) => {
    scope.addHook('onSend', async (_request, reply, payload) => {
      reply.header('content-security-policy', csp);
      reply.header('x-content-type-options', 'nosniff');
      reply.header('referrer-policy', 'no-referrer');
      reply.header('x-frame-options', 'DENY');
      return payload;
    });
    scope.setErrorHandler(async (error, request, reply) => {
      if (isTongxiangError(error)) return reply.code(error.status).send(errorBody(error));
      const refused = bodyRefusal(error as { code?: string; statusCode?: number });
      if (refused) return reply.code(refused.status).send(errorBody(refused.error));
      options.onError?.(error);
      return reply.code(500).send(errorBody(new TongxiangError('INTERNAL', { requestId: String(request.id) })));
    });

    const index = async (request: FastifyRequest, reply: FastifyReply) => {
      const file = await regularFileInside(distDir, join(distDir, 'index.html'));
      if (!file) return reply.code(503).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(NOT_BUILT_PAGE);
      return sendFile(request, reply, file, 'no-cache');
    };

    scope.get('/console', async (_request, reply) => reply.redirect(CONSOLE_PATH));
    scope.get(CONSOLE_PATH, index);
    scope.get('/console/config.json', async (_request, reply) => {
      reply.header('cache-control', 'no-store');
      return config;
    });
    scope.post('/console/demo-token', { bodyLimit: DEMO_BODY_LIMIT }, async (request, reply) => {
      const demo = options.demoSignIn;
      if (!demo) {
        throw new TongxiangError('DEMO_SIGN_IN_UNAVAILABLE', {
          reason: '仅当枢纽自行签发令牌并以演示数据源启动（npm start）时开放 / only on a hub that is its own local issuer and runs the demo sources (npm start)',
        });
      }
      const body = request.body;
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        throw new TongxiangError('BAD_USER_INPUT', { reason: '请求体应为 {"department","role"} / the body must be {"department","role"}' });
      }
      const issued = await demo.issue(body as { department: unknown; role: unknown });
      reply.header('cache-control', 'no-store');
      return issued;
    });
    scope.get<{ Params: { '*': string } }>('/console/*', async (request, reply) => {
      const rel = request.params['*'] ?? '';
      const path = fileInside(distDir, rel);
      const file = path ? await regularFileInside(distDir, path) : null;
      if (file) {
        const hashed = rel.startsWith('assets/');
        return sendFile(request, reply, file, hashed ? 'public, max-age=31536000, immutable' : 'no-cache');
      }
      // A client-side route (no extension): the app itself; a missing file: 404.
      if (path && extname(rel) === '') return index(request, reply);
      return reply.code(404).header('cache-control', 'no-store').type('text/plain; charset=utf-8').send('未找到 / not found\n');
    });
  });
}
