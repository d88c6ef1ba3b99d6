/**
 * `tongxiang contracts <verb>` — the contract verbs of the GraphQL admin API on the command line,
 * for scripting. Two ways to reach the contracts:
 *
 * - HTTP (default): the running hub's GraphQL endpoint (`--url`, env TONGXIANG_URL, default
 *   http://127.0.0.1:4000/graphql) with a bearer token (`--token`, env TONGXIANG_TOKEN). The hub's
 *   API is the one path: identity, authorization and audit apply as for any other client.
 * - `--local`: operators on the hub machine only. Opens the contract store directly (PGlite in
 *   `--data-dir`/contracts, env TONGXIANG_DATA_DIR, default ./data; PostgreSQL when DATABASE_URL is
 *   set) and acts as `--as-dept 341504.mzj --as-role developer --as-sub name` WITHOUT A TOKEN.
 *   It bypasses identity entirely; whoever can run it can act as any department. The same
 *   GraphQL operations run in-process, so the lifecycle rules are the contract service's as usual.
 *   Do not run it while a hub holds the same PGlite directory (PGlite is single-process).
 *
 * Output: tables in Chinese and English for people; `--json` prints the GraphQL `data` for scripts.
 * Exit codes: 0 done, 1 refused by the hub (the error's code on stderr), 2 bad arguments.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildSchema, graphql } from 'graphql';
import { createContractService, createPgContractStore, createPgliteContractStore, type ContractStore } from '../../contracts/index.ts';
import { isRole, parseDepartment, TongxiangError, type Principal, type Role } from '../../core/index.ts';
import { loadCatalogue } from '../../policies/index.ts';
import { contractCatalogueLookup, extendWithAdmin } from './schema.ts';

export const DEFAULT_URL = 'http://127.0.0.1:4000/graphql';
const DEFAULT_CATALOGUE_DIR = fileURLToPath(new URL('../../policies/catalogue/', import.meta.url));

export interface GraphQLResponse {
  readonly data?: Record<string, unknown> | null;
  readonly errors?: readonly { readonly message: string; readonly extensions?: Record<string, unknown> }[];
}

/** Runs one operation against the hub (over HTTP or in-process). */
export type Execute = (query: string, variables?: Record<string, unknown>) => Promise<GraphQLResponse>;

export interface ContractsCliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly fetch: typeof fetch;
}

const defaultIo = (): ContractsCliIo => ({
  stdout: (t) => void process.stdout.write(t),
  stderr: (t) => void process.stderr.write(t),
  env: process.env,
  fetch: globalThis.fetch,
});

export const CONTRACTS_SUMMARY =
  '共享协议 / sharing contracts  list | pending | show ID | request ... | withdraw|approve|reject|suspend|resume|revoke ID [--reason R] | renew ID --until ISO  [--url U --token T | --local --as-dept D --as-role R] [--json]';

const USAGE = `用法 / usage: tongxiang contracts <verb> [options]

  list                               本部门的协议 / contracts of my department (consumer or provider)
  pending                            待我审批 / pending my approval (data_owner)
  show ID                            协议详情与全部变更 / a contract and its history
  request --provider DEPT --field Type.field[:masked] [--field ...] --purpose TEXT --basis TEXT
          [--scope jurisdiction|all|regions:341504,341623] [--from ISO] [--until ISO]
                                     申请（创建并提交）/ request (created and submitted); --until default: one year
  withdraw ID [--reason R]           撤回 / withdraw (consumer)
  approve ID [--field C[:masked] ...] [--reason R]
                                     批准，--field 为保留的字段 / approve; --field lists the grants kept (narrowing)
  reject ID --reason R               驳回 / reject
  suspend ID [--reason R]            暂停 / suspend
  resume ID [--reason R]             恢复 / resume
  revoke ID --reason R               撤销 / revoke
  renew ID --until ISO [--from ISO]  续期 / renew (a successor, submitted)

连接 / connection (default):
  --url URL       枢纽地址 / hub GraphQL URL (env TONGXIANG_URL, default ${DEFAULT_URL})
  --token JWT     令牌 / bearer token (env TONGXIANG_TOKEN), e.g. TOKEN=$(tongxiang token --dept ... --role ...)
本机运维 / operators on the hub machine only — bypasses tokens:
  --local --as-dept 341504.mzj --as-role developer [--as-role ...] [--as-sub NAME] [--data-dir DIR]
  --json          输出 JSON / print JSON for scripts
`;

