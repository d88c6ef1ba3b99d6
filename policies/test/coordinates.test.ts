import fc from 'fast-check';
import {
  buildSchema,
  execute,
  getNamedType,
  getNullableType,
  isAbstractType,
  isEnumType,
  isListType,
  isObjectType,
  parse,
  validate,
  type GraphQLFieldResolver,
  type GraphQLOutputType,
  type GraphQLSchema,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { collectBatchCoordinates, collectCoordinates } from '../index.ts';
import { randomOperation } from './random-operations.ts';
import { fixtureSchema } from './support.ts';

/** Interfaces and unions, which the live graph does not have (yet). */
const abstract = buildSchema(`
  interface Subject { id: String! name: String }
  interface Registered { registeredAt: String }
  type Citizen implements Subject & Registered { id: String! name: String registeredAt: String idNumber: String household: Household }
  type Company implements Subject & Registered { id: String! name: String registeredAt: String creditCode: String representative: Citizen }
  type Household { headName: String members: [Citizen] }
  union Record = Citizen | Company | Household
  type Query { subject(id: String!): Subject records: [Record] citizen: Citizen }
  type Mutation { approve(id: String!): Company }
`);

type Case = readonly [
  title: string,
  query: string,
  expected: readonly string[],
  options?: { variables?: Record<string, unknown>; operationName?: string; introspection?: readonly string[] },
];

const cases: readonly Case[] = [
  ['plain fields', '{ citizen { name idNumber } }', ['Query.citizen', 'Citizen.name', 'Citizen.idNumber']],
  ['aliases count as the field they alias', '{ c: citizen { n: name, m: name } }', ['Query.citizen', 'Citizen.name']],
  ['nested objects and lists', '{ citizen { household { members { idNumber } } } }', ['Query.citizen', 'Citizen.household', 'Household.members', 'Citizen.idNumber']],
  ['a named fragment', '{ citizen { ...C } } fragment C on Citizen { idNumber }', ['Query.citizen', 'Citizen.idNumber']],
  ['nested named fragments', '{ citizen { ...A } } fragment A on Citizen { household { ...B } } fragment B on Household { headName }', ['Query.citizen', 'Citizen.household', 'Household.headName']],
  ['an inline fragment without a type', '{ citizen { ... { name } } }', ['Query.citizen', 'Citizen.name']],
  [
    'a field on an interface: the interface and every implementation',
    '{ subject(id: "1") { name } }',
    ['Query.subject', 'Subject.name', 'Citizen.name', 'Company.name'],
  ],
  [
    'an inline fragment on one implementation',
    '{ subject(id: "1") { ... on Company { creditCode representative { idNumber } } } }',
    ['Query.subject', 'Company.creditCode', 'Company.representative', 'Citizen.idNumber'],
  ],
  [
    'a fragment on a second interface narrows to the types that can be both',
    '{ subject(id: "1") { ... on Registered { registeredAt } } }',
    ['Query.subject', 'Registered.registeredAt', 'Citizen.registeredAt', 'Company.registeredAt'],
  ],
  [
    'an interface fragment inside an object narrows to that object',
    '{ citizen { ... on Subject { name } } }',
    ['Query.citizen', 'Subject.name', 'Citizen.name'],
  ],
  [
    'a union with fragments on its members',
    '{ records { __typename ... on Household { headName } ... on Subject { id } } }',
    ['Query.records', 'Household.headName', 'Subject.id', 'Citizen.id', 'Company.id'],
  ],
  ['__typename is no data', '{ __typename citizen { __typename } }', ['Query.citizen']],
  ['@skip(if: true) leaves a field out', '{ citizen { name idNumber @skip(if: true) } }', ['Query.citizen', 'Citizen.name']],
  ['@include(if: false) leaves a field out', '{ citizen { name idNumber @include(if: false) } }', ['Query.citizen', 'Citizen.name']],
  ['@skip(if: false) keeps it', '{ citizen { idNumber @skip(if: false) } }', ['Query.citizen', 'Citizen.idNumber']],
  ['a skipped fragment spread', '{ citizen { name ...C @skip(if: true) } } fragment C on Citizen { idNumber }', ['Query.citizen', 'Citizen.name']],
  ['a skipped inline fragment', '{ citizen { name ... @include(if: false) { idNumber } } }', ['Query.citizen', 'Citizen.name']],
  [
    'a variable decides @include',
    'query Q($x: Boolean!) { citizen { name idNumber @include(if: $x) } }',
    ['Query.citizen', 'Citizen.name'],
    { variables: { x: false } },
  ],
  [
    'a variable true keeps it',
    'query Q($x: Boolean!) { citizen { idNumber @include(if: $x) } }',
    ['Query.citizen', 'Citizen.idNumber'],
    { variables: { x: true } },
  ],
  [
    'a variable default decides when no value is given',
    'query Q($x: Boolean = true) { citizen { name idNumber @skip(if: $x) } }',
    ['Query.citizen', 'Citizen.name'],
  ],
  [
    'an undecidable condition counts as "may run"',
    'query Q($x: Boolean!) { citizen { idNumber @include(if: $x) } }',
    ['Query.citizen', 'Citizen.idNumber'],
  ],
  [
    'a variable that is not a boolean counts as "may run"',
    'query Q($x: Boolean!) { citizen { idNumber @skip(if: $x) } }',
    ['Query.citizen', 'Citizen.idNumber'],
    { variables: { x: 'true' } },
  ],
  [
    'the named operation only',
    'query A { citizen { name } } query B { citizen { idNumber } }',
    ['Query.citizen', 'Citizen.idNumber'],
    { operationName: 'B' },
  ],
  [
    'every operation when the name does not single one out',
    'query A { citizen { name } } query B { citizen { idNumber } }',
    ['Query.citizen', 'Citizen.name', 'Citizen.idNumber'],
    { operationName: 'C' },
  ],
  ['a mutation', 'mutation { approve(id: "1") { creditCode } }', ['Mutation.approve', 'Company.creditCode']],
  [
    'introspection is reported apart',
    '{ __schema { types { name } } __type(name: "Citizen") { fields { name } } citizen { name } }',
    ['Query.citizen', 'Citizen.name'],
    { introspection: ['__schema', '__type'] },
  ],
  ['a fragment cycle ends', '{ citizen { ...A } } fragment A on Citizen { household { members { ...A } } }', ['Query.citizen', 'Citizen.household', 'Household.members']],
];

describe('collecting the coordinates an operation can touch', () => {
  it.each(cases)('%s', (...args) => {
    const [, query, expected, options = {}] = args as unknown as Case;
    const result = collectCoordinates(abstract, parse(query), options.operationName, options.variables);
    expect([...result.coordinates].sort()).toEqual([...expected].sort());
    expect([...result.introspection].sort()).toEqual([...(options.introspection ?? [])].sort());
  });

  it('takes a batch as the union of its operations', () => {
    const result = collectBatchCoordinates(abstract, [
      { document: parse('{ citizen { name } }') },
      { document: parse('query($x: Boolean!) { citizen { idNumber @include(if: $x) } }'), variables: { x: false } },
      { document: parse('{ records { ... on Household { headName } } }') },
      { document: parse('{ __schema { queryType { name } } }') },
    ]);
    expect([...result.coordinates].sort()).toEqual(['Citizen.name', 'Household.headName', 'Query.citizen', 'Query.records']);
    expect([...result.introspection]).toEqual(['__schema']);
  });

  it('walks a fragment used many times in the same place once (no blow-up)', () => {
    const levels = 30;
    const fragments = Array.from({ length: levels }, (_, i) => `fragment F${i} on Citizen { ${i + 1 < levels ? `...F${i + 1} ...F${i + 1}` : 'name'} }`);
    const started = performance.now();
    const result = collectCoordinates(abstract, parse(`{ citizen { ...F0 } } ${fragments.join(' ')}`));
    expect([...result.coordinates].sort()).toEqual(['Citizen.name', 'Query.citizen']);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

/** Plain data for any output type; abstract values take turns among their possible types. */
function recordingResolver(schema: GraphQLSchema, resolved: Set<string>): GraphQLFieldResolver<unknown, unknown> {
  let turn = 0;
  const value = (type: GraphQLOutputType): unknown => {
    const nullable = getNullableType(type);
    if (isListType(nullable)) return [value(nullable.ofType), value(nullable.ofType)];
    const named = getNamedType(nullable);
    if (isAbstractType(named)) {
      const possible = schema.getPossibleTypes(named);
      return { __typename: possible[turn++ % possible.length]!.name };
    }
    if (isObjectType(named)) return {};
    if (isEnumType(named)) return named.getValues()[0]!.value;
    switch (named.name) {
      case 'Int':
        return 1;
      case 'Float':
        return 1.5;
      case 'Boolean':
        return true;
      default:
        return 'x';
    }
  };
  return (_source, _args, _context, info) => {
    resolved.add(`${info.parentType.name}.${info.fieldName}`);
    return value(info.returnType);
  };
}

describe('property: every field execution resolves was collected beforehand', () => {
  const schemas: ReadonlyArray<readonly [string, GraphQLSchema]> = [
    ['the live graph (fixture)', fixtureSchema()],
    ['interfaces and unions', abstract],
  ];
  it.each(schemas)('over %s', async (_name, schema) => {
    let valid = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat({ max: 1000 }), { minLength: 20, maxLength: 200 }), async (tape) => {
        const op = randomOperation(schema, tape);
        const document = parse(op.source);
        const errors = validate(schema, document);
        fc.pre(errors.length === 0);
        valid += 1;
        const resolved = new Set<string>();
        const result = await execute({ schema, document, variableValues: op.variables, fieldResolver: recordingResolver(schema, resolved) });
        expect(result.errors ?? []).toEqual([]);
        const collected = collectCoordinates(schema, document, 'Random', op.variables).coordinates;
        for (const coordinate of resolved) expect(collected, `${coordinate} in ${op.source}`).toContain(coordinate);
      }),
      { numRuns: 400 },
    );
    expect(valid).toBeGreaterThan(300);
  });
});
