/**
 * A real OpenID Provider on loopback for the console's sign-in test: panva's oidc-provider (a
 * certified OP library, devDependency) on 127.0.0.1 with a random port, configured the way
 * docs/console.md asks an identity provider to be:
 *
 * - the console as a public client (`token_endpoint_auth_method: none`, authorization code,
 *   PKCE required — oidc-provider's default for public clients), its redirect URI
 *   `<hub>/console/callback`; it is registered once the hub's port is known
 *   (`registerConsole`), since the hub reads the issuer's discovery document when it starts;
 * - resource indicators with a default resource, so every access token is a JWT (ES256, the
 *   provider's own key) with `aud` = the hub's audience and the `dept` and `roles` claims of the
 *   signed-in account (`extraTokenClaims`);
 * - its own two small interaction pages (sign-in, consent) instead of the library's development
 *   pages, which load a web font from the internet: everything here stays on loopback.
 *
 * Any login name signs in; only `account` gets the department and roles claims.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import Provider, { errors } from 'oidc-provider';

export interface TestAccount {
  readonly login: string;
  readonly dept: string;
  readonly roles: readonly string[];
}

export interface TestIssuer {
  /** e.g. http://127.0.0.1:41234 — what TONGXIANG_OIDC_ISSUER is set to. */
  readonly issuer: string;
  readonly origin: string;
  /** The public signing key (its `kid` names it in every token). */
  readonly publicJwk: JWK;
  /** Registers the console's public client with `<hubUrl>/console/callback` as its redirect URI. */
  registerConsole(hubUrl: string, clientId: string): Promise<void>;
  /** Paths of the requests the issuer answered, in order (`POST /token`, `GET /interaction/…`). */
  readonly requests: string[];
  close(): Promise<void>;
}

/** The resource indicator of the hub's API: the default resource of every authorization. */
export const HUB_RESOURCE = 'urn:tongxiang:graphql';

function page(title: string, body: string): string {
  return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1>${body}</body></html>`;
}

function html(res: ServerResponse, status: number, content: string): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(content);
}

async function formBody(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 16_384) throw new Error('form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

export async function startOidcIssuer(options: { audience: string; account: TestAccount }): Promise<TestIssuer> {
  const { audience, account } = options;
  const server: Server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), alg: 'ES256', use: 'sig' };
  publicJwk.kid = await calculateJwkThumbprint(publicJwk);
  const privateJwk: JWK = { ...(await exportJWK(privateKey)), alg: 'ES256', use: 'sig', kid: publicJwk.kid };

  const provider = new Provider(origin, {
    jwks: { keys: [privateJwk] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    clientDefaults: { id_token_signed_response_alg: 'ES256' },
    features: {
      devInteractions: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => HUB_RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: unknown, indicator: string) => {
          if (indicator !== HUB_RESOURCE) throw new errors.InvalidTarget();
          return { scope: 'tongxiang', audience, accessTokenTTL: 600, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } };
        },
      },
    },
    extraTokenClaims: (_ctx: unknown, token: { accountId?: string }) => (token.accountId === account.login ? { dept: account.dept, roles: [...account.roles] } : undefined),
    findAccount: (_ctx: unknown, sub: string) => ({ accountId: sub, claims: () => ({ sub }) }),
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    // What oidc-provider does by default, said here: a public client's CORS origins are those of its redirect URIs.
    clientBasedCORS: (_ctx: unknown, requestOrigin: string, client: { redirectUris: string[] }) => client.redirectUris.some((uri) => new URL(uri).origin === requestOrigin),
    pkce: { required: () => true },
    ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600 },
  });
  const providerCallback = provider.callback();
  const requests: string[] = [];

  async function interaction(req: IncomingMessage, res: ServerResponse, uid: string, action: string | undefined): Promise<void> {
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== uid) return html(res, 400, page('Bad interaction', ''));
    if (req.method === 'GET' && action === undefined) {
      if (details.prompt.name === 'login') {
        return html(
          res,
          200,
          page(
            '统一身份认证 / Sign in',
            `<form method="post" action="/interaction/${uid}/login"><label>账号 / Login <input name="login" autocomplete="off" required></label>` +
              `<label>密码 / Password <input name="password" type="password" required></label><button type="submit">登录 / Sign in</button></form>`,
          ),
        );
      }
      if (details.prompt.name === 'consent') {
        return html(res, 200, page('授权 / Authorize', `<p>${String(details.params.client_id)}</p><form method="post" action="/interaction/${uid}/consent"><button type="submit">同意 / Allow</button></form>`));
      }
      return html(res, 501, page(`Prompt ${details.prompt.name} not implemented`, ''));
    }
    if (req.method === 'POST' && action === 'login' && details.prompt.name === 'login') {
      const form = await formBody(req);
      const login = form.get('login')?.trim();
      if (!login) return html(res, 400, page('Login required', ''));
      return provider.interactionFinished(req, res, { login: { accountId: login } }, { mergeWithLastSubmission: false });
    }
    if (req.method === 'POST' && action === 'consent' && details.prompt.name === 'consent') {
      await formBody(req);
      const { prompt, grantId, session, params } = details;
      const grant = (grantId ? await provider.Grant.find(grantId) : undefined) ?? new provider.Grant({ accountId: session!.accountId!, clientId: String(params.client_id) });
      const missing = prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
      for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
      return provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
    }
    return html(res, 405, page('Not allowed', ''));
  }

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', origin).pathname;
    requests.push(`${req.method} ${path}`);
    const match = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|consent))?$/.exec(path);
    if (!match) return providerCallback(req, res);
    interaction(req, res, match[1]!, match[2]).catch((error: unknown) => {
      if (res.headersSent) return void res.destroy();
      // oidc-provider's own errors (an interaction already finished or expired: SessionNotFound) carry their status.
      const { statusCode, error: code, error_description: description } = error as { statusCode?: unknown; error?: unknown; error_description?: unknown };
      if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) return html(res, statusCode, page(String(code), `<p>${String(description).replace(/[<&>]/g, '')}</p>`));
      html(res, 500, page('Interaction failed', `<pre>${String((error as Error).message).replace(/[<&>]/g, '')}</pre>`));
    });
  });

  return {
    issuer: origin,
    origin,
    publicJwk,
    requests,
    async registerConsole(hubUrl: string, clientId: string) {
      await provider.Client.adapter.upsert(clientId, {
        client_id: clientId,
        application_type: 'web',
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code'],
        response_types: ['code'],
        redirect_uris: [`${hubUrl}/console/callback`],
      });
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
