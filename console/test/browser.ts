/**
 * End-to-end support: a hub on its embedded defaults (demo sources, local issuer, demo sign-in)
 * in a temporary data directory, and Debian's Chromium driven by playwright-core — never a
 * downloaded browser. Every request the page makes is checked: one for any host other than the
 * hub's loopback address (and the origins a test allows besides, e.g. an OIDC issuer it runs on
 * loopback) is aborted and recorded (`offLoopback`), so a test can assert the console works with
 * no internet and never tries to reach it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { loadConfig, type ConfigInput } from '../../gateway/config.ts';
import { silentLogger } from '../../gateway/log.ts';
import { startHub, type Hub } from '../../gateway/server.ts';

export const CHROMIUM = '/usr/bin/chromium';
/** Where screenshots for the README go. */
export const SCREENSHOT_DIR = new URL('../../docs/console/', import.meta.url).pathname;

/** Builds the console once when there is no build yet (`npm test` builds it first when stale; a lock keeps parallel files from building at once). */
export function ensureConsoleBuilt(): void {
  if (existsSync(new URL('../dist/index.html', import.meta.url))) return;
  execFileSync('flock', ['/tmp/console-build.lock', 'node', 'scripts/console-build.mjs'], { stdio: 'inherit', cwd: new URL('../../', import.meta.url).pathname });
}

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM);
}

export interface ConsoleHub {
  readonly hub: Hub;
  readonly dataDir: string;
  close(): Promise<void>;
}

/**
 * `npm start` in a temporary directory: demo upstreams, PGlite, local issuer, port 0. `overrides`
 * changes how callers sign in (e.g. `identity: { oidcIssuer }` and `console: { oidcClientId }`
 * for a hub that verifies an OIDC issuer's tokens and has no demo sign-in).
 */
export async function startConsoleHub(overrides: Pick<NonNullable<ConfigInput['overrides']>, 'identity' | 'console'> = {}): Promise<ConsoleHub> {
  const dataDir = await mkdtemp(join(tmpdir(), 'tongxiang-console-'));
  let hub: Hub;
  try {
    hub = await startHub(loadConfig({ env: {}, overrides: { port: 0, dataDir, demo: true, shutdownGraceMs: 5000, ...overrides } }), { logger: silentLogger });
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  return {
    hub,
    dataDir,
    async close() {
      await hub.close();
      await rm(dataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    },
  };
}

export interface ConsoleBrowser {
  readonly browser: Browser;
  /** Requests the pages tried to make to anything but the hub (aborted). */
  readonly offLoopback: string[];
  /** Console errors and uncaught page errors, for the test to assert on. */
  readonly pageErrors: string[];
  /** A fresh context (own storage) and page at 1366×768, the office screen. */
  newPage(options?: { lang?: 'zh' | 'en' }): Promise<{ context: BrowserContext; page: Page }>;
  close(): Promise<void>;
}

export interface OpenBrowserOptions {
  /**
   * Origins the pages may reach besides the hub (e.g. `http://127.0.0.1:41234`, an OIDC issuer
   * the test runs on loopback); compared as whole origins (scheme, host and port). Loopback
   * origins only: anything else throws, so no test can let the console reach the internet.
   */
  readonly allowOrigins?: readonly string[];
}

export async function openBrowser(hubUrl: string, options: OpenBrowserOptions = {}): Promise<ConsoleBrowser> {
  const allowedOrigins = new Set(
    (options.allowOrigins ?? []).map((o) => {
      const url = new URL(o);
      if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) throw new Error(`openBrowser: ${o} is not a loopback origin`);
      return url.origin;
    }),
  );
  const userDataDir = await mkdtemp(join(tmpdir(), 'tongxiang-chromium-'));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
  const allowed = new URL(hubUrl).host;
  const offLoopback: string[] = [];
  const pageErrors: string[] = [];
  const contexts: BrowserContext[] = [];
  return {
    browser,
    offLoopback,
    pageErrors,
    async newPage(options = {}) {
      const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'zh-CN', baseURL: hubUrl });
      contexts.push(context);
      await context.route('**/*', (route) => {
        const url = new URL(route.request().url());
        if (url.protocol === 'data:' || url.protocol === 'blob:' || url.host === allowed || allowedOrigins.has(url.origin)) return route.continue();
        offLoopback.push(url.href);
        return route.abort('blockedbyclient');
      });
      if (options.lang === 'en') await context.addInitScript(() => localStorage.setItem('tongxiang.console.lang', 'en'));
      const page = await context.newPage();
      page.on('pageerror', (error) => pageErrors.push(`pageerror: ${error.message}`));
      page.on('console', (message) => {
        if (message.type() === 'error') pageErrors.push(`console: ${message.text()}`);
      });
      return { context, page };
    },
    async close() {
      await Promise.allSettled(contexts.map((c) => c.close()));
      await browser.close();
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Signs in on the demo form as `role` of `department` and waits for the navigation. */
export async function demoSignIn(page: Page, department: string, role: string): Promise<void> {
  await page.goto('/console/');
  await page.locator('#demo-dept').selectOption(department);
  await page.locator('#demo-role').selectOption(role);
  await page.locator('form[aria-labelledby="demo-title"] button[type="submit"]').click();
  await page.locator('nav.side').waitFor();
}

export async function screenshot(page: Page, name: string): Promise<void> {
  if (process.env.TONGXIANG_SCREENSHOTS !== '1') return;
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: false });
}

/** Visible text that contains Chinese characters outside data values (`data-i18n-exempt`). */
export async function untranslatedText(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const found: string[] = [];
    const cjk = /[\u3400-\u9fff\uf900-\ufaff\u{20000}-\u{2ffff}]/u;
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const text = node.textContent ?? '';
      if (!cjk.test(text)) continue;
      const el = node.parentElement;
      if (!el || el.closest('[data-i18n-exempt]') || el.closest('[lang="zh-CN"]') || el.closest('.graphiql-container')) continue;
      const style = getComputedStyle(el);
      if (style.display === 'none' || style.visibility === 'hidden' || el.getClientRects().length === 0) continue;
      found.push(text.trim());
    }
    for (const el of Array.from(document.querySelectorAll<HTMLElement>('[aria-label],[title],[placeholder]'))) {
      if (el.closest('[data-i18n-exempt]') || el.closest('[lang="zh-CN"]')) continue;
      for (const attr of ['aria-label', 'title', 'placeholder']) {
        const v = el.getAttribute(attr);
        if (v && cjk.test(v)) found.push(`${attr}=${v}`);
      }
    }
    return found;
  });
}
