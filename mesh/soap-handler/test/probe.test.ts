import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMarketRegistryServer, type MarketRegistryServer } from '../../../sources/soap/index.ts';
import { demoEnterprises } from '../../../sources/soap/test/fixtures.ts';
import { probeSoapSource } from '../index.ts';
import { closedPortUrl, REPO_ROOT, startFixedServer, startHangingServer, WSDL_PATH, type TestServer } from './helpers.ts';

let registry: MarketRegistryServer;
const servers: TestServer[] = [];

beforeAll(async () => {
  registry = await startMarketRegistryServer({ enterprises: demoEnterprises(), credentials: { username: 'hub', password: 'secret' } });
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await registry.close();
});

describe('probeSoapSource (readiness)', () => {
  it('is ready when the endpoint serves its WSDL', async () => {
    const result = await probeSoapSource({ wsdl: WSDL_PATH, endpoint: registry.endpoint, baseDir: REPO_ROOT });
    expect(result.ok).toBe(true);
    expect(result.detail).toBe('WSDL served (HTTP 200)');
    expect(result.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it('is not ready when nothing listens, and says why without the URL', async () => {
    const endpoint = `${await closedPortUrl()}/samr/registry`;
    const result = await probeSoapSource({ wsdl: WSDL_PATH, endpoint });
    expect(result).toMatchObject({ ok: false, detail: 'connection refused' });
  });

  it('gives up at its deadline when the endpoint never answers', async () => {
    const hanging = await startHangingServer();
    servers.push(hanging);
    const started = performance.now();
    const result = await probeSoapSource({ wsdl: WSDL_PATH, endpoint: `${hanging.url}/samr/registry`, timeoutMs: 200 });
    expect(result).toMatchObject({ ok: false, detail: 'timeout' });
    expect(performance.now() - started).toBeLessThan(1500);
  });

  it('is not ready when the endpoint answers something other than a WSDL', async () => {
    const html = await startFixedServer(200, 'text/html', '<html><body>login</body></html>');
    servers.push(html);
    const result = await probeSoapSource({ wsdl: WSDL_PATH, endpoint: `${html.url}/samr/registry` });
    expect(result).toMatchObject({ ok: false, detail: 'HTTP 200 but not a WSDL' });
  });
});