const CONTRACT = /* GraphQL */ `
  id consumer provider state purpose legalBasis validFrom validUntil predecessorId createdAt updatedAt version
  fields { coordinate mode }
  scope { kind regionCodes }
  quotas { requestsPerMinute recordsPerDay }
`;
const HISTORY = /* GraphQL */ `history { seq action from to actor actorDepartment at reason fields { coordinate mode } }`;

const OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
  local: { type: 'boolean', default: false },
  'as-dept': { type: 'string' },
  'as-role': { type: 'string', multiple: true },
  'as-sub': { type: 'string' },
  'data-dir': { type: 'string' },
  json: { type: 'boolean', default: false },
  provider: { type: 'string' },
  field: { type: 'string', multiple: true },
  purpose: { type: 'string' },
  basis: { type: 'string' },
  scope: { type: 'string' },
  from: { type: 'string' },
  until: { type: 'string' },
  reason: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

interface Values {
  readonly provider?: string | undefined;
  readonly field?: string[] | undefined;
  readonly purpose?: string | undefined;
  readonly basis?: string | undefined;
  readonly scope?: string | undefined;
  readonly from?: string | undefined;
  readonly until?: string | undefined;
  readonly reason?: string | undefined;
}

const bad = (reason: string) => new TongxiangError('BAD_USER_INPUT', { reason });

// ---------------------------------------------------------------------------------------------
// Transports

/** The hub over HTTP: POST JSON with the bearer token. A 401/403 body still carries GraphQL errors. */
export function httpExecute(url: string, token: string | undefined, fetchImpl: typeof fetch = globalThis.fetch): Execute {
  return async (query, variables) => {
    let response: Response;
    try {
      response = await fetchImpl(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json, application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify({ query, variables }),
      });
    } catch (error) {
      throw new TongxiangError('UPSTREAM_UNAVAILABLE', { source: url, reason: (error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : String(error) });
    }
    const text = await response.text();
    try {
      const body = JSON.parse(text) as GraphQLResponse;
      if (body && typeof body === 'object' && ('data' in body || 'errors' in body)) return body;
    } catch {
      // fall through
    }
    throw new TongxiangError('UPSTREAM_INVALID', { source: url, reason: `HTTP ${response.status}, not a GraphQL response` });
  };
}

export interface LocalOptions {
  readonly principal: Principal;
  readonly dataDir: string;
  readonly databaseUrl?: string | undefined;
  readonly catalogueDir?: string | undefined;
}

/**
 * The admin API in-process over the contract store, acting as `principal` with no token.
 * For operators on the hub machine; `close()` releases the store.
 */
export async function localExecute(options: LocalOptions): Promise<{ execute: Execute; close(): Promise<void> }> {
  const catalogue = await loadCatalogue(options.catalogueDir ?? DEFAULT_CATALOGUE_DIR);
  const store: ContractStore = options.databaseUrl
    ? await createPgContractStore({ connectionString: options.databaseUrl })
    : await createPgliteContractStore({ dataDir: options.dataDir });
  const contracts = createContractService({ store, catalogue: contractCatalogueLookup(catalogue) });
  const base = buildSchema('type Query { "本地运维模式 / local operator mode" hub: String }');
  const schema = extendWithAdmin(base, { contracts, catalogue });
  const contextValue = { principal: options.principal };
  return {
    execute: async (source, variableValues) => (await graphql({ schema, source, variableValues, contextValue })) as GraphQLResponse,
    close: () => store.close(),
  };
}

export function localPrincipal(dept: string | undefined, roles: readonly string[] | undefined, subject: string | undefined): Principal {
  if (!dept) throw bad('--local 需要 --as-dept / --local needs --as-dept, e.g. --as-dept 341504.mzj');
  const department = parseDepartment(dept);
  if (!department) throw bad(`--as-dept ${dept} 不是部门代码 / is not a department code such as 341504.mzj`);
  if (!roles?.length) throw bad('--local 需要 --as-role / --local needs --as-role, e.g. --as-role developer');
  const unknown = roles.filter((r) => !isRole(r));
  if (unknown.length > 0) throw bad(`--as-role ${unknown.join(', ')}: developer, data_owner, auditor or operator`);
  return { subject: subject ?? `local-operator@${dept}`, department, roles: roles as Role[], client: 'tongxiang-cli-local', expiresAt: Number.MAX_SAFE_INTEGER };
}

