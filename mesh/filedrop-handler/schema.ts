/**
 * The graph this source contributes: 低保 households by 公民身份号码 / region / month (the current
 * version of each department's roster), the quality report of every dropped file so departments
 * see what happened to theirs, the versions of each department's dataset, and freshness against
 * the declared update cycle (sharing performance).
 */
import {
  GraphQLEnumType,
  GraphQLError,
  GraphQLInt,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLString,
  GraphQLFloat,
  GraphQLBoolean,
} from 'graphql';
import { graphQLError, toGraphQLError, TongxiangError, validateIdNumber, type ErrorCode } from '../../core/index.ts';
import {
  parseChineseMonth,
  type DatasetStatus,
  type DatasetStore,
  type DatasetVersion,
  type DropPipeline,
  type DropReport,
} from '../../sources/filedrop/index.ts';
import { timedSourceCall } from '../source-calls.ts';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

export interface FileDropSchemaOptions {
  /** Mesh source name, reported as `source` in UPSTREAM_UNAVAILABLE. */
  readonly sourceName: string;
  readonly sourceLabel: string;
  /** The open store; throws when it is not available. */
  readonly store: () => DatasetStore;
  /** The exchange pipeline over that store (reports, versions, freshness); throws when not available. */
  readonly pipeline: () => DropPipeline;
  /** Store failures, for the log (the caller sees only a coded error). */
  readonly onStoreError?: (error: unknown) => void;
}

const userError = (code: ErrorCode, reason: string): GraphQLError => graphQLError(code, { reason });

const nonNull = <T extends import('graphql').GraphQLType>(t: T) => new GraphQLNonNull(t);
const str = (description: string) => ({ type: nonNull(GraphQLString), description });
const optStr = (description: string) => ({ type: GraphQLString, description });

const AllowanceHousehold = new GraphQLObjectType({
  name: 'AllowanceHousehold',
  description: '最低生活保障家庭（县区民政局月度名册中的一户）/ A minimum-living-allowance household in one month (county roster)',
  fields: {
    householdId: str('户编号 / Household id'),
    headName: str('户主姓名 / Name of the head of household'),
    headIdNumber: str('户主公民身份号码（GB 11643）/ Citizen ID number of the head of household'),
    members: { type: nonNull(GraphQLInt), description: '保障人数 / Members covered' },
    monthlyAmount: { type: nonNull(GraphQLFloat), description: '月保障金额（元）/ Monthly allowance, CNY' },
    township: optStr('乡镇（街道）/ Township or sub-district'),
    village: optStr('村（社区）/ Village or community'),
    approvalDate: optStr('批准日期（YYYY-MM-DD）/ Approval date'),
    regionCode: str('行政区划代码（GB/T 2260，县级）/ County region code'),
    month: str('保障月份（YYYY-MM）/ Month the roster line is for'),
  },
});

const AllowanceHouseholdPage = new GraphQLObjectType({
  name: 'AllowanceHouseholdPage',
  description: '低保家庭分页结果 / A page of allowance households',
  fields: {
    total: { type: nonNull(GraphQLInt), description: '符合条件的总户数 / Households matching, all pages' },
    items: { type: nonNull(new GraphQLList(nonNull(AllowanceHousehold))), description: '本页记录 / This page' },
  },
});

const DropOutcome = new GraphQLEnumType({
  name: 'DropOutcome',
  description: '投递文件的处理结果 / What happened to a dropped file',
  values: {
    PUBLISHED: { value: 'published', description: '已发布为新版本 / Published as a new version' },
    PARTIALLY_PUBLISHED: { value: 'partially-published', description: '有效行已发布，问题行已隔离 / Valid rows published, the rest quarantined' },
    UNCHANGED: { value: 'unchanged', description: '内容与已发布版本相同，未产生新版本 / Same content as a published version: no new version' },
    REJECTED: { value: 'rejected', description: '整个文件被拒绝，上一版本继续提供 / Whole file rejected; the previous version stays' },
  },
});

