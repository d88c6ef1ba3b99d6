/**
 * Operation limits (查询复杂度限制), checked after validation and before anything executes: a
 * query that would fan out to thousands of upstream calls is refused before the first one.
 * Pure: the schema, the parsed document and the variables go in, numbers and a verdict come out.
 *
 * Five measures (`checkOperation` reports the first one over its limit, in this order):
 * - **tokens**: lexical tokens of the query text (graphql's Lexer, the same count as `parse`'s
 *   `maxTokens`), counted by `countTokens`, which stops just past the limit so a megabyte of
 *   query text costs no more than the limit.
 * - **depth**: the deepest nesting of fields. Root fields are depth 1; inline fragments and
 *   fragment spreads add none; `__typename` counts like any field.
 * - **rootFields**: field occurrences in the root selection set, fragments at the root expanded,
 *   `__typename` excluded (each root field is at least one upstream call).
 * - **aliases**: field occurrences carrying an alias, as executed: fragments expanded, so one
 *   fragment of 50 aliases spread 10 times is 500. Not multiplied by list sizes (cost does that).
 * - **cost**: every field costs 1 (`__typename` 0) times the list sizes above it. A field whose
 *   type is a list multiplies its children by its size: its `first` / `last` / `limit` /
 *   `pageSize` argument, else the size carried from its parent (below), else `defaultListSize`.
 *   A field that is not a list but takes a size argument (a page: `allowanceHouseholds(first: 100)
 *   { total items { … } }`) carries that size to the list fields directly inside it, so `items`
 *   counts 100. Each further list level (`[[T]]`) multiplies by `defaultListSize`.
 *
 * How arguments and directives are read:
 * - A size argument comes from its literal, or its variable (the value sent, else the variable's
 *   default), or, when absent, the argument's default in the schema (`first: Int = 50`). A null,
 *   negative, non-integer or unreadable value counts as `defaultListSize`; sizes are capped at
 *   `MAX_LIST_SIZE`. Several size arguments on one field: the largest.
 * - `@skip(if: true)` and `@include(if: false)`, literal or from variables, remove a selection
 *   from every measure. A condition that cannot be read counts the selection (the safe side).
 *
 * Only the operation that will run is measured: the one named `operationName`, or the only one.
 * None (unknown name, or several without a name) measures zero: execution reports that error.
 *
 * Fragments are measured as they execute, expanded at every spread, but each fragment's measures
 * are computed once (per size carried into it) and reused: measures add up across spreads and
 * multiply by list sizes, so a fragment A spreading B twice, B spreading C twice, … thirty levels
 * down is measured in linear time and comes out as about 2³⁰ rather than hanging.
 *
 * Hostile input never throws. Numbers saturate at `Number.MAX_SAFE_INTEGER`. A fragment cycle
 * (validation rejects those first, but if one gets here) and an operation nested too deep to walk
 * (`MAX_WALK_NESTING` fields and fragment hops) measure `Infinity` everywhere: over every limit.
 * With `stopAfter.maxDepth`, the walk does not descend past that depth: the operation is then
 * reported at `maxDepth + 1` and its other measures are lower bounds (depth is checked first).
 */
