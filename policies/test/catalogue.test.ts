import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSchema, getIntrospectionQuery, graphql, parse, validate, type GraphQLObjectType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { isTongxiangError } from '../../core/index.ts';
import {
  checkCatalogueAgainstSchema,
  loadCatalogue,
  notSharedCoordinates,
  parseCatalogue,
  publicSchema,
  type FieldEntry,
} from '../index.ts';
import { catalogueOf, fixtureSchema, shippedCatalogue } from './support.ts';

describe('the shipped catalogue', () => {
  it('classifies every type and field of the live graph and names nothing that does not exist', async () => {
    expect(checkCatalogueAgainstSchema(await shippedCatalogue(), fixtureSchema())).toEqual([]);
  });

  const expected: ReadonlyArray<readonly [string, Partial<FieldEntry>]> = [
    ['Query.person', { owners: ['340000.sjzyj'], sharing: 'unconditional', level: 'L1' }],
    ['Query.dropReports', { owners: ['341504.mzj', '341623.mzj'], sharing: 'conditional' }],
    ['Query.datasetStatus', { owners: ['341504.mzj', '341623.mzj'], sharing: 'unconditional', level: 'L1' }],
    ['Query.listEnterprisesByLegalRepresentative', { owners: ['340000.scjgj'], sharing: 'conditional', level: 'L3' }],
    ['Enterprise.name', { owners: ['340000.scjgj'], sharing: 'unconditional', level: 'L1' }],
    ['Enterprise.creditCode', { sharing: 'unconditional', subjectKey: 'creditCode' }],
    ['Enterprise.legalRepresentativeIdNumber', { sharing: 'conditional', level: 'L3', mask: 'idNumber', subjectKey: 'idNumber' }],
    ['Enterprise.legalRepresentative', { sharing: 'conditional', level: 'L3', mask: null }],
    ['Enterprise.address', { sharing: 'conditional', mask: 'address' }],
    ['Enterprise.insuredEmployees', { owners: ['341500.rsj'], sharing: 'unconditional' }],
    ['InsuranceRecord.contributionBase', { owners: ['341500.rsj'], level: 'L3', mask: 'amount', updateCycle: 'yearly' }],
    ['Person.idNumber', { owners: ['340000.sjzyj'], sharing: 'unconditional', subjectKey: 'idNumber' }],
    ['Person.name', { owners: ['341500.rsj'], sharing: 'conditional', mask: 'name' }],
    ['Person.allowances', { owners: ['341504.mzj', '341623.mzj'], sharing: 'conditional' }],
    ['Person.enterprisesAsLegalRepresentative', { owners: ['340000.scjgj'], sharing: 'conditional' }],
    ['AllowanceHousehold.headName', { owners: ['341504.mzj', '341623.mzj'], level: 'L3', mask: 'name' }],
    ['AllowanceHousehold.householdId', { sharing: 'not-shared' }],
    ['AllowanceHouseholdPage.total', { sharing: 'conditional', level: 'L3' }],
  ];
  it.each(expected)('classifies %s', async (coordinate, entry) => {
    expect((await shippedCatalogue()).fields.get(coordinate)).toMatchObject(entry);
  });

  it('reads regions and row owners for jurisdiction', async () => {
    const c = await shippedCatalogue();
    expect(c.types.get('Enterprise')?.region).toEqual({ field: 'regionCode', from: 'regionCode' });
    expect(c.types.get('Person')?.region).toEqual({ field: 'idNumber', from: 'idNumber' });
    expect(c.types.get('EmployerHeadcount')?.region).toEqual({ field: 'creditCode', from: 'creditCode' });
    expect(c.types.get('AllowanceHousehold')?.rowOwner).toEqual({ kind: 'region' });
    expect(c.types.get('DropReport')?.rowOwner).toEqual({ kind: 'field', field: 'department' });
    expect(c.technical.has('HealthStatus')).toBe(true);
    expect(notSharedCoordinates(c)).toEqual(['AllowanceHousehold.householdId']);
  });
});