const QualityIssue = new GraphQLObjectType({
  name: 'QualityIssue',
  description: '文件中的一个问题 / One problem in a dropped file',
  fields: {
    row: { type: nonNull(GraphQLInt), description: '行号（表格行号，含表头；XML 为第几条记录；0 为整个文件）/ Spreadsheet row, XML record ordinal, or 0 for the file' },
    column: optStr('贵单位文件中的列名 / The column, as the department named it'),
    value: optStr('单元格原值（仅投递部门可见）/ The cell as written (the dropping department only)'),
    reason: str('问题说明 / Reason'),
  },
});

const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);

const DropReportType = new GraphQLObjectType<DropReport>({
  name: 'DropReport',
  description: '投递文件的质量报告 / The quality report of a dropped file',
  fields: {
    id: str('报告编号（处理批次）/ Report (attempt) id'),
    fileName: str('文件名 / File name'),
    department: str('投递部门编码（如 341504.mzj）/ Dropping department'),
    dataset: str('数据集 / Dataset'),
    outcome: { type: nonNull(DropOutcome), description: '处理结果 / Outcome' },
    version: { type: GraphQLInt, description: '发布的版本号，或内容相同的既有版本号 / Version published, or the one it equals' },
    format: optStr('文件格式（csv、xlsx、xml）/ Format'),
    encoding: optStr('识别出的文本编码 / Detected text encoding'),
    bytes: { type: nonNull(GraphQLFloat), description: '文件字节数 / File size in bytes' },
    rowsTotal: { type: nonNull(GraphQLInt), description: '数据行数（不含表头）/ Data rows read' },
    rowsAccepted: { type: nonNull(GraphQLInt), description: '接受的行数 / Rows accepted' },
    rowsRejected: { type: nonNull(GraphQLInt), description: '有问题的行数 / Rows with problems' },
    issues: { type: nonNull(new GraphQLList(nonNull(QualityIssue))), description: '问题清单（前若干条）/ The problems (the first ones)' },
    reason: optStr('整体原因（被拒绝时）/ Why the file was rejected'),
    movedTo: optStr('原文件现在的位置（archive/ 或 quarantine/）/ Where the original now lies'),
    reportFiles: { type: nonNull(new GraphQLList(nonNull(GraphQLString))), description: '报告文件（JSON、CSV、XLSX）/ Report files written' },
    receivedAt: { ...str('开始处理时间 / Received'), resolve: (r) => r.receivedAt.toISOString() },
    finishedAt: { ...str('处理完成时间 / Finished'), resolve: (r) => r.finishedAt.toISOString() },
  },
});

const DatasetVersionType = new GraphQLObjectType<DatasetVersion>({
  name: 'DatasetVersion',
  description: '一个部门数据集的一个版本 / One version of a department’s dataset',
  fields: {
    dataset: str('数据集 / Dataset'),
    department: str('投递部门 / Dropping department'),
    version: { type: nonNull(GraphQLInt), description: '版本号 / Version' },
    kind: str('来源：file（文件）或 rollback（回滚）/ file or rollback'),
    fileName: optStr('文件名 / File name'),
    restoredFrom: { type: GraphQLInt, description: '回滚所恢复的版本 / The version a rollback restored' },
    rows: { type: nonNull(GraphQLInt), description: '本版本的行数 / Rows in this version' },
    added: { type: nonNull(GraphQLInt), description: '新增的记录键 / Keys added' },
    changed: { type: nonNull(GraphQLInt), description: '内容变化的记录键 / Keys changed' },
    removed: { type: nonNull(GraphQLInt), description: '删除的记录键 / Keys removed' },
    publishedAt: { ...str('发布时间 / Published'), resolve: (v) => v.publishedAt.toISOString() },
  },
});

