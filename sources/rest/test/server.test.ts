import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { idNumberCheckDigit, validateCreditCode, validateIdNumber } from '../../../core/index.ts';
import { DEMO_AS_OF, generateDemoData, indexDemoData, type DemoData, type DemoIndexes } from '../../demo-data/index.ts';
import { SOCIAL_INSURANCE_SPEC, startSocialInsuranceServer, type SocialInsuranceServer } from '../index.ts';

const apiKey = randomBytes(24).toString('base64url');
let data: DemoData;
let ix: DemoIndexes;
let server: SocialInsuranceServer;

beforeAll(async () => {
  data = generateDemoData();
  ix = indexDemoData(data);
  server = await startSocialInsuranceServer({ data: ix, apiKey, port: 0 });
});

afterAll(async () => {
  await server?.close();
});

interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

async function get(path: string, key: string | null = apiKey): Promise<Answer> {
  const response = await fetch(`${server.url}${path}`, { headers: key === null ? {} : { 'X-API-Key': key } });
  return { status: response.status, body: (await response.json()) as Record<string, unknown>, headers: response.headers };
}

/** A well-formed ID number of 北京市西城区, where the demo has nobody. */
const UNKNOWN_ID = (() => {
  const first17 = '11010219800101001';
  return first17 + idNumberCheckDigit(first17);
})();

function withWrongCheckDigit(id: string): string {
  const wrong = '0123456789X'.split('').find((c) => c !== id[17])!;
  return id.slice(0, 17) + wrong;
}

function employerWithStaff(): string {
  const enterprise = data.enterprises.find((e) => e.legalRepresentativeIdNumber === data.named.legalRepresentative)!;
  return enterprise.creditCode;
}

