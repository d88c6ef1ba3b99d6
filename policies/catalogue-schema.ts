/**
 * The catalogue against the built graph: every object and interface type a query can reach, and
 * every field of it, must be classified; every entry must name something that exists. And the
 * schema consumers see: not-shared fields removed, so introspection and validation know nothing of
 * them. Scalars, enums and input types carry no data of their own: the fields that return or take
 * them are classified instead.
 */
import {
  getNamedType,
  isInterfaceType,
  isLeafType,
  isObjectType,
  isUnionType,
  type GraphQLInterfaceType,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLSchema,
} from 'graphql';
import { mapSchema, MapperKind } from '@graphql-tools/utils';
import type { Catalogue } from './catalogue.ts';

function isComposite(type: GraphQLNamedType | undefined | null): type is GraphQLObjectType | GraphQLInterfaceType {
  return isObjectType(type) || isInterfaceType(type);
}

/** Names of the types a query, mutation or subscription can reach (introspection types left out). */
export function reachableTypes(schema: GraphQLSchema): ReadonlySet<string> {
  const seen = new Set<string>();
  const queue: GraphQLNamedType[] = [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].filter(
    (t): t is NonNullable<typeof t> => t != null,
  );
  while (queue.length > 0) {
    const type = queue.pop()!;
    if (seen.has(type.name) || type.name.startsWith('__')) continue;
    seen.add(type.name);
    if (isObjectType(type) || isInterfaceType(type)) {
      for (const field of Object.values(type.getFields())) queue.push(getNamedType(field.type));
      if (isInterfaceType(type)) queue.push(...schema.getPossibleTypes(type));
    } else if (isUnionType(type)) queue.push(...type.getTypes());
  }
  return seen;
}

/**
 * What is wrong between catalogue and schema, sorted; empty when they match. The hub refuses to
 * start on a non-empty list (CATALOGUE_INVALID, see `catalogueInvalid`).
 */
export function checkCatalogueAgainstSchema(catalogue: Catalogue, schema: GraphQLSchema): string[] {
  const problems: string[] = [];
  const reachable = reachableTypes(schema);

  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith('__') || !isComposite(type)) continue;
    const technical = catalogue.technical.get(type.name);
    if (!reachable.has(type.name)) {
      if (!technical && !catalogue.types.has(type.name)) {
        problems.push(`${type.name}: 查询不可达且未分类；分类或列入 technical / unreachable and unclassified: classify it or list it under technical`);
      }
      if (!catalogue.types.has(type.name)) continue;
    }
    if (technical) {
      problems.push(`${type.name}: 列为 technical（${technical.file}）但查询可达，须逐字段分类 / listed as technical but reachable: classify its fields`);
      continue;
    }
    if (!catalogue.types.has(type.name)) problems.push(`${type.name}: 类型未分类（无 description）/ type not classified`);
    const fields = Object.keys(type.getFields());
    for (const field of fields) {
      if (!catalogue.fields.has(`${type.name}.${field}`)) problems.push(`${type.name}.${field}: 字段未分类 / field not classified`);
    }
    if (fields.length > 0 && fields.every((f) => catalogue.fields.get(`${type.name}.${f}`)?.sharing === 'not-shared')) {
      problems.push(`${type.name}: 所有字段均不予共享，类型将为空 / every field is not-shared; the type would be empty`);
    }
  }

  for (const [name, entry] of catalogue.types) {
    const type = schema.getType(name);
    if (!type) {
      problems.push(`${name}: 图中没有该类型 / no such type in the graph`);
      continue;
    }
    if (!isComposite(type)) {
      problems.push(`${name}: 不是对象或接口类型，无须分类 / not an object or interface type; nothing to classify`);
      continue;
    }
    for (const [key, field] of [['region', entry.region?.field], ['rowOwner', entry.rowOwner?.kind === 'field' ? entry.rowOwner.field : undefined]] as const) {
      if (field === undefined) continue;
      const def = type.getFields()[field];
      if (!def || !isLeafType(getNamedType(def.type))) problems.push(`${name}.${key}: ${name}.${field} 不存在或不是标量 / ${name}.${field} is missing or not a leaf`);
    }
  }

  for (const [coordinate, entry] of catalogue.fields) {
    const type = schema.getType(entry.typeName);
    if (!isComposite(type)) {
      if (type === undefined || !catalogue.types.has(entry.typeName)) problems.push(`${coordinate}: 图中没有类型 ${entry.typeName} / no type ${entry.typeName} in the graph`);
      continue;
    }
    const def = type.getFields()[entry.fieldName];
    if (!def) {
      problems.push(`${coordinate}: 图中没有该字段 / no such field in the graph`);
      continue;
    }
    const leaf = isLeafType(getNamedType(def.type));
    if (entry.mask !== null && !leaf) problems.push(`${coordinate}: 返回对象的字段不能脱敏（mask: ${entry.mask}）/ a field returning objects cannot be masked`);
    if (entry.subjectKey !== null && !leaf) problems.push(`${coordinate}: subjectKey 须为标量字段 / a subject key must be a leaf field`);
  }

  for (const [name, technical] of catalogue.technical) {
    if (!schema.getType(name)) problems.push(`${name}: 列为 technical（${technical.file}）但图中没有该类型 / listed as technical but not in the graph`);
  }
  return [...new Set(problems)].sort();
}

/**
 * The schema consumers see: every not-shared field removed (so introspection cannot list it and
 * a query naming it fails validation); resolvers and everything else kept as they are.
 */
export function publicSchema(schema: GraphQLSchema, catalogue: Catalogue): GraphQLSchema {
  return mapSchema(schema, {
    [MapperKind.COMPOSITE_FIELD]: (config, fieldName, typeName) =>
      catalogue.fields.get(`${typeName}.${fieldName}`)?.sharing === 'not-shared' ? null : config,
  });
}

/** Coordinates removed by `publicSchema`, sorted: what the catalogue marks not-shared. */
export function notSharedCoordinates(catalogue: Catalogue): string[] {
  return [...catalogue.fields.values()].filter((f) => f.sharing === 'not-shared').map((f) => f.coordinate).sort();
}
