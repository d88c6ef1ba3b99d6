/**
 * The contracts admin API (共享协议管理接口) in the same graph as the data: queries
 * `myContracts`, `pendingApprovals`, `contract`, `catalogue`; mutations request / withdraw /
 * approve / reject / suspend / resume / revoke / renew. Every operation acts as
 * `context.principal` (set by gateway/identity); without one: UNAUTHENTICATED. The contract
 * service decides who may do what; its TongxiangErrors become coded GraphQL errors.
 *
 * `extendWithAdmin(schema, services)` adds the SDL to an existing schema with graphql-js
 * `extendSchema` (no schema stitching, no delegation: the Mesh resolvers are kept as they are)
 * and attaches the resolvers. `adminTypeDefs` / `adminResolvers` are the same thing in
 * graphql-tools shape for a caller that prefers `mergeSchemas`.
 *
 * GraphQL enums are UPPER_CASE; the model's values are lowercase (`not-shared` ↔ `NOT_SHARED`).
 * Resolvers convert both ways, so the enums carry their names as values.
 */
import {
  extendSchema,
  isObjectType,
  parse,
  type GraphQLFieldResolver,
  type GraphQLSchema,
} from 'graphql';
import type {
  ActiveGrant,
  CatalogueLookup,
  Contract,
  ContractService,
  ContractState,
  ContractTransition,
  FieldGrant,
  GrantMode,
  RowScope,
} from '../../contracts/index.ts';
import { graphQLError, isTongxiangError, systemClock, TongxiangError, toGraphQLError, type Clock, type Principal } from '../../core/index.ts';
import { browseCatalogue, type Catalogue, type CatalogueListing, type InactiveGrant } from '../../policies/index.ts';

export interface AdminServices {
  readonly contracts: ContractService;
  /** The policies catalogue (for `Query.catalogue`). */
  readonly catalogue: Catalogue;
  /** Default: the system clock. */
  readonly clock?: Clock | undefined;
}

/** What the admin resolvers read of the request context. */
export interface AdminContext {
  readonly principal?: Principal | null | undefined;
}

/** Every type the admin SDL adds (the enforcement should leave these and the root fields below alone). */
export const ADMIN_TYPES = [
  'Contract',
  'ContractTransition',
  'ContractFieldGrant',
  'ContractRowScope',
  'ContractQuotas',
  'CatalogueEntry',
  'CatalogueAccess',
  'ContractState',
  'ContractAction',
  'GrantMode',
  'RowScopeKind',
  'SharingType',
  'DataLevel',
  'UpdateCycle',
  'AccessMode',
  'FieldGrantInput',
  'RowScopeInput',
  'QuotasInput',
  'ContractRequestInput',
] as const;

export const ADMIN_QUERY_FIELDS = ['myContracts', 'pendingApprovals', 'contract', 'catalogue'] as const;
export const ADMIN_MUTATION_FIELDS = [
  'requestContract',
  'withdrawContract',
  'approveContract',
  'rejectContract',
  'suspendContract',
  'resumeContract',
  'revokeContract',
  'renewContract',
] as const;

/**
 * True for a coordinate the admin API adds (`Query.myContracts`, `Contract.state`, ...): these
 * are authorised by the contract service, not by the catalogue — the field enforcement should
 * let them through. `queryType` / `mutationType`: the root type names, when not the defaults.
 */
export function isAdminCoordinate(coordinate: string, roots = { query: 'Query', mutation: 'Mutation' }): boolean {
  const [type, field] = coordinate.split('.');
  if (type === undefined || field === undefined) return false;
  if (type === roots.query) return (ADMIN_QUERY_FIELDS as readonly string[]).includes(field);
  if (type === roots.mutation) return (ADMIN_MUTATION_FIELDS as readonly string[]).includes(field);
  return (ADMIN_TYPES as readonly string[]).includes(type);
}

