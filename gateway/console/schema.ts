/**
 * What the web console asks the graph beyond the public API (控制台接口): a contract's use per
 * day, verification of the audit chain, the sources' health and freshness, sharing performance
 * per department, every department's drop reports, and the department directory. Hub data about
 * the hub — no catalogue data — so these fields are ungoverned (`isConsoleCoordinate`), each with
 * its own role check, like the audit and limits APIs.
 *
 * Counts come from the audit trail (the one place every request is recorded), health from the
 * readiness probes, freshness and reports from the file-drop pipeline.
 */
import { extendSchema, isObjectType, parse, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import type { JWK } from 'jose';
import type { AuditLogStore, AuditRecord, VerifyResult } from '../../audit/types.ts';
import { verifyEntries } from '../../audit/verify.ts';
import type { Contract, ContractService } from '../../contracts/index.ts';
import { graphQLError, systemClock, toGraphQLError, TongxiangError, type Clock, type Principal } from '../../core/index.ts';
import type { SourceStatus } from '../../mesh/index.ts';
import type { Catalogue } from '../../policies/index.ts';
import type { DropPipeline, DropReport, QualityIssue } from '../../sources/filedrop/index.ts';
import type { ConsoleDepartment } from './departments.ts';
import { departmentActivity, isAccess, sourceCallStats, usageByDay, usageWindowStart } from './metrics.ts';

export const CONSOLE_TYPES = [
  'ContractUsageDay',
  'AuditVerificationProblem',
  'AuditVerification',
  'SourceKind',
  'SourceDataset',
  'SourceHealth',
  'DepartmentPerformance',
  'DropReportSummary',
  'ConsoleDepartment',
] as const;
export const CONSOLE_QUERY_FIELDS = ['contractUsageHistory', 'auditVerification', 'hubSources', 'sharingPerformance', 'allDropReports', 'departments'] as const;

export function isConsoleCoordinate(coordinate: string): boolean {
  const [type, field] = coordinate.split('.');
  if (type === undefined || field === undefined) return false;
  if (type === 'Query') return (CONSOLE_QUERY_FIELDS as readonly string[]).includes(field);
  return (CONSOLE_TYPES as readonly string[]).includes(type);
}

export const CONSOLE_SDL = /* GraphQL */ `
"协议某日的用量（北京时间自然日）/ one day of a contract's use (calendar day, China Standard Time)"
type ContractUsageDay {
  "日期 YYYY-MM-DD / the day"
  day: String!
  "使用该协议的请求数 / requests that used the contract"
  requests: Int!
  "这些请求返回的行数 / rows those requests returned"
  rows: Int!
  "其中被拒绝的（策略或限流）/ of them, refused (policy or rate limit)"
  refused: Int!
}

"审计链校验发现的第一个问题 / the first problem the verification found"
type AuditVerificationProblem {
  "record-modified / record-missing / records-reordered / chain-forked / checkpoint-invalid / checkpoint-mismatch / tail-cut / malformed"
  kind: String!
  "实例 / instance"
  instance: String
  "序号 / sequence number"
  seq: Int
  "中英文说明 / what is wrong, Chinese / English"
  message: String!
  messageZh: String!
  messageEn: String!
  "日志中的行号 / line in the log"
  line: Int
}

"审计链校验结果 / result of verifying the audit chain with the public keys only"
type AuditVerification {
  ok: Boolean!
  "校验通过的记录数（未通过时为问题之前已检查的条目数）/ records verified (when not ok: entries checked before the problem)"
  records: Int!
  "检查点数 / checkpoints verified"
  checkpoints: Int!
  "实例数 / instances (hash chains)"
  instances: Int!
  "最早记录时间 / time of the first record"
  from: String
  "最晚记录时间 / time of the last record"
  to: String
  "最后检查点之后尚未签名的记录 / records after the last checkpoint, not yet signed"
  unsigned: Int!
  "校验时间 / when this verification ran"
  verifiedAt: String!
  problem: AuditVerificationProblem
}

"数据源类型 / kind of source"
enum SourceKind {
  "SOAP/WebService"
  SOAP
  "REST（OpenAPI）"
  REST
  "文件投递 / file drops"
  FILES
}

"文件投递数据集的时效 / freshness of one department's dataset"
type SourceDataset {
  dataset: String!
  "投递部门 / dropping department"
  department: String!
  "fresh / due / overdue / never / no-cycle"
  freshness: String!
  "最近发布时间 / last published"
  lastPublishedAt: String
  "本周期应报时间 / due time of the current cycle"
  dueAt: String
  "当前版本 / current version"
  version: Int
}

"数据源的健康、调用与时效 / a source: health, calls, freshness"
type SourceHealth {
  "数据源名 / source name (.meshrc.yml)"
  name: String!
  "显示名称 / label"
  label: String!
  kind: SourceKind!
  "提供部门代码（多个时以逗号分隔）/ providing department (several: comma-separated)"
  provider: String
  "提供部门 / providing departments"
  providers: [String!]!
  "就绪探测是否通过 / whether the readiness probe passed"
  ok: Boolean!
  "探测时延（毫秒）/ probe latency, ms"
  latencyMs: Float
  "探测失败原因 / why the probe failed"
  error: String
  "时段内经枢纽的调用数（审计记录）/ calls through the hub in the period (audit records)"
  calls: Int!
  "其中失败的 / of them, failed"
  errors: Int!
  "调用时延中位数（毫秒）/ median call latency, ms"
  p50LatencyMs: Float
  "熔断器：closed 闭合（正常放行）、half-open 半开（下一次调用为探测）、open 断开（调用立即失败）/ circuit breaker: closed, half-open (the next call probes), open (calls fail at once)"
  circuit: String!
  "文件投递数据集（仅文件类）/ file-drop datasets (files only)"
  datasets: [SourceDataset!]!
}

"一个部门的共享绩效 / one department's sharing performance"
type DepartmentPerformance {
  department: String!
  name: String!
  "作为用数方发起的请求 / requests it made"
  calls: Int!
  "其中被拒绝的 / of them, refused"
  refused: Int!
  "其请求取得的行数 / rows its requests got"
  rowsReceived: Int!
  "触及其数据的请求返回的行数（一次请求触及多个提供方时，每个提供方都按全数计）/ rows of requests touching its data (a request touching several providers counts in full for each)"
  rowsServed: Int!
  "作为提供方的有效协议 / active contracts on its data"
  contractsActive: Int!
  "作为提供方的待审批协议 / contracts on its data awaiting approval"
  contractsPending: Int!
  "最久的待审批协议已等待（小时）/ age of its oldest pending approval, hours"
  oldestPendingHours: Float
  "其投递的数据集 / datasets it drops"
  datasets: Int!
  "其中逾期未报的 / of them, overdue"
  datasetsOverdue: Int!
}

"一份文件投递报告的摘要（不含单元格原值）/ summary of a drop report (never cell values)"
type DropReportSummary {
  id: ID!
  dataset: String!
  department: String!
  fileName: String!
  "published / partially-published / unchanged / rejected"
  outcome: String!
  version: Int
  rowsAccepted: Int!
  rowsRejected: Int!
  "收到时间 / received at"
  receivedAt: String!
  "前几个问题（中文，默认 3 个，最多 10 个）/ the first problems, in Chinese (3 by default, at most 10)"
  firstIssues(first: Int = 3): [String!]!
}

"部门 / a department"
type ConsoleDepartment {
  "部门代码 / code, e.g. 341504.mzj"
  code: String!
  name: String!
}

extend type Query {
  "协议每日用量（用数方、提供方数据所有者、审计、运维）/ daily use of a contract"
  contractUsageHistory(id: ID!, days: Int = 14): [ContractUsageDay!]!
  "校验本枢纽审计链（审计、运维）/ verify this hub's audit chain (auditor, operator)"
  auditVerification: AuditVerification!
  "数据源健康、时延与数据新鲜度（运维）/ sources: health, latency, freshness (operator)"
  hubSources(
    "统计调用的时段（小时，1–720）/ hours of calls counted (1–720)"
    hours: Int = 24
    "最多返回的数据源数（1–100；查询成本按此估算）/ at most this many sources (1–100; the query's cost is estimated from it)"
    first: Int = 20
  ): [SourceHealth!]!
  "各部门共享绩效（运维、审计）/ sharing performance per department (operator, auditor)"
  sharingPerformance(days: Int = 30): [DepartmentPerformance!]!
  "各部门文件投递报告（运维）/ drop reports of every department (operator)"
  allDropReports(department: String, first: Int = 50): [DropReportSummary!]!
  "部门代码与名称 / department codes and names"
  departments: [ConsoleDepartment!]!
}
`;

export interface ConsoleSchemaServices {
  /** The hub's audit trail; null when the hub runs without one (benchmarks): the fields counting from it answer AUDIT_UNAVAILABLE. */
  readonly audit: { readonly store: AuditLogStore; readonly keyring: { publicJwks(): { keys: JWK[] } } } | null;
  readonly contracts: ContractService;
  /** The file-drop pipeline; null when the graph has no file-drop source. */
  readonly pipeline: (() => DropPipeline) | null;
  /** The readiness probes of every source (what /readyz runs). */
  readonly probeSources: () => Promise<readonly SourceStatus[]>;
  /** Circuit state of each source with a breaker (mesh/resilience.ts); a source without one reads `closed`. */
  readonly circuits?: () => ReadonlyArray<{ readonly source: string; readonly state: string }>;
  readonly catalogue: Catalogue;
  readonly departments: readonly ConsoleDepartment[];
  readonly clock?: Clock;
}

type Ctx = { readonly principal?: Principal | null };

const HOUR_MS = 3_600_000;
const has = (p: Principal, role: string) => (p.roles as readonly string[]).includes(role);

function principalOf(context: Ctx | undefined): Principal {
  const principal = context?.principal;
  if (!principal) throw graphQLError('UNAUTHENTICATED', { reason: 'no principal' });
  return principal;
}

function requireRole(p: Principal, roles: readonly string[], reason: string): void {
  if (!roles.some((r) => has(p, r))) throw graphQLError('FORBIDDEN_ACTION', { reason });
}

function intArg(name: string, value: number | null | undefined, fallback: number, min: number, max: number): number {
  const n = value ?? fallback;
  if (!Number.isInteger(n) || n < min || n > max) throw graphQLError('BAD_USER_INPUT', { reason: `${name} 应为 ${min}–${max} / ${name} must be ${min}–${max}` });
  return n;
}

/** Records of the log for which `keep` holds (the log is read once, front to back). */
async function recordsOf(store: AuditLogStore, keep: (record: AuditRecord) => boolean): Promise<AuditRecord[]> {
  const out: AuditRecord[] = [];
  for await (const entry of store.read()) if (entry.kind === 'record' && keep(entry.record)) out.push(entry.record);
  return out;
}

const SOURCE_KINDS: Readonly<Record<string, 'SOAP' | 'REST' | 'FILES'>> = {
  '@tongxiang/soap-handler': 'SOAP',
  '@tongxiang/filedrop-handler': 'FILES',
};

const MAX_ISSUES = 10;
/** Where a summary keeps its issue sentences for `firstIssues(first)`. */
const ISSUES = Symbol('issues');

/** The first `max` problems of a report as sentences in Chinese; never a cell's value (the report's readers are not always its department). */
export function firstIssues(report: Pick<DropReport, 'issues' | 'reason' | 'outcome'>, max = 3): string[] {
  const sentence = (i: QualityIssue) => `${i.row > 0 ? `第 ${i.row} 行` : '文件'}${i.column ? `「${i.column}」` : ''}：${i.reason}`;
  const out = report.issues.slice(0, max).map(sentence);
  if (out.length === 0 && max > 0 && report.reason && report.outcome === 'rejected') out.push(report.reason);
  return out;
}

function verificationView(result: VerifyResult, verifiedAt: string): Record<string, unknown> {
  if (result.ok) {
    return {
      ok: true,
      records: result.records,
      checkpoints: result.checkpoints,
      instances: result.instances.length,
      from: result.from,
      to: result.to,
      unsigned: result.unsigned,
      verifiedAt,
      problem: null,
    };
  }
  const p = result.problem;
  return {
    ok: false,
    records: result.checked,
    checkpoints: 0,
    instances: 0,
    from: null,
    to: null,
    unsigned: 0,
    verifiedAt,
    problem: { kind: p.kind, instance: p.instance, seq: p.seq, message: `${p.zh} / ${p.en}`, messageZh: p.zh, messageEn: p.en, line: p.line },
  };
}

export function extendWithConsole(schema: GraphQLSchema, services: ConsoleSchemaServices): GraphQLSchema {
  const clock = services.clock ?? systemClock;
  const query = schema.getQueryType();
  if (!query || query.name !== 'Query') throw new TongxiangError('CONFIG_INVALID', { reason: 'console schema: needs a Query root' });
  const clashes = [...CONSOLE_TYPES.filter((t) => schema.getType(t)), ...CONSOLE_QUERY_FIELDS.filter((f) => query.getFields()[f])];
  if (clashes.length > 0) throw new TongxiangError('CONFIG_INVALID', { reason: `console schema: already in the graph: ${clashes.join(', ')}` });
  const extended = extendSchema(schema, parse(CONSOLE_SDL));

  const auditStore = (): AuditLogStore => {
    if (!services.audit) throw new TongxiangError('AUDIT_UNAVAILABLE', { reason: 'this hub runs without an audit trail' });
    return services.audit.store;
  };

  const contractUsageHistory: GraphQLFieldResolver<unknown, Ctx, { id: string; days?: number | null }> = async (_r, args, context) => {
    const p = principalOf(context);
    const days = intArg('days', args.days, 14, 1, 90);
    const contract = await services.contracts.get(p, args.id);
    const dept = p.department.code;
    const allowed = dept === contract.consumer || (dept === contract.provider && has(p, 'data_owner')) || has(p, 'auditor') || has(p, 'operator');
    if (!allowed) {
      throw new TongxiangError('FORBIDDEN_ACTION', {
        reason: `协议 ${contract.id} 的用量只对用数部门、提供方的数据所有者、审计和运维人员可见 / the use of contract ${contract.id} is for its consumer department, the provider's data owners, auditors and operators`,
      });
    }
    const now = clock.now();
    const start = usageWindowStart(days, now);
    const records = await recordsOf(auditStore(), (r) => isAccess(r) && r.contractIds.includes(contract.id) && Date.parse(r.time) >= start);
    return usageByDay(records, contract.id, days, now);
  };

  const auditVerification: GraphQLFieldResolver<unknown, Ctx> = async (_r, _a, context) => {
    const p = principalOf(context);
    requireRole(p, ['auditor', 'operator'], '审计链校验仅限审计员和运维 / verifying the chain is for auditors and operators');
    if (!services.audit) throw new TongxiangError('AUDIT_UNAVAILABLE', { reason: 'this hub runs without an audit trail' });
    const verifiedAt = new Date(clock.now()).toISOString();
    let result: VerifyResult;
    try {
      result = await verifyEntries(services.audit.store.read(), services.audit.keyring.publicJwks());
    } catch (error) {
      // The store refuses to read a line that is no log entry at all: that is the verdict too.
      if (!(error instanceof TongxiangError && error.code === 'AUDIT_LOG_INVALID')) throw error;
      const reason = String(error.fields.reason ?? '');
      result = { ok: false, checked: 0, problem: { kind: 'malformed', instance: null, seq: null, line: 0, zh: `日志中有一行不是日志条目（${reason}）。`, en: `A line of the log is not a log entry (${reason}).` } };
    }
    return verificationView(result, verifiedAt);
  };

  const hubSources: GraphQLFieldResolver<unknown, Ctx, { hours?: number | null; first?: number | null }> = async (_r, args, context) => {
    const p = principalOf(context);
    requireRole(p, ['operator', 'auditor'], '数据源状态仅限运维和审计 / source status is for operators and auditors');
    const hours = intArg('hours', args.hours, 24, 1, 720);
    const first = intArg('first', args.first, 20, 1, 100);
    const now = clock.now();
    const since = now - hours * HOUR_MS;
    const [statuses, records, datasets] = await Promise.all([
      services.probeSources(),
      recordsOf(auditStore(), (r) => isAccess(r) && r.sources.length > 0 && Date.parse(r.time) >= since),
      services.pipeline ? services.pipeline().status(new Date(now)) : Promise.resolve([]),
    ]);
    const stats = sourceCallStats(records, since);
    const circuits = new Map((services.circuits?.() ?? []).map((c) => [c.source, c.state]));
    return statuses.slice(0, first).map((s) => {
      const kind = SOURCE_KINDS[s.kind] ?? 'REST';
      const providers = [...services.catalogue.departments.values()].filter((d) => d.source === s.name).map((d) => d.code).sort();
      const calls = stats.get(s.name);
      return {
        name: s.name,
        label: s.label,
        kind,
        provider: providers.length > 0 ? providers.join(',') : null,
        providers,
        ok: s.ok,
        latencyMs: s.latencyMs,
        error: s.ok ? null : s.detail,
        calls: calls?.calls ?? 0,
        errors: calls?.errors ?? 0,
        p50LatencyMs: calls?.p50LatencyMs ?? null,
        circuit: circuits.get(s.name) ?? 'closed',
        datasets:
          kind === 'FILES'
            ? datasets.map((d) => ({
                dataset: d.dataset,
                department: d.department,
                freshness: d.state,
                lastPublishedAt: d.lastPublishedAt?.toISOString() ?? null,
                dueAt: d.dueAt?.toISOString() ?? null,
                version: d.currentVersion,
              }))
            : [],
      };
    });
  };

  const sharingPerformance: GraphQLFieldResolver<unknown, Ctx, { days?: number | null }> = async (_r, args, context) => {
    const p = principalOf(context);
    requireRole(p, ['operator', 'auditor'], '共享绩效仅限运维和审计 / sharing performance is for operators and auditors');
    const days = intArg('days', args.days, 30, 1, 366);
    const now = clock.now();
    const since = now - days * 24 * HOUR_MS;
    const [contracts, records, statuses] = await Promise.all([
      services.contracts.overview(p),
      recordsOf(auditStore(), (r) => isAccess(r) && Date.parse(r.time) >= since),
      services.pipeline ? services.pipeline().status(new Date(now)) : Promise.resolve([]),
    ]);
    const activity = departmentActivity(records, since);
    const names = new Map(services.departments.map((d) => [d.code, d.name]));
    const byProvider = new Map<string, Contract[]>();
    for (const c of contracts) byProvider.set(c.provider, [...(byProvider.get(c.provider) ?? []), c]);
    const codes = [...new Set([...names.keys(), ...byProvider.keys()])].sort();
    return codes.map((code) => {
      const a = activity.get(code);
      const provided = byProvider.get(code) ?? [];
      const pending = provided.filter((c) => c.state === 'pending');
      // A pending contract was last moved when it was submitted: that is how long it has waited.
      const oldest = pending.reduce<number | null>((min, c) => {
        const at = Date.parse(c.updatedAt);
        return min === null || at < min ? at : min;
      }, null);
      const own = statuses.filter((s) => s.department === code);
      return {
        department: code,
        name: names.get(code) ?? code,
        calls: a?.calls ?? 0,
        refused: a?.refused ?? 0,
        rowsReceived: a?.rowsReceived ?? 0,
        rowsServed: a?.rowsServed ?? 0,
        contractsActive: provided.filter((c) => c.state === 'active').length,
        contractsPending: pending.length,
        oldestPendingHours: oldest === null ? null : Math.max(0, Math.round(((now - oldest) / HOUR_MS) * 10) / 10),
        datasets: own.length,
        datasetsOverdue: own.filter((s) => s.overdue).length,
      };
    });
  };

  const allDropReports: GraphQLFieldResolver<unknown, Ctx, { department?: string | null; first?: number | null }> = async (_r, args, context) => {
    const p = principalOf(context);
    requireRole(p, ['operator'], '所有部门的投递报告仅限运维 / every department\'s drop reports are for operators');
    const first = intArg('first', args.first, 50, 1, 500);
    if (!services.pipeline) return [];
    const reports = await services.pipeline().reports({ ...(args.department ? { department: args.department } : {}), limit: first });
    return reports.map((r) => ({
      id: r.id,
      dataset: r.dataset,
      department: r.department,
      fileName: r.fileName,
      outcome: r.outcome,
      version: r.version,
      rowsAccepted: r.rowsAccepted,
      rowsRejected: r.rowsRejected,
      receivedAt: r.receivedAt.toISOString(),
      [ISSUES]: firstIssues(r, MAX_ISSUES),
    }));
  };

  const departments: GraphQLFieldResolver<unknown, Ctx> = async (_r, _a, context) => {
    principalOf(context);
    return services.departments;
  };

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const resolvers: Record<string, GraphQLFieldResolver<unknown, Ctx, any>> = {
    contractUsageHistory,
    auditVerification,
    hubSources,
    sharingPerformance,
    allDropReports,
    departments,
  };
  const summary = extended.getType('DropReportSummary');
  if (!isObjectType(summary)) throw new TongxiangError('CONFIG_INVALID', { reason: 'console schema: no DropReportSummary' });
  summary.getFields().firstIssues!.resolve = (source: { [ISSUES]: string[] }, args: { first?: number | null }) => {
    const first = args.first ?? 3;
    if (!Number.isInteger(first) || first < 0 || first > MAX_ISSUES) {
      throw graphQLError('BAD_USER_INPUT', { reason: `first 应为 0–${MAX_ISSUES} / first must be 0–${MAX_ISSUES}` });
    }
    return source[ISSUES].slice(0, first);
  };
  const type = extended.getQueryType();
  if (!isObjectType(type)) throw new TongxiangError('CONFIG_INVALID', { reason: 'console schema: no Query' });
  for (const [name, resolve] of Object.entries(resolvers)) {
    type.getFields()[name]!.resolve = async (source, args, context, info) => {
      try {
        return await resolve(source, args, context as Ctx, info);
      } catch (error) {
        if (error instanceof TongxiangError) throw toGraphQLError(error);
        throw error;
      }
    };
  }
  return extended;
}
