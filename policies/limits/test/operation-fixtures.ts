/**
 * A small graph shaped like the hub's: `Person` with its lists from three sources, the file-drop
 * page `{ total items }` with `first: Int = 50`, a Relay-style connection, a matrix, an interface.
 */
import { buildSchema, parse, type DocumentNode } from 'graphql';
import { DEFAULT_OPERATION_LIMITS, measureOperation, type MeasureOptions } from '../operation.ts';

export const schema = buildSchema(/* GraphQL */ `
  type Query {
    person(idNumber: String!): Person
    persons(regionCode: String, first: Int, offset: Int): [Person!]!
    allowanceHouseholds(headIdNumber: String, regionCode: String, month: String, first: Int = 50, offset: Int = 0): AllowanceHouseholdPage!
    enterpriseConnection(keyword: String, first: Int, after: String): EnterpriseConnection!
    grid: [[Cell!]!]!
    node(id: ID!): Node
    tags: [String!]!
  }

  interface Node {
    id: ID!
  }

  type Person implements Node {
    id: ID!
    idNumber: String!
    name: String
    regionCode: String
    allowances: [Allowance!]!
    insurance: [InsuranceRecord!]!
    enterprisesAsLegalRepresentative: [Enterprise!]!
  }

  type Allowance {
    month: String!
    monthlyAmount: Float!
    members: Int!
    township: String
    village: String
  }

  type InsuranceRecord {
    insuranceType: String!
    scheme: String
    status: String
    employerCreditCode: String
  }

  type Enterprise implements Node {
    id: ID!
    creditCode: String!
    name: String!
    status: String
    registeredCapital: Float
    legalRepresentative: Person
    branches(limit: Int): [Enterprise!]!
  }

  type AllowanceHouseholdPage {
    total: Int!
    items: [AllowanceHousehold!]!
  }

  type AllowanceHousehold {
    householdId: String!
    headName: String!
    headIdNumber: String!
    members: Int!
    monthlyAmount: Float!
    township: String
    village: String
    approvalDate: String
    regionCode: String!
    month: String!
  }

  type EnterpriseConnection {
    totalCount: Int!
    edges: [EnterpriseEdge!]!
  }

  type EnterpriseEdge {
    cursor: String!
    node: Enterprise!
  }

  type Cell {
    value: Int
  }
`);

/** The hub's flagship query: one person, the three sources' lists about them. */
export const ELIGIBILITY_CHECK = /* GraphQL */ `
  query EligibilityCheck($idNumber: String!) {
    person(idNumber: $idNumber) {
      idNumber name regionCode
      allowances { month monthlyAmount members township village }
      insurance { insuranceType scheme status employerCreditCode }
      enterprisesAsLegalRepresentative { creditCode name status registeredCapital }
    }
  }
`;

/** A county's roster page, as the file-drop source serves it. */
export const HOUSEHOLD_PAGE = /* GraphQL */ `
  {
    allowanceHouseholds(regionCode: "341504", first: 100) {
      total
      items { headName headIdNumber members monthlyAmount township village approvalDate regionCode month }
    }
  }
`;

/** Measures `query` against the fixture schema with the default list size (100). */
export function measure(
  query: string | DocumentNode,
  variables: Record<string, unknown> = {},
  operationName: string | null = null,
  options: Partial<MeasureOptions> = {},
) {
  const document = typeof query === 'string' ? parse(query) : query;
  return measureOperation(schema, document, operationName, variables, { defaultListSize: DEFAULT_OPERATION_LIMITS.defaultListSize, ...options });
}

/** `count` copies of `make(i)` (1-based), joined by spaces. */
export const repeat = (count: number, make: (i: number) => string): string => Array.from({ length: count }, (_, i) => make(i + 1)).join(' ');

/**
 * `levels` fragments, each spreading the next `fanOut` times; the last holds one aliased field.
 * Expanded, the person's selection holds fanOut^levels aliased fields.
 */
export function fanOutQuery(levels: number, fanOut = 2): string {
  const fragments = Array.from({ length: levels }, (_, i) => `fragment F${i} on Person { ${repeat(fanOut, () => `...F${i + 1}`)} }`);
  fragments.push(`fragment F${levels} on Person { n: name }`);
  return `{ person(idNumber: "x") { ...F0 } } ${fragments.join('\n')}`;
}

/** `person { enterprisesAsLegalRepresentative { legalRepresentative { … name } } }`, `pairs` times over. */
export function nestedQuery(pairs: number): string {
  return `{ person(idNumber: "x") { ${'enterprisesAsLegalRepresentative { legalRepresentative { '.repeat(pairs)}name${' } }'.repeat(pairs)} } }`;
}