const TYPES_SDL = /* GraphQL */ `
"""
共享协议：用数部门可读取提供方哪些字段、为何、多长时间，以及每一步的来历。
A sharing contract: which fields of the provider the consumer department may read, why, for how long, and every step of how that came to be.
"""
type Contract {
  "协议编号，如 GX-2026-000123 / contract number, e.g. GX-2026-000123"
  id: ID!
  "用数部门代码 / consumer department code, e.g. 341504.mzj"
  consumer: String!
  "提供方（数据所有部门）代码 / provider (owning department) code"
  provider: String!
  "授权的字段坐标及方式 / granted field coordinates and how each is returned"
  fields: [ContractFieldGrant!]!
  "用途 / purpose"
  purpose: String!
  "依据（法规、文件）/ legal basis"
  legalBasis: String!
  "行范围 / row scope"
  scope: ContractRowScope!
  "生效时间（ISO 8601）/ valid from (ISO 8601 instant)"
  validFrom: String!
  "失效时间（ISO 8601）/ valid until (ISO 8601 instant)"
  validUntil: String!
  "配额（由限流执行）/ quotas (enforced by rate limiting)"
  quotas: ContractQuotas!
  "状态 / state"
  state: ContractState!
  "续期所接续的协议 / the contract this one renews"
  predecessorId: ID
  "创建时间 / created at"
  createdAt: String!
  "最后变更时间 / last changed at"
  updatedAt: String!
  "版本（每次变更加一）/ version, +1 per step"
  version: Int!
  "全部变更记录，按顺序 / every step, in order"
  history: [ContractTransition!]!
}

"协议的一次变更，永久保存 / one lifecycle step, kept forever"
type ContractTransition {
  "序号（从 1 起）/ sequence number from 1"
  seq: Int!
  "动作 / action"
  action: ContractAction!
  "原状态（创建时为空）/ previous state (null at creation)"
  from: ContractState
  "新状态 / new state"
  to: ContractState!
  "操作人（sub），到期为 system / actor (sub), or system for expiry"
  actor: String!
  "操作人所在部门 / the actor's department"
  actorDepartment: String
  "时间（ISO 8601）/ when (ISO 8601 instant)"
  at: String!
  "理由 / reason"
  reason: String
  "本步设定的字段（申请、续期、审批缩减时）/ the grants this step set (request, renewal, narrowing approval)"
  fields: [ContractFieldGrant!]
}

"一个授权字段 / one granted field"
type ContractFieldGrant {
  "模式坐标，如 Person.insurance / schema coordinate, e.g. Person.insurance"
  coordinate: String!
  "明文或脱敏 / clear or masked"
  mode: GrantMode!
}

"行范围 / which rows a contract covers"
type ContractRowScope {
  "本辖区、指定地区或全部 / jurisdiction, listed regions, or all"
  kind: RowScopeKind!
  "kind 为 REGIONS 时的行政区划代码 / region codes when kind is REGIONS (empty otherwise)"
  regionCodes: [String!]!
}

"配额，空为不设限 / quotas; null means unlimited"
type ContractQuotas {
  "每分钟请求数 / requests per minute"
  requestsPerMinute: Int
  "每日记录数 / records per day"
  recordsPerDay: Int
}

"数据资源目录中的一个字段 / one field of the data catalogue"
type CatalogueEntry {
  "模式坐标 / schema coordinate"
  coordinate: String!
  "所属类型的说明 / description of the field's type"
  typeDescription: String!
  "数据所有部门（共有时为第一个）/ owning department (the first, when co-owned)"
  owner: String!
  "全部所有部门 / every owning department"
  owners: [String!]!
  "共享类型 / sharing type"
  sharing: SharingType!
  "分级 / level"
  level: DataLevel!
  "脱敏规则（空：不能脱敏授权）/ masking rule (null: cannot be granted masked)"
  masking: String
  "说明 / description"
  description: String!
  "更新周期 / update cycle"
  updateCycle: UpdateCycle!
  "本部门当前能否读取 / whether the caller's department can read it now"
  myAccess: CatalogueAccess!
}

"调用方对一个字段的访问 / the caller's access to one field"
type CatalogueAccess {
  "明文、脱敏或无 / clear, masked or none"
  mode: AccessMode!
  "依据的协议（无条件共享或本部门数据为空）/ the contract it comes from (null for unconditional and own fields)"
  contractId: ID
  "无权时的原因，如 no-contract / why not, when mode is NONE (e.g. no-contract)"
  reason: String
}

"协议状态 / contract state"
enum ContractState { DRAFT PENDING ACTIVE REJECTED SUSPENDED REVOKED EXPIRED WITHDRAWN }
"协议动作 / contract action"
enum ContractAction { CREATE SUBMIT WITHDRAW APPROVE REJECT SUSPEND RESUME REVOKE EXPIRE RENEW }
"明文 / 脱敏 — clear / masked"
enum GrantMode { CLEAR MASKED }
"行范围种类 / row-scope kind"
enum RowScopeKind { JURISDICTION REGIONS ALL }
"共享类型：无条件 / 有条件 / 不予共享 — sharing type"
enum SharingType { UNCONDITIONAL CONDITIONAL NOT_SHARED }
"数据分级 / data level"
enum DataLevel { L1 L2 L3 L4 }
"更新周期 / update cycle"
enum UpdateCycle { REALTIME DAILY WEEKLY MONTHLY QUARTERLY YEARLY }
"访问方式 / access mode"
enum AccessMode { CLEAR MASKED NONE }

"申请的一个字段 / one requested field"
input FieldGrantInput {
  coordinate: String!
  "默认 CLEAR / default CLEAR"
  mode: GrantMode = CLEAR
}

"行范围 / row scope"
input RowScopeInput {
  kind: RowScopeKind!
  "kind 为 REGIONS 时必填 / required when kind is REGIONS"
  regionCodes: [String!]
}

"配额 / quotas"
input QuotasInput {
  requestsPerMinute: Int
  recordsPerDay: Int
}

"共享协议申请 / a sharing-contract request"
input ContractRequestInput {
  "提供方代码（可由字段推出）/ provider department code (inferred from the fields when left out)"
  provider: String
  fields: [FieldGrantInput!]!
  "用途 / purpose"
  purpose: String!
  "依据 / legal basis"
  legalBasis: String!
  "默认本辖区 / default: the consumer's jurisdiction"
  scope: RowScopeInput
  "ISO 8601，默认现在 / ISO 8601, default now"
  validFrom: String
  "ISO 8601，最长 3 年 / ISO 8601, at most 3 years"
  validUntil: String!
  quotas: QuotasInput
}
`;

