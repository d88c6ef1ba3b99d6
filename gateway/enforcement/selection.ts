/**
 * The selection an object-returning resolver passes on (to Mesh's delegation, which sends it to
 * the upstream): denied fields dropped, so they are not fetched at all, and the fields row
 * decisions need (region, row owner) added under a reserved alias, so a row's region is known even
 * when the query did not select it. graphql-js completes the result from its own field nodes, so
 * nothing added here reaches the response, and nothing dropped here is looked up by a resolver.
 */
import {
  getNamedType,
  isAbstractType,
  isCompositeType,
  isObjectType,
  Kind,
  visit,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLResolveInfo,
  type GraphQLSchema,
  type SelectionNode,
  type SelectionSetNode,
} from 'graphql';
import type { Catalogue } from '../../policies/index.ts';
import type { RequestState } from './state.ts';

/** Aliases the hub adds to upstream selections; a consumer's operation may not use them. */
export const RESERVED_ALIAS_PREFIX = 'tongxiang__';

export function reservedAlias(field: string): string {
  return `${RESERVED_ALIAS_PREFIX}${field}`;
}

const reservedByDocument = new WeakMap<DocumentNode, readonly string[]>();

/**
 * The aliases of an operation that use the reserved prefix (refused before execution). Apollo
 * reuses one parsed document for the same query text, so the walk is done once per document.
 */
export function reservedAliasesIn(document: DocumentNode): readonly string[] {
  const known = reservedByDocument.get(document);
  if (known) return known;
  const found: string[] = [];
  visit(document, {
    Field(node) {
      if (node.alias?.value.startsWith(RESERVED_ALIAS_PREFIX)) found.push(node.alias.value);
    },
  });
  const frozen = Object.freeze(found);
  reservedByDocument.set(document, frozen);
  return frozen;
}

/** Fields of `typeName` that row decisions read: its region field and its row-owner field. */
export function rowFields(catalogue: Catalogue, typeName: string): readonly string[] {
  const type = catalogue.types.get(typeName);
  if (!type) return [];
  const fields: string[] = [];
  if (type.region) fields.push(type.region.field);
  if (type.rowOwner?.kind === 'field' && !fields.includes(type.rowOwner.field)) fields.push(type.rowOwner.field);
  return fields;
}

/** A row's value for `field`: under the reserved alias when the hub asked for it, else its own name. */
export function rowValue(row: Readonly<Record<string, unknown>>, field: string): unknown {
  const alias = reservedAlias(field);
  return Object.prototype.hasOwnProperty.call(row, alias) ? row[alias] : row[field];
}

function field(name: string): FieldNode {
  return { kind: Kind.FIELD, alias: { kind: Kind.NAME, value: reservedAlias(name) }, name: { kind: Kind.NAME, value: name } };
}

class Rewriter {
  constructor(
    private readonly schema: GraphQLSchema,
    private readonly catalogue: Catalogue,
    private readonly state: RequestState,
  ) {}

  private denied(typeName: string, fieldName: string): boolean {
    return this.state.decisions.get(`${typeName}.${fieldName}`)?.kind === 'deny';
  }

  private added(type: GraphQLCompositeType): SelectionNode[] {
    if (isObjectType(type)) return rowFields(this.catalogue, type.name).map(field);
    if (!isAbstractType(type)) return [];
    const out: SelectionNode[] = [];
    for (const concrete of this.schema.getPossibleTypes(type)) {
      const names = rowFields(this.catalogue, concrete.name);
      if (names.length === 0) continue;
      out.push({
        kind: Kind.INLINE_FRAGMENT,
        typeCondition: { kind: Kind.NAMED_TYPE, name: { kind: Kind.NAME, value: concrete.name } },
        selectionSet: { kind: Kind.SELECTION_SET, selections: names.map(field) },
      });
    }
    return out;
  }

