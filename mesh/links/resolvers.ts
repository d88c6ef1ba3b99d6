/**
 * Cross-source links (一人一档 across levels): a Person keyed by 公民身份号码 and an Enterprise keyed by
 * 统一社会信用代码, each field fetched from the source that owns it (一数一源). Each link calls the
 * owning source through Mesh's in-context SDK; a failing source fails only its own fields.
 */
import type { GraphQLResolveInfo } from 'graphql';
import { GraphQLError } from 'graphql';
import { ERRORS, graphQLError, validateCreditCode, validateIdNumber } from '../../core/index.ts';
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

function checkIdNumber(idNumber: string): void {
  const check = validateIdNumber(idNumber);
  if (!check.ok) throw graphQLError('INVALID_ID_NUMBER', { reason: check.reason });
}

function checkCreditCode(creditCode: string): void {
  const check = validateCreditCode(creditCode);
  if (!check.ok) throw graphQLError('INVALID_CREDIT_CODE', { reason: check.reason });
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: GraphQLError };

/** One upstream call per (request, source field, argument), however many fields need it. */
const perRequest = new WeakMap<object, Map<string, Promise<Outcome>>>();

/**
 * Delegation hands errors back as values (graphql-js treats a returned Error as thrown). A failed
 * source must fail its field, never read as "no records": an empty list would tell a county
 * clerk the applicant has no insurance. Catalogue errors (from the upstream guard or a handler)
 * keep their code; anything else — a 2xx whose shape breaks the source's own schema — is the
 * source answering nonsense: UPSTREAM_INVALID, naming it.
 */
function outcomeOf(source: string, value: unknown): Outcome {
  if (!(value instanceof Error)) return { ok: true, value: plain(value) };
  const code = (value as GraphQLError).extensions?.code;
  if (typeof code === 'string' && Object.hasOwn(ERRORS, code)) {
    return { ok: false, error: value as GraphQLError };
  }
  return { ok: false, error: graphQLError('UPSTREAM_INVALID', { source, reason: 'answer does not match the source schema' }, value) };
}

/**
 * Calls `source`'s `Query.field` once per request and arguments. Each caller gets the value, or
 * its own copy of the error, so the error lands at the caller's own path.
 */
async function callSource(
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
    pending = sdk({ root: {}, args, context, info, selectionSet }).then(
      (value) => outcomeOf(source, value),
      (error: unknown) => outcomeOf(source, error instanceof Error ? error : new Error(String(error))),
    );
    memo.set(key, pending);
  }
  const outcome = await pending;
  if (outcome.ok) return outcome.value;
  const { error } = outcome;
  throw new GraphQLError(error.message, { extensions: error.extensions, originalError: error.originalError ?? error });
}

/** A list the source promised; anything else is the source answering nonsense. */
function listFrom(source: string, value: unknown): unknown[] {
  if (value == null) return [];
  if (Array.isArray(value)) return value;
  throw graphQLError('UPSTREAM_INVALID', { source, reason: 'expected a list' });
}

/** Pages through a roster query so no household is silently left out. */
const ROSTER_PAGE = 500;
const ROSTER_LIMIT = 5_000;

interface InsuranceResult {
  name?: string | null;
  records?: unknown;
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
      return listFrom(SOURCES.insurance, result?.records);
    },
    async employment(p: PersonRoot, _a: unknown, context: MeshContext, info: GraphQLResolveInfo) {
      const result = (await callSource(context, info, SOURCES.insurance, 'personEmployment', { idNumber: p.idNumber }, 'PersonEmployment')) as { records?: unknown } | null;
      return listFrom(SOURCES.insurance, result?.records);
    },
    async allowances(p: PersonRoot, _a: unknown, context: MeshContext, info: GraphQLResolveInfo) {
      const items: unknown[] = [];
      for (let offset = 0; offset < ROSTER_LIMIT; offset += ROSTER_PAGE) {
        const args = { headIdNumber: p.idNumber, first: ROSTER_PAGE, offset };
        const page = (await callSource(context, info, SOURCES.rosters, 'allowanceHouseholds', args, 'AllowanceHouseholdPage')) as { total?: number; items?: unknown } | null;
        const batch = listFrom(SOURCES.rosters, page?.items);
        items.push(...batch);
        if (batch.length < ROSTER_PAGE || items.length >= (page?.total ?? 0)) return items;
      }
      throw graphQLError('UPSTREAM_INVALID', { source: SOURCES.rosters, reason: `more than ${ROSTER_LIMIT} households for one person` });
    },
    async enterprisesAsLegalRepresentative(p: PersonRoot, _a: unknown, context: MeshContext, info: GraphQLResolveInfo) {
      const list = await callSource(context, info, SOURCES.registry, 'listEnterprisesByLegalRepresentative', { idNumber: p.idNumber }, 'Enterprise');
      return listFrom(SOURCES.registry, list);
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
