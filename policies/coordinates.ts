/**
 * Every field coordinate (`Type.field`) an operation can touch, computed before execution:
 * through aliases, named and inline fragments (nested, on interfaces and unions), and
 * `@skip`/`@include` with literal or variable conditions. A field is left out only when it is
 * skipped for sure; an undecidable condition counts as "may run". A field selected on an abstract
 * type counts for the abstract type and for every concrete type it can be at that point.
 * `__typename` is no data; introspection (`__schema`, `__type`) is reported apart.
 */
import {
  isAbstractType,
  isCompositeType,
  isObjectType,
  getNamedType,
  Kind,
  type DirectiveNode,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLObjectType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';

export interface OperationRequest {
  readonly document: DocumentNode;
  readonly operationName?: string | null | undefined;
  readonly variables?: Readonly<Record<string, unknown>> | null | undefined;
}

export interface CollectedCoordinates {
  /** `Type.field` for every field that may be resolved. */
  readonly coordinates: ReadonlySet<string>;
  /** Introspection root fields asked for (`__schema`, `__type`); empty when none. */
  readonly introspection: ReadonlySet<string>;
}

const INTROSPECTION_ROOTS = new Set(['__schema', '__type']);

/**
 * The coordinates one request can touch. The operation is the one `operationName` names, or the
 * only one; when that does not single one out (execution would refuse it), every operation of the
 * document counts — the answer is never smaller than what could run.
 */
export function collectCoordinates(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName?: string | null,
  variables?: Readonly<Record<string, unknown>> | null,
): CollectedCoordinates {
  const coordinates = new Set<string>();
  const introspection = new Set<string>();
  collectInto(schema, { document, operationName, variables }, coordinates, introspection);
  return { coordinates, introspection };
}

/** A batched HTTP request is several operations: the union of what each can touch. */
export function collectBatchCoordinates(schema: GraphQLSchema, requests: readonly OperationRequest[]): CollectedCoordinates {
  const coordinates = new Set<string>();
  const introspection = new Set<string>();
  for (const request of requests) collectInto(schema, request, coordinates, introspection);
  return { coordinates, introspection };
}

function collectInto(schema: GraphQLSchema, request: OperationRequest, coordinates: Set<string>, introspection: Set<string>): void {
  const operations: OperationDefinitionNode[] = [];
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of request.document.definitions) {
    if (def.kind === Kind.OPERATION_DEFINITION) operations.push(def);
    else if (def.kind === Kind.FRAGMENT_DEFINITION && !fragments.has(def.name.value)) fragments.set(def.name.value, def);
  }
  const name = request.operationName ?? null;
  const named = name === null ? [] : operations.filter((op) => op.name?.value === name);
  const chosen = named.length === 1 ? named : operations;
  for (const op of chosen) {
    const root = schema.getRootType(op.operation);
    if (!root) continue;
    new Walker(schema, fragments, conditions(op, request.variables ?? {}), coordinates, introspection).walk(op.selectionSet, root, [root]);
  }
}

/** Decides `if:` of @skip/@include: true, false, or undefined when it cannot be known now. */
type Condition = (directive: DirectiveNode) => boolean | undefined;

function conditions(op: OperationDefinitionNode, variables: Readonly<Record<string, unknown>>): Condition {
  const defaults = new Map<string, boolean>();
  for (const def of op.variableDefinitions ?? []) {
    if (def.defaultValue?.kind === Kind.BOOLEAN) defaults.set(def.variable.name.value, def.defaultValue.value);
  }
  return (directive) => {
    const arg = directive.arguments?.find((a) => a.name.value === 'if');
    if (!arg) return undefined;
    if (arg.value.kind === Kind.BOOLEAN) return arg.value.value;
    if (arg.value.kind !== Kind.VARIABLE) return undefined;
    const name = arg.value.name.value;
    if (Object.prototype.hasOwnProperty.call(variables, name)) {
      const v = variables[name];
      return typeof v === 'boolean' ? v : undefined;
    }
    return defaults.get(name);
  };
}

class Walker {
  /** Fragment × context already walked: coordinates are a set, so once is enough (and no cycles). */
  private readonly visited = new Set<string>();

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly fragments: ReadonlyMap<string, FragmentDefinitionNode>,
    private readonly condition: Condition,
    private readonly coordinates: Set<string>,
    private readonly introspection: Set<string>,
  ) {}

  /** `possible`: the concrete types the object can be here, narrowed by enclosing fragments. */
  walk(selectionSet: SelectionSetNode, type: GraphQLCompositeType, possible: readonly GraphQLObjectType[]): void {
    for (const selection of selectionSet.selections) {
      if (this.skippedForSure(selection.directives)) continue;
      switch (selection.kind) {
        case Kind.FIELD: {
          const name = selection.name.value;
          if (name === '__typename') break;
          if (INTROSPECTION_ROOTS.has(name)) {
            this.introspection.add(name);
            break;
          }
          this.coordinates.add(`${type.name}.${name}`);
          if (isAbstractType(type)) {
            for (const concrete of possible) if (concrete.getFields()[name]) this.coordinates.add(`${concrete.name}.${name}`);
          }
          if (!selection.selectionSet) break;
          const field = 'getFields' in type ? type.getFields()[name] : undefined;
          const returned = field ? getNamedType(field.type) : undefined;
          if (returned && isCompositeType(returned)) this.walk(selection.selectionSet, returned, this.possibleTypes(returned));
          break;
        }
        case Kind.INLINE_FRAGMENT: {
          const condition = selection.typeCondition ? this.schema.getType(selection.typeCondition.name.value) : type;
          this.narrow(selection.selectionSet, condition, possible);
          break;
        }
        case Kind.FRAGMENT_SPREAD: {
          const fragment = this.fragments.get(selection.name.value);
          if (!fragment) break;
          const condition = this.schema.getType(fragment.typeCondition.name.value);
          const key = `${fragment.name.value}|${possible.map((t) => t.name).join(',')}`;
          if (this.visited.has(key)) break;
          this.visited.add(key);
          this.narrow(fragment.selectionSet, condition, possible);
          break;
        }
      }
    }
  }

  private narrow(selectionSet: SelectionSetNode, condition: unknown, possible: readonly GraphQLObjectType[]): void {
    if (!isCompositeType(condition)) return;
    const allowed = new Set(this.possibleTypes(condition).map((t) => t.name));
    const narrowed = possible.filter((t) => allowed.has(t.name));
    if (narrowed.length === 0) return; // the fragment can never apply here
    this.walk(selectionSet, condition, narrowed);
  }

  private possibleTypes(type: GraphQLCompositeType): readonly GraphQLObjectType[] {
    return isObjectType(type) ? [type] : this.schema.getPossibleTypes(type);
  }

  private skippedForSure(directives: readonly DirectiveNode[] | undefined): boolean {
    for (const directive of directives ?? []) {
      const name = directive.name.value;
      if (name === 'skip' && this.condition(directive) === true) return true;
      if (name === 'include' && this.condition(directive) === false) return true;
    }
    return false;
  }
}
