/**
 * The console's only way to the hub: POST /graphql with the signed-in token (the same public API
 * any department system uses — no private back door), and the few HTTP routes of the console
 * (config, demo sign-in) and the audit export. Errors keep the hub's coded, bilingual messages.
 */
export interface HubErrorInfo {
  readonly code: string;
  readonly messageZh: string;
  readonly messageEn: string;
  readonly path?: readonly (string | number)[];
  readonly extensions: Record<string, unknown>;
}

export class HubError extends Error {
  constructor(
    readonly errors: readonly HubErrorInfo[],
    readonly status: number,
  ) {
    super(errors.map((e) => `${e.code}: ${e.messageEn}`).join('; '));
    this.name = 'HubError';
  }
  /** The first error's code, e.g. FORBIDDEN_ACTION. */
  get code(): string {
    return this.errors[0]?.code ?? 'INTERNAL';
  }
  message_(lang: 'zh' | 'en'): string {
    return this.errors.map((e) => (lang === 'zh' ? e.messageZh : e.messageEn)).join('；');
  }
}

export interface GraphQLResult<T> {
  readonly data: T | null;
  readonly errors: readonly HubErrorInfo[];
}

type Raw = { message?: string; path?: (string | number)[]; extensions?: Record<string, unknown> };

function toInfo(raw: Raw): HubErrorInfo {
  const ext = raw.extensions ?? {};
  const message = raw.message ?? '';
  return {
    code: typeof ext.code === 'string' ? ext.code : 'INTERNAL',
    messageZh: typeof ext.messageZh === 'string' ? ext.messageZh : message,
    messageEn: typeof ext.messageEn === 'string' ? ext.messageEn : message,
    ...(raw.path ? { path: raw.path } : {}),
    extensions: ext,
  };
}

let currentToken: string | null = null;
let onUnauthenticated: (() => void) | null = null;

export function setToken(token: string | null): void {
  currentToken = token;
}
export function whenUnauthenticated(handler: (() => void) | null): void {
  onUnauthenticated = handler;
}
export function authHeader(): Record<string, string> {
  return currentToken ? { authorization: `Bearer ${currentToken}` } : {};
}

/** A GraphQL request: data and errors both (a partial answer is still an answer). Throws HubError when there is no data at all. */
export async function graphql<T>(query: string, variables: Record<string, unknown> = {}): Promise<GraphQLResult<T>> {
  const response = await fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', ...authHeader() },
    body: JSON.stringify({ query, variables }),
  });
  let body: { data?: T | null; errors?: Raw[] };
  try {
    body = (await response.json()) as typeof body;
  } catch {
    throw new HubError([{ code: 'INTERNAL', messageZh: `枢纽返回了无法解析的响应（HTTP ${response.status}）`, messageEn: `the hub answered something that is not JSON (HTTP ${response.status})`, extensions: {} }], response.status);
  }
  const errors = (body.errors ?? []).map(toInfo);
  if (response.status === 401 || errors.some((e) => e.code === 'UNAUTHENTICATED')) onUnauthenticated?.();
  if (body.data === undefined || body.data === null) {
    throw new HubError(errors.length > 0 ? errors : [{ code: 'INTERNAL', messageZh: `HTTP ${response.status}`, messageEn: `HTTP ${response.status}`, extensions: {} }], response.status);
  }
  return { data: body.data, errors };
}

/** A query whose every error is fatal (admin screens: no partial answers). */
export async function query<T>(text: string, variables: Record<string, unknown> = {}): Promise<T> {
  const result = await graphql<T>(text, variables);
  if (result.errors.length > 0) throw new HubError(result.errors, 200);
  return result.data as T;
}

export interface ConsoleConfig {
  readonly graphqlPath: string;
  readonly demoSignIn: { readonly departments: readonly { code: string; name: string }[]; readonly roles: readonly string[] } | null;
  readonly oidc: { readonly issuer: string; readonly clientId: string; readonly scope: string } | null;
  /** The hub's example queries with demo variables (GraphiQL preloads them). */
  readonly examples?: readonly { readonly title: string; readonly query: string; readonly variables: Record<string, unknown> }[];
}

export async function consoleConfig(): Promise<ConsoleConfig> {
  const response = await fetch('/console/config.json', { headers: { accept: 'application/json' } });
  if (!response.ok) throw new HubError([{ code: 'INTERNAL', messageZh: `无法读取控制台配置（HTTP ${response.status}）`, messageEn: `cannot read the console configuration (HTTP ${response.status})`, extensions: {} }], response.status);
  return (await response.json()) as ConsoleConfig;
}

/** Demo sign-in (embedded default only): a token from the hub's local issuer. */
export async function demoToken(department: string, role: string): Promise<string> {
  const response = await fetch('/console/demo-token', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ department, role }),
  });
  const body = (await response.json().catch(() => ({}))) as { token?: string; errors?: Raw[]; error?: Raw };
  if (!response.ok || !body.token) {
    const raw = body.errors ?? (body.error ? [body.error] : [{ message: `HTTP ${response.status}` }]);
    throw new HubError(raw.map(toInfo), response.status);
  }
  return body.token;
}
