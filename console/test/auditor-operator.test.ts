/**
 * The auditor's and the operator's console, end to end in Chromium against a hub on its embedded
 * defaults: a county developer's access through the public API is found by an auditor in the
 * access log and in the data subject's access report; the chain page says the log verifies; the
 * export the page downloads verifies offline with the project's verifier (and its CLI); an
 * operator sees every source healthy and the drop reports of both demo counties. No request
 * leaves for anything but the hub, and the pages raise no errors.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyExportFile } from '../../audit/export.ts';
import { issueLocalToken } from '../../gateway/identity/index.ts';
import { chromiumAvailable, demoSignIn, openBrowser, screenshot, startConsoleHub, type ConsoleBrowser, type ConsoleHub, ensureConsoleBuilt } from './browser.ts';

const runnable = chromiumAvailable();
if (!runnable) {
  if (process.env.CI) throw new Error('Debian chromium (/usr/bin/chromium) is required in CI for the console tests');
  console.warn('\n!!! /usr/bin/chromium is missing: the auditor and operator console tests are SKIPPED (apt-get install chromium) !!!\n');
}

const COUNTY = '341504.mzj';
const OTHER_COUNTY = '341623.mzj';
/** 李国 (叶集区): on the roster and legal representative of an enterprise. */
const SUBJECT = '341504198712193778';
const OPERATION = 'ConsoleE2EEligibilityCheck';
const CLI = new URL('../../gateway/bin/tongxiang.js', import.meta.url).pathname;

interface DemoConfig {
  demoSignIn: { departments: { code: string; name: string }[]; roles: string[] } | null;
}

async function openPage(page: Page, href: string): Promise<void> {
  await page.locator(`nav.side a[href="${href}"]`).click();
  await page.waitForURL(`**${href}`);
  await expect.poll(() => page.locator('[role="status"]').count(), { timeout: 20_000 }).toBe(0);
}