import {
  Kind,
  Lexer,
  SchemaMetaFieldDef,
  Source,
  TokenKind,
  TypeMetaFieldDef,
  getNamedType,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
  type DirectiveNode,
  type DocumentNode,
  type FragmentDefinitionNode,
  type FieldNode,
  type GraphQLSchema,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLType,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';
import { TongxiangError } from '../../core/index.ts';

export interface OperationLimits {
  readonly maxDepth: number;
  readonly maxAliases: number;
  readonly maxRootFields: number;
  readonly maxTokens: number;
  readonly maxCost: number;
  /** Size assumed for a list without a readable size argument. */
  readonly defaultListSize: number;
}

/**
 * Defaults, sized against the hub's own graph:
 * - depth 10: the flagship eligibility query is 3 deep (person → allowances → month); a useful
 *   path through the links (enterprise → legalRepresentative → allowances → month) is 4. Ten
 *   leaves room and stops `person { enterprisesAsLegalRepresentative { legalRepresentative { … } } }`
 *   recursion, each level of which is another upstream call.
 * - aliases 30: clients alias to batch a few lookups (`a: person(…) b: person(…)`); thirty is a
 *   generous batch, while an alias bomb needs hundreds.
 * - root fields 10: each root field is at least one upstream call; a dashboard needs a handful.
 * - tokens 5000: the flagship query is 45 tokens, a roster page 26, graphql's standard
 *   introspection query 163; 5000 is 30 times the largest and still bounds parse and validation.
 * - cost 50000: the flagship query costs 1307, a roster page of 500 households (the file-drop
 *   maximum) 4503; 50000 admits ten such pages but not 100 persons each expanding their lists of
 *   100 (about 130000).
 * - defaultListSize 100: a list without a size argument (a person's allowance months, insurance
 *   records) is assumed to hold 100 items, more than one person ever has, so guesses err high.
 */
export const DEFAULT_OPERATION_LIMITS: OperationLimits = Object.freeze({
  maxDepth: 10,
  maxAliases: 30,
  maxRootFields: 10,
  maxTokens: 5000,
  maxCost: 50_000,
  defaultListSize: 100,
});

/** Largest list size believed from a size argument (`first: 1000000000` counts 10000). */
export const MAX_LIST_SIZE = 10_000;

/** Fields plus fragment hops the walk follows before calling the operation unmeasurable. */
export const MAX_WALK_NESTING = 1_000;

/** Arguments read as a list's size. */
export const SIZE_ARGUMENTS: readonly string[] = Object.freeze(['first', 'last', 'limit', 'pageSize']);

const LIMIT_KEYS = Object.keys(DEFAULT_OPERATION_LIMITS) as ReadonlyArray<keyof OperationLimits>;

/**
 * Fills `limits` from the defaults and checks every value: positive safe integers, and
 * `defaultListSize` at most `MAX_LIST_SIZE`. Unknown keys are reported too (a typo such as
 * `maxDepht` would otherwise silently keep the default). Throws one CONFIG_INVALID listing every
 * problem; returns a frozen object.
 */
export function validateOperationLimits(limits: Partial<OperationLimits>): OperationLimits {
  const problems: string[] = [];
  const given = (limits ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!(LIMIT_KEYS as readonly string[]).includes(key)) problems.push(`unknown operation limit "${key}"`);
  }
  const out: Record<string, number> = {};
  for (const key of LIMIT_KEYS) {
    const value = given[key] === undefined ? DEFAULT_OPERATION_LIMITS[key] : given[key];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
      problems.push(`${key} must be a positive integer (got ${describe(value)})`);
    } else if (key === 'defaultListSize' && value > MAX_LIST_SIZE) {
      problems.push(`defaultListSize must be at most ${MAX_LIST_SIZE} (got ${value})`);
    } else {
      out[key] = value;
    }
  }
  if (problems.length > 0) throw new TongxiangError('CONFIG_INVALID', { reason: `operation limits: ${problems.join('; ')}` });
  return Object.freeze(out as unknown as OperationLimits);
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.slice(0, 40));
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return typeof value;
}

export interface OperationMeasures {
  readonly depth: number;
  readonly aliases: number;
  readonly rootFields: number;
  readonly tokens: number;
  readonly cost: number;
}

export type OperationMeasure = 'depth' | 'aliases' | 'rootFields' | 'tokens' | 'cost';

export type OperationVerdict =
  | { readonly ok: true; readonly measures: OperationMeasures }
  | { readonly ok: false; readonly measure: OperationMeasure; readonly actual: number; readonly max: number; readonly measures: OperationMeasures };

/**
 * Counts the lexical tokens of `source` (comments and commas are not tokens), stopping once the
 * count passes `stopAfter`: the answer is at most `stopAfter + 1`. A lexical error ends the count
 * with what was counted; validation reports the syntax.
 */
export function countTokens(source: string, stopAfter: number): number {
  if (typeof source !== 'string') return 0;
  let count = 0;
  try {
    const lexer = new Lexer(new Source(source));
    while (count <= stopAfter) {
      if (lexer.advance().kind === TokenKind.EOF) break;
      count += 1;
    }
  } catch {
    // a GraphQLError for bad syntax: the count so far stands
  }
  return count;
}

const CHECK_ORDER: ReadonlyArray<readonly [OperationMeasure, keyof OperationLimits]> = [
  ['tokens', 'maxTokens'],
  ['depth', 'maxDepth'],
  ['rootFields', 'maxRootFields'],
  ['aliases', 'maxAliases'],
  ['cost', 'maxCost'],
];

/** The first measure over its limit (tokens, depth, rootFields, aliases, cost), or ok. NaN is over. */
export function checkOperation(measures: OperationMeasures, limits: OperationLimits): OperationVerdict {
  for (const [measure, limit] of CHECK_ORDER) {
    const actual = measures[measure];
    const max = limits[limit];
    if (!(actual <= max)) return { ok: false, measure, actual, max, measures };
  }
  return { ok: true, measures };
}

export interface MeasureOptions {
  readonly defaultListSize: number;
  /** Only `maxDepth` is used: the walk stops descending past it (see the file header). */
  readonly stopAfter?: Partial<OperationLimits>;
  /**
   * Collects the names of the variables the walk read (size arguments, `@skip`/`@include`
   * conditions). Measuring again with the same values for these gives the same measures, whatever
   * the other variables are: a caller may keep the measures for them.
   */
  readonly variablesRead?: Set<string>;
}

