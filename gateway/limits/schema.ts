/**
 * `Query.myUsage` (我的用量): a consumer's standing against its limits — its department's ceiling
 * and, per active contract it holds, requests this minute and records today — and, for the
 * contracts its department provides, the same for each consumer (owners watch their grants being
 * used). Reads the limit store without charging anything. Not catalogue data: ungoverned.
 */
import { extendSchema, parse, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import type { ContractService } from '../../contracts/index.ts';
import { graphQLError, TongxiangError, type Principal } from '../../core/index.ts';
import type { HubLimits } from './hub-limits.ts';

const LIMITS_TYPES = ['Usage', 'ContractUsage', 'LimitStanding', 'DailyQuotaStanding'] as const;
const LIMITS_QUERY_FIELDS = ['myUsage'] as const;

export function isLimitsCoordinate(coordinate: string): boolean {
  const [type, field] = coordinate.split('.');
  if (type === undefined || field === undefined) return false;
  if (type === 'Query') return (LIMITS_QUERY_FIELDS as readonly string[]).includes(field);
  return (LIMITS_TYPES as readonly string[]).includes(type);
}

const SDL = /* GraphQL */ `
"限额现状 / standing against one limit"
type LimitStanding {
  "上限 / the limit"
  limit: Int!
  "当前剩余 / what is left now"
  remaining: Int!
  "多少秒后恢复满额 / seconds until the limit is whole again"
  resetSeconds: Int!
}

"每日记录数配额（自然日，北京时间）/ records per day (calendar day, China Standard Time)"
type DailyQuotaStanding {
  limit: Int!
  used: Int!
  remaining: Int!
  "日期 / the day, YYYY-MM-DD"
  day: String!
  resetSeconds: Int!
}

"一份协议的用量 / usage of one contract"
type ContractUsage {
  contractId: String!
  consumer: String!
  provider: String!
  "每分钟请求数；null 为不限 / requests per minute; null: unlimited"
  requestsPerMinute: LimitStanding
  "每日记录数；null 为不限 / records per day; null: unlimited"
  recordsPerDay: DailyQuotaStanding
}

"调用方的用量 / the caller's usage"
type Usage {
  department: String!
  "本部门请求上限（所有协议合计，默认每分钟）/ the department's request ceiling across all its contracts (per minute by default)"
  departmentCeiling: LimitStanding
  "本部门作为使用方的有效协议 / active contracts the department holds as consumer"
  contracts: [ContractUsage!]!
  "本部门作为提供方的有效协议（数据所有者可见）/ active contracts on the department's data (data owners)"
  ownedContracts: [ContractUsage!]!
}

extend type Query {
  "我的配额与用量 / my quotas and what is left of them"
  myUsage: Usage!
}
`;

interface Ctx {
  readonly principal?: Principal | null;
}

export function extendWithLimits(schema: GraphQLSchema, services: { limits: HubLimits; contracts: ContractService }): GraphQLSchema {
  const query = schema.getQueryType();
  if (!query || query.name !== 'Query') throw new TongxiangError('CONFIG_INVALID', { reason: 'limits schema: needs a Query root' });
  const clashes = [...LIMITS_TYPES.filter((t) => schema.getType(t)), ...LIMITS_QUERY_FIELDS.filter((f) => query.getFields()[f])];
  if (clashes.length > 0) throw new TongxiangError('CONFIG_INVALID', { reason: `limits schema: already in the graph: ${clashes.join(', ')}` });
  const extended = extendSchema(schema, parse(SDL));

  const myUsage: GraphQLFieldResolver<unknown, Ctx> = async (_root, _args, context) => {
    const principal = context?.principal;
    if (!principal) throw graphQLError('UNAUTHENTICATED', { reason: 'no principal' });
    const dept = principal.department.code;
    const active = (await services.contracts.myContracts(principal)).filter((c) => c.state === 'active');
    const held = active.filter((c) => c.consumer === dept);
    const owner = principal.roles.includes('data_owner');
    const provided = owner ? active.filter((c) => c.provider === dept) : [];
    const usage = await services.limits.usage(principal, [...held, ...provided]);
    const byId = new Map(usage.contracts.map((c) => [c.contractId, c]));
    return {
      department: usage.department,
      departmentCeiling: usage.departmentCeiling,
      contracts: held.map((c) => byId.get(c.id)!),
      ownedContracts: provided.map((c) => byId.get(c.id)!),
    };
  };

  const fields = extended.getQueryType()!.getFields();
  fields.myUsage!.resolve = myUsage as GraphQLFieldResolver<unknown, unknown>;
  return extended;
}