// ---------------------------------------------------------------------------------------------
// Arguments

/** `Type.field`, `Type.field:masked`, `Type.field:clear` → a FieldGrantInput. */
export function parseFieldArg(value: string): { coordinate: string; mode: 'CLEAR' | 'MASKED' } {
  const m = /^([A-Za-z_]\w*\.[A-Za-z_]\w*)(?::(clear|masked))?$/i.exec(value.trim());
  if (!m) throw bad(`--field ${value}: 须为 Type.field 或 Type.field:masked / must be Type.field or Type.field:masked`);
  return { coordinate: m[1]!, mode: (m[2] ?? 'clear').toUpperCase() as 'CLEAR' | 'MASKED' };
}

/** `jurisdiction`, `all`, `regions:341504,341623` → a RowScopeInput. */
export function parseScopeArg(value: string): { kind: 'JURISDICTION' | 'ALL' | 'REGIONS'; regionCodes?: string[] } {
  const v = value.trim();
  if (v === 'jurisdiction') return { kind: 'JURISDICTION' };
  if (v === 'all') return { kind: 'ALL' };
  const m = /^regions:(.+)$/.exec(v);
  if (m) return { kind: 'REGIONS', regionCodes: m[1]!.split(',').map((c) => c.trim()).filter((c) => c !== '') };
  throw bad(`--scope ${value}: jurisdiction、all 或 regions:341504,341623 / jurisdiction, all or regions:341504,341623`);
}

// ---------------------------------------------------------------------------------------------
// Output

/** Display width: CJK and full-width characters take two columns. */
function width(text: string): number {
  let w = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    w += (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) || (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) || (cp >= 0xffe0 && cp <= 0xffe6) ? 2 : 1;
  }
  return w;
}

const pad = (text: string, to: number) => text + ' '.repeat(Math.max(0, to - width(text)));

export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ''))));
  const line = (cells: readonly string[]) => cells.map((c, i) => pad(c, widths[i]!)).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n') + '\n';
}

interface ContractView {
  id: string;
  consumer: string;
  provider: string;
  state: string;
  purpose: string;
  legalBasis: string;
  validFrom: string;
  validUntil: string;
  predecessorId: string | null;
  createdAt: string;
  updatedAt: string;
  version: number;
  fields: { coordinate: string; mode: string }[];
  scope: { kind: string; regionCodes: string[] };
  quotas: { requestsPerMinute: number | null; recordsPerDay: number | null };
  history?: { seq: number; action: string; from: string | null; to: string; actor: string; actorDepartment: string | null; at: string; reason: string | null; fields: { coordinate: string; mode: string }[] | null }[];
}

const STATE_ZH: Record<string, string> = {
  DRAFT: '草稿', PENDING: '待审批', ACTIVE: '生效', REJECTED: '已驳回', SUSPENDED: '已暂停', REVOKED: '已撤销', EXPIRED: '已到期', WITHDRAWN: '已撤回',
};
const state = (s: string | null) => (s === null ? '—' : `${STATE_ZH[s] ?? s} ${s.toLowerCase()}`);
const grant = (g: { coordinate: string; mode: string }) => (g.mode === 'MASKED' ? `${g.coordinate}(脱敏 masked)` : g.coordinate);
const scopeText = (s: ContractView['scope']) => (s.kind === 'REGIONS' ? `regions:${s.regionCodes.join(',')}` : s.kind === 'ALL' ? '全部 all' : '本辖区 jurisdiction');
const day = (iso: string) => iso.slice(0, 10);

function contractsTable(list: readonly ContractView[]): string {
  if (list.length === 0) return '（无 / none）\n';
  return table(
    ['编号 id', '状态 state', '用数方 consumer', '提供方 provider', '有效期 valid', '字段 fields'],
    list.map((c) => [c.id, state(c.state), c.consumer, c.provider, `${day(c.validFrom)}~${day(c.validUntil)}`, c.fields.map(grant).join(', ')]),
  );
}