const QUERY_FIELDS_SDL = /* GraphQL */ `
  "本部门作为用数方或提供方的全部协议 / contracts of the caller's department, as consumer or provider"
  myContracts: [Contract!]!
  "待本部门审批的协议（数据所有者）/ pending contracts on the caller's department's data (data_owner only)"
  pendingApprovals: [Contract!]!
  "一个协议（用数方、提供方、审计、运维可见）/ one contract (for its consumer, provider, auditors and operators)"
  contract(id: ID!): Contract
  "浏览数据资源目录及本部门的访问情况 / browse the data catalogue with the caller's access"
  catalogue(search: String, owner: String, level: DataLevel, sharing: SharingType): [CatalogueEntry!]!
`;

const MUTATION_FIELDS_SDL = /* GraphQL */ `
  "申请共享协议（创建并提交审批）/ request a sharing contract (created and submitted for approval)"
  requestContract(input: ContractRequestInput!): Contract!
  "撤回申请（用数部门）/ withdraw a draft or pending request (consumer department)"
  withdrawContract(id: ID!, reason: String): Contract!
  "批准（提供方数据所有者），可缩减字段或改为脱敏 / approve (provider's data_owner); narrow: the grants kept, fewer or clear → masked"
  approveContract(id: ID!, narrow: [FieldGrantInput!], reason: String): Contract!
  "驳回（须说明理由）/ reject (reason required)"
  rejectContract(id: ID!, reason: String!): Contract!
  "暂停 / suspend"
  suspendContract(id: ID!, reason: String): Contract!
  "恢复 / resume"
  resumeContract(id: ID!, reason: String): Contract!
  "撤销（须说明理由）/ revoke (reason required)"
  revokeContract(id: ID!, reason: String!): Contract!
  "续期：创建接续协议并提交审批 / renew: a successor submitted for approval"
  renewContract(id: ID!, validUntil: String, validFrom: String): Contract!
`;

