import type { ProbeResult as FileDropProbeResult } from '@tongxiang/filedrop-handler';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import type { ProbeResult } from '../../probe-result.ts';
import { startMarketRegistryServer, type MarketRegistryServer } from '../../../sources/soap/index.ts';
import { demoEnterprises } from '../../../sources/soap/test/fixtures.ts';
import { probeSoapSource, type ProbeResult as SoapProbeResult } from '../index.ts';
import { REPO_ROOT, startFixedServer, startHangingServer, startResettingServer, WSDL_PATH, type TestServer } from './helpers.ts';

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

  it('is not ready when the endpoint drops the connection, and says why without the URL', async () => {
    const dropping = await startResettingServer();
    servers.push(dropping);
    const result = await probeSoapSource({ wsdl: WSDL_PATH, endpoint: `${dropping.url}/samr/registry` });
    expect(result).toMatchObject({ ok: false, detail: 'connection reset' });
    expect(JSON.stringify(result)).not.toContain(dropping.url);
  });

  it('gives up at its deadline when the endpoint never answers', async () => {
    const hanging = await startHangingServer();
    servers.push(hanging);
    const started = performance.now();
    const timeoutMs = 200;
    const result = await probeSoapSource({ wsdl: WSDL_PATH, endpoint: `${hanging.url}/samr/registry`, timeoutMs });
    expect(result).toMatchObject({ ok: false, detail: 'timeout' });
    expect(performance.now() - started).toBeLessThan(timeoutMs * 5 + 2000); // a loaded CI machine: this only says it did not hang
  });

  it('is not ready when the endpoint answers something other than a WSDL', async () => {
    const html = await startFixedServer(200, 'text/html', '<html><body>login</body></html>');
    servers.push(html);
    const result = await probeSoapSource({ wsdl: WSDL_PATH, endpoint: `${html.url}/samr/registry` });
    expect(result).toMatchObject({ ok: false, detail: 'HTTP 200 but not a WSDL' });
  });

  it('answers in the one ProbeResult shape the file-drop probe shares (checked by tsc)', () => {
    expectTypeOf<SoapProbeResult>().toEqualTypeOf<ProbeResult>();
    expectTypeOf<FileDropProbeResult>().toEqualTypeOf<ProbeResult>();
    expectTypeOf(probeSoapSource).returns.resolves.toEqualTypeOf<ProbeResult>();
  });
});
