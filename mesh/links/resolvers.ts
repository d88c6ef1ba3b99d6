/**
 * Cross-source links (一人一档 across levels): a Person keyed by 公民身份号码 and an Enterprise keyed by
 * 统一社会信用代码, each field fetched from the source that owns it (一数一源). Each link calls the
 * owning source through Mesh's in-context SDK; a failing source fails only its own fields.
 */
import type { GraphQLResolveInfo } from 'graphql';
import { GraphQLError } from 'graphql';
import { TongxiangError, validateCreditCode, validateIdNumber } from '../../core/index.ts';
import { fullSelection, plain } from './selection.ts';

/** Source names as declared in .meshrc.yml. */
export const SOURCES = {
  registry: 'MarketRegistry',
  insurance: 'SocialInsurance',
  rosters: 'CivilAffairsRosters',
} as const;

const LINK_FIELDS: ReadonlySet<string> = new Set([
  'Enterprise.legalRepresentative',
  'Enterprise.insuredEmployees',
]);

type SdkCall = (options: {
  root: unknown;
  args: Record<string, unknown>;
  context: unknown;
  info: GraphQLResolveInfo;
  selectionSet: string;
}) => Promise<unknown>;

type MeshContext = Record<string, { Query: Record<string, SdkCall> } | undefined>;

interface PersonRoot {
  idNumber: string;
}

function inputError(error: TongxiangError): GraphQLError {
  return new GraphQLError(error.message, { extensions: error.toExtensions(), originalError: error });
}

function checkIdNumber(idNumber: string): void {
  const check = validateIdNumber(idNumber);
  if (!check.ok) throw inputError(new TongxiangError('INVALID_ID_NUMBER', { reason: check.reason }));
}

function checkCreditCode(creditCode: string): void {
  const check = validateCreditCode(creditCode);
  if (!check.ok) throw inputError(new TongxiangError('INVALID_CREDIT_CODE', { reason: check.reason }));
}

/** One upstream call per (request, source field, argument), however many fields need it. */
const perRequest = new WeakMap<object, Map<string, Promise<unknown>>>();

function callSource(
  context: MeshContext,
  info: GraphQLResolveInfo,
  source: string,
  field: string,
  args: Record<string, unknown>,
  resultType: string,
): Promise<unknown> {
  let memo = perRequest.get(context);
  if (!memo) perRequest.set(context, (memo = new Map()));
  const key = `${source}.${field}(${JSON.stringify(args)})`;
  let pending = memo.get(key);
  if (!pending) {
    const sdk = context[source]?.Query[field];
    if (!sdk) throw new Error(`source ${source} has no Query.${field}`);
    const selectionSet = fullSelection(info.schema, resultType, LINK_FIELDS);
    pending = sdk({ root: {}, args, context, info, selectionSet }).then(settle);
    memo.set(key, pending);
  }
  return pending;
}

/**
 * Delegation hands errors back as values (graphql-js treats a returned Error as thrown). Throw
 * them here: a failed source must fail its field, never read as "no records" — an empty list
 * would tell a county clerk the applicant has no insurance.
 */
function settle(value: unknown): unknown {
  if (value instanceof Error) throw value;
  return plain(value);
}

interface InsuranceResult {
  name?: string | null;
  records?: unknown[];
}

const resolvers = {
  Query: {
    person(_root: unknown, args: { idNumber: string }): PersonRoot {
      checkIdNumber(args.idNumber);
      return { idNumber: args.idNumber };
    },
    async enterprise(_root: unknown, args: { creditCode: string }, context: MeshContext, info: GraphQLResolveInfo) {
      checkCreditCode(args.creditCode);
      return callSource(context, info, SOURCES.registry, 'getEnterprise', { creditCode: args.creditCode }, 'Enterprise');
    },
  },
  Person: {
    gender: (p: PersonRoot) => (Number(p.idNumber[16]) % 2 === 1 ? '男' : '女'),
    birthDate: (p: PersonRoot) => `${p.idNumber.slice(6, 10)}-${p.idNumber.slice(10, 12)}-${p.idNumber.slice(12, 14)}`,
    regionCode: (p: PersonRoot) => p.idNumber.slice(0, 6),
    async name(p: PersonRoot, _a: unknown, context: MeshContext, info: GraphQLResolveInfo) {
      const result = (await callSource(context, info, SOURCES.insurance, 'personInsurance', { idNumber: p.idNumber }, 'PersonInsurance')) as InsuranceResult | null;
      return result?.name ?? null;
    },
    async insurance(p: PersonRoot, _a: unknown, context: MeshContext, info: GraphQLResolveInfo) {
      const result = (await callSource(context, info, SOURCES.insurance, 'personInsurance', { idNumber: p.idNumber }, 'PersonInsurance')) as InsuranceResult | null;
      return result?.records ?? [];
    },
    async employment(p: PersonRoot, _a: unknown, context: MeshContext, info: GraphQLResolveInfo) {
      const result = (await callSource(context, info, SOURCES.insurance, 'personEmployment', { idNumber: p.idNumber }, 'PersonEmployment')) as { records?: unknown[] } | null;
      return result?.records ?? [];
    },
    async allowances(p: PersonRoot, _a: unknown, context: MeshContext, info: GraphQLResolveInfo) {
      const page = (await callSource(context, info, SOURCES.rosters, 'allowanceHouseholds', { headIdNumber: p.idNumber, first: 100 }, 'AllowanceHouseholdPage')) as { items?: unknown[] } | null;
      return page?.items ?? [];
    },
    async enterprisesAsLegalRepresentative(p: PersonRoot, _a: unknown, context: MeshContext, info: GraphQLResolveInfo) {
      const list = await callSource(context, info, SOURCES.registry, 'listEnterprisesByLegalRepresentative', { idNumber: p.idNumber }, 'Enterprise');
      return Array.isArray(list) ? list : [];
    },
  },
  Enterprise: {
    legalRepresentative: {
      selectionSet: '{ legalRepresentativeIdNumber }',
      resolve(e: { legalRepresentativeIdNumber?: string | null }): PersonRoot | null {
        const id = e.legalRepresentativeIdNumber;
        return id && validateIdNumber(id).ok ? { idNumber: id } : null;
      },
    },
    insuredEmployees: {
      selectionSet: '{ creditCode }',
      resolve(e: { creditCode: string }, _a: unknown, context: MeshContext, info: GraphQLResolveInfo) {
        return callSource(context, info, SOURCES.insurance, 'employerHeadcount', { creditCode: e.creditCode }, 'EmployerHeadcount');
      },
    },
  },
};

export default resolvers;
export { resolvers };