const FreshnessState = new GraphQLEnumType({
  name: 'FreshnessState',
  description: '数据时效状态 / Freshness against the declared update cycle',
  values: {
    FRESH: { value: 'fresh', description: '本周期已更新 / Updated in the current cycle' },
    DUE: { value: 'due', description: '本周期尚未更新，未到期 / Not yet updated, not yet due' },
    OVERDUE: { value: 'overdue', description: '已逾期未更新 / Past due' },
    NEVER: { value: 'never', description: '从未发布 / Never published' },
    NO_CYCLE: { value: 'no-cycle', description: '未声明更新周期 / No update cycle declared' },
  },
});

const DatasetStatusType = new GraphQLObjectType<DatasetStatus>({
  name: 'DatasetStatus',
  description: '部门数据集的时效状态（绩效评价）/ Freshness of a department’s dataset (sharing performance)',
  fields: {
    dataset: str('数据集 / Dataset'),
    title: str('数据集名称 / Dataset title'),
    department: str('投递部门 / Dropping department'),
    currentVersion: { type: GraphQLInt, description: '当前版本 / Current version' },
    rows: { type: nonNull(GraphQLInt), description: '当前行数 / Rows now' },
    lastPublishedAt: { ...optStr('最近发布时间 / Last published'), resolve: (s) => iso(s.lastPublishedAt) },
    cycle: optStr('更新周期（daily、weekly、monthly、quarterly、yearly）/ Update cycle'),
    dueDay: { type: GraphQLInt, description: '周期内的截止日 / Due day within the cycle' },
    cycleStart: { ...optStr('本周期开始（北京时间零点）/ Current cycle start'), resolve: (s) => iso(s.cycleStart) },
    dueAt: { ...optStr('本周期截止时间 / When the current cycle’s version is due'), resolve: (s) => iso(s.dueAt) },
    state: { type: nonNull(FreshnessState), description: '时效状态 / Freshness' },
    overdue: { type: nonNull(GraphQLBoolean), description: '是否逾期 / Past due' },
    lastDropOutcome: { type: DropOutcome, description: '最近一次投递的结果 / Outcome of the last drop', resolve: (s) => s.lastDrop?.outcome ?? null },
    lastDropAt: { ...optStr('最近一次投递时间 / Last drop'), resolve: (s) => iso(s.lastDrop?.at) },
  },
});

interface HouseholdArgs {
  headIdNumber?: string | null;
  regionCode?: string | null;
  month?: string | null;
  first?: number | null;
  offset?: number | null;
}

