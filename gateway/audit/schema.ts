/**
 * The auditor's API (审计接口) in the same graph: `auditLog` (filters, cursor paging, newest
 * first), `accessReport` (who accessed data about a 公民身份号码 or 统一社会信用代码: the hub
 * HMACs the input under every subject key and matches the records), `auditStatus` (chain head,
 * last checkpoint, Kafka lag) and `rotateAuditKey` (operator).
 *
 * Who sees what: an auditor every record (metadata only — records never hold data values); a
 * data owner the records about its own data (its department among the providers) and its own
 * requests; anyone else only its own department's requests. Status: auditor and operator.
 */
import { extendSchema, isObjectType, parse, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import type { AuditRecord, LogEntry, RecordEntry } from '../../audit/types.ts';
import { graphQLError, toGraphQLError, TongxiangError, validateCreditCode, validateIdNumber, type Principal } from '../../core/index.ts';
import type { Catalogue } from '../../policies/index.ts';
import type { HubAudit } from './hub-audit.ts';

export const AUDIT_TYPES = ['AuditRecord', 'AuditCoordinate', 'AuditSourceCall', 'AuditLogPage', 'AuditLogFilter', 'AuditStatus', 'AuditKafkaStatus', 'AuditKeyKind'] as const;
export const AUDIT_QUERY_FIELDS = ['auditLog', 'accessReport', 'auditStatus'] as const;
export const AUDIT_MUTATION_FIELDS = ['rotateAuditKey'] as const;

export function isAuditCoordinate(coordinate: string): boolean {
  const [type, field] = coordinate.split('.');
  if (type === undefined || field === undefined) return false;
  if (type === 'Query') return (AUDIT_QUERY_FIELDS as readonly string[]).includes(field);
  if (type === 'Mutation') return (AUDIT_MUTATION_FIELDS as readonly string[]).includes(field);
  return (AUDIT_TYPES as readonly string[]).includes(type);
}

const SDL = /* GraphQL */ `
"审计记录（一次访问或一次管理操作）；只有元数据，从不含返回的数据值 / an audit record (one access or one admin action): metadata only, never the data values returned"
type AuditRecord {
  "写入实例 / writing gateway instance"
  instance: String!
  "实例内序号 / sequence number within the instance"
  seq: Int!
  "链上哈希 / chain hash"
  hash: String!
  "时间（ISO 8601）/ time"
  time: String!
  "access 或 admin / access or admin"
  type: String!
  requestId: String
  "调用部门 / calling department"
  department: String
  "调用人 / user (sub)"
  user: String
  "客户端系统 / client system (azp)"
  client: String
  operationName: String
  "查询文本的 SHA-256 / SHA-256 of the query text"
  operationHash: String
  coordinates: [AuditCoordinate!]!
  contractIds: [String!]!
  purposes: [String!]!
  "被访问数据的所有部门 / departments whose data was touched"
  providers: [String!]!
  sources: [AuditSourceCall!]!
  "返回的数据主体数 / data subjects returned (as keyed HMACs)"
  subjectCount: Int!
  rows: Int
  rowsWithheld: Int
  "ok / partial / unauthenticated / refused / rate-limited / error"
  outcome: String
  httpStatus: Int
  errorCodes: [String!]!
  reason: String
  durationMs: Float
  "管理操作 / admin action"
  action: String
  actorDepartment: String
  actorUser: String
  "管理操作详情（JSON）/ admin action details (JSON)"
  details: String
}

type AuditCoordinate {
  coordinate: String!
  "allow / mask / deny"
  decision: String!
  detail: String!
  contractId: String
}

type AuditSourceCall {
  source: String!
  status: String!
  latencyMs: Float!
}

type AuditLogPage {
  items: [AuditRecord!]!
  "下一页游标 / cursor for the next page"
  endCursor: String
  hasNextPage: Boolean!
  "符合条件的总数 / matching records"
  total: Int!
}

input AuditLogFilter {
  "起（含，ISO 8601）/ from (inclusive)"
  from: String
  "止（含）/ to (inclusive)"
  to: String
  "调用部门 / calling department"
  consumer: String
  "数据所有部门 / provider department"
  provider: String
  contract: String
  "allow / mask / deny：含该决定的记录 / records with at least one such decision"
  decision: String
  operation: String
  outcome: String
  "access / admin"
  type: String
}

type AuditKafkaStatus {
  shipped: Int!
  pending: Int!
  connected: Boolean!
  lastError: String
}

type AuditStatus {
  instance: String!
  "sha256 / sm3"
  alg: String!
  "strict / async"
  mode: String!
  seq: Int!
  head: String!
  lastCheckpointSeq: Int
  queued: Int!
  failing: Boolean!
  "当前签名密钥 / current signing key id"
  signingKeyId: String!
  "公钥地址 / where the public keys are"
  jwksPath: String!
  kafka: AuditKafkaStatus
}

enum AuditKeyKind {
  "检查点签名密钥 / checkpoint signing key"
  SIGNING
  "数据主体 HMAC 密钥 / data-subject HMAC key"
  SUBJECT
}

extend type Query {
  "访问日志（最新在前）/ access log, newest first"
  auditLog(filter: AuditLogFilter, after: String, first: Int = 50): AuditLogPage!
  "谁在何时依据哪份协议访问了某人/某企业的数据 / who accessed data about this subject, when, under which contract"
  accessReport(idNumber: String, creditCode: String, "最多返回最近的多少条（1–500）/ at most this many, newest first (1–500)" first: Int = 100): [AuditRecord!]!
  "审计链状态 / audit chain status"
  auditStatus: AuditStatus!
}
`;

const MUTATION_SDL = /* GraphQL */ `
  "轮换审计密钥（运维）/ rotate an audit key (operator)"
  rotateAuditKey(kind: AuditKeyKind!): String!
`;

type Ctx = { readonly principal?: Principal | null };

function principalOf(context: Ctx | undefined): Principal {
  const principal = context?.principal;
  if (!principal) throw graphQLError('UNAUTHENTICATED', { reason: 'no principal' });
  return principal;
}

const has = (p: Principal, role: string) => (p.roles as readonly string[]).includes(role);

/** Whether `p` may see `record`. */
export function mayRead(p: Principal, record: AuditRecord): boolean {
  if (has(p, 'auditor')) return true;
  const me = p.department.code;
  if (record.type === 'access') {
    if (record.department === me) return true;
    return has(p, 'data_owner') && record.providers.includes(me);
  }
  // Admin events: contract transitions concern both parties' owners; the rest is for auditors.
  return has(p, 'data_owner') && record.action === 'contract-transition' && (record.details.consumer === me || record.details.provider === me);
}

interface Filter {
  from?: string | null;
  to?: string | null;
  consumer?: string | null;
  provider?: string | null;
  contract?: string | null;
  decision?: string | null;
  operation?: string | null;
  outcome?: string | null;
  type?: string | null;
}

function matches(record: AuditRecord, f: Filter): boolean {
  if (f.from && record.time < f.from) return false;
  if (f.to && record.time > f.to) return false;
  if (f.type && record.type !== f.type) return false;
  if (record.type === 'admin') {
    if (f.consumer && record.details.consumer !== f.consumer) return false;
    if (f.provider && record.details.provider !== f.provider) return false;
    if (f.contract && record.details.contractId !== f.contract) return false;
    return !f.decision && !f.operation && !f.outcome;
  }
  if (f.consumer && record.department !== f.consumer) return false;
  if (f.provider && !record.providers.includes(f.provider)) return false;
  if (f.contract && !record.contractIds.includes(f.contract)) return false;
  if (f.decision && !record.coordinates.some((c) => c.decision === f.decision)) return false;
  if (f.operation && record.operationName !== f.operation) return false;
  if (f.outcome && record.outcome !== f.outcome) return false;
  return true;
}

function view(entry: RecordEntry): Record<string, unknown> {
  const r = entry.record;
  const base = { instance: r.instance, seq: r.seq, hash: entry.hash, time: r.time, type: r.type };
  if (r.type === 'access') {
    return { ...base, ...r, subjectCount: r.subjects.length, hash: entry.hash, action: null, actorDepartment: null, actorUser: null, details: null };
  }
  return {
    ...base,
    coordinates: [],
    contractIds: typeof r.details.contractId === 'string' ? [r.details.contractId] : [],
    purposes: [],
    providers: typeof r.details.provider === 'string' ? [r.details.provider] : [],
    sources: [],
    subjectCount: 0,
    errorCodes: [],
    action: r.action,
    actorDepartment: r.actor.department,
    actorUser: r.actor.user,
    details: JSON.stringify(r.details),
  };
}

async function* recordsOf(entries: AsyncIterable<LogEntry>): AsyncIterable<RecordEntry> {
  for await (const e of entries) if (e.kind === 'record') yield e;
}

const MAX_PAGE = 500;

export function extendWithAudit(schema: GraphQLSchema, services: { audit: HubAudit; catalogue: Catalogue }): GraphQLSchema {
  const { audit } = services;
  const query = schema.getQueryType();
  const mutation = schema.getMutationType();
  if (!query || query.name !== 'Query' || !mutation || mutation.name !== 'Mutation') {
    throw new TongxiangError('CONFIG_INVALID', { reason: 'audit schema: needs Query and Mutation roots (add the admin API first)' });
  }
  const clashes = [...AUDIT_TYPES.filter((t) => schema.getType(t)), ...AUDIT_QUERY_FIELDS.filter((f) => query.getFields()[f]), ...AUDIT_MUTATION_FIELDS.filter((f) => mutation.getFields()[f])];
  if (clashes.length > 0) throw new TongxiangError('CONFIG_INVALID', { reason: `audit schema: already in the graph: ${clashes.join(', ')}` });
  const extended = extendSchema(schema, parse(`${SDL}\nextend type Mutation {${MUTATION_SDL}}`));

  const auditLog: GraphQLFieldResolver<unknown, Ctx, { filter?: Filter | null; after?: string | null; first?: number | null }> = async (_r, args, context) => {
    const p = principalOf(context);
    const first = args.first ?? 50;
    if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE) throw graphQLError('BAD_USER_INPUT', { reason: `first must be 1–${MAX_PAGE}` });
    const filter = args.filter ?? {};
    const found: RecordEntry[] = [];
    for await (const e of recordsOf(audit.store.read())) if (matches(e.record, filter) && mayRead(p, e.record)) found.push(e);
    found.reverse();
    let start = 0;
    if (args.after) {
      const n = Number(Buffer.from(args.after, 'base64url').toString('utf8'));
      if (!Number.isInteger(n) || n < 0) throw graphQLError('BAD_USER_INPUT', { reason: 'after is not a cursor of this list' });
      start = n;
    }
    const items = found.slice(start, start + first);
    const end = start + items.length;
    return {
      items: items.map(view),
      endCursor: items.length > 0 ? Buffer.from(String(end), 'utf8').toString('base64url') : null,
      hasNextPage: end < found.length,
      total: found.length,
    };
  };

  const accessReport: GraphQLFieldResolver<unknown, Ctx, { idNumber?: string | null; creditCode?: string | null; first?: number | null }> = async (_r, args, context) => {
    const p = principalOf(context);
    const first = args.first ?? 100;
    if (!Number.isInteger(first) || first < 1 || first > 500) throw graphQLError('BAD_USER_INPUT', { reason: 'first: 1–500' });
    if (!has(p, 'auditor') && !has(p, 'data_owner')) {
      throw graphQLError('FORBIDDEN_ACTION', { reason: '访问报告仅限审计员和数据所有部门 / access reports are for auditors and data owners' });
    }
    const given = [args.idNumber, args.creditCode].filter((v) => v !== null && v !== undefined);
    if (given.length !== 1) throw graphQLError('BAD_USER_INPUT', { reason: 'give exactly one of idNumber or creditCode' });
    let kind: string;
    let value: string;
    if (args.idNumber != null) {
      value = args.idNumber.normalize('NFKC').trim().toUpperCase();
      const check = validateIdNumber(value);
      if (!check.ok) throw graphQLError('INVALID_ID_NUMBER', { reason: check.reason });
      kind = 'idNumber';
    } else {
      value = args.creditCode!.normalize('NFKC').trim().toUpperCase();
      const check = validateCreditCode(value);
      if (!check.ok) throw graphQLError('INVALID_CREDIT_CODE', { reason: check.reason });
      kind = 'creditCode';
    }
    const wanted = new Set(audit.subjects.hmacAll(kind, value).map((s) => `${s.keyId}:${s.hmac}`));
    const out: Record<string, unknown>[] = [];
    for await (const e of recordsOf(audit.store.read())) {
      const r = e.record;
      if (r.type !== 'access' || !mayRead(p, r)) continue;
      if (r.subjects.some((s) => s.kind === kind && wanted.has(`${s.keyId}:${s.hmac}`))) out.push(view(e));
    }
    return out.reverse().slice(0, first);
  };

  const auditStatus: GraphQLFieldResolver<unknown, Ctx> = async (_r, _a, context) => {
    const p = principalOf(context);
    if (!has(p, 'auditor') && !has(p, 'operator')) throw graphQLError('FORBIDDEN_ACTION', { reason: '审计链状态仅限审计员和运维 / chain status is for auditors and operators' });
    const s = audit.writer.status();
    return { ...s, signingKeyId: audit.keyring.current().kid, jwksPath: '/audit/jwks.json', kafka: audit.shipper ? audit.shipper.status() : null };
  };

  const rotateAuditKey: GraphQLFieldResolver<unknown, Ctx, { kind: 'SIGNING' | 'SUBJECT' }> = async (_r, args, context) => {
    const p = principalOf(context);
    if (!has(p, 'operator')) throw graphQLError('FORBIDDEN_ACTION', { reason: '密钥轮换仅限运维 / only operators rotate keys' });
    // The old signing key signs the checkpoint of everything before the rotation.
    if (args.kind === 'SIGNING') await audit.writer.checkpoint();
    const rotated = args.kind === 'SIGNING' ? await audit.keyring.rotate() : await audit.subjects.rotate();
    await audit.admin(args.kind === 'SIGNING' ? 'audit-key-rotation' : 'subject-key-rotation', { department: p.department.code, user: p.subject }, { from: rotated.previous, to: rotated.kid });
    return rotated.kid;
  };

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const resolvers: Record<string, Record<string, GraphQLFieldResolver<unknown, Ctx, any>>> = {
    Query: { auditLog, accessReport, auditStatus },
    Mutation: { rotateAuditKey },
  };
  for (const [typeName, fields] of Object.entries(resolvers)) {
    const type = extended.getType(typeName);
    if (!isObjectType(type)) throw new TongxiangError('CONFIG_INVALID', { reason: `audit schema: no ${typeName}` });
    for (const [name, resolve] of Object.entries(fields)) {
      const field = type.getFields()[name]!;
      field.resolve = async (source, args, context, info) => {
        try {
          return await resolve(source, args, context as Ctx, info);
        } catch (error) {
          if (error instanceof TongxiangError) throw toGraphQLError(error);
          throw error;
        }
      };
    }
  }
  return extended;
}