function contractDetail(c: ContractView): string {
  const rows: [string, string][] = [
    ['编号 id', c.id],
    ['状态 state', state(c.state)],
    ['用数方 consumer', c.consumer],
    ['提供方 provider', c.provider],
    ['用途 purpose', c.purpose],
    ['依据 legal basis', c.legalBasis],
    ['范围 scope', scopeText(c.scope)],
    ['有效期 valid', `${c.validFrom} ~ ${c.validUntil}`],
    ['配额 quotas', `${c.quotas.requestsPerMinute ?? '∞'}/min, ${c.quotas.recordsPerDay ?? '∞'}/day`],
    ['接续 renews', c.predecessorId ?? '—'],
    ['字段 fields', c.fields.map(grant).join(', ')],
  ];
  const label = Math.max(...rows.map(([k]) => width(k)));
  let out = rows.map(([k, v]) => `${pad(k, label)}  ${v}`).join('\n') + '\n';
  if (c.history) {
    out += '\n变更记录 / history:\n';
    out += table(
      ['#', '时间 at', '动作 action', '状态 from→to', '操作人 actor', '理由 reason'],
      c.history.map((t) => [
        String(t.seq),
        t.at,
        t.action.toLowerCase() + (t.fields && t.action === 'APPROVE' ? ` [${t.fields.map(grant).join(', ')}]` : ''),
        `${t.from === null ? '—' : t.from.toLowerCase()} → ${t.to.toLowerCase()}`,
        t.actorDepartment ? `${t.actor} (${t.actorDepartment})` : t.actor,
        t.reason ?? '',
      ]),
    );
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Verbs

interface Verb {
  /** The operation and its variables from the positionals and options. */
  build(id: string | undefined, values: Values): { query: string; variables: Record<string, unknown>; field: string };
  readonly list?: boolean;
}

const needId = (verb: string, id: string | undefined): string => {
  if (!id) throw bad(`contracts ${verb} 需要协议编号 / needs a contract id, e.g. tongxiang contracts ${verb} GX-2026-000123`);
  return id;
};

const simple = (mutation: string, verb: string, reasonRequired: boolean): Verb => ({
  build(id, values) {
    if (reasonRequired && !values.reason) throw bad(`contracts ${verb} 需要 --reason / needs --reason`);
    return {
      field: mutation,
      query: `mutation ($id: ID!, $reason: String${reasonRequired ? '!' : ''}) { ${mutation}(id: $id, reason: $reason) { ${CONTRACT} ${HISTORY} } }`,
      variables: { id: needId(verb, id), reason: values.reason ?? null },
    };
  },
});

export const VERBS: Readonly<Record<string, Verb>> = {
  list: { list: true, build: () => ({ field: 'myContracts', query: `{ myContracts { ${CONTRACT} } }`, variables: {} }) },
  pending: { list: true, build: () => ({ field: 'pendingApprovals', query: `{ pendingApprovals { ${CONTRACT} } }`, variables: {} }) },
  show: {
    build: (id) => ({ field: 'contract', query: `query ($id: ID!) { contract(id: $id) { ${CONTRACT} ${HISTORY} } }`, variables: { id: needId('show', id) } }),
  },
  request: {
    build(_id, v) {
      const missing = (['provider', 'purpose', 'basis'] as const).filter((k) => !v[k]).map((k) => `--${k}`);
      if (!v.field?.length) missing.push('--field');
      if (missing.length > 0) throw bad(`contracts request 需要 / needs ${missing.join(', ')}`);
      const input = {
        provider: v.provider,
        fields: v.field!.map(parseFieldArg),
        purpose: v.purpose,
        legalBasis: v.basis,
        scope: v.scope === undefined ? null : parseScopeArg(v.scope),
        validFrom: v.from ?? null,
        validUntil: v.until ?? new Date(Date.now() + 365 * 86_400_000).toISOString(),
      };
      return { field: 'requestContract', query: `mutation ($input: ContractRequestInput!) { requestContract(input: $input) { ${CONTRACT} ${HISTORY} } }`, variables: { input } };
    },
  },
  withdraw: simple('withdrawContract', 'withdraw', false),
  approve: {
    build: (id, v) => ({
      field: 'approveContract',
      query: `mutation ($id: ID!, $narrow: [FieldGrantInput!], $reason: String) { approveContract(id: $id, narrow: $narrow, reason: $reason) { ${CONTRACT} ${HISTORY} } }`,
      variables: { id: needId('approve', id), narrow: v.field?.length ? v.field.map(parseFieldArg) : null, reason: v.reason ?? null },
    }),
  },
  reject: simple('rejectContract', 'reject', true),
  suspend: simple('suspendContract', 'suspend', false),
  resume: simple('resumeContract', 'resume', false),
  revoke: simple('revokeContract', 'revoke', true),
  renew: {
    build(id, v) {
      if (!v.until) throw bad('contracts renew 需要 --until / needs --until ISO, e.g. --until 2028-06-30');
      return {
        field: 'renewContract',
        query: `mutation ($id: ID!, $until: String, $from: String) { renewContract(id: $id, validUntil: $until, validFrom: $from) { ${CONTRACT} ${HISTORY} } }`,
        variables: { id: needId('renew', id), until: v.until, from: v.from ?? null },
      };
    },
  },
};

function printErrors(errors: NonNullable<GraphQLResponse['errors']>, io: ContractsCliIo): void {
  for (const e of errors) {
    const code = String(e.extensions?.code ?? 'ERROR');
    const zh = e.extensions?.messageZh;
    const en = e.extensions?.messageEn;
    if (typeof zh === 'string' && typeof en === 'string') io.stderr(`[${code}] ${zh}\n[${code}] ${en}\n`);
    else io.stderr(`[${code}] ${e.message}\n`);
  }
}

/**
 * `tongxiang contracts <verb> ...`; returns the exit code. Argument and connection problems are
 * thrown as TongxiangErrors (the CLI's main prints them); refusals by the hub are printed here.
 */
export async function runContracts(argv: readonly string[], ioOverrides: Partial<ContractsCliIo> = {}): Promise<number> {
  const io = { ...defaultIo(), ...ioOverrides };
  const { values, positionals } = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  const [verbName, id, ...extra] = positionals;
  if (values.help || !verbName || verbName === 'help') {
    io.stdout(USAGE);
    return verbName || values.help ? 0 : 2;
  }
  const verb = VERBS[verbName];
  if (!verb) {
    io.stderr(`未知操作 / unknown verb: ${verbName}\n${USAGE}`);
    return 2;
  }
  if (extra.length > 0) throw bad(`多余的参数 / unexpected arguments: ${extra.join(' ')}`);
  const { query, variables, field } = verb.build(id, values);

  let execute: Execute;
  let close = async () => undefined as void;
  if (values.local) {
    if (values.url || values.token) throw bad('--local 与 --url/--token 不能同用 / --local goes without --url and --token');
    const local = await localExecute({
      principal: localPrincipal(values['as-dept'], values['as-role'], values['as-sub']),
      dataDir: resolve(values['data-dir'] ?? io.env.TONGXIANG_DATA_DIR ?? 'data'),
      databaseUrl: io.env.DATABASE_URL || undefined,
    });
    execute = local.execute;
    close = local.close;
  } else {
    if (values['as-dept'] || values['as-role'] || values['as-sub']) {
      throw bad('--as-dept/--as-role/--as-sub 只用于 --local；连接枢纽时身份来自 --token / only with --local; against a hub the token says who you are');
    }
    const token = values.token ?? io.env.TONGXIANG_TOKEN;
    if (!token) throw bad('需要令牌 / a token is needed: --token JWT or TONGXIANG_TOKEN (tongxiang token --dept ... --role ...)');
    execute = httpExecute(values.url ?? io.env.TONGXIANG_URL ?? DEFAULT_URL, token, io.fetch);
  }

  let result: GraphQLResponse;
  try {
    result = await execute(query, variables);
  } finally {
    await close();
  }
  if (result.errors?.length) {
    printErrors(result.errors, io);
    return 1;
  }
  const data = result.data?.[field] as ContractView | ContractView[] | null | undefined;
  if (values.json) {
    io.stdout(JSON.stringify(data ?? null, null, 2) + '\n');
    return data === null ? 1 : 0;
  }
  if (data === null || data === undefined) {
    io.stderr(`[CONTRACT_NOT_FOUND] 共享协议 ${String(id)} 不存在 / Sharing contract ${String(id)} does not exist\n`);
    return 1;
  }
  io.stdout(Array.isArray(data) ? contractsTable(data) : contractDetail(data));
  return 0;
}

/** For gateway/cli/main.ts COMMANDS: `contracts: contractsCommand`. */
export const contractsCommand = Object.freeze({
  summary: CONTRACTS_SUMMARY,
  run: (argv: string[]) => runContracts(argv),
});
