/**
 * The console's OIDC sign-in, end to end: a real OpenID Provider (panva's oidc-provider, see
 * oidc-issuer.ts) on 127.0.0.1, a hub that verifies its tokens (TONGXIANG_OIDC_ISSUER, with
 * TONGXIANG_CONSOLE_OIDC_CLIENT_ID set: no demo sign-in), and Debian's Chromium. A county
 * developer clicks 使用统一身份认证登录, signs in and consents at the issuer, comes back to
 * /console/callback, where the console trades the code (PKCE S256) for an access token — a JWT
 * with the hub's audience and the `dept` / `roles` claims — and uses it as its bearer token: the
 * header names the department and the developer catalogue loads through /graphql.
 *
 * Adversarial: a callback whose `state` is not the one the console sent shows an error and signs
 * nobody in (no code is exchanged); a token claiming the issuer but signed with another key is
 * refused by the hub (401, `bad signature` / `unknown key`). The pages reach nothing but the hub
 * and the issuer.
 */
import { calculateJwkThumbprint, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumAvailable, openBrowser, startConsoleHub, type ConsoleBrowser, type ConsoleHub, ensureConsoleBuilt } from './browser.ts';
import { startOidcIssuer, type TestIssuer } from './oidc-issuer.ts';

const runnable = chromiumAvailable();
if (!runnable) {
  if (process.env.CI) throw new Error('Debian chromium (/usr/bin/chromium) is required in CI for the console tests');
  console.warn('\n!!! /usr/bin/chromium is missing: the console OIDC sign-in tests are SKIPPED (apt-get install chromium) !!!\n');
}

const AUDIENCE = 'tongxiang';
const CLIENT_ID = 'tongxiang-console';
const ACCOUNT = { login: 'ye.kaifa', dept: '341504.mzj', roles: ['developer'] } as const;
const OIDC_BUTTON = '使用统一身份认证登录';
const TOKEN_KEY = 'tongxiang.console.token';

interface ConsoleConfigJson {
  demoSignIn: unknown;
  oidc: { issuer: string; clientId: string; scope: string } | null;
}

/** What the hub answers for a GraphQL request with this bearer token. */
async function graphql(hub: ConsoleHub, token: string): Promise<{ status: number; body: { data?: unknown; errors?: { extensions?: Record<string, unknown> }[] } }> {
  const response = await fetch(hub.hub.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: '{ departments { code } }' }),
  });
  return { status: response.status, body: (await response.json()) as never };
}

/** Clicks the OIDC button on the sign-in page and waits for the issuer's sign-in form. */
async function startSignIn(page: Page, issuer: TestIssuer): Promise<URL> {
  await page.goto('/console/');
  const button = page.getByRole('button', { name: OIDC_BUTTON });
  await button.waitFor();
  const authorize = page.waitForRequest((r) => r.url().startsWith(`${issuer.origin}/auth?`));
  await button.click();
  const request = await authorize;
  await page.locator('input[name="login"]').waitFor();
  expect(page.url().startsWith(`${issuer.origin}/interaction/`)).toBe(true);
  return new URL(request.url());
}

/** Signs in as `login` on the issuer's form and consents; resolves with the token endpoint's answer to the console. */
async function completeAtIssuer(page: Page, issuer: TestIssuer, login: string) {
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill('any password');
  await page.getByRole('button', { name: '登录 / Sign in' }).click();
  const allow = page.getByRole('button', { name: '同意 / Allow' });
  await allow.waitFor();
  const tokenResponse = page.waitForResponse((r) => r.url() === `${issuer.origin}/token` && r.request().method() === 'POST');
  await allow.click();
  return tokenResponse;
}

