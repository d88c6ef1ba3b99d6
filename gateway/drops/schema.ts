/**
 * `Mutation.rollbackDataset` (数据集回滚): publishes a department's dataset again as it was in an
 * earlier version — a new version, told to subscribers like any other. The department's data
 * owner may roll back its own datasets; a platform operator any. The reading side (reports,
 * versions, freshness) is the file-drop source's own, governed by the catalogue; this is a hub
 * action, ungoverned like the contract verbs, with its own check.
 */
import { extendSchema, parse, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import { graphQLError, isTongxiangError, toGraphQLError, TongxiangError, type Principal } from '../../core/index.ts';
import type { DatasetVersion, DropPipeline } from '../../sources/filedrop/index.ts';

const DROPS_MUTATION_FIELDS = ['rollbackDataset'] as const;

export function isDropsCoordinate(coordinate: string): boolean {
  return coordinate === 'Mutation.rollbackDataset' || coordinate.startsWith('DatasetRollback.');
}

/** Pure: may `principal` roll back `department`'s datasets? */
export function mayRollback(principal: Principal, department: string): boolean {
  if (principal.roles.includes('operator')) return true;
  return principal.roles.includes('data_owner') && principal.department.code === department;
}

export interface DropsSchemaServices {
  readonly pipeline: () => DropPipeline;
  /** Told after a rollback has been published (the audit trail). */
  readonly onRollback?: (principal: Principal, version: DatasetVersion) => void;
}

export function extendWithDrops(schema: GraphQLSchema, services: DropsSchemaServices): GraphQLSchema {
  if (!schema.getType('DatasetVersion')) throw new TongxiangError('CONFIG_INVALID', { reason: 'drops schema: the file-drop source (DatasetVersion) is not in the graph' });
  const mutation = schema.getMutationType();
  const clashes = DROPS_MUTATION_FIELDS.filter((f) => mutation?.getFields()[f]);
  if (clashes.length > 0) throw new TongxiangError('CONFIG_INVALID', { reason: `drops schema: already in the graph: ${clashes.join(', ')}` });
  if (schema.getType('DatasetRollback')) throw new TongxiangError('CONFIG_INVALID', { reason: 'drops schema: DatasetRollback is already in the graph' });
  // Its own result type: the caller was authorised for this department's datasets above, so the
  // answer is not subject to the catalogue's row decisions (which need a governed parent).
  const sdl = /* GraphQL */ `
"回滚结果：新发布的版本 / the version a rollback published"
type DatasetRollback {
  dataset: String!
  department: String!
  "新版本号 / the new version"
  version: Int!
  "恢复自哪个版本 / the version whose rows it carries"
  restoredFrom: Int!
  "rollback"
  kind: String!
  rows: Int!
  added: Int!
  changed: Int!
  removed: Int!
  "发布时间（ISO 8601）/ published at"
  publishedAt: String!
}

${mutation ? 'extend type Mutation' : 'type Mutation'} {
  "回滚部门数据集：以某个旧版本的数据发布一个新版本（数据所有者或平台运维）/ publish a department's dataset again as it was in an earlier version (its data owner, or a platform operator)"
  rollbackDataset(dataset: String!, department: String!, toVersion: Int!): DatasetRollback!
}`;
  const extended = extendSchema(schema, parse(sdl));
  const rollback: GraphQLFieldResolver<unknown, { principal?: Principal | null }, { dataset: string; department: string; toVersion: number }> = async (
    _root,
    args,
    context,
  ) => {
    const principal = context?.principal;
    if (!principal) throw graphQLError('UNAUTHENTICATED', { reason: 'no principal' });
    if (!mayRollback(principal, args.department)) {
      throw graphQLError('FORBIDDEN_ACTION', { reason: `只有 ${args.department} 的数据所有者或平台运维人员可以回滚其数据集 / only ${args.department}'s data owner or a platform operator may roll back its datasets` });
    }
    try {
      const version = await services.pipeline().rollback({ dataset: args.dataset, department: args.department }, args.toVersion, principal.subject);
      services.onRollback?.(principal, version);
      return { ...version, publishedAt: version.publishedAt.toISOString() };
    } catch (error) {
      if (isTongxiangError(error)) throw toGraphQLError(error);
      throw error;
    }
  };
  extended.getMutationType()!.getFields().rollbackDataset!.resolve = rollback as GraphQLFieldResolver<unknown, unknown>;
  return extended;
}
