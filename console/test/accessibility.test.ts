/**
 * Accessibility, checked by axe-core (Deque's rules engine, bundled — nothing loaded from outside)
 * in Chromium on every page of every role at the office screen's 1366×768: labels, names,
 * contrast (WCAG 2 AA), landmarks, keyboard-reachable controls. GraphiQL, a third-party editor
 * embedded on one page, is left out of the scan.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumAvailable, demoSignIn, openBrowser, startConsoleHub, type ConsoleBrowser, type ConsoleHub, ensureConsoleBuilt } from './browser.ts';

const require = createRequire(import.meta.url);
// Evaluated through the DevTools protocol: the console's CSP (rightly) refuses injected script tags.
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const runnable = chromiumAvailable();
if (!runnable) {
  if (process.env.CI) throw new Error('Debian chromium (/usr/bin/chromium) is required in CI for the console tests');
  console.warn('\n!!! /usr/bin/chromium is missing: the console accessibility tests are SKIPPED (apt-get install chromium) !!!\n');
}

interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

describe.runIf(runnable)('console accessibility (axe-core, WCAG 2 A and AA)', { timeout: 240_000 }, () => {
  let hub: ConsoleHub;
  let browser: ConsoleBrowser;

  beforeAll(async () => {
    ensureConsoleBuilt();
    hub = await startConsoleHub();
    browser = await openBrowser(hub.hub.url);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await hub?.close();
  });

  it('the sign-in page has no violations', async () => {
    const { page, context } = await browser.newPage();
    await page.goto('/console/');
    await page.locator('#demo-dept').waitFor();
    await page.evaluate(AXE);
    const violations = (await page.evaluate(async () => {
      const axe = (window as unknown as { axe: { run(context: unknown, options: unknown): Promise<{ violations: unknown[] }> } }).axe;
      return (await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })).violations;
    })) as Violation[];
    expect(violations.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join('; ')}`)).toEqual([]);
    await context.close();
  });

  for (const [role, department] of [
    ['developer', '341504.mzj'],
    ['data_owner', '340000.scjgj'],
    ['auditor', '340000.sjzyj'],
    ['operator', '340000.sjzyj'],
  ] as const) {
    it(`${role}: every page has no violations`, async () => {
      const { page, context } = await browser.newPage();
      await demoSignIn(page, department, role);
      const links = await page.locator('nav.side a').evaluateAll((as) => as.map((a) => (a as HTMLAnchorElement).getAttribute('href')!));
      const problems: string[] = [];
      for (const href of links) {
        await page.locator(`nav.side a[href="${href}"]`).click();
        await page.waitForLoadState('networkidle');
        await expect.poll(() => page.locator('[role="status"]').count(), { timeout: 15_000 }).toBe(0);
        if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE);
        const violations = (await page.evaluate(async () => {
          const axe = (window as unknown as { axe: { run(context: unknown, options: unknown): Promise<{ violations: unknown[] }> } }).axe;
          return (await axe.run({ exclude: [['.graphiql-container']] }, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })).violations;
        })) as Violation[];
        for (const v of violations) problems.push(`${href}: ${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join('; ')}`);
      }
      expect(problems).toEqual([]);
      await context.close();
    });
  }
});
