/**
 * How the console signs people in (控制台登录), as `GET /console/config.json` tells it:
 *
 * - `oidc`: the hub verifies tokens of an OIDC issuer (TONGXIANG_OIDC_ISSUER) and a console client
 *   is configured (TONGXIANG_CONSOLE_OIDC_CLIENT_ID): the console runs the authorization-code flow
 *   with PKCE at the issuer and sends the access token it gets.
 * - `demoSignIn`: the hub is its own local issuer and runs the demo sources (`npm start`): anyone
 *   who can reach the console picks a department and a role and gets a token for them
 *   (`POST /console/demo-token`) — an 8-hour token of the local issuer, subject
 *   `console-demo:<role>@<department>`, client `tongxiang-console`. Each one is an audit admin
 *   event (department and role; never the token). Never on a hub that is not a demo.
 */
import { decodeJwt } from 'jose';
import { ROLES, TongxiangError, type Role } from '../../core/index.ts';
import { openLocalIssuer, type IdentitySettings, type LocalIssuer } from '../identity/index.ts';
import type { ConsoleDepartment } from './departments.ts';

export const CONSOLE_CLIENT = 'tongxiang-console';
export const DEMO_TOKEN_TTL_SECONDS = 8 * 3600;

export interface ConsoleOidc {
  readonly issuer: string;
  readonly clientId: string;
  readonly scope: string;
}

export interface DemoSignIn {
  readonly departments: readonly ConsoleDepartment[];
  readonly roles: readonly Role[];
  /** A token for one of `departments` in one of `roles`; BAD_USER_INPUT for anything else. */
  issue(request: { readonly department: unknown; readonly role: unknown }): Promise<{ token: string; expiresAt: string }>;
}

/** Whether the hub offers the demo sign-in: its own local issuer, and the demo sources. */
export function demoSignInAvailable(settings: Pick<IdentitySettings, 'mode'>, demo: boolean): boolean {
  return settings.mode === 'local' && demo;
}

/** The console's OIDC settings, when the hub verifies an OIDC issuer's tokens and a console client is configured. */
export function consoleOidc(settings: Pick<IdentitySettings, 'mode' | 'oidcIssuer'>, console: { oidcClientId: string | null; oidcScope: string }): ConsoleOidc | null {
  if (settings.mode !== 'oidc' || !settings.oidcIssuer || !console.oidcClientId) return null;
  return Object.freeze({ issuer: settings.oidcIssuer, clientId: console.oidcClientId, scope: console.oidcScope });
}

export interface DemoSignInOptions {
  readonly identity: IdentitySettings;
  readonly dataDir: string;
  readonly departments: readonly ConsoleDepartment[];
  /**
   * Told of each token before it is handed out, and awaited (the audit trail): if it throws, no
   * token leaves. Gets the department, role and subject — never the token.
   */
  readonly onIssued?: (event: { readonly department: string; readonly role: Role; readonly subject: string; readonly client: string }) => Promise<void>;
}

function badInput(reason: string): TongxiangError {
  return new TongxiangError('BAD_USER_INPUT', { reason });
}

export function createDemoSignIn(options: DemoSignInOptions): DemoSignIn {
  if (options.identity.mode !== 'local') {
    throw new TongxiangError('CONFIG_INVALID', { reason: 'the console demo sign-in needs the local issuer' });
  }
  const known = new Set(options.departments.map((d) => d.code));
  let issuer: Promise<LocalIssuer> | null = null;
  const localIssuer = () =>
    (issuer ??= openLocalIssuer({ dataDir: options.dataDir, issuer: options.identity.issuer, audience: options.identity.audience }).catch((error: unknown) => {
      issuer = null;
      throw error;
    }));
  return Object.freeze({
    departments: options.departments,
    roles: ROLES,
    async issue(request: { readonly department: unknown; readonly role: unknown }) {
      const { department, role } = request;
      if (typeof department !== 'string' || !known.has(department)) {
        throw badInput(`未知的部门 ${JSON.stringify(department)}（见 /console/config.json）/ unknown department ${JSON.stringify(department)} (see /console/config.json)`);
      }
      if (typeof role !== 'string' || !(ROLES as readonly string[]).includes(role)) {
        throw badInput(`未知的角色 ${JSON.stringify(role)}（应为 ${ROLES.join('、')}）/ unknown role ${JSON.stringify(role)} (one of ${ROLES.join(', ')})`);
      }
      const subject = `console-demo:${role}@${department}`;
      const token = await (await localIssuer()).sign({ subject, department, roles: [role], client: CONSOLE_CLIENT, ttlSeconds: DEMO_TOKEN_TTL_SECONDS });
      await options.onIssued?.({ department, role: role as Role, subject, client: CONSOLE_CLIENT });
      const exp = decodeJwt(token).exp!;
      return { token, expiresAt: new Date(exp * 1000).toISOString() };
    },
  });
}
