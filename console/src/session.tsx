/**
 * Who is signed in: the token (kept in sessionStorage — this tab only, gone when it closes) and
 * what it says (department, roles, expiry), read from its payload for display only; the hub
 * verifies it on every request.
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { setToken, whenUnauthenticated } from './api.ts';

export type Role = 'developer' | 'data_owner' | 'auditor' | 'operator';

export interface Session {
  readonly token: string;
  readonly subject: string;
  readonly department: string;
  readonly roles: readonly Role[];
  /** Milliseconds since the epoch. */
  readonly expiresAt: number;
}

const STORAGE_KEY = 'tongxiang.console.token';

function base64UrlDecode(part: string): string {
  const b64 = part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '=');
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

/** The session a token describes, or null when it is not a JWT with a department and roles. */
export function sessionFromToken(token: string): Session | null {
  const parts = token.trim().replace(/^Bearer\s+/i, '').split('.');
  if (parts.length !== 3) return null;
  try {
    const claims = JSON.parse(base64UrlDecode(parts[1]!)) as Record<string, unknown>;
    const department = typeof claims.dept === 'string' ? claims.dept : null;
    const roles = Array.isArray(claims.roles) ? claims.roles.filter((r): r is Role => ['developer', 'data_owner', 'auditor', 'operator'].includes(String(r))) : [];
    if (!department || typeof claims.exp !== 'number') return null;
    return { token: parts.join('.'), subject: String(claims.sub ?? ''), department, roles, expiresAt: claims.exp * 1000 };
  } catch {
    return null;
  }
}

interface SessionState {
  readonly session: Session | null;
  /** Why the last session ended, when it did not end by signing out. */
  readonly ended: 'expired' | null;
  signIn(token: string): Session | null;
  signOut(): void;
}

const Ctx = createContext<SessionState | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<Session | null>(() => {
    const stored = sessionStorage.getItem(STORAGE_KEY);
    const s = stored ? sessionFromToken(stored) : null;
    return s && s.expiresAt > Date.now() ? s : null;
  });
  const [ended, setEnded] = useState<'expired' | null>(null);
  setToken(session?.token ?? null);

  const signIn = useCallback((token: string) => {
    const s = sessionFromToken(token);
    if (!s || s.expiresAt <= Date.now()) return null;
    sessionStorage.setItem(STORAGE_KEY, s.token);
    setToken(s.token);
    setEnded(null);
    setSession(s);
    return s;
  }, []);
  const signOut = useCallback(() => {
    sessionStorage.removeItem(STORAGE_KEY);
    setToken(null);
    setSession(null);
  }, []);

  useEffect(() => {
    whenUnauthenticated(() => {
      sessionStorage.removeItem(STORAGE_KEY);
      setToken(null);
      setSession(null);
      setEnded('expired');
    });
    return () => whenUnauthenticated(null);
  }, []);

  const value = useMemo(() => ({ session, ended, signIn, signOut }), [session, ended, signIn, signOut]);
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useSession(): SessionState {
  const value = useContext(Ctx);
  if (!value) throw new Error('useSession outside SessionProvider');
  return value;
}

/** The signed-in session; only for pages shown after sign-in. */
export function useSignedIn(): Session {
  const { session } = useSession();
  if (!session) throw new Error('not signed in');
  return session;
}
