/**
 * A small in-memory hub for enforcement tests: the live graph's SDL (policies/test/fixtures),
 * the shipped catalogue, plain resolvers returning fixed synthetic rows (valid GB 11643 / GB 32100
 * numbers), a call counter per coordinate, and a real ApolloServer run with executeOperation.
 * `Query.searchEnterprises` and `Query.allowanceHouseholds` behave like Mesh's delegation: they
 * return only the fields their selection asks for, and record that selection ("sent upstream").
 */
import { ApolloServer } from '@apollo/server';
import {
  isObjectType,
  Kind,
  print,
  type GraphQLFieldResolver,
  type GraphQLResolveInfo,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';
import type { Catalogue, DecisionGrant, InactiveGrant } from '../../../policies/index.ts';
import { creditCodeCheckDigit, idNumberCheckDigit, orgCodeCheckDigit, type Principal } from '../../../core/index.ts';
import type { ActiveGrant, GrantMode, RowScope } from '../../../contracts/index.ts';
import { fixtureSchema, principal, shippedCatalogue } from '../../../policies/test/support.ts';
import { createEnforcement, decisionRecordOf, type DecisionRecord, type EnforcementContext } from '../index.ts';

export const T0 = Date.parse('2026-11-01T00:00:00+08:00');

export function idNumber(region: string, birth: string, seq: string): string {
  const body = `${region}${birth}${seq}`;
  return body + idNumberCheckDigit(body);
}

export function creditCode(region: string, org8: string): string {
  const body = `91${region}${org8}${orgCodeCheckDigit(org8)}`;
  return body + creditCodeCheckDigit(body);
}

/** The literal random operations pass for String arguments (policies/test/random-operations). */
export const ARG_ID = '341504199001011234';

export const E1 = {
  creditCode: creditCode('341504', 'MA2N0001'),
  name: '六安叶集三元农机专业合作社',
  type: '农民专业合作社',
  legalRepresentativeName: '张建国',
  legalRepresentativeIdNumber: idNumber('341504', '19650314', '217'),
  registeredCapital: 120.5,
  establishedDate: '2015-06-18',
  businessScope: '农机作业服务',
  address: '安徽省六安市叶集区三元镇新街村12号',
  regionCode: '341504',
  status: '存续',
};
export const E2 = {
  creditCode: creditCode('341623', 'MA2P0002'),
  name: '利辛县城关镇百货商行',
  type: '有限责任公司',
  legalRepresentativeName: '李卫东',
  legalRepresentativeIdNumber: idNumber('341623', '19720921', '538'),
  registeredCapital: 50,
  establishedDate: '2018-02-01',
  businessScope: '日用百货零售',
  address: '安徽省亳州市利辛县城关镇人民路8号',
  regionCode: '341623',
  status: '存续',
};
const R1 = { insuranceType: 'PENSION', scheme: 'EMPLOYEE', status: 'ACTIVE', contributionBase: 4321.09, employerCreditCode: creditCode('341504', 'MA2N0003'), employerName: '叶集区宏达建材有限公司', startDate: '2011-03-17', endDate: null };
const R2 = { insuranceType: 'MEDICAL', scheme: 'RESIDENT', status: 'TERMINATED', contributionBase: 0, employerCreditCode: null, employerName: null, startDate: '2009-07-01', endDate: '2010-12-31' };
const R3 = { insuranceType: 'UNEMPLOYMENT', scheme: 'EMPLOYEE', status: 'SUSPENDED', contributionBase: 3876.54, employerCreditCode: creditCode('341623', 'MA2P0004'), employerName: '利辛县永安纺织有限公司', startDate: '2016-10-09', endDate: null };
const M1 = { employerCreditCode: creditCode('341504', 'MA2N0005'), employerName: '叶集区恒通物流有限公司', startDate: '2012-04-23', endDate: '2014-08-30' };
const M2 = { employerCreditCode: creditCode('341623', 'MA2P0006'), employerName: '利辛县新城建筑工程有限公司', startDate: '2019-05-06', endDate: null };
export const H1 = { householdId: 'HH-341504-0007', headName: '欧阳娜娜', headIdNumber: idNumber('341504', '19800101', '002'), members: 3, monthlyAmount: 1234.56, township: '平岗街道', village: '官塘村', approvalDate: '2024-03-15', regionCode: '341504', month: '2025-08' };
export const H2 = { householdId: 'HH-341623-0011', headName: '诸葛明亮', headIdNumber: idNumber('341623', '19790707', '113'), members: 2, monthlyAmount: 987.65, township: '王人镇', village: '北张村', approvalDate: '2023-11-30', regionCode: '341623', month: '2025-07' };
const D1 = { id: 'yeji-report-20261101', fileName: 'yeji-roster-2026-10.csv', department: '341504.mzj', dataset: 'dibao', outcome: 'PARTIALLY_PUBLISHED', version: 3, format: 'csv', encoding: 'GB18030', bytes: 4096, rowsTotal: 42, rowsAccepted: 41, rowsRejected: 1, issues: [{ row: 17, column: '户主身份证号', value: 'yeji-bad-id-value', reason: 'yeji-bad-check-digit' }], reason: null, movedTo: 'yeji-archive-path', reportFiles: [], receivedAt: '2026-11-01T02:00:00Z', finishedAt: '2026-11-01T02:00:01Z' };
const D2 = { id: 'lixin-report-20261002', fileName: 'lixin-roster-2026-09.xlsx', department: '341623.mzj', dataset: 'dibao', outcome: 'REJECTED', version: null, format: 'xlsx', encoding: null, bytes: 2048, rowsTotal: 0, rowsAccepted: 0, rowsRejected: 0, issues: [], reason: 'lixin-header-missing', movedTo: 'lixin-quarantine-path', reportFiles: [], receivedAt: '2026-10-02T03:00:00Z', finishedAt: '2026-10-02T03:00:01Z' };
export const PERSON_INSURANCE_ID = idNumber('341623', '19880808', '441');
export const PERSON_NAME = '上官婉清';
export const INSURANCE_NAME = '慕容复生';

/**
 * Values of conditional fields, each unique in the fixture and none repeated by an unconditional
 * field, with the coordinate and the region of the row that carries it: the property test
 * searches the serialised response for them.
 */
export interface Sentinel {
  readonly value: string;
  readonly coordinate: string;
  /** The row's region; null when the row has none (its grant's scope does not matter). */
  readonly region: string | null;
  /** For co-owned types with row owners: the department that owns the row. */
  readonly owner?: string;
}

function sentinels(): Sentinel[] {
  const out: Sentinel[] = [];
  const add = (type: string, row: Record<string, unknown>, fields: readonly string[], region: string | null, owner?: string) => {
    for (const f of fields) {
      const v = row[f];
      const value = typeof v === 'string' ? v : typeof v === 'number' && !Number.isInteger(v) ? String(v) : null;
      if (value !== null) out.push({ value, coordinate: `${type}.${f}`, region, ...(owner ? { owner } : {}) });
    }
  };
  for (const e of [E1, E2]) add('Enterprise', e, ['legalRepresentativeIdNumber', 'address'], e.regionCode);
  for (const h of [H1, H2]) add('AllowanceHousehold', h, ['headName', 'headIdNumber', 'monthlyAmount', 'village', 'approvalDate', 'month', 'township'], h.regionCode, `${h.regionCode}.mzj`);
  add('InsuranceRecord', R1, ['contributionBase', 'employerCreditCode', 'employerName', 'startDate'], '341504');
  add('InsuranceRecord', R2, ['startDate', 'endDate'], '341504');
  add('InsuranceRecord', R3, ['contributionBase', 'employerCreditCode', 'employerName', 'startDate'], '341623');
  add('EmploymentRecord', M1, ['employerCreditCode', 'employerName', 'startDate', 'endDate'], '341504');
  add('EmploymentRecord', M2, ['employerCreditCode', 'employerName', 'startDate'], '341504');
  add('DropReport', D1, ['id', 'fileName', 'movedTo'], '341504', D1.department);
  add('DropReport', D2, ['id', 'fileName', 'reason', 'movedTo'], '341623', D2.department);
  add('QualityIssue', D1.issues[0]!, ['value', 'reason'], '341504');
  out.push({ value: PERSON_NAME, coordinate: 'Person.name', region: '341504' });
  out.push({ value: INSURANCE_NAME, coordinate: 'PersonInsurance.name', region: '341623' });
  return out;
}
export const SENTINELS: readonly Sentinel[] = sentinels();

/** What a delegating resolver sends upstream: field names by type, plus the hub's reserved aliases. */
function project(value: unknown, set: SelectionSetNode | undefined, info: GraphQLResolveInfo): unknown {
  if (value === null || typeof value !== 'object' || !set) return value;
  if (Array.isArray(value)) return value.map((v) => project(v, set, info));
  const row = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const walk = (s: SelectionSetNode) => {
    for (const sel of s.selections) {
      if (sel.kind === Kind.FIELD) {
        const name = sel.name.value;
        if (name === '__typename') continue;
        out[name] = project(row[name], sel.selectionSet, info);
        if (sel.alias?.value.startsWith('tongxiang__')) out[sel.alias.value] = row[name];
      } else if (sel.kind === Kind.INLINE_FRAGMENT) walk(sel.selectionSet);
      else walk(info.fragments[sel.name.value]!.selectionSet);
    }
  };
  walk(set);
  return out;
}

export interface Fixture {
  readonly server: ApolloServer<EnforcementContext>;
  /** The public, wrapped schema the server serves. */
  readonly schema: GraphQLSchema;
  readonly catalogue: Catalogue;
  /** Replaces the grants every following request is decided with. */
  setGrants(grants: readonly GrantSpec[]): void;
  readonly calls: Map<string, number>;
  /** Selections the delegating resolvers received, printed. */
  readonly upstream: string[];
  run(query: string, options?: { principal?: Principal; variables?: Record<string, unknown>; operationName?: string }): Promise<RunResult>;
  stop(): Promise<void>;
}

export interface RunResult {
  readonly status: number | undefined;
  readonly data: Record<string, unknown> | null | undefined;
  readonly errors: readonly { message: string; path?: readonly (string | number)[]; extensions?: Record<string, unknown> }[];
  readonly json: string;
  /** decisionRecordOf(contextValue), read in willSendResponse as the audit plugin will. */
  readonly record: DecisionRecord | undefined;
}

export interface GrantSpec {
  readonly coordinate: string;
  readonly mode?: GrantMode;
  readonly provider?: string;
  readonly scope?: RowScope;
  readonly contractId?: string;
}

export function grant(spec: GrantSpec, owners: (coordinate: string) => readonly string[]): ActiveGrant {
  return {
    contractId: spec.contractId ?? 'GX-2026-0001',
    provider: spec.provider ?? owners(spec.coordinate)[0]!,
    coordinate: spec.coordinate,
    mode: spec.mode ?? 'clear',
    scope: spec.scope ?? { kind: 'jurisdiction' },
    purpose: `purpose of ${spec.contractId ?? 'GX-2026-0001'}`,
  };
}

export const CONSUMER = '341500.jyj'; // 六安市教育局: owns nothing; its jurisdiction covers 341504, not 341623

export async function createFixture(
  options: { mode?: 'null-field' | 'reject-operation'; grants?: readonly GrantSpec[]; consumer?: string; inactive?: readonly InactiveGrant[]; rawGrants?: readonly DecisionGrant[] } = {},
): Promise<Fixture> {
  const schema = fixtureSchema();
  const catalogue = await shippedCatalogue();
  const calls = new Map<string, number>();
  const upstream: string[] = [];
  const resolvers: Record<string, Record<string, GraphQLFieldResolver<any, unknown>>> = {
    Query: {
      getEnterprise: (_r, a: { creditCode: string }) => [E1, E2].find((e) => e.creditCode === a.creditCode) ?? E1,
      enterprise: () => E2,
      searchEnterprises: (_r, _a, _c, info) => {
        upstream.push(info.fieldNodes.map((n) => print(n)).join('\n'));
        return project({ total: 2, page: 1, pageSize: 10, enterprise: [E1, E2] }, info.fieldNodes[0]!.selectionSet, info);
      },
      listEnterprisesByLegalRepresentative: () => [E1, E2],
      personInsurance: () => ({ idNumber: PERSON_INSURANCE_ID, name: INSURANCE_NAME, records: [R3] }),
      personEmployment: () => ({ idNumber: ARG_ID, records: [M2] }),
      employerHeadcount: () => ({ creditCode: E2.creditCode, insuredCount: 12, asOf: '2026-10-31', byInsuranceType: [{ insuranceType: 'PENSION', count: 11 }] }),
      allowanceHouseholds: (_r, _a, _c, info) => {
        upstream.push(info.fieldNodes.map((n) => print(n)).join('\n'));
        return project({ total: 2, items: [H1, H2] }, info.fieldNodes[0]!.selectionSet, info);
      },
      dropReports: () => [D1, D2],
      datasetVersions: () => [],
      datasetStatus: () => [],
      person: (_r, a: { idNumber: string }) => ({ idNumber: a.idNumber }),
    },
    Person: {
      gender: (p: { idNumber: string }) => (Number(p.idNumber[16]) % 2 === 1 ? '男' : '女'),
      birthDate: (p: { idNumber: string }) => `${p.idNumber.slice(6, 10)}-${p.idNumber.slice(10, 12)}-${p.idNumber.slice(12, 14)}`,
      regionCode: (p: { idNumber: string }) => p.idNumber.slice(0, 6),
      name: () => PERSON_NAME,
      insurance: () => [R1, R2],
      employment: () => [M1],
      allowances: () => [H1, H2],
      enterprisesAsLegalRepresentative: () => [E1, E2],
    },
    Enterprise: {
      // Synthetic: the Person is the argument-like ID, so no conditional value is repeated by Person.idNumber.
      legalRepresentative: () => ({ idNumber: ARG_ID }),
      insuredEmployees: () => ({ creditCode: E1.creditCode, insuredCount: 3, asOf: '2026-10-31', byInsuranceType: [] }),
    },
  };
  // Count every field resolution, defaults included.
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      const coordinate = `${type.name}.${field.name}`;
      const inner = resolvers[type.name]?.[field.name] ?? ((source: Record<string, unknown>) => source[field.name]);
      field.resolve = (s, a, c, i) => {
        calls.set(coordinate, (calls.get(coordinate) ?? 0) + 1);
        return inner(s, a, c, i);
      };
    }
  }
  const owners = (c: string) => catalogue.fields.get(c)?.owners ?? [];
  // One list object until the grants change, as contracts/ hands it out: decisions are kept with it.
  const listOf = (specs: readonly GrantSpec[]) => Object.freeze([...specs.map((g) => grant(g, owners)), ...(options.rawGrants ?? [])]);
  let grants = listOf(options.grants ?? []);
  const enforcement = createEnforcement({ schema, catalogue, mode: options.mode ?? 'null-field', grantsFor: async () => grants, inactiveFor: async () => options.inactive ?? [], clock: { now: () => T0 } });
  let record: DecisionRecord | undefined;
  const audit = { async requestDidStart() { return { async willSendResponse(rc: { contextValue: EnforcementContext }) { record = decisionRecordOf(rc.contextValue); } }; } };
  const server = new ApolloServer<EnforcementContext>({ schema: enforcement.schema, plugins: [enforcement.plugin, audit], introspection: true });
  await server.start();
  const consumer = principal(options.consumer ?? CONSUMER);
  return {
    server,
    schema: enforcement.schema,
    catalogue,
    setGrants(specs) {
      grants = listOf(specs);
    },
    calls,
    upstream,
    async run(query, opts = {}) {
      const context: EnforcementContext = { principal: opts.principal ?? consumer };
      record = undefined;
      const response = await server.executeOperation({ query, variables: opts.variables, operationName: opts.operationName }, { contextValue: context });
      if (response.body.kind !== 'single') throw new Error('incremental response');
      const result = response.body.singleResult;
      return {
        status: response.http.status,
        data: result.data as Record<string, unknown> | null | undefined,
        errors: (result.errors ?? []) as RunResult['errors'],
        json: JSON.stringify(result),
        record,
      };
    },
    stop: () => server.stop(),
  };
}