describe('social-insurance REST upstream', () => {
  it('binds loopback and reports its base URL without a trailing slash', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it("returns a known person's insurance records with their employers' names", async () => {
    const id = data.named.applicantWithJob;
    const { status, body } = await get(`/api/v1/persons/${id}/insurance`);
    expect(status).toBe(200);
    expect(body.idNumber).toBe(id);
    expect(body.name).toBe(ix.personsById.get(id)!.name);
    const expected = data.insurance
      .filter((r) => r.idNumber === id)
      .map(({ idNumber: _, ...r }) => ({
        ...r,
        employerName: r.employerCreditCode === null ? null : ix.enterprisesByCreditCode.get(r.employerCreditCode)!.name,
      }));
    expect(body.records).toEqual(expected);
    expect(body.records).toContainEqual(expect.objectContaining({ insuranceType: 'PENSION', scheme: 'EMPLOYEE', status: 'ACTIVE' }));
  });

  it("returns a person's employment history", async () => {
    const person = data.employment.find((j) => j.endDate !== null)!.idNumber;
    const { status, body } = await get(`/api/v1/persons/${person}/employment`);
    expect(status).toBe(200);
    expect(body).toEqual({
      idNumber: person,
      records: data.employment.filter((j) => j.idNumber === person).map(({ idNumber: _, ...j }) => j),
    });
  });

  it('answers a valid ID number it has no records for with 200, no name and no records', async () => {
    expect(ix.personsById.has(UNKNOWN_ID)).toBe(false);
    expect(await get(`/api/v1/persons/${UNKNOWN_ID}/insurance`)).toMatchObject({
      status: 200,
      body: { idNumber: UNKNOWN_ID, name: null, records: [] },
    });
    expect(await get(`/api/v1/persons/${UNKNOWN_ID}/employment`)).toMatchObject({
      status: 200,
      body: { idNumber: UNKNOWN_ID, records: [] },
    });
  });

  it('rejects an ID number with a wrong check digit with 400 INVALID_ID_NUMBER, without echoing it', async () => {
    const bad = withWrongCheckDigit(data.named.applicantClean);
    for (const path of [`/api/v1/persons/${bad}/insurance`, `/api/v1/persons/${bad}/employment`]) {
      const { status, body } = await get(path);
      expect(status).toBe(400);
      expect(body.code).toBe('INVALID_ID_NUMBER');
      expect(body.message).toMatch(/[\u4e00-\u9fa5]/);
      expect(typeof body.messageEn).toBe('string');
      expect(JSON.stringify(body)).not.toContain(bad.slice(0, 17));
    }
    expect((await get('/api/v1/persons/12345/insurance')).body.code).toBe('INVALID_ID_NUMBER');
  });

  it('rejects a credit code with a wrong check character with 400 INVALID_CREDIT_CODE', async () => {
    const good = employerWithStaff();
    const bad = good.slice(0, 17) + (good[17] === '0' ? '1' : '0');
    const { status, body } = await get(`/api/v1/employers/${bad}/headcount`);
    expect(status).toBe(400);
    expect(body.code).toBe('INVALID_CREDIT_CODE');
  });

  it('refuses calls without the API key or with a wrong one with 401 UNAUTHENTICATED, before looking at parameters', async () => {
    const id = data.named.applicantClean;
    for (const key of [null, '', 'wrong-key', `${apiKey}x`, apiKey.slice(0, -1)]) {
      const { status, body } = await get(`/api/v1/persons/${id}/insurance`, key);
      expect(status, String(key)).toBe(401);
      expect(body.code).toBe('UNAUTHENTICATED');
      expect(JSON.stringify(body)).not.toContain(id);
    }
    expect((await get(`/api/v1/persons/${withWrongCheckDigit(id)}/insurance`, null)).status).toBe(401);
    expect((await get(`/api/v1/employers/${employerWithStaff()}/headcount`, 'wrong-key')).status).toBe(401);
  });

  it("reports an employer's insured head-count as the data has it", async () => {
    const code = employerWithStaff();
    const active = data.insurance.filter((r) => r.employerCreditCode === code && r.scheme === 'EMPLOYEE' && r.status === 'ACTIVE');
    const { status, body } = await get(`/api/v1/employers/${code}/headcount`);
    expect(status).toBe(200);
    expect(body.creditCode).toBe(code);
    expect(body.asOf).toBe(DEMO_AS_OF);
    expect(body.insuredCount).toBe(new Set(active.map((r) => r.idNumber)).size);
    expect(body.insuredCount).toBeGreaterThanOrEqual(5);
    const byType = body.byInsuranceType as { insuranceType: string; count: number }[];
    for (const { insuranceType, count } of byType) {
      expect(count).toBe(active.filter((r) => r.insuranceType === insuranceType).length);
    }
    expect(byType.reduce((sum, t) => sum + t.count, 0)).toBe(active.length);
  });

  it('reports zero insured for a valid credit code it does not know', async () => {
    const dissolved = data.enterprises.find((e) => e.status === '注销' && !ix.headcountByEmployer.has(e.creditCode))!;
    expect(await get(`/api/v1/employers/${dissolved.creditCode}/headcount`)).toMatchObject({
      status: 200,
      body: { creditCode: dissolved.creditCode, insuredCount: 0, byInsuranceType: [] },
    });
  });

  it('answers /healthz without a key, and unknown paths with a coded 404', async () => {
    expect(await get('/healthz', null)).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(await get('/api/v1/nothing-here')).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
  });

  it('keeps connections alive for the hub', async () => {
    const { headers } = await get('/healthz', null);
    expect(headers.get('connection')).toBe('keep-alive');
    expect(headers.get('keep-alive')).toMatch(/^timeout=\d+/);
  });

  it('refuses to start without an API key with CONFIG_INVALID', async () => {
    await expect(startSocialInsuranceServer({ data: ix, apiKey: '' })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    await expect(startSocialInsuranceServer({ data: ix } as never)).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });
});

// ---------------------------------------------------------------------------------------------
// Conformance: every answer validates against the response schema the spec declares for it.
// A small validator for exactly the JSON Schema keywords the spec uses; any other keyword fails
// loudly, so the spec cannot grow a construct this test silently ignores.

type Schema = Record<string, unknown>;
const spec = parse(readFileSync(SOCIAL_INSURANCE_SPEC, 'utf8')) as Schema;
const ANNOTATIONS = new Set(['description', 'title', 'examples', 'x-enum-descriptions']);
const KEYWORDS = new Set(['$ref', 'type', 'properties', 'required', 'items', 'enum', 'pattern', 'format', 'anyOf', 'minimum', ...ANNOTATIONS]);

function deref(node: Schema): Schema {
  let current = node;
  while (typeof current.$ref === 'string') {
    const target = (current.$ref as string)
      .replace(/^#\//, '')
      .split('/')
      .reduce<unknown>((at, key) => (at as Schema)[key], spec) as Schema;
    current = target;
  }
  return current;
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function validate(schemaNode: Schema, value: unknown, at: string, errors: string[]): void {
  for (const key of Object.keys(schemaNode)) if (!KEYWORDS.has(key)) throw new Error(`validator does not know "${key}" at ${at}`);
  const schema = deref(schemaNode);
  for (const key of Object.keys(schema)) if (!KEYWORDS.has(key)) throw new Error(`validator does not know "${key}" at ${at}`);
  if (schema.anyOf) {
    const ok = (schema.anyOf as Schema[]).some((branch) => {
      const branchErrors: string[] = [];
      validate(branch, value, at, branchErrors);
      return branchErrors.length === 0;
    });
    if (!ok) errors.push(`${at}: matches no anyOf branch`);
    return;
  }
  const actual = typeOf(value);
  if (schema.type !== undefined) {
    const allowed = ([] as string[]).concat(schema.type as string | string[]);
    if (!allowed.includes(actual) && !(actual === 'integer' && allowed.includes('number'))) {
      errors.push(`${at}: ${actual} is not ${allowed.join('|')}`);
      return;
    }
  }
  if (schema.enum && !(schema.enum as unknown[]).includes(value)) errors.push(`${at}: ${String(value)} not in enum`);
  if (typeof value === 'string') {
    if (schema.pattern && !new RegExp(schema.pattern as string, 'u').test(value)) errors.push(`${at}: does not match pattern`);
    if (schema.format === 'date' && !(/^\d{4}-\d{2}-\d{2}$/.test(value) && new Date(`${value}T00:00:00Z`).toISOString().startsWith(value))) {
      errors.push(`${at}: not a date`);
    }
  }
  if (typeof value === 'number' && typeof schema.minimum === 'number' && value < schema.minimum) errors.push(`${at}: below minimum`);
  if (actual === 'object') {
    const properties = (schema.properties ?? {}) as Record<string, Schema>;
    const object = value as Record<string, unknown>;
    for (const name of (schema.required ?? []) as string[]) if (!(name in object)) errors.push(`${at}.${name}: missing`);
    for (const [name, v] of Object.entries(object)) {
      if (!properties[name]) errors.push(`${at}.${name}: not in the spec`);
      else validate(properties[name], v, `${at}.${name}`, errors);
    }
  }
  if (actual === 'array' && schema.items) (value as unknown[]).forEach((item, i) => validate(schema.items as Schema, item, `${at}[${i}]`, errors));
}

function responseSchema(template: string, status: number): Schema {
  const operation = ((spec.paths as Schema)[template] as Schema).get as Schema;
  const response = (operation.responses as Record<string, Schema>)[String(status)];
  if (!response) throw new Error(`${template} does not declare status ${status}`);
  return ((deref(response).content as Schema)['application/json'] as Schema).schema as Schema;
}

describe('social-insurance REST upstream conformance', () => {
  it('answers every call with a body that validates against the response schema of its status', async () => {
    const people = [...Object.values(data.named), UNKNOWN_ID, ...data.persons.filter((_, i) => i % 97 === 0).map((p) => p.idNumber)];
    const employers = [employerWithStaff(), ...data.enterprises.filter((_, i) => i % 23 === 0).map((e) => e.creditCode)];
    const calls: { template: string; path: string; key?: string | null }[] = [
      { template: '/healthz', path: '/healthz', key: null },
      ...people.flatMap((id) => [
        { template: '/api/v1/persons/{idNumber}/insurance', path: `/api/v1/persons/${id}/insurance` },
        { template: '/api/v1/persons/{idNumber}/employment', path: `/api/v1/persons/${id}/employment` },
      ]),
      ...employers.map((code) => ({ template: '/api/v1/employers/{creditCode}/headcount', path: `/api/v1/employers/${code}/headcount` })),
      { template: '/api/v1/persons/{idNumber}/insurance', path: `/api/v1/persons/${withWrongCheckDigit(UNKNOWN_ID)}/insurance` },
      { template: '/api/v1/employers/{creditCode}/headcount', path: '/api/v1/employers/91341503MA2N4C8QX0/headcount' },
      { template: '/api/v1/persons/{idNumber}/employment', path: `/api/v1/persons/${UNKNOWN_ID}/employment`, key: 'wrong' },
    ];
    const statuses = new Set<number>();
    let records = 0;
    for (const call of calls) {
      const { status, body } = await get(call.path, call.key === undefined ? apiKey : call.key);
      statuses.add(status);
      if (Array.isArray(body.records)) records += body.records.length;
      const errors: string[] = [];
      validate(responseSchema(call.template, status), body, `${call.path} ${status}`, errors);
      expect(errors).toEqual([]);
    }
    expect([...statuses].sort()).toEqual([200, 400, 401]);
    expect(records).toBeGreaterThan(100);
  });

  it('declares path-parameter patterns and examples that the demo data and GB check digits agree with', () => {
    const params = (spec.components as Schema).schemas as Record<string, Schema>;
    const idPattern = new RegExp(params.IdNumber!.pattern as string, 'u');
    const codePattern = new RegExp(params.CreditCode!.pattern as string, 'u');
    expect(data.persons.every((p) => idPattern.test(p.idNumber))).toBe(true);
    expect(data.enterprises.every((e) => codePattern.test(e.creditCode))).toBe(true);
    // The examples GraphiQL users copy are real demo records: a 低保 applicant with a job, and
    // an employer with insured staff.
    for (const example of params.IdNumber!.examples as string[]) {
      expect(idPattern.test(example) && validateIdNumber(example).ok).toBe(true);
      expect(ix.insuranceById.has(example)).toBe(true);
    }
    for (const example of params.CreditCode!.examples as string[]) {
      expect(codePattern.test(example) && validateCreditCode(example).ok).toBe(true);
      expect(ix.headcountByEmployer.get(example)?.insuredCount).toBeGreaterThan(0);
    }
  });
});
