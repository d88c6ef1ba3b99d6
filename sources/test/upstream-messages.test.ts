import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDemoData } from '../demo-data/index.ts';
import { startSocialInsuranceServer, type SocialInsuranceServer } from '../rest/index.ts';
import { createEnterpriseIndex } from '../soap/index.ts';
import { withWrongCheckDigit } from '../soap/test/fixtures.ts';

const apiKey = randomBytes(16).toString('base64url');
const data = generateDemoData({ persons: 300, enterprises: 40 });
let rest: SocialInsuranceServer;

beforeAll(async () => {
  rest = await startSocialInsuranceServer({ data, apiKey, port: 0 });
});
afterAll(() => rest.close());

async function restMessage(path: string): Promise<string> {
  const response = await fetch(`${rest.url}${path}`, { headers: { 'X-API-Key': apiKey } });
  expect(response.status).toBe(400);
  return String(((await response.json()) as { message: unknown }).message);
}

describe('the demo upstreams word a failed key check the same way', () => {
  const registry = createEnterpriseIndex(data.enterprises);

  it('a citizen ID number with a wrong check digit', async () => {
    const bad = withWrongCheckDigit(data.persons[0]!.idNumber);
    const soapFault = registry.listByLegalRepresentative(bad) as { error: string };
    expect(soapFault.error).toContain('校验码');
    expect(await restMessage(`/api/v1/persons/${bad}/insurance`)).toBe(soapFault.error);
  });

  it('a credit code with a wrong check character, and one of the wrong length', async () => {
    for (const bad of [withWrongCheckDigit(data.enterprises[0]!.creditCode), '91341500MA2N']) {
      const soapFault = registry.get(bad) as { error: string };
      expect(await restMessage(`/api/v1/employers/${bad}/headcount`)).toBe(soapFault.error);
    }
  });
});
