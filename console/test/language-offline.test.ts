/**
 * The console in both languages, and offline: for every role, every page of the navigation is
 * opened in Chinese, switched to English with the header's button, and then must show no Chinese
 * outside data values (and no missing-message marker) — while no request leaves for anything but
 * the hub on loopback.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumAvailable, demoSignIn, openBrowser, startConsoleHub, untranslatedText, type ConsoleBrowser, type ConsoleHub, ensureConsoleBuilt } from './browser.ts';

const runnable = chromiumAvailable();
if (!runnable) {
  if (process.env.CI) throw new Error('Debian chromium (/usr/bin/chromium) is required in CI for the console tests');
  console.warn('\n!!! /usr/bin/chromium is missing: the console end-to-end tests are SKIPPED (apt-get install chromium) !!!\n');
}

interface DemoConfig {
  demoSignIn: { departments: { code: string; name: string }[]; roles: string[] } | null;
}

describe.runIf(runnable)('console language and offline use', { timeout: 240_000 }, () => {
  let hub: ConsoleHub;
  let browser: ConsoleBrowser;
  let config: DemoConfig;

  beforeAll(async () => {
    ensureConsoleBuilt();
    hub = await startConsoleHub();
    browser = await openBrowser(hub.hub.url);
    config = (await (await fetch(`${hub.hub.url}/console/config.json`)).json()) as DemoConfig;
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await hub?.close();
  });

  const departmentFor = (role: string): string => {
    const codes = config.demoSignIn!.departments.map((d) => d.code);
    if (role === 'developer' && codes.includes('341504.mzj')) return '341504.mzj';
    return codes[0]!;
  };

  for (const role of ['developer', 'data_owner', 'auditor', 'operator']) {
    it(`${role}: every page switches to English with nothing left in Chinese but data`, async () => {
      expect(config.demoSignIn?.roles).toContain(role);
      const { page, context } = await browser.newPage();
      await demoSignIn(page, departmentFor(role), role);
      const links = await page.locator('nav.side a').evaluateAll((as) => as.map((a) => (a as HTMLAnchorElement).getAttribute('href')!));
      expect(links.length).toBeGreaterThan(0);

      const problems: string[] = [];
      for (const href of links) {
        await page.locator(`nav.side a[href="${href}"]`).click();
        await page.waitForLoadState('networkidle');
        await expect.poll(() => page.locator('[role="status"]').count(), { timeout: 15_000 }).toBe(0);
        const chineseTitle = await page.locator('#page-title').textContent();
        await page.getByTestId('lang-switch').click();
        await expect.poll(() => page.evaluate(() => document.documentElement.lang)).toBe('en');
        await page.waitForLoadState('networkidle');
        await expect.poll(() => page.locator('[role="status"]').count(), { timeout: 15_000 }).toBe(0);
        const englishTitle = await page.locator('#page-title').textContent();
        if (englishTitle === chineseTitle) problems.push(`${href}: the title did not change (${englishTitle})`);
        for (const text of await untranslatedText(page)) problems.push(`${href}: ${text}`);
        const body = (await page.locator('body').innerText()) ?? '';
        if (body.includes('⟦')) problems.push(`${href}: a message key without text: ${body.slice(body.indexOf('⟦'), body.indexOf('⟦') + 60)}`);
        await page.getByTestId('lang-switch').click();
        await expect.poll(() => page.evaluate(() => document.documentElement.lang)).toBe('zh-CN');
      }
      expect(problems).toEqual([]);
      await context.close();
    });
  }

  it('no request left for anything but the hub, and the pages raised no errors', () => {
    expect(browser.offLoopback).toEqual([]);
    expect(browser.pageErrors).toEqual([]);
  });
});