export function buildFileDropSchema(options: FileDropSchemaOptions): GraphQLSchema {
  const unavailable = (error: unknown): GraphQLError => {
    if (error instanceof TongxiangError && error.status < 500) return toGraphQLError(error);
    options.onStoreError?.(error);
    return graphQLError('UPSTREAM_UNAVAILABLE', { source: options.sourceName, sourceLabel: options.sourceLabel, reason: 'dataset store unavailable' });
  };

  const query = new GraphQLObjectType({
    name: 'Query',
    fields: {
      allowanceHouseholds: {
        type: nonNull(AllowanceHouseholdPage),
        description: '低保家庭名册查询（叶集区、利辛县民政局月度投递）/ Allowance households from the county rosters',
        args: {
          headIdNumber: { type: GraphQLString, description: '户主公民身份号码（18 位）/ Citizen ID number of the head' },
          regionCode: { type: GraphQLString, description: '行政区划代码，市、省级代码包含下辖县区 / Region; a city or province code covers its counties' },
          month: { type: GraphQLString, description: '保障月份（2026-10、2026年10月、202610）/ Month' },
          first: { type: GraphQLInt, defaultValue: DEFAULT_PAGE_SIZE, description: `每页条数，最多 ${MAX_PAGE_SIZE} / Page size, at most ${MAX_PAGE_SIZE}` },
          offset: { type: GraphQLInt, defaultValue: 0, description: '跳过条数 / Rows to skip' },
        },
        resolve: async (_root: unknown, args: HouseholdArgs, context: unknown) => {
          let headIdNumber: string | undefined;
          if (args.headIdNumber != null) {
            headIdNumber = args.headIdNumber.normalize('NFKC').trim().toUpperCase();
            const check = validateIdNumber(headIdNumber);
            if (!check.ok) throw graphQLError('INVALID_ID_NUMBER', { reason: check.reason });
          }
          const regionCode = args.regionCode ?? undefined;
          if (regionCode !== undefined && !/^\d{6}$/.test(regionCode)) {
            throw userError('BAD_USER_INPUT', 'regionCode 应为 6 位行政区划代码 / regionCode must be a 6-digit region code');
          }
          let month: string | undefined;
          if (args.month != null) {
            month = parseChineseMonth(args.month);
            if (!month) throw userError('BAD_USER_INPUT', 'month 应为 2026-10 形式 / month must look like 2026-10');
          }
          const first = args.first ?? DEFAULT_PAGE_SIZE;
          const offset = args.offset ?? 0;
          if (first < 0 || offset < 0) throw userError('BAD_USER_INPUT', 'first 与 offset 不能为负 / first and offset must not be negative');
          return timedSourceCall(context, options.sourceName, async () => {
            try {
              return await options.store().households({ headIdNumber, regionCode, month, limit: Math.min(first, MAX_PAGE_SIZE), offset });
            } catch (error) {
              throw unavailable(error);
            }
          });
        },
      },
      dropReports: {
        type: nonNull(new GraphQLList(nonNull(DropReportType))),
        description: '投递文件的质量报告，新的在前 / Quality reports of dropped files, newest first',
        args: {
          department: { type: GraphQLString, description: '只看某部门（如 341504.mzj）/ Only this department' },
          dataset: { type: GraphQLString, description: '只看某数据集（如 dibao）/ Only this dataset' },
          first: { type: GraphQLInt, defaultValue: 50, description: '条数，最多 500 / How many, at most 500' },
        },
        resolve: async (_root: unknown, args: { department?: string | null; dataset?: string | null; first?: number | null }, context: unknown) => {
          const first = args.first ?? 50;
          if (first < 0) throw userError('BAD_USER_INPUT', 'first 不能为负 / first must not be negative');
          return timedSourceCall(context, options.sourceName, async () => {
            try {
              return await options.pipeline().reports({ department: args.department ?? undefined, dataset: args.dataset ?? undefined, limit: Math.min(first, MAX_PAGE_SIZE) });
            } catch (error) {
              throw unavailable(error);
            }
          });
        },
      },
      datasetVersions: {
        type: nonNull(new GraphQLList(nonNull(DatasetVersionType))),
        description: '某部门数据集的全部版本，新的在前 / Every version of a department’s dataset, newest first',
        args: {
          dataset: { type: nonNull(GraphQLString), description: '数据集（如 dibao）/ Dataset' },
          department: { type: nonNull(GraphQLString), description: '投递部门（如 341504.mzj）/ Dropping department' },
        },
        resolve: async (_root: unknown, args: { dataset: string; department: string }, context: unknown) =>
          timedSourceCall(context, options.sourceName, async () => {
            try {
              return await options.pipeline().versions({ dataset: args.dataset, department: args.department });
            } catch (error) {
              throw unavailable(error);
            }
          }),
      },
      datasetStatus: {
        type: nonNull(new GraphQLList(nonNull(DatasetStatusType))),
        description: '各部门数据集对照更新周期的时效状态 / Freshness of every department’s dataset against its update cycle',
        args: {
          dataset: { type: GraphQLString, description: '只看某数据集 / Only this dataset' },
          overdueOnly: { type: GraphQLBoolean, defaultValue: false, description: '只看逾期的 / Only those past due' },
        },
        resolve: async (_root: unknown, args: { dataset?: string | null; overdueOnly?: boolean | null }, context: unknown) =>
          timedSourceCall(context, options.sourceName, async () => {
            try {
              const all = await options.pipeline().status();
              return all.filter((s) => (args.dataset == null || s.dataset === args.dataset) && (!args.overdueOnly || s.overdue));
            } catch (error) {
              throw unavailable(error);
            }
          }),
      },
    },
  });
  return new GraphQLSchema({ query });
}