/** The admin SDL as standalone type definitions (Query and Mutation as `extend type`). */
export const adminTypeDefs = `${TYPES_SDL}\nextend type Query {${QUERY_FIELDS_SDL}}\nextend type Mutation {${MUTATION_FIELDS_SDL}}\n`;

/** `NOT_SHARED` ↔ `not-shared`. */
const toEnum = (value: string): string => value.toUpperCase().replace(/-/g, '_');
const fromEnum = (value: string): string => value.toLowerCase().replace(/_/g, '-');

function principalOf(context: AdminContext | undefined): Principal {
  const principal = context?.principal;
  if (!principal) throw graphQLError('UNAUTHENTICATED', { reason: '请求未携带身份 / no principal on the request' });
  return principal;
}

type Resolver = GraphQLFieldResolver<any, AdminContext | undefined, any>;

/** Runs a resolver; catalogue errors become coded GraphQL errors. */
function coded(fn: Resolver): Resolver {
  return async (source, args, context, info) => {
    try {
      return await fn(source, args, context, info);
    } catch (error) {
      if (isTongxiangError(error)) throw toGraphQLError(error);
      throw error;
    }
  };
}

interface FieldGrantArg {
  readonly coordinate: string;
  readonly mode?: string | null;
}

function grantsFrom(input: readonly FieldGrantArg[] | null | undefined): FieldGrant[] | undefined {
  if (input === null || input === undefined) return undefined;
  return input.map((g) => ({ coordinate: g.coordinate, mode: fromEnum(g.mode ?? 'CLEAR') as GrantMode }));
}

function scopeFrom(input: { kind: string; regionCodes?: readonly string[] | null } | null | undefined): RowScope | undefined {
  if (!input) return undefined;
  const kind = fromEnum(input.kind);
  if (kind === 'regions') return { kind, regionCodes: input.regionCodes ?? [] };
  if (input.regionCodes && input.regionCodes.length > 0) {
    throw new TongxiangError('BAD_USER_INPUT', { reason: 'scope.regionCodes 只用于 REGIONS / regionCodes only go with kind REGIONS' });
  }
  return { kind: kind as 'jurisdiction' | 'all' };
}