describe.runIf(runnable)('console OIDC sign-in (authorization code + PKCE) at a real issuer on loopback', { timeout: 180_000 }, () => {
  let issuer: TestIssuer;
  let hub: ConsoleHub;
  let browser: ConsoleBrowser;
  /** The access token the console got in the sign-in test. */
  let accessToken = '';

  beforeAll(async () => {
    // `npm test` builds the console first; a run of this file alone builds it when there is none.
    ensureConsoleBuilt();
    // The issuer first: the hub reads its discovery document and keys when it starts.
    issuer = await startOidcIssuer({ audience: AUDIENCE, account: ACCOUNT });
    hub = await startConsoleHub({ identity: { oidcIssuer: issuer.issuer, audience: AUDIENCE }, console: { oidcClientId: CLIENT_ID } });
    await issuer.registerConsole(hub.hub.url, CLIENT_ID);
    browser = await openBrowser(hub.hub.url, { allowOrigins: [issuer.origin] });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await hub?.close();
    await issuer?.close();
  });

  it('offers the issuer and no demo sign-in', async () => {
    expect(hub.hub.identity).toMatchObject({ mode: 'oidc', issuer: issuer.issuer, audience: AUDIENCE });
    const response = await fetch(`${hub.hub.url}/console/config.json`);
    const config = (await response.json()) as ConsoleConfigJson;
    expect(config.demoSignIn).toBeNull();
    expect(config.oidc).toEqual({ issuer: issuer.issuer, clientId: CLIENT_ID, scope: 'openid' });
    // The app may talk to the issuer (discovery, token endpoint), and to nothing else.
    const csp = (await fetch(`${hub.hub.url}/console/`)).headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(new RegExp(`connect-src 'self' ${issuer.origin.replace(/[.]/g, '\\.')};`));
    const demo = await fetch(`${hub.hub.url}/console/demo-token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ department: ACCOUNT.dept, role: 'developer' }) });
    expect(demo.status).toBe(404);
  });

  it('signs in at the issuer, comes back signed in, and the catalogue loads with the access token', async () => {
    const { page, context } = await browser.newPage();
    const graphqlCalls: { status: number; authorization: string | undefined }[] = [];
    page.on('response', (r) => {
      if (r.url() === hub.hub.graphqlUrl && r.request().method() === 'POST') graphqlCalls.push({ status: r.status(), authorization: r.request().headers().authorization });
    });

    await page.goto('/console/');
    await page.getByRole('button', { name: OIDC_BUTTON }).waitFor();
    expect(await page.locator('#demo-dept').count()).toBe(0);
    expect(await page.locator('form[aria-labelledby="demo-title"]').count()).toBe(0);
    expect(await page.locator('main').innerText()).toContain(issuer.issuer);

    // The authorization request: a public client, PKCE with S256, a fresh state, our callback.
    const authorize = await startSignIn(page, issuer);
    const params = authorize.searchParams;
    expect(params.get('client_id')).toBe(CLIENT_ID);
    expect(params.get('response_type')).toBe('code');
    expect(params.get('scope')).toBe('openid');
    expect(params.get('redirect_uri')).toBe(`${hub.hub.url}/console/callback`);
    expect(params.get('code_challenge_method')).toBe('S256');
    expect(params.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(params.get('state')?.length).toBeGreaterThanOrEqual(22);
    expect(params.has('client_secret')).toBe(false);

    // The issuer's pages: sign in, then consent; back on the hub the console exchanges the code.
    const exchange = await completeAtIssuer(page, issuer, ACCOUNT.login);
    expect(exchange.status()).toBe(200);
    const tokenForm = new URLSearchParams(exchange.request().postData() ?? '');
    expect(tokenForm.get('grant_type')).toBe('authorization_code');
    expect(tokenForm.get('code_verifier')).toMatch(/^[A-Za-z0-9_-]{43,128}$/);
    expect(tokenForm.has('client_secret')).toBe(false);
    await page.locator('nav.side').waitFor({ timeout: 30_000 });
    expect(new URL(page.url()).pathname.startsWith('/console/')).toBe(true);
    expect(page.url()).not.toContain('code=');
    expect(await page.getByTestId('who').innerText()).toContain(ACCOUNT.dept);
    await expect.poll(() => page.locator('[role="alert"]').count()).toBe(0);

    // The session's token is the issuer's access token: a JWT for the hub, with dept and roles.
    accessToken = (await page.evaluate((key) => sessionStorage.getItem(key), TOKEN_KEY)) ?? '';
    expect(decodeProtectedHeader(accessToken)).toMatchObject({ alg: 'ES256', typ: 'at+jwt', kid: issuer.publicJwk.kid });
    expect(decodeJwt(accessToken)).toMatchObject({ iss: issuer.issuer, aud: AUDIENCE, sub: ACCOUNT.login, client_id: CLIENT_ID, dept: ACCOUNT.dept, roles: ['developer'] });

    // The developer catalogue, loaded through /graphql with that token.
    await page.locator('nav.side a[href="/console/developer/catalogue"]').click();
    await page.waitForURL('**/console/developer/catalogue');
    await expect.poll(() => page.locator('main [role="status"]').count(), { timeout: 30_000 }).toBe(0);
    expect(await page.locator('main [role="alert"]').count()).toBe(0);
    expect(await page.locator('main table tbody tr').count()).toBeGreaterThan(0);
    expect(await page.locator('main').innerText()).toContain('Enterprise.address');
    expect(graphqlCalls.length).toBeGreaterThan(0);
    for (const call of graphqlCalls) expect(call).toEqual({ status: 200, authorization: `Bearer ${accessToken}` });

    // And the hub takes the same token from anyone holding it (it is the caller's, not the browser's).
    const direct = await graphql(hub, accessToken);
    expect(direct.status).toBe(200);
    expect(direct.body.errors).toBeUndefined();

    // The callback (with its one-time code) is not left in the history: back from the start
    // page goes to the issuer's (spent) consent page, not to the callback again. The issuer
    // answers that page with an error status, which Chromium logs: not the console's error.
    await page.goBack();
    await page.waitForURL('**/console/');
    const logged = browser.pageErrors.length;
    await page.goBack();
    await page.waitForLoadState();
    expect(page.url()).not.toContain('/console/callback');
    expect(page.url().startsWith(`${issuer.origin}/interaction/`)).toBe(true);
    for (const line of browser.pageErrors.splice(logged)) expect(line).toMatch(/^console: Failed to load resource: the server responded with a status of 400\b/);
    await context.close();
  });

  it('refuses a callback whose state is not the one it sent: an error, nobody signed in, no code exchanged', async () => {
    const { page, context } = await browser.newPage();
    const tokenRequests: string[] = [];
    page.on('request', (r) => {
      if (r.url() === `${issuer.origin}/token`) tokenRequests.push(r.url());
    });
    const authorize = await startSignIn(page, issuer);
    expect(authorize.searchParams.get('state')).not.toBe('forged');

    await page.goto(`/console/callback?code=x&state=forged&iss=${encodeURIComponent(issuer.issuer)}`);
    const alert = page.locator('[role="alert"]');
    await alert.waitFor();
    expect(await alert.innerText()).toContain('state');
    expect(await page.locator('nav.side').count()).toBe(0);
    expect(await page.evaluate((key) => sessionStorage.getItem(key), TOKEN_KEY)).toBeNull();
    expect(tokenRequests).toEqual([]);

    // The pending sign-in is spent: the same forged callback again, and the start page, sign nobody in.
    await page.goto('/console/');
    await page.getByRole('button', { name: OIDC_BUTTON }).waitFor();
    expect(await page.locator('nav.side').count()).toBe(0);
    expect(await page.evaluate((key) => sessionStorage.getItem(key), TOKEN_KEY)).toBeNull();
    await context.close();
  });

  it('tells an account whose access token names no department that it cannot sign in, and signs nobody in', async () => {
    const { page, context } = await browser.newPage();
    await startSignIn(page, issuer);
    const exchange = await completeAtIssuer(page, issuer, 'no-department');
    expect(exchange.status()).toBe(200);
    const alert = page.locator('[role="alert"]');
    await alert.waitFor();
    expect(await alert.innerText()).toContain('dept');
    expect(await page.locator('nav.side').count()).toBe(0);
    expect(await page.evaluate((key) => sessionStorage.getItem(key), TOKEN_KEY)).toBeNull();
    await page.getByRole('button', { name: '返回登录' }).click();
    await page.getByRole('button', { name: OIDC_BUTTON }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/console/');
    await context.close();
  });

  it('refuses a token that claims the issuer but is signed with another key (401)', async () => {
    expect(accessToken).not.toBe('');
    const claims = decodeJwt(accessToken);
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const forge = async (kid: string) =>
      new SignJWT({ ...claims }).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid }).sign(privateKey);

    // Under the issuer's key id: the signature does not verify.
    const sameKid = await graphql(hub, await forge(issuer.publicJwk.kid!));
    expect(sameKid.status).toBe(401);
    expect(sameKid.body.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'bad signature' });

    // Under its own key id: the issuer publishes no such key.
    const ownKid = await graphql(hub, await forge(await calculateJwkThumbprint(await exportJWK(publicKey))));
    expect(ownKid.status).toBe(401);
    expect(ownKid.body.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'unknown key' });

    // The genuine token still works.
    expect((await graphql(hub, accessToken)).status).toBe(200);
  });

  it('the pages reached nothing but the hub and the issuer, and raised no errors', () => {
    expect(browser.offLoopback).toEqual([]);
    expect(browser.pageErrors).toEqual([]);
  });
});