/** Measures of one selection set, relative to one execution of it. */
interface Tally {
  readonly depth: number;
  readonly aliases: number;
  /** Field occurrences directly in this selection set, fragments expanded, `__typename` excluded. */
  readonly fields: number;
  readonly cost: number;
}

const ZERO: Tally = { depth: 0, aliases: 0, fields: 0, cost: 0 };
const UNBOUNDED: Tally = { depth: Infinity, aliases: Infinity, fields: Infinity, cost: Infinity };

/** Walked too deep to measure: unwinds the walk (never escapes `measureOperation`). */
class Unmeasurable extends Error {}

const add = (a: number, b: number): number => {
  const sum = a + b;
  return sum === Infinity ? Infinity : Math.min(sum, Number.MAX_SAFE_INTEGER);
};

const mul = (a: number, b: number): number => {
  if (a === 0 || b === 0) return 0;
  if (a === Infinity || b === Infinity) return Infinity;
  return Math.min(a * b, Number.MAX_SAFE_INTEGER);
};

const sum = (a: Tally, b: Tally): Tally => ({
  depth: Math.max(a.depth, b.depth),
  aliases: add(a.aliases, b.aliases),
  fields: add(a.fields, b.fields),
  cost: add(a.cost, b.cost),
});

/** "Read nothing": the value is absent (the argument or variable was not given). */
const ABSENT = Symbol('absent');

/**
 * Measures depth, aliases, root fields and cost of the operation that will run (see the file
 * header for the rules). Linear in the document's size; never throws.
 */
export function measureOperation(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null,
  variables: Readonly<Record<string, unknown>>,
  options: MeasureOptions,
): Omit<OperationMeasures, 'tokens'> {
  const operation = selectOperation(document, operationName ?? null);
  if (!operation) return { depth: 0, aliases: 0, rootFields: 0, cost: 0 };

  const defaultListSize = sizeOr(options.defaultListSize, DEFAULT_OPERATION_LIMITS.defaultListSize);
  const depthCap = options.stopAfter?.maxDepth;
  const vars: Readonly<Record<string, unknown>> = variables && typeof variables === 'object' ? variables : {};
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION && !fragments.has(definition.name.value)) fragments.set(definition.name.value, definition);
  }
  const memo = new Map<string, Tally>();
  const inProgress = new Set<string>();
  let truncated = false;
  let unbounded = false;
  let nesting = 0;

  /** A value node's value: literal, or the variable sent, or the variable's default. */
  const read = (node: ValueNode): unknown => {
    switch (node.kind) {
      case Kind.INT:
        return Number(node.value);
      case Kind.FLOAT:
        return Number(node.value);
      case Kind.BOOLEAN:
        return node.value;
      case Kind.NULL:
        return null;
      case Kind.VARIABLE: {
        const name = node.name.value;
        options.variablesRead?.add(name);
        if (Object.hasOwn(vars, name)) return vars[name];
        const fallback = operation.variableDefinitions?.find((d) => d.variable.name.value === name)?.defaultValue;
        return fallback ? read(fallback) : ABSENT;
      }
      default:
        return undefined; // strings, lists, objects: not a size or a condition
    }
  };

  const skipped = (directives: readonly DirectiveNode[] | undefined): boolean => {
    for (const directive of directives ?? []) {
      const name = directive.name.value;
      if (name !== 'skip' && name !== 'include') continue;
      const condition = directive.arguments?.find((a) => a.name.value === 'if');
      const value = condition ? read(condition.value) : undefined;
      if (typeof value !== 'boolean') continue;
      if (name === 'skip' ? value : !value) return true;
    }
    return false;
  };

  /** The size a field asks for, or undefined when it has no size argument at all. */
  const requestedSize = (field: FieldNode, definition: GraphQLField<unknown, unknown> | undefined): number | undefined => {
    let size: number | undefined;
    for (const argName of SIZE_ARGUMENTS) {
      const node = field.arguments?.find((a) => a.name.value === argName);
      let value: unknown = node ? read(node.value) : ABSENT;
      if (value === ABSENT) {
        const schemaArg = definition?.args.find((a) => a.name === argName);
        value = schemaArg && schemaArg.defaultValue !== undefined ? schemaArg.defaultValue : ABSENT;
      }
      if (value === ABSENT) continue;
      size = Math.max(size ?? 0, sizeOr(value, defaultListSize));
    }
    return size;
  };

  const walkSelectionSet = (set: SelectionSetNode, parent: GraphQLNamedType | null, carried: number | undefined, atDepth: number): Tally => {
    nesting += 1;
    if (nesting > MAX_WALK_NESTING) throw new Unmeasurable();
    try {
      let tally = ZERO;
      for (const selection of set.selections) {
        if (skipped(selection.directives)) continue;
        if (selection.kind === Kind.FIELD) {
          tally = sum(tally, walkField(selection, parent, carried, atDepth + 1));
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          const type = selection.typeCondition ? (schema.getType(selection.typeCondition.name.value) ?? null) : parent;
          tally = sum(tally, walkSelectionSet(selection.selectionSet, type, carried, atDepth));
        } else {
          tally = sum(tally, walkFragment(selection.name.value, carried, atDepth));
        }
      }
      return tally;
    } finally {
      nesting -= 1;
    }
  };

  const walkFragment = (name: string, carried: number | undefined, atDepth: number): Tally => {
    const fragment = fragments.get(name);
    if (!fragment) return ZERO; // validation reports an unknown fragment
    const key = `${name}\u0000${carried ?? ''}`;
    const known = memo.get(key);
    if (known) return known;
    if (inProgress.has(key)) {
      unbounded = true; // a cycle
      return UNBOUNDED;
    }
    inProgress.add(key);
    try {
      const type = schema.getType(fragment.typeCondition.name.value) ?? null;
      const tally = walkSelectionSet(fragment.selectionSet, type, carried, atDepth);
      memo.set(key, tally);
      return tally;
    } finally {
      inProgress.delete(key);
    }
  };

  const walkField = (field: FieldNode, parent: GraphQLNamedType | null, carried: number | undefined, depth: number): Tally => {
    const name = field.name.value;
    const isTypename = name === '__typename';
    const alias = field.alias ? 1 : 0;
    if (isTypename) return { depth: 1, aliases: alias, fields: 0, cost: 0 };
    const definition = fieldDefinition(schema, parent, name);
    if (depthCap !== undefined && depth > depthCap) {
      // Past the cap: the operation is too deep whatever this field holds; do not walk it.
      truncated = true;
      return { depth: Infinity, aliases: alias, fields: 1, cost: 1 };
    }
    if (!field.selectionSet) return { depth: 1, aliases: alias, fields: 1, cost: 1 };
    const requested = requestedSize(field, definition);
    const levels = definition ? listLevels(definition.type) : 0;
    const size = levels === 0 ? 1 : mul(requested ?? carried ?? defaultListSize, levels > 1 ? defaultListSize ** (levels - 1) : 1);
    const childParent = definition ? getNamedType(definition.type) : null;
    const children = walkSelectionSet(field.selectionSet, childParent, levels === 0 ? requested : undefined, depth);
    return {
      depth: add(1, children.depth),
      aliases: add(alias, children.aliases),
      fields: 1,
      cost: add(1, mul(size, children.cost)),
    };
  };

  const root = rootType(schema, operation.operation);
  let tally: Tally;
  try {
    tally = walkSelectionSet(operation.selectionSet, root, undefined, 0);
  } catch (error) {
    if (!(error instanceof Unmeasurable || error instanceof RangeError)) throw error;
    tally = UNBOUNDED;
    unbounded = true;
  }
  if (unbounded) return { depth: Infinity, aliases: Infinity, rootFields: Infinity, cost: Infinity };
  const depth = truncated && depthCap !== undefined ? depthCap + 1 : tally.depth;
  return { depth, aliases: tally.aliases, rootFields: tally.fields, cost: tally.cost };
}

