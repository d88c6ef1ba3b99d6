import { getIntrospectionQuery, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { TongxiangError } from '../../../core/index.ts';
import {
  DEFAULT_OPERATION_LIMITS,
  MAX_LIST_SIZE,
  checkOperation,
  countTokens,
  measureOperation,
  validateOperationLimits,
  type OperationMeasures,
} from '../operation.ts';
import { ELIGIBILITY_CHECK, HOUSEHOLD_PAGE, fanOutQuery, measure, nestedQuery, repeat, schema } from './operation-fixtures.ts';

/** Tokens, then the other measures, then the verdict under the defaults: what the gateway does. */
function verdict(query: string, variables: Record<string, unknown> = {}, operationName: string | null = null) {
  const tokens = countTokens(query, DEFAULT_OPERATION_LIMITS.maxTokens);
  return checkOperation({ tokens, ...measure(query, variables, operationName) }, DEFAULT_OPERATION_LIMITS);
}

const HOUSEHOLD_FIELDS = 9; // fields selected under `items` in HOUSEHOLD_PAGE

describe('the hub’s own queries under the default limits', () => {
  it('admits the flagship eligibility check: depth 3, one root field, cost 1307', () => {
    const measures = measure(ELIGIBILITY_CHECK, { idNumber: '341504199001011234' });
    // person 1 + 3 scalars + allowances (1 + 100 × 5) + insurance (1 + 100 × 4) + enterprises (1 + 100 × 4)
    expect(measures).toEqual({ depth: 3, aliases: 0, rootFields: 1, cost: 1307 });
    expect(verdict(ELIGIBILITY_CHECK)).toMatchObject({ ok: true, measures: { tokens: 45 } });
  });

  it('admits a roster page of 100, counting the page’s first for its items', () => {
    expect(measure(HOUSEHOLD_PAGE)).toEqual({ depth: 3, aliases: 0, rootFields: 1, cost: 1 + 1 + 1 + 100 * HOUSEHOLD_FIELDS });
    expect(verdict(HOUSEHOLD_PAGE)).toMatchObject({ ok: true, measures: { tokens: 26, cost: 903 } });
  });

  it('admits a roster page at the file-drop maximum of 500', () => {
    const page = HOUSEHOLD_PAGE.replace('first: 100', 'first: 500');
    expect(verdict(page)).toMatchObject({ ok: true, measures: { cost: 3 + 500 * HOUSEHOLD_FIELDS } });
  });

  it('refuses the flagship shape for 100 persons at once, on cost', () => {
    const inner = ELIGIBILITY_CHECK.slice(ELIGIBILITY_CHECK.indexOf('idNumber name'), ELIGIBILITY_CHECK.lastIndexOf('}', ELIGIBILITY_CHECK.lastIndexOf('}') - 1));
    const query = `{ persons(regionCode: "341504", first: 100) { ${inner} } }`;
    expect(verdict(query)).toMatchObject({ ok: false, measure: 'cost', actual: 1 + 100 * 1306, max: 50_000 });
  });
});

describe('cost', () => {
  it('multiplies a list’s children by its literal first', () => {
    expect(measure('{ persons(first: 7) { name } }').cost).toBe(1 + 7);
  });

  it('takes first from the variables when sent', () => {
    const query = 'query($n: Int) { persons(first: $n) { name } }';
    expect(measure(query, { n: 3 }).cost).toBe(1 + 3);
  });

  it('takes the variable’s default when the variable is not sent', () => {
    expect(measure('query($n: Int = 20) { persons(first: $n) { name } }').cost).toBe(1 + 20);
    expect(measure('query($n: Int = 20) { persons(first: $n) { name } }', { n: 4 }).cost).toBe(1 + 4);
  });

  it('assumes defaultListSize for a list without a size argument', () => {
    expect(measure('{ persons { name } }').cost).toBe(1 + 100);
    expect(measure('{ persons { name } }', {}, null, { defaultListSize: 10 }).cost).toBe(1 + 10);
  });

  it('uses the schema’s default for an absent page size (first: Int = 50)', () => {
    expect(measure('{ allowanceHouseholds { items { headName } } }').cost).toBe(1 + 1 + 50);
    expect(measure('query($f: Int) { allowanceHouseholds(first: $f) { items { headName } } }').cost).toBe(1 + 1 + 50);
  });

  it.each([
    ['negative', -1],
    ['fractional', 2.5],
    ['a string', '100000'],
    ['null', null],
    ['an object', { valueOf: (): number => 1 }],
  ])('counts defaultListSize for a %s size', (_title, value) => {
    expect(measure('query($n: Int) { persons(first: $n) { name } }', { n: value }).cost).toBe(1 + 100);
  });

  it('counts defaultListSize for a literal null or negative first', () => {
    expect(measure('{ persons(first: null) { name } }').cost).toBe(1 + 100);
    expect(measure('{ persons(first: -5) { name } }').cost).toBe(1 + 100);
  });

  it('caps a huge first at MAX_LIST_SIZE', () => {
    expect(measure('{ persons(first: 1000000000000) { name } }').cost).toBe(1 + MAX_LIST_SIZE);
    expect(measure('query($n: Int) { persons(first: $n) { name } }', { n: Number.MAX_VALUE }).cost).toBe(1 + MAX_LIST_SIZE);
  });

  it('counts a first of 0 as an empty list', () => {
    expect(measure('{ persons(first: 0) { name allowances { month } } }').cost).toBe(1);
  });

  it('takes the larger of several size arguments on one field', () => {
    expect(measure('{ enterpriseConnection(first: 3) { edges { node { branches(limit: 9) { name } } } } }').cost).toBe(
      1 + 1 + 3 * (1 + 1 + 9),
    );
  });

  it('multiplies nested lists', () => {
    // persons 1 + 10 × (allowances 1 + 100 × month 1)
    expect(measure('{ persons(first: 10) { allowances { month } } }').cost).toBe(1 + 10 * (1 + 100));
  });

  it('multiplies each level of a list of lists', () => {
    expect(measure('{ grid { value } }').cost).toBe(1 + 100 * 100);
  });

  it('does not multiply by a list of scalars', () => {
    expect(measure('{ tags }').cost).toBe(1);
  });

  it('carries a connection’s first to its edges, not below', () => {
    // enterpriseConnection 1 + totalCount 1 + edges (1 + 5 × (node 1 + name 1))
    expect(measure('{ enterpriseConnection(first: 5) { totalCount edges { node { name } } } }').cost).toBe(1 + 1 + 1 + 5 * 2);
  });

  it('carries a page’s first through fragments and inline fragments at the page’s level', () => {
    const query = `
      { allowanceHouseholds(first: 7) { ...Page ... on AllowanceHouseholdPage { more: items { month } } } }
      fragment Page on AllowanceHouseholdPage { items { headName } }`;
    expect(measure(query).cost).toBe(1 + (1 + 7) + (1 + 7));
  });

  it('does not let one page size leak into the same fragment spread under another page', () => {
    const query = `
      { a: allowanceHouseholds(first: 2) { ...Page } b: allowanceHouseholds(first: 30) { ...Page } }
      fragment Page on AllowanceHouseholdPage { items { headName } }`;
    expect(measure(query).cost).toBe(1 + 1 + 2 + (1 + 1 + 30));
  });

  it('counts every branch of an abstract type', () => {
    const query = '{ node(id: "1") { id ... on Person { name } ... on Enterprise { name status } } }';
    expect(measure(query)).toEqual({ depth: 2, aliases: 0, rootFields: 1, cost: 1 + 4 });
  });

  it('saturates at Number.MAX_SAFE_INTEGER instead of overflowing', () => {
    const query = `{ persons(first: 10000) { ${'enterprisesAsLegalRepresentative { branches(limit: 10000) { legalRepresentative { '.repeat(4)} name ${'} } }'.repeat(4)} } }`;
    expect(measure(query).cost).toBe(Number.MAX_SAFE_INTEGER);
  });
});

describe('aliases and root fields', () => {
  it('counts an alias bomb at the root as root fields first', () => {
    const query = `{ ${repeat(200, (i) => `a${i}: person(idNumber: "x") { name }`)} }`;
    expect(measure(query)).toEqual({ depth: 2, aliases: 200, rootFields: 200, cost: 400 });
    expect(verdict(query)).toMatchObject({ ok: false, measure: 'rootFields', actual: 200, max: 10 });
  });

  it('refuses an alias bomb inside one root field on aliases', () => {
    const query = `{ person(idNumber: "x") { ${repeat(40, (i) => `a${i}: name`)} } }`;
    expect(measure(query)).toMatchObject({ aliases: 40, rootFields: 1 });
    expect(verdict(query)).toMatchObject({ ok: false, measure: 'aliases', actual: 40, max: 30 });
  });

  it('counts a fragment of 50 aliases spread 10 times as 500', () => {
    const query = `{ person(idNumber: "x") { ${repeat(10, () => '...Fifty')} } }
      fragment Fifty on Person { ${repeat(50, (i) => `a${i}: name`)} }`;
    expect(measure(query)).toEqual({ depth: 2, aliases: 500, rootFields: 1, cost: 1 + 500 });
  });

  it('measures thirty levels of fragments spreading twice as 2^30, at once', () => {
    expect(measure(fanOutQuery(30))).toEqual({ depth: 2, aliases: 2 ** 30, rootFields: 1, cost: 1 + 2 ** 30 });
  });

  it('saturates a fan-out past 2^53 rather than hanging or overflowing', () => {
    expect(measure(fanOutQuery(80, 3))).toEqual({ depth: 2, aliases: Number.MAX_SAFE_INTEGER, rootFields: 1, cost: Number.MAX_SAFE_INTEGER });
  });

  it('counts root fields brought by fragments and inline fragments at the root', () => {
    const query = `{ ...Roots ...Roots ... on Query { tags } } fragment Roots on Query { person(idNumber: "x") { name } grid { value } }`;
    expect(measure(query).rootFields).toBe(5);
  });

  it('counts aliases of skipped selections as nothing', () => {
    expect(measure(`{ person(idNumber: "x") { a: name @skip(if: true) b: name } }`).aliases).toBe(1);
  });
});

describe('depth', () => {
  it('counts root fields as depth 1 and each nested field as one more', () => {
    expect(measure('{ tags }').depth).toBe(1);
    expect(measure(nestedQuery(2)).depth).toBe(6);
  });

  it('adds no depth for fragment spreads and inline fragments', () => {
    const query = `
      { person(idNumber: "x") { ...L1 } }
      fragment L1 on Person { ... on Person { enterprisesAsLegalRepresentative { ... { legalRepresentative { ...L2 } } } } }
      fragment L2 on Person { enterprisesAsLegalRepresentative { ... on Enterprise { legalRepresentative { ... on Person { name } } } } }`;
    expect(measure(query).depth).toBe(6);
  });

  it('refuses recursion through the links past depth 10, also when built from fragments', () => {
    const fragments = Array.from({ length: 6 }, (_, i) => `fragment D${i} on Person { enterprisesAsLegalRepresentative { legalRepresentative { ${i < 5 ? `...D${i + 1}` : 'name'} } } }`);
    const query = `{ person(idNumber: "x") { ...D0 } } ${fragments.join(' ')}`;
    expect(verdict(query)).toMatchObject({ ok: false, measure: 'depth', actual: 14, max: 10 });
  });

  it('stops walking past stopAfter.maxDepth and reports one past it', () => {
    const document = parse(nestedQuery(300));
    expect(measure(document).depth).toBe(602);
    expect(measure(document, {}, null, { stopAfter: { maxDepth: 10 } })).toMatchObject({ depth: 11, rootFields: 1 });
  });

  it('reports the exact depth when it is within stopAfter.maxDepth', () => {
    expect(measure(nestedQuery(2), {}, null, { stopAfter: { maxDepth: 6 } }).depth).toBe(6);
    expect(measure(nestedQuery(2), {}, null, { stopAfter: { maxDepth: 5 } }).depth).toBe(6);
  });

  it('measures an operation too deep to walk as Infinity instead of overflowing the stack', () => {
    const measures = measure(parse(nestedQuery(600)));
    expect(measures).toEqual({ depth: Infinity, aliases: Infinity, rootFields: Infinity, cost: Infinity });
    expect(checkOperation({ tokens: 1, ...measures }, DEFAULT_OPERATION_LIMITS)).toMatchObject({ ok: false, measure: 'depth' });
  });

  it('measures a long chain of fragments as Infinity instead of overflowing the stack', () => {
    const chain = Array.from({ length: 3000 }, (_, i) => `fragment C${i} on Person { ${i < 2999 ? `...C${i + 1}` : 'name'} }`);
    expect(measure(`{ person(idNumber: "x") { ...C0 } } ${chain.join(' ')}`).depth).toBe(Infinity);
  });
});

describe('__typename', () => {
  it('counts for depth but costs nothing', () => {
    expect(measure('{ person(idNumber: "x") { __typename } }')).toEqual({ depth: 2, aliases: 0, rootFields: 1, cost: 1 });
  });

  it('is not a root field, but an aliased one is an alias', () => {
    expect(measure('{ __typename a: __typename b: __typename }')).toEqual({ depth: 1, aliases: 2, rootFields: 0, cost: 0 });
  });
});

describe('@skip and @include', () => {
  it('drops selections skipped or not included by literals', () => {
    const query = `{ person(idNumber: "x") { name @skip(if: true) regionCode @include(if: false) idNumber @skip(if: false) allowances @include(if: true) { month } } }`;
    expect(measure(query).cost).toBe(1 + 1 + (1 + 100));
  });

  it('drops skipped root fields, fragment spreads and inline fragments', () => {
    const query = `query($no: Boolean!) {
        person(idNumber: "x") @skip(if: true) { name }
        grid @include(if: $no) { value }
        ...Big @skip(if: true)
        ... @include(if: false) { persons { name } }
        tags
      }
      fragment Big on Query { persons { allowances { month } } }`;
    expect(measure(query, { no: false })).toEqual({ depth: 1, aliases: 0, rootFields: 1, cost: 1 });
  });

  it('reads conditions from variables, and from a variable’s default', () => {
    const query = 'query($hide: Boolean = true, $show: Boolean) { persons(first: 5) @skip(if: $hide) { name } tags @include(if: $show) }';
    expect(measure(query, { show: true }).cost).toBe(1);
    expect(measure(query, { hide: false, show: false }).cost).toBe(1 + 5);
  });

  it('counts a selection whose condition cannot be read', () => {
    expect(measure('query($c: Boolean) { tags @skip(if: $c) }', { c: 'yes' }).cost).toBe(1);
    expect(measure('query($c: Boolean) { tags @skip(if: $c) }').cost).toBe(1);
  });

  it('drops a selection when either directive says so', () => {
    expect(measure('{ tags @skip(if: false) @include(if: false) }').cost).toBe(0);
  });
});

describe('variables the measures depend on', () => {
  const readBy = (query: string, variables: Record<string, unknown>) => {
    const read = new Set<string>();
    measureOperation(schema, parse(query), null, variables, { defaultListSize: 100, variablesRead: read });
    return [...read].sort();
  };

  it('names no variable when only lookup arguments use them', () => {
    expect(readBy('query($id: String!) { person(idNumber: $id) { name } }', { id: 'x' })).toEqual([]);
  });

  it('names the variables read as sizes and as conditions', () => {
    expect(readBy('query($n: Int, $c: Boolean, $id: String!) { person(idNumber: $id) { name @skip(if: $c) } persons(first: $n) { name } }', { n: 3, c: false, id: 'x' })).toEqual(['c', 'n']);
  });

  it('does not name a variable the walk never reached: what it reads depends on the values', () => {
    const query = 'query($hide: Boolean, $n: Int) { tags persons(first: $n) @skip(if: $hide) { name } }';
    expect(readBy(query, { hide: true, n: 3 })).toEqual(['hide']);
    expect(readBy(query, { hide: false, n: 3 })).toEqual(['hide', 'n']);
  });
});

describe('which operation is measured', () => {
  const TWO = `
    query Small { tags }
    query Big { persons(first: 10) { allowances { month } } }`;

  it('measures only the operation named', () => {
    expect(measure(TWO, {}, 'Small').cost).toBe(1);
    expect(measure(TWO, {}, 'Big').cost).toBe(1 + 10 * 101);
  });

  it('measures the only operation when none is named', () => {
    expect(measure('query Only { tags }').cost).toBe(1);
  });

  it('measures nothing when the name is unknown or several operations have no name chosen', () => {
    const zero = { depth: 0, aliases: 0, rootFields: 0, cost: 0 };
    expect(measure(TWO, {}, 'Neither')).toEqual(zero);
    expect(measure(TWO, {}, null)).toEqual(zero);
  });

  it('ignores fragments that only another operation uses', () => {
    const query = `query A { tags } query B { ...Big } fragment Big on Query { persons { allowances { month } } }`;
    expect(measure(query, {}, 'A').cost).toBe(1);
  });
});

describe('hostile documents never throw', () => {
  it('treats a fragment cycle as over every limit', () => {
    const query = `{ person(idNumber: "x") { ...A } }
      fragment A on Person { enterprisesAsLegalRepresentative { legalRepresentative { ...B } } }
      fragment B on Person { ...A }`;
    expect(measure(query)).toEqual({ depth: Infinity, aliases: Infinity, rootFields: Infinity, cost: Infinity });
  });

  it('treats a fragment spreading itself through a page as a cycle', () => {
    const query = `{ ...P } fragment P on Query { allowanceHouseholds(first: 3) { total } ...P }`;
    expect(measure(query).cost).toBe(Infinity);
  });

  it('measures fields, types and fragments the schema does not know as plain fields', () => {
    const query = `{ nope { deeper { deepest } } person(idNumber: "x") { ...Missing ... on Ghost { x } } }`;
    expect(measure(query)).toEqual({ depth: 3, aliases: 0, rootFields: 2, cost: 3 + 2 });
  });

  it('measures a mutation on a schema without mutations', () => {
    expect(measure('mutation { drop { all } }')).toEqual({ depth: 2, aliases: 0, rootFields: 1, cost: 2 });
  });

  it('takes variables that are not an object as none', () => {
    const document = parse('query($n: Int = 4) { persons(first: $n) { name } }');
    const measures = measureOperation(schema, document, null, null as unknown as Record<string, unknown>, { defaultListSize: 100 });
    expect(measures.cost).toBe(1 + 4);
  });
});

describe('countTokens', () => {
  it('counts the tokens of a query, not its comments or commas', () => {
    expect(countTokens('{ person(idNumber: "x") { name } }', 100)).toBe(11);
    expect(countTokens('# a comment\n{ a, b, c }', 100)).toBe(5);
  });

  it('stops just past stopAfter on a megabyte of query text', () => {
    const huge = `{ ${'a '.repeat(512 * 1024)}}`;
    expect(huge.length).toBeGreaterThan(1_000_000);
    expect(countTokens(huge, 5000)).toBe(5001);
    expect(countTokens(huge, 0)).toBe(1);
  });

  it('returns what it counted before a lexical error', () => {
    expect(countTokens('{ a ? b }', 100)).toBe(2);
    expect(countTokens('{ a "unterminated', 100)).toBe(2);
  });

  it('counts an empty text as no tokens', () => {
    expect(countTokens('', 10)).toBe(0);
  });
});

describe('checkOperation', () => {
  const fine: OperationMeasures = { tokens: 45, depth: 3, aliases: 0, rootFields: 1, cost: 1307 };
  const atLimits: OperationMeasures = { tokens: 5000, depth: 10, aliases: 30, rootFields: 10, cost: 50_000 };

  it('passes measures at or under every limit', () => {
    expect(checkOperation(fine, DEFAULT_OPERATION_LIMITS)).toEqual({ ok: true, measures: fine });
    expect(checkOperation(atLimits, DEFAULT_OPERATION_LIMITS)).toEqual({ ok: true, measures: atLimits });
  });

  it.each([
    ['tokens', { tokens: 5001, depth: 11, rootFields: 11, aliases: 31, cost: 50_001 }, 5001, 5000],
    ['depth', { depth: 11, rootFields: 11, aliases: 31, cost: 50_001 }, 11, 10],
    ['rootFields', { rootFields: 11, aliases: 31, cost: 50_001 }, 11, 10],
    ['aliases', { aliases: 31, cost: 50_001 }, 31, 30],
    ['cost', { cost: 50_001 }, 50_001, 50_000],
  ] as const)('reports %s first when it and every later measure are over', (measure, over, actual, max) => {
    const measures = { ...atLimits, ...over };
    expect(checkOperation(measures, DEFAULT_OPERATION_LIMITS)).toEqual({ ok: false, measure, actual, max, measures });
  });

  it('treats NaN as over the limit', () => {
    expect(checkOperation({ ...fine, cost: Number.NaN }, DEFAULT_OPERATION_LIMITS)).toMatchObject({ ok: false, measure: 'cost' });
  });
});

describe('validateOperationLimits', () => {
  it('fills missing limits from the defaults and freezes the result', () => {
    const limits = validateOperationLimits({ maxDepth: 6 });
    expect(limits).toEqual({ ...DEFAULT_OPERATION_LIMITS, maxDepth: 6 });
    expect(Object.isFrozen(limits)).toBe(true);
    expect(validateOperationLimits({})).toEqual(DEFAULT_OPERATION_LIMITS);
  });

  it('lists every problem in one CONFIG_INVALID', () => {
    const bad = { maxDepth: 0, maxAliases: 2.5, maxCost: '100', defaultListSize: 20_000, maxDepht: 3 } as unknown as Partial<typeof DEFAULT_OPERATION_LIMITS>;
    let error: unknown;
    try {
      validateOperationLimits(bad);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TongxiangError);
    const { code, fields } = error as TongxiangError;
    expect(code).toBe('CONFIG_INVALID');
    for (const key of ['maxDepth', 'maxAliases', 'maxCost', 'defaultListSize', 'maxDepht']) expect(String(fields.reason)).toContain(key);
    expect(String(fields.reason)).not.toContain('maxTokens');
  });

  it('rejects Infinity and NaN', () => {
    expect(() => validateOperationLimits({ maxCost: Infinity })).toThrow(TongxiangError);
    expect(() => validateOperationLimits({ maxTokens: Number.NaN })).toThrow(TongxiangError);
  });
});

describe('introspection', () => {
  it('measures graphql’s standard introspection query as deeper and costlier than the defaults admit', () => {
    // Recorded so the gateway decides knowingly: admit introspection separately, or not at all.
    const query = getIntrospectionQuery();
    expect(countTokens(query, 5000)).toBe(163);
    expect(measure(query)).toMatchObject({ depth: 15, rootFields: 1 });
    expect(verdict(query)).toMatchObject({ ok: false, measure: 'depth', actual: 15 });
  });
});