describe.runIf(runnable)('auditor and operator console', { timeout: 180_000 }, () => {
  let hub: ConsoleHub;
  let browser: ConsoleBrowser;
  let config: DemoConfig;
  let work: string;

  /** The platform's own department (数据资源管理局) when the demo offers it, else the first. */
  const platformDepartment = (): string => {
    const codes = config.demoSignIn!.departments.map((d) => d.code);
    return codes.find((c) => c.endsWith('.sjzyj')) ?? codes[0]!;
  };

  beforeAll(async () => {
    ensureConsoleBuilt();
    work = await mkdtemp(join(tmpdir(), 'tongxiang-console-audit-'));
    hub = await startConsoleHub();
    browser = await openBrowser(hub.hub.url);
    const response = await fetch(`${hub.hub.url}/console/config.json`);
    expect(response.status, 'the hub serves /console/config.json').toBe(200);
    config = (await response.json()) as DemoConfig;
    expect(config.demoSignIn?.roles).toEqual(expect.arrayContaining(['auditor', 'operator']));

    // A county developer's access through the public API, returning a data subject.
    const token = await issueLocalToken(hub.hub.config.identity, hub.dataDir, { subject: 'e2e-developer', department: COUNTY, roles: ['developer'], client: 'county-eligibility-check', ttlSeconds: 600 });
    const answer = await fetch(hub.hub.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({
        query: `query ${OPERATION}($id: String!) { person(idNumber: $id) { idNumber name allowances { month monthlyAmount } insurance { insuranceType status } } }`,
        variables: { id: SUBJECT },
        operationName: OPERATION,
      }),
    });
    const body = (await answer.json()) as { data?: { person?: { idNumber: string } | null } };
    expect(answer.status).toBe(200);
    expect(body.data?.person?.idNumber).toBe(SUBJECT);
  }, 150_000);

  afterAll(async () => {
    await browser?.close();
    await hub?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('an auditor finds the access in the access log and in the subject report, sees the chain verified, and exports a file that verifies offline', async () => {
    const { page, context } = await browser.newPage();
    await demoSignIn(page, platformDepartment(), 'auditor');

    // 访问日志: accesses, filtered by the consuming department.
    await openPage(page, '/console/auditor/log');
    await page.locator('#f-consumer').fill(COUNTY);
    await page.locator('#f-type').selectOption('access');
    await page.getByTestId('log-apply').click();
    const records = page.getByTestId('audit-record');
    const access = records.filter({ hasText: OPERATION });
    await expect.poll(() => access.count(), { timeout: 20_000 }).toBeGreaterThan(0);
    // The unfiltered first page (the auditor's own sign-in among it) may still be on screen for a
    // moment after the access appears: wait until the filtered page has replaced it, row by row.
    await expect
      .poll(async () => (await records.allInnerTexts()).filter((text) => !text.includes(COUNTY)), { timeout: 20_000 })
      .toEqual([]);
    await access.first().locator('button[aria-expanded]').click();
    await expect.poll(() => access.first().locator('button[aria-expanded]').getAttribute('aria-expanded')).toBe('true');
    expect(await access.first().getByTestId('record-hash').textContent()).toMatch(/^[0-9a-f]{64}$/);
    expect(await access.first().innerText()).toContain('CivilAffairsRosters');
    await screenshot(page, 'auditor-log');

    // 数据主体访问报告: who accessed data about 李国.
    await openPage(page, '/console/auditor/subject');
    await page.locator('#subject-number').fill(SUBJECT);
    await page.getByTestId('subject-submit').click();
    const report = page.getByTestId('subject-report');
    await report.waitFor();
    const reported = report.getByTestId('audit-record').filter({ hasText: OPERATION });
    await expect.poll(() => reported.count(), { timeout: 20_000 }).toBe(1);
    expect(await reported.innerText()).toContain(COUNTY);

    // A bad check digit: the hub's own validation error is shown.
    await page.locator('#subject-number').fill(`${SUBJECT.slice(0, 17)}0`);
    await page.getByTestId('subject-submit').click();
    await expect.poll(() => page.locator('form [role="alert"]').innerText(), { timeout: 20_000 }).toContain('INVALID_ID_NUMBER');

    // 审计链: verified.
    await openPage(page, '/console/auditor/chain');
    const verdict = page.getByTestId('verification');
    await verdict.waitFor();
    expect(await verdict.getAttribute('data-ok')).toBe('true');
    expect(await verdict.innerText()).toContain('已验证');
    await expect.poll(() => page.getByTestId('chain-status').innerText()).toMatch(/[0-9a-f]{64}/);
    await screenshot(page, 'auditor-chain');

    // The export: downloaded by the page, verified offline with the hub's published keys.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-submit').click()]);
    expect(download.suggestedFilename()).toMatch(/^tongxiang-audit-.*\.jsonl$/);
    const file = join(work, download.suggestedFilename());
    await download.saveAs(file);
    await expect.poll(() => page.getByTestId('export-done').innerText()).toContain(download.suggestedFilename());

    const jwks = (await (await fetch(`${hub.hub.url}/audit/jwks.json`)).json()) as { keys: [] };
    const keysFile = join(work, 'hub-keys.json');
    await writeFile(keysFile, JSON.stringify(jwks));
    const verified = await verifyExportFile(file, { jwks });
    expect(verified).toMatchObject({ ok: true, keysFrom: 'given' });
    const lines = (await readFile(file, 'utf8')).split('\n').filter((l) => l.trim() !== '');
    const exported = lines.map((l) => JSON.parse(l) as { kind: string; record?: { department?: string; operationName?: string } });
    expect(exported.some((e) => e.kind === 'record' && e.record?.department === COUNTY && e.record.operationName === OPERATION)).toBe(true);
    const cli = await promisify(execFile)(process.execPath, [CLI, 'audit', 'verify', '--file', file, '--keys', keysFile], { env: { ...process.env, NO_COLOR: '1' } });
    expect(cli.stdout).toContain('OK');

    await context.close();
  });

  it('an operator sees every source healthy, the drop reports of both demo counties and the sharing performance', async () => {
    const { page, context } = await browser.newPage();
    await demoSignIn(page, platformDepartment(), 'operator');

    // 数据源
    await openPage(page, '/console/operator/sources');
    const sources = page.getByTestId('source');
    await expect.poll(() => sources.count(), { timeout: 20_000 }).toBeGreaterThanOrEqual(3);
    const health = await sources.evaluateAll((rows) => rows.map((r) => `${r.getAttribute('data-source')}=${r.getAttribute('data-health')}`));
    expect(health.filter((h) => !h.endsWith('=ok'))).toEqual([]);
    expect(await page.getByTestId('source-dataset').count()).toBeGreaterThanOrEqual(2);
    await screenshot(page, 'operator-sources');

    // 投递报告: every department, then one.
    await openPage(page, '/console/operator/drops');
    const drops = page.getByTestId('drop-report');
    await expect.poll(() => drops.count(), { timeout: 20_000 }).toBeGreaterThan(0);
    const departments = await drops.evaluateAll((rows) => [...new Set(rows.map((r) => r.getAttribute('data-department')))]);
    expect(departments).toEqual(expect.arrayContaining([COUNTY, OTHER_COUNTY]));
    await page.locator('#drops-department').selectOption(OTHER_COUNTY);
    await expect
      .poll(() => drops.evaluateAll((rows) => [...new Set(rows.map((r) => r.getAttribute('data-department')))]), { timeout: 20_000 })
      .toEqual([OTHER_COUNTY]);

    // 共享绩效: the county developer's call counts for its department.
    await openPage(page, '/console/operator/performance');
    const row = page.locator(`[data-testid="perf-row"][data-department="${COUNTY}"]`);
    await row.waitFor();
    const calls = Number((await row.locator('td').first().innerText()).replace(/\D/g, ''));
    expect(calls).toBeGreaterThanOrEqual(1);
    const summary = await page.locator('.chart[role="img"]').getAttribute('aria-label');
    expect(summary).toContain(COUNTY);
    await screenshot(page, 'operator-performance');

    await context.close();
  });

  it('no request left for anything but the hub, and the pages raised no errors', () => {
    expect(browser.offLoopback).toEqual([]);
    expect(browser.pageErrors).toEqual([]);
  });
});
