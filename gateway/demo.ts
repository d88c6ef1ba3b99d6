/**
 * The embedded demo: the three upstreams as real servers and real files, started in-process on
 * loopback with credentials made fresh for this run (held only in memory, never printed).
 *   - 安徽省市场监督管理局 法人库: SOAP 1.1/1.2 with WS-Security UsernameToken
 *   - 六安市人社局 社保: REST (OpenAPI 3.1) with an API key
 *   - 叶集区 / 利辛县 民政局 低保名册: files (CSV UTF-8 and GBK, XLSX, XML) in <dataDir>/drop
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { generateDemoData, type DemoData } from '../sources/demo-data/index.ts';
import { writeDemoDrops } from '../sources/filedrop/index.ts';
import { startSocialInsuranceServer } from '../sources/rest/index.ts';
import { startMarketRegistryServer } from '../sources/soap/index.ts';

export interface DemoUpstreams {
  readonly data: DemoData;
  /** Values for .meshrc.yml placeholders: addresses and credentials of the demo upstreams. */
  readonly variables: Readonly<Record<string, string>>;
  /** SOAP 1.1 and SOAP 1.2 ports of the registry. */
  readonly registryEndpoint: string;
  readonly registryEndpoint12: string;
  readonly insuranceUrl: string;
  readonly dropDir: string;
  readonly examples: { applicant: string; enterprise: string };
  close(): Promise<void>;
}

const secret = () => randomBytes(18).toString('base64url');

export async function startDemoUpstreams(options: { dataDir: string; seed?: number; host?: string; soapVersion?: string }): Promise<DemoUpstreams> {
  const data = generateDemoData(options.seed === undefined ? {} : { seed: options.seed });
  const host = options.host ?? '127.0.0.1';
  const soapCredentials = { username: 'tongxiang-hub', password: secret() };
  const apiKey = secret();
  const dropDir = join(options.dataDir, 'drop');

  const registry = await startMarketRegistryServer({ enterprises: data.enterprises, credentials: soapCredentials, host });
  let insurance: Awaited<ReturnType<typeof startSocialInsuranceServer>> | undefined;
  try {
    insurance = await startSocialInsuranceServer({ data, apiKey, host });
    // The rosters are dropped once, on the first start: the hub ingests them and moves them to
    // archive/, and dropping them again at every start would only add "unchanged" reports.
    if (!existsSync(dropDir)) await writeDemoDrops(dropDir, data.allowances);
  } catch (error) {
    await insurance?.close();
    await registry.close();
    throw error;
  }

  // The examples are for the demo token of 叶集区民政局 (341504.mzj): a 叶集区 applicant who runs an
  // enterprise, and that enterprise — inside its jurisdiction, under its seeded contracts.
  const representative = data.enterprises.find((e) => e.legalRepresentativeIdNumber === data.named.applicantWithEnterprise);
  return {
    data,
    variables: {
      // The hub talks to the port of the SOAP version it is configured for.
      TONGXIANG_SAMR_URL: options.soapVersion === '1.2' ? registry.endpoint12 : registry.endpoint,
      TONGXIANG_SAMR_USERNAME: soapCredentials.username,
      TONGXIANG_SAMR_PASSWORD: soapCredentials.password,
      TONGXIANG_RSJ_URL: insurance.url,
      TONGXIANG_RSJ_API_KEY: apiKey,
      TONGXIANG_DROP_DIR: dropDir,
    },
    registryEndpoint: registry.endpoint,
    registryEndpoint12: registry.endpoint12,
    insuranceUrl: insurance.url,
    dropDir,
    examples: {
      applicant: data.named.applicantWithEnterprise,
      enterprise: representative?.creditCode ?? data.enterprises[0]!.creditCode,
    },
    async close() {
      await Promise.allSettled([registry.close(), insurance!.close()]);
    },
  };
}
