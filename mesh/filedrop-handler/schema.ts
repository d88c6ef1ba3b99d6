/**
 * The graph this source contributes: 低保 households by 公民身份号码 / region / month, and the
 * status of every dropped file so departments see what happened to theirs.
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
} from 'graphql';
import { graphQLError, toGraphQLError, TongxiangError, validateIdNumber, type ErrorCode } from '../../core/index.ts';
import { parseChineseMonth, type DatasetStore, type DropFileStatus } from '../../sources/filedrop/index.ts';
import { timedSourceCall } from '../source-calls.ts';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

export interface FileDropSchemaOptions {
  /** Mesh source name, reported as `source` in UPSTREAM_UNAVAILABLE. */
  readonly sourceName: string;
  readonly sourceLabel: string;
  /** The open store; throws when it is not available. */
  readonly store: () => DatasetStore;
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

const DropFileState = new GraphQLEnumType({
  name: 'DropFileState',
  description: '投递文件的处理结果 / What happened to a dropped file',
  values: {
    LOADED: { value: 'loaded', description: '已装载 / Loaded' },
    FAILED: { value: 'failed', description: '未能装载，保留上一版本数据 / Not loaded; the previous version stays' },
    SUPERSEDED: { value: 'superseded', description: '已被同月份的新文件取代 / Replaced by a newer file for the same months' },
  },
});

const DropFileRejection = new GraphQLObjectType({
  name: 'DropFileRejection',
  description: '被拒绝的一行及原因（不含数据内容）/ A rejected row and why (no cell contents)',
  fields: {
    row: { type: nonNull(GraphQLInt), description: '行号（表格行号，含表头；XML 为第几条记录）/ Spreadsheet row, or XML record ordinal' },
    column: optStr('部门文件中的列名 / The column, as the department named it'),
    reason: str('原因 / Reason'),
  },
});

const DropFileStatusType = new GraphQLObjectType<DropFileStatus>({
  name: 'DropFileStatus',
  description: '投递文件的处理状态 / Status of a dropped file',
  fields: {
    fileName: str('文件名 / File name'),
    department: str('投递部门编码（如 341504.mzj）/ Dropping department'),
    dataset: str('数据集 / Dataset'),
    status: { type: nonNull(DropFileState), description: '最近一次处理结果 / Outcome of the last attempt' },
    format: optStr('文件格式（csv、xlsx、xml）/ Format'),
    encoding: optStr('识别出的文本编码 / Detected text encoding'),
    rowsAccepted: { type: nonNull(GraphQLInt), description: '最近一次接受的行数 / Rows accepted by the last attempt' },
    rowsRejected: { type: nonNull(GraphQLInt), description: '最近一次拒绝的行数 / Rows rejected by the last attempt' },
    rowsCurrent: { type: nonNull(GraphQLInt), description: '当前对外提供的行数 / Rows of this file served now' },
    rejections: { type: nonNull(new GraphQLList(nonNull(DropFileRejection))), description: '前若干条拒绝原因 / The first rejections' },
    attemptedAt: { ...str('最近一次处理时间（ISO 8601）/ Last attempt'), resolve: (s) => s.attemptedAt.toISOString() },
    loadedAt: { ...optStr('最近一次成功装载时间 / Last successful load'), resolve: (s) => s.loadedAt?.toISOString() ?? null },
    reason: optStr('未能装载或被取代的原因 / Why it failed or was superseded'),
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
      dropFiles: {
        type: nonNull(new GraphQLList(nonNull(DropFileStatusType))),
        description: '各部门投递文件的处理状态 / What happened to each dropped file',
        args: {
          department: { type: GraphQLString, description: '只看某部门（如 341504.mzj）/ Only this department' },
        },
        resolve: async (_root: unknown, args: { department?: string | null }, context: unknown) =>
          timedSourceCall(context, options.sourceName, async () => {
            try {
              const all = await options.store().fileStatus();
              return args.department == null ? all : all.filter((f) => f.department === args.department);
            } catch (error) {
              throw unavailable(error);
            }
          }),
      },
    },
  });
  return new GraphQLSchema({ query });
}
