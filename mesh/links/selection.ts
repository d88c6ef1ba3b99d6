/**
 * Static selection sets for cross-source calls: every leaf field of a source type (objects nested
 * up to a small depth), leaving out fields added by links. Results come back as plain JSON, so
 * the consumer's own aliases and fragments resolve against them with default resolvers.
 */
import {
  getNamedType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  type GraphQLOutputType,
  type GraphQLSchema,
} from 'graphql';

const cache = new WeakMap<GraphQLSchema, Map<string, string>>();

export function fullSelection(schema: GraphQLSchema, typeName: string, skip: ReadonlySet<string>, depth = 3): string {
  let perSchema = cache.get(schema);
  if (!perSchema) cache.set(schema, (perSchema = new Map()));
  const key = `${typeName}:${depth}`;
  const hit = perSchema.get(key);
  if (hit) return hit;
  const built = build(schema, typeName, skip, depth);
  perSchema.set(key, built);
  return built;
}

function build(schema: GraphQLSchema, typeName: string, skip: ReadonlySet<string>, depth: number): string {
  const type = schema.getType(typeName);
  if (!isObjectType(type)) throw new Error(`fullSelection: ${typeName} is not an object type`);
  const parts: string[] = [];
  for (const field of Object.values(type.getFields())) {
    if (skip.has(`${typeName}.${field.name}`)) continue;
    if (field.args.some((a) => isNonNullType(a.type))) continue;
    const named = getNamedType(field.type);
    if (isLeafType(named)) parts.push(field.name);
    else if (isObjectType(named) && depth > 1) {
      const inner = build(schema, named.name, skip, depth - 1);
      if (inner !== '{ }') parts.push(`${field.name} ${inner}`);
    }
  }
  return `{ ${parts.join(' ')} }`;
}

/** Drops the delegation bookkeeping (symbols, prototypes) and keeps plain data. */
export function plain<T>(value: T): T {
  return value == null ? value : (JSON.parse(JSON.stringify(value)) as T);
}

export function isListOutput(type: GraphQLOutputType): boolean {
  return isListType(isNonNullType(type) ? type.ofType : type);
}
