import { describe, expect, it } from 'vitest';
import { codeOfCall } from '../../../core/testing.ts';
import { afterAttempt, deliverySettings, retryDelay } from '../delivery.ts';
import { checkWebhookUrl, parseWebhookAllowList, redactUrl } from '../webhook-url.ts';

const loopback = parseWebhookAllowList();
const extranet = parseWebhookAllowList(['hooks.lixin.gov.cn', '*.bozhou.gov.cn', '10.20.0.0/16', 'fd00:1::/32']);

describe('webhook URLs: what the hub will POST to (SSRF)', () => {
  it.each([
    ['http://127.0.0.1:8080/hook', loopback],
    ['https://localhost/hook?token=abc', loopback],
    ['http://[::1]:9000/x', loopback],
    ['http://LOCALHOST./x', loopback],
    ['https://hooks.lixin.gov.cn/dibao', extranet],
    ['https://mzj.bozhou.gov.cn/hook', extranet],
    ['http://10.20.3.4:8443/hook', extranet],
    ['http://[fd00:1:2::5]/hook', extranet],
  ])('allows %s', (url, allow) => {
    expect(checkWebhookUrl(url, allow)).toMatchObject({ ok: true });
  });

  it.each([
    ['http://10.0.0.1/hook', loopback, /10\.0\.0\.1 is not on the allow-list/],
    ['http://user:pw@127.0.0.1/hook', loopback, /no user name or password/],
    ['http://user@127.0.0.1/hook', loopback, /no user name or password/],
    ['file:///etc/passwd', loopback, /scheme file: is not http or https/],
    ['gopher://127.0.0.1:6379/_FLUSHALL', loopback, /scheme gopher:/],
    ['http://127.0.0.1.evil.example/', loopback, /host 127\.0\.0\.1\.evil\.example is not on the allow-list/],
    ['http://localhost.evil.example/', loopback, /not on the allow-list/],
    ['http://127.0.0.2/', loopback, /127\.0\.0\.2 is not on the allow-list/],
    ['http://2130706433/', parseWebhookAllowList(['10.0.0.0/8']), /127\.0\.0\.1 is not on the allow-list/],
    ['http://0x7f.1/', parseWebhookAllowList(['hooks.lixin.gov.cn']), /127\.0\.0\.1 is not on the allow-list/],
    ['http://[::ffff:169.254.169.254]/latest/meta-data', loopback, /169\.254\.169\.254 is not on the allow-list/],
    ['http://169.254.169.254/latest/meta-data', extranet, /not on the allow-list/],
    ['http://10.21.0.1/', extranet, /not on the allow-list/],
    ['https://bozhou.gov.cn/', extranet, /host bozhou\.gov\.cn is not on the allow-list/],
    ['https://evilbozhou.gov.cn/', extranet, /not on the allow-list/],
    ['https://hooks.lixin.gov.cn.evil.example/', extranet, /not on the allow-list/],
    ['not a url', loopback, /not a valid URL/],
    ['', loopback, /empty URL/],
    [`http://127.0.0.1/${'a'.repeat(2100)}`, loopback, /longer than 2048/],
  ])('refuses %s', (url, allow, reason) => {
    const result = checkWebhookUrl(url, allow);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(reason);
  });

  it('accepts an IPv4-mapped spelling of an allowed address: it is the same host', () => {
    expect(checkWebhookUrl('http://[::ffff:127.0.0.1]/hook', loopback)).toMatchObject({ ok: true });
  });

  it('refuses allow-list entries that are neither names nor addresses, listing each', () => {
    const entries = ['ok.example', '10.0.0.0/33', 'bad host', '', '*.'];
    expect(codeOfCall(() => parseWebhookAllowList(entries))).toBe('CONFIG_INVALID');
    expect(() => parseWebhookAllowList(entries)).toThrow(/10\.0\.0\.0\/33.*bad host.*empty entry.*\*\./s);
  });

  it('logs a URL without its query string or userinfo', () => {
    expect(redactUrl('https://hooks.lixin.gov.cn:8443/dibao?secret=s3cr3t#x')).toBe('https://hooks.lixin.gov.cn:8443/dibao?…');
    expect(redactUrl('http://u:p@127.0.0.1/hook')).toBe('http://127.0.0.1/hook');
  });
});

describe('retries: exponential backoff with jitter, then dead', () => {
  const settings = deliverySettings({ baseDelayMs: 1_000, maxDelayMs: 300_000, maxAttempts: 8, timeoutMs: 5_000 });

  it('doubles from the base, half of it jittered, capped', () => {
    expect([1, 2, 3, 4].map((n) => retryDelay(n, settings, 0))).toEqual([500, 1_000, 2_000, 4_000]);
    expect([1, 2, 3, 4].map((n) => retryDelay(n, settings, 0.999999))).toEqual([1_000, 2_000, 4_000, 8_000]);
    expect(retryDelay(30, settings, 0.5)).toBe(225_000);
    expect(retryDelay(1_000, settings, 1)).toBe(300_000);
  });

  it('delivered on 2xx, pending with a later attempt on failure, dead at the last attempt', () => {
    const now = Date.UTC(2026, 10, 1);
    expect(afterAttempt(2, { ok: true, status: 204 }, settings, now, 0.5)).toMatchObject({ status: 'delivered', attempts: 3, deliveredAt: new Date(now), lastError: null });
    const retry = afterAttempt(0, { ok: false, error: 'HTTP 503' }, settings, now, 0.5);
    expect(retry).toMatchObject({ status: 'pending', attempts: 1, lastError: 'HTTP 503' });
    expect(retry.nextAttemptAt!.getTime() - now).toBe(750);
    expect(afterAttempt(7, { ok: false, error: 'timeout' }, settings, now, 0.5)).toMatchObject({ status: 'dead', attempts: 8, nextAttemptAt: null, lastError: 'timeout' });
  });

  it('refuses settings that cannot work', () => {
    expect(codeOfCall(() => deliverySettings({ maxAttempts: 0 }))).toBe('CONFIG_INVALID');
    expect(codeOfCall(() => deliverySettings({ baseDelayMs: 10_000, maxDelayMs: 100 }))).toBe('CONFIG_INVALID');
    expect(deliverySettings(undefined)).toEqual({ timeoutMs: 5_000, baseDelayMs: 1_000, maxDelayMs: 300_000, maxAttempts: 8 });
  });
});