function selectOperation(document: DocumentNode, operationName: string | null): OperationDefinitionNode | undefined {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  if (operationName === null) return operations.length === 1 ? operations[0] : undefined;
  return operations.find((o) => o.name?.value === operationName);
}

function rootType(schema: GraphQLSchema, kind: OperationDefinitionNode['operation']): GraphQLNamedType | null {
  const type = kind === 'query' ? schema.getQueryType() : kind === 'mutation' ? schema.getMutationType() : schema.getSubscriptionType();
  return type ?? null;
}

function fieldDefinition(schema: GraphQLSchema, parent: GraphQLNamedType | null, name: string): GraphQLField<unknown, unknown> | undefined {
  if (parent && parent === schema.getQueryType()) {
    if (name === SchemaMetaFieldDef.name) return SchemaMetaFieldDef;
    if (name === TypeMetaFieldDef.name) return TypeMetaFieldDef;
  }
  if (parent && (isObjectType(parent) || isInterfaceType(parent))) return parent.getFields()[name];
  return undefined;
}

/** How many list wrappers a type has (`[[T!]!]!` → 2). */
function listLevels(type: GraphQLType): number {
  let levels = 0;
  let current: GraphQLType = type;
  for (;;) {
    if (isNonNullType(current)) current = current.ofType;
    else if (isListType(current)) {
      levels += 1;
      current = current.ofType;
    } else return levels;
  }
}

/** A usable list size from an argument value: a non-negative integer, capped; otherwise `fallback`. */
function sizeOr(value: unknown, fallback: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) return fallback;
  return Math.min(value, MAX_LIST_SIZE);
}