  set(type: GraphQLCompositeType, set: SelectionSetNode): SelectionSetNode {
    const selections: SelectionNode[] = [];
    for (const selection of set.selections) {
      switch (selection.kind) {
        case Kind.FIELD: {
          const name = selection.name.value;
          // Only on object types: a field denied on an interface may still be allowed on a type.
          if (isObjectType(type) && this.denied(type.name, name)) break;
          const def = 'getFields' in type ? type.getFields()[name] : undefined;
          const sub = def ? getNamedType(def.type) : undefined;
          selections.push(selection.selectionSet && sub && isCompositeType(sub) ? { ...selection, selectionSet: this.set(sub, selection.selectionSet) } : selection);
          break;
        }
        case Kind.INLINE_FRAGMENT: {
          const condition = selection.typeCondition ? this.schema.getType(selection.typeCondition.name.value) : type;
          selections.push(isCompositeType(condition) ? { ...selection, selectionSet: this.set(condition, selection.selectionSet) } : selection);
          break;
        }
        case Kind.FRAGMENT_SPREAD:
          selections.push(selection); // fragment definitions are rewritten on their own
          break;
      }
    }
    selections.push(...this.added(type));
    if (selections.length === 0) selections.push({ kind: Kind.FIELD, name: { kind: Kind.NAME, value: '__typename' } });
    return { ...set, selections };
  }

  fragment(definition: FragmentDefinitionNode): FragmentDefinitionNode {
    const condition = this.schema.getType(definition.typeCondition.name.value);
    return isCompositeType(condition) ? { ...definition, selectionSet: this.set(condition, definition.selectionSet) } : definition;
  }
}

/**
 * Rewrites depend only on the decisions (which fields are denied), the schema and the catalogue,
 * so they are kept with the decisions object, per field node (graphql-js builds the field-node
 * list anew for every execution, but its nodes are the parsed document's, which Apollo reuses):
 * an operation decided the same way again (the enforcement keeps decisions with the grant list)
 * passes the very same selection nodes on, and what the delegation layer memoises per node keeps
 * working across requests.
 */
interface Rewrites {
  /** By field node, then by the type it returns there (a fragment on an interface meets several). */
  readonly fields: WeakMap<FieldNode, Map<string, FieldNode>>;
  readonly fragments: WeakMap<FragmentDefinitionNode, FragmentDefinitionNode>;
}

const rewritesByDecisions = new WeakMap<object, Rewrites>();

/** `info` with the rewritten selection of this field (and fragments). */
export function rewriteInfo(catalogue: Catalogue, state: RequestState, info: GraphQLResolveInfo): GraphQLResolveInfo {
  const returned = getNamedType(info.returnType);
  if (!isCompositeType(returned)) return info;
  let rewrites = rewritesByDecisions.get(state.decisions);
  if (!rewrites) rewritesByDecisions.set(state.decisions, (rewrites = { fields: new WeakMap(), fragments: new WeakMap() }));
  let rewriter: Rewriter | undefined;
  const fieldNodes = info.fieldNodes.map((node) => {
    if (!node.selectionSet) return node;
    let byType = rewrites.fields.get(node);
    if (!byType) rewrites.fields.set(node, (byType = new Map()));
    let rewritten = byType.get(returned.name);
    if (!rewritten) {
      rewriter ??= new Rewriter(info.schema, catalogue, state);
      rewritten = { ...node, selectionSet: rewriter.set(returned, node.selectionSet) };
      byType.set(returned.name, rewritten);
    }
    return rewritten;
  });
  if (state.fragmentsSource !== info.fragments) {
    const fragments: Record<string, FragmentDefinitionNode> = {};
    for (const [name, definition] of Object.entries(info.fragments)) {
      let rewritten = rewrites.fragments.get(definition);
      if (!rewritten) {
        rewriter ??= new Rewriter(info.schema, catalogue, state);
        rewritten = rewriter.fragment(definition);
        rewrites.fragments.set(definition, rewritten);
      }
      fragments[name] = rewritten;
    }
    state.fragments = fragments;
    state.fragmentsSource = info.fragments;
  }
  return { ...info, fieldNodes, fragments: state.fragments! };
}