function optionalText(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** The contracts of the caller's department that name a field but grant nothing now (for the reason). */
function inactiveOf(contracts: readonly Contract[], consumer: string): InactiveGrant[] {
  return contracts
    .filter((c) => c.consumer === consumer && c.state !== 'active')
    .flatMap((c) => c.fields.map((f) => ({ contractId: c.id, coordinate: f.coordinate, state: c.state as ContractState })));
}

function matches(listing: CatalogueListing, args: { search?: string | null; owner?: string | null; level?: string | null; sharing?: string | null }): boolean {
  if (args.owner && !listing.owners.includes(args.owner)) return false;
  if (args.level && listing.level !== args.level) return false;
  if (args.sharing && listing.sharing !== fromEnum(args.sharing)) return false;
  if (args.search) {
    const needle = args.search.trim().toLowerCase();
    const hay = `${listing.coordinate}\n${listing.description}\n${listing.typeDescription}\n${listing.owners.join(' ')}`.toLowerCase();
    if (!hay.includes(needle)) return false;
  }
  return true;
}

/** The resolvers, graphql-tools shaped: `{ Query, Mutation, Contract, ... }`. */
export function adminResolvers(services: AdminServices): Record<string, Record<string, Resolver>> {
  const { contracts, catalogue } = services;
  const clock = services.clock ?? systemClock;
  const as = (context: AdminContext | undefined) => principalOf(context);

  return {
    Query: {
      myContracts: coded((_s, _a, ctx) => contracts.myContracts(as(ctx))),
      pendingApprovals: coded((_s, _a, ctx) => contracts.pendingApprovals(as(ctx))),
      contract: coded(async (_s, args: { id: string }, ctx) => {
        const principal = as(ctx);
        try {
          return await contracts.get(principal, args.id);
        } catch (error) {
          if (isTongxiangError(error) && error.code === 'CONTRACT_NOT_FOUND') return null;
          throw error;
        }
      }),
      catalogue: coded(async (_s, args, ctx) => {
        const principal = as(ctx);
        const now = clock.now();
        const dept = principal.department.code;
        const [grants, mine] = await Promise.all([contracts.grants(dept, now), contracts.myContracts(principal)]);
        const byId = new Map(mine.map((c) => [c.id, c]));
        const windowed = grants.map((g: ActiveGrant) => {
          const c = byId.get(g.contractId);
          return c ? { ...g, validFrom: c.validFrom, validUntil: c.validUntil } : g;
        });
        const listings = browseCatalogue({ catalogue, principal, grants: windowed, inactive: inactiveOf(mine, dept), now });
        return listings.filter((l) => matches(l, args));
      }),
    },
    Mutation: {
      requestContract: coded((_s, { input }, ctx) =>
        contracts.request(as(ctx), {
          provider: optionalText(input.provider),
          fields: grantsFrom(input.fields) ?? [],
          purpose: input.purpose,
          legalBasis: input.legalBasis,
          scope: scopeFrom(input.scope),
          validFrom: optionalText(input.validFrom),
          validUntil: input.validUntil,
          quotas: input.quotas ?? undefined,
        }),
      ),
      withdrawContract: coded((_s, a, ctx) => contracts.withdraw(as(ctx), a.id, optionalText(a.reason))),
      approveContract: coded((_s, a, ctx) => contracts.approve(as(ctx), a.id, { narrow: grantsFrom(a.narrow), reason: optionalText(a.reason) })),
      rejectContract: coded((_s, a, ctx) => contracts.reject(as(ctx), a.id, a.reason)),
      suspendContract: coded((_s, a, ctx) => contracts.suspend(as(ctx), a.id, optionalText(a.reason))),
      resumeContract: coded((_s, a, ctx) => contracts.resume(as(ctx), a.id, optionalText(a.reason))),
      revokeContract: coded((_s, a, ctx) => contracts.revoke(as(ctx), a.id, a.reason)),
      renewContract: coded((_s, a, ctx) =>
        contracts.renew(as(ctx), a.id, { validUntil: optionalText(a.validUntil), validFrom: optionalText(a.validFrom) }),
      ),
    },
    Contract: {
      state: (c: Contract) => toEnum(c.state),
      scope: (c: Contract) => ({ kind: toEnum(c.scope.kind), regionCodes: c.scope.kind === 'regions' ? c.scope.regionCodes : [] }),
      history: coded((c: Contract, _a, ctx) => contracts.history(as(ctx), c.id)),
    },
    ContractTransition: {
      action: (t: ContractTransition) => toEnum(t.action),
      from: (t: ContractTransition) => (t.from === null ? null : toEnum(t.from)),
      to: (t: ContractTransition) => toEnum(t.to),
    },
    ContractFieldGrant: {
      mode: (g: FieldGrant) => toEnum(g.mode),
    },
    CatalogueEntry: {
      owner: (l: CatalogueListing) => l.owners[0] ?? '',
      sharing: (l: CatalogueListing) => toEnum(l.sharing),
      updateCycle: (l: CatalogueListing) => toEnum(l.updateCycle),
      masking: (l: CatalogueListing) => l.mask,
      myAccess: (l: CatalogueListing) => ({ mode: toEnum(l.access), contractId: l.contractId, reason: l.denied }),
    },
  };
}

/** Sets `resolve` on the fields named in `resolvers` (an object type the schema lacks is an error). */
function attachResolvers(schema: GraphQLSchema, resolvers: Record<string, Record<string, Resolver>>, roots: Record<string, string>): void {
  for (const [typeName, fields] of Object.entries(resolvers)) {
    const type = schema.getType(roots[typeName] ?? typeName);
    if (!isObjectType(type)) throw new TongxiangError('CONFIG_INVALID', { reason: `admin schema: no object type ${typeName}` });
    const defined = type.getFields();
    for (const [fieldName, resolve] of Object.entries(fields)) {
      const field = defined[fieldName];
      if (!field) throw new TongxiangError('CONFIG_INVALID', { reason: `admin schema: no field ${typeName}.${fieldName}` });
      field.resolve = resolve;
    }
  }
}

/**
 * `schema` plus the admin API. The schema's own types and resolvers are kept; a schema without
 * a mutation type gets one. A type name the admin SDL would add that `schema` already has is a
 * configuration error (CONFIG_INVALID), not a silent merge.
 */
export function extendWithAdmin(schema: GraphQLSchema, services: AdminServices): GraphQLSchema {
  const query = schema.getQueryType();
  if (!query) throw new TongxiangError('CONFIG_INVALID', { reason: 'admin schema: the schema has no query type' });
  const clashes: string[] = ADMIN_TYPES.filter((name) => schema.getType(name) !== undefined);
  const mutation = schema.getMutationType();
  if (mutation) {
    const taken = ADMIN_MUTATION_FIELDS.filter((f) => mutation.getFields()[f] !== undefined).map((f) => `${mutation.name}.${f}`);
    clashes.push(...taken);
  }
  clashes.push(...ADMIN_QUERY_FIELDS.filter((f) => query.getFields()[f] !== undefined).map((f) => `${query.name}.${f}`));
  if (clashes.length > 0) {
    throw new TongxiangError('CONFIG_INVALID', { reason: `admin schema: already in the graph: ${clashes.join(', ')}` });
  }
  if (!mutation && schema.getType('Mutation')) {
    throw new TongxiangError('CONFIG_INVALID', { reason: 'admin schema: a type named Mutation exists but is not the mutation root' });
  }
  const mutationSdl = mutation
    ? `extend type ${mutation.name} {${MUTATION_FIELDS_SDL}}`
    : `"变更 / mutations"\ntype Mutation {${MUTATION_FIELDS_SDL}}\nextend schema { mutation: Mutation }`;
  const sdl = `${TYPES_SDL}\nextend type ${query.name} {${QUERY_FIELDS_SDL}}\n${mutationSdl}\n`;
  const extended = extendSchema(schema, parse(sdl), { assumeValidSDL: false });
  attachResolvers(extended, adminResolvers(services), { Query: query.name, Mutation: mutation?.name ?? 'Mutation' });
  return extended;
}

/**
 * The catalogue as the contract service looks it up: a coordinate's owner and sharing type.
 * A co-owned field (several departments publishing it for their own rows) answers with its first
 * owner, so only that owner can be asked for it through a contract for now.
 */
export function contractCatalogueLookup(catalogue: Catalogue): CatalogueLookup {
  return (coordinate) => {
    const entry = catalogue.fields.get(coordinate);
    if (!entry || entry.owners.length === 0) return undefined;
    return { owner: entry.owners[0]!, coOwners: entry.owners.slice(1), sharing: entry.sharing };
  };
}