const OK_FILE = `
department: 341504.mzj
name: 叶集区民政局
types:
  Query:
    description: 查询入口
    fields:
      roster: { sharing: unconditional, level: L1, updateCycle: monthly, description: 名册 }
`;

describe('parsing catalogue files', () => {
  const bad: ReadonlyArray<readonly [title: string, file: string, text: string, problem: RegExp]> = [
    ['a YAML syntax error', '341504.mzj.yml', 'department: [341504.mzj', /^341504\.mzj\.yml: YAML: /],
    ['a duplicate key', '341504.mzj.yml', `${OK_FILE}\ndepartment: 341504.mzj`, /^341504\.mzj\.yml: YAML: /],
    ['no department code', '341504.mzj.yml', 'name: 民政局', /^341504\.mzj\.yml: department: /],
    ['a file named after another department', '341623.mzj.yml', OK_FILE, /^341623\.mzj\.yml: department: .*341504\.mzj\.yml/],
    ['an unknown top-level key', '341504.mzj.yml', `${OK_FILE}\nowner: x`, /unknown key "owner"/],
    ['an unknown sharing type', '341504.mzj.yml', OK_FILE.replace('unconditional', 'public'), /341504\.mzj\.yml: Query\.roster: sharing/],
    ['an unknown level', '341504.mzj.yml', OK_FILE.replace('L1', 'L5'), /Query\.roster: level/],
    ['no update cycle', '341504.mzj.yml', OK_FILE.replace('updateCycle: monthly, ', ''), /Query\.roster: updateCycle/],
    ['a description that is not Chinese', '341504.mzj.yml', OK_FILE.replace('description: 名册', 'description: roster'), /Query\.roster: description/],
    ['an unknown masking rule', '341504.mzj.yml', OK_FILE.replace('unconditional', 'conditional').replace('L1,', 'L2, mask: blur,'), /Query\.roster: .*"blur"/],
    ['a masking rule on an unconditional field', '341504.mzj.yml', OK_FILE.replace('L1,', 'L1, mask: name,'), /Query\.roster: .*only conditional/],
    ['an unconditional L3 field', '341504.mzj.yml', OK_FILE.replace('L1', 'L3'), /Query\.roster: .*L3 field cannot be unconditional/],
    ['a shared L4 field', '341504.mzj.yml', OK_FILE.replace('unconditional, level: L1', 'conditional, level: L4'), /Query\.roster: .*L4 field must be not-shared/],
    ['an unknown subject key', '341504.mzj.yml', OK_FILE.replace('L1,', 'L1, subjectKey: phone,'), /Query\.roster: subjectKey/],
    ['an unknown field key', '341504.mzj.yml', OK_FILE.replace('L1,', 'L1, owner: x,'), /Query\.roster: .*unknown key "owner"/],
    ['a bad region spec', '341504.mzj.yml', OK_FILE.replace('description: 查询入口', 'description: 查询入口\n    region: { field: idNumber, from: passport }'), /Query\.region: /],
    ['a type without a description', '341504.mzj.yml', OK_FILE.replace('    description: 查询入口\n', ''), /Query: .*no file describes/],
    ['a technical type without a reason', '341504.mzj.yml', `${OK_FILE}\ntechnical:\n  HealthStatus: ''`, /technical\.HealthStatus: /],
  ];
  it.each(bad)('reports %s with its file and entry', (_title, path, text, problem) => {
    const result = parseCatalogue([{ path, text }]);
    expect(result.ok).toBe(false);
    expect(result.ok ? [] : result.problems).toEqual(expect.arrayContaining([expect.stringMatching(problem)]));
  });

  it('reports every problem at once, not just the first', () => {
    const text = OK_FILE.replace('unconditional', 'public').replace('L1', 'L9');
    const result = parseCatalogue([{ path: '341504.mzj.yml', text }]);
    expect(result.ok ? 0 : result.problems.length).toBeGreaterThanOrEqual(2);
  });

  const coOwned = (dept: string, other: string, level = 'L3') => `
department: ${dept}
name: 民政局
types:
  Household:
    description: 低保家庭
    coOwners: [${other}]
    region: { field: regionCode }
    rowOwner: region
    updateCycle: monthly
    fields:
      headName: { sharing: conditional, level: ${level}, mask: name, description: 户主姓名 }
      regionCode: { sharing: conditional, level: L2, description: 行政区划代码 }
`;

  it('merges a field two co-owners declare alike into one entry with both owners', () => {
    const c = catalogueOf({
      '341504.mzj.yml': coOwned('341504.mzj', '341623.mzj'),
      '341623.mzj.yml': coOwned('341623.mzj', '341504.mzj'),
    });
    expect(c.fields.get('Household.headName')?.owners).toEqual(['341504.mzj', '341623.mzj']);
  });

  const coOwnership: ReadonlyArray<readonly [string, Record<string, string>, RegExp]> = [
    [
      'co-owners that classify a field differently',
      { '341504.mzj.yml': coOwned('341504.mzj', '341623.mzj'), '341623.mzj.yml': coOwned('341623.mzj', '341504.mzj', 'L2') },
      /Household\.headName: .*disagree/,
    ],
    ['a co-owner that does not declare the field', { '341504.mzj.yml': coOwned('341504.mzj', '341623.mzj') }, /Household\.headName: .*341623\.mzj/],
    [
      'a field declared by two files that are not co-owners',
      { '341504.mzj.yml': OK_FILE, '341623.mzj.yml': OK_FILE.replace('341504.mzj', '341623.mzj') },
      /Query\.roster: .*disagree/,
    ],
    [
      'rowOwner on a type only one department publishes',
      { '341504.mzj.yml': coOwned('341504.mzj', '341623.mzj').replace('    coOwners: [341623.mzj]\n', '') },
      /Household\.rowOwner: /,
    ],
  ];
  it.each(coOwnership)('reports %s', (_title, files, problem) => {
    const result = parseCatalogue(Object.entries(files).map(([path, text]) => ({ path, text })));
    expect(result.ok ? [] : result.problems).toEqual(expect.arrayContaining([expect.stringMatching(problem)]));
  });

  it('refuses to load a folder with problems: CATALOGUE_INVALID listing them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tx-catalogue-'));
    try {
      await writeFile(join(dir, '341504.mzj.yml'), OK_FILE.replace('L1', 'L7'));
      const error = await loadCatalogue(dir).then(() => null, (e: unknown) => e);
      expect(isTongxiangError(error) && error.code).toBe('CATALOGUE_INVALID');
      expect(isTongxiangError(error) && String(error.fields.reason)).toContain('341504.mzj.yml: Query.roster: level');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('checking the catalogue against the graph', () => {
  const schema = buildSchema(`
    type Query { roster: [Household] }
    type Household { headName: String, regionCode: String, members: [Member] }
    type Member { name: String }
    type Orphan { x: Int }
  `);
  const file = (types: string, technical = '') => ({
    '341504.mzj.yml': `department: 341504.mzj\nname: 民政局\ntypes:\n${types}${technical}`,
  });
  const QUERY = '  Query:\n    description: 入口\n    fields:\n      roster: { sharing: unconditional, level: L1, updateCycle: monthly, description: 名册 }\n';
  const HOUSEHOLD = (extra = '') =>
    `  Household:\n    description: 家庭\n    updateCycle: monthly\n${extra}    fields:\n      headName: { sharing: conditional, level: L3, mask: name, description: 户主 }\n      regionCode: { sharing: conditional, level: L2, description: 区划 }\n      members: { sharing: conditional, level: L3, description: 成员 }\n`;
  const MEMBER = '  Member:\n    description: 成员\n    updateCycle: monthly\n    fields:\n      name: { sharing: conditional, level: L3, description: 姓名 }\n';
  const TECH = '\ntechnical:\n  Orphan: 不可达的技术类型\n';

  const cases: ReadonlyArray<readonly [string, string, RegExp | null]> = [
    ['nothing when everything matches', QUERY + HOUSEHOLD() + MEMBER + TECH, null],
    ['a field without a classification', QUERY + HOUSEHOLD() + MEMBER.replace(/      name:.*\n/, '      nickname: { sharing: conditional, level: L3, description: 昵称 }\n') + TECH, /^Member\.name: .*not classified/],
    ['an entry naming a field that does not exist', QUERY + HOUSEHOLD() + MEMBER.replace('name:', 'nickname:') + TECH, /^Member\.nickname: .*no such field/],
    ['an entry naming a type that does not exist', QUERY + HOUSEHOLD() + MEMBER + MEMBER.replace(/Member/g, 'Ghost') + TECH, /^Ghost: .*no such type/],
    ['a reachable type with no classification', QUERY + HOUSEHOLD() + TECH, /^Member: .*type not classified/],
    ['an unreachable type neither classified nor technical', QUERY + HOUSEHOLD() + MEMBER, /^Orphan: .*unreachable and unclassified/],
    ['a technical type that queries can reach', QUERY + HOUSEHOLD() + MEMBER + '\ntechnical:\n  Orphan: 技术类型\n  Member: 技术类型\n', /^Member: .*listed as technical but reachable/],
    ['a masking rule on a field returning objects', QUERY + HOUSEHOLD().replace('members: { sharing: conditional, level: L3,', 'members: { sharing: conditional, level: L3, mask: name,') + MEMBER + TECH, /^Household\.members: .*cannot be masked/],
    ['a region field that does not exist', QUERY + HOUSEHOLD('    region: { field: county }\n') + MEMBER + TECH, /^Household\.region: /],
    ['a type whose every field is not-shared', QUERY + HOUSEHOLD() + MEMBER.replace('conditional, level: L3', 'not-shared, level: L3') + TECH, /^Member: .*every field is not-shared/],
  ];
  it.each(cases)('reports %s', (_title, types, problem) => {
    const problems = checkCatalogueAgainstSchema(catalogueOf(file(types)), schema);
    if (problem === null) expect(problems).toEqual([]);
    else expect(problems).toEqual(expect.arrayContaining([expect.stringMatching(problem)]));
  });
});

describe('the public schema', () => {
  it('leaves not-shared fields out of introspection', async () => {
    const pub = publicSchema(fixtureSchema(), await shippedCatalogue());
    const result = await graphql({ schema: pub, source: getIntrospectionQuery() });
    const types = (result.data as { __schema: { types: Array<{ name: string; fields: Array<{ name: string }> | null }> } }).__schema.types;
    const household = types.find((t) => t.name === 'AllowanceHousehold')!;
    expect(household.fields!.map((f) => f.name)).not.toContain('householdId');
    expect(household.fields!.map((f) => f.name)).toContain('headName');
    const typeQuery = await graphql({ schema: pub, source: '{ __type(name: "AllowanceHousehold") { fields { name } } }' });
    expect(JSON.stringify(typeQuery.data)).not.toContain('householdId');
  });

  it('fails validation for a query naming a not-shared field, and passes the rest', async () => {
    const pub = publicSchema(fixtureSchema(), await shippedCatalogue());
    const denied = validate(pub, parse('{ allowanceHouseholds { items { householdId headName } } }'));
    expect(denied.map((e) => e.message).join()).toMatch(/householdId/);
    const fine = validate(pub, parse('{ allowanceHouseholds { items { headName } } person(idNumber: "x") { name allowances { month } } }'));
    expect(fine).toEqual([]);
    expect(validate(fixtureSchema(), parse('{ allowanceHouseholds { items { householdId } } }'))).toEqual([]);
  });

  it('keeps the resolvers of the schema it is made from', async () => {
    const schema = fixtureSchema();
    const query = schema.getQueryType() as GraphQLObjectType;
    query.getFields().allowanceHouseholds!.resolve = () => ({ total: 1, items: [{ headName: '张三', householdId: 'H-1' }] });
    const pub = publicSchema(schema, await shippedCatalogue());
    const result = await graphql({ schema: pub, source: '{ allowanceHouseholds { total items { headName } } }' });
    expect(result).toEqual({ data: { allowanceHouseholds: { total: 1, items: [{ headName: '张三' }] } } });
  });
});
