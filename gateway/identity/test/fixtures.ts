/**
 * Shared pieces of the identity tests: a clock that moves only when told, temporary data
 * directories, and a verifier over a data directory's local key.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet } from 'jose';
import { expect } from 'vitest';
import { TongxiangError, type Clock } from '../../../core/index.ts';
import { createTokenVerifier, openLocalIssuer, type LocalIssuer, type TokenVerifier } from '../index.ts';

/** 2026-03-01T08:00:00Z, a working morning. */
export const T0 = Date.UTC(2026, 2, 1, 8, 0, 0);

export interface ManualClock extends Clock {
  set(ms: number): void;
  advance(ms: number): void;
}

export function manualClock(start = T0): ManualClock {
  let now = start;
  return { now: () => now, set: (ms) => (now = ms), advance: (ms) => (now += ms) };
}

const dirs: string[] = [];

export async function tempDataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tongxiang-identity-'));
  dirs.push(dir);
  return dir;
}

export async function removeTempDirs(): Promise<void> {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
}

export const DEVELOPER = Object.freeze({ subject: 'zhang.wei', department: '341504.mzj', roles: ['developer'], client: 'yeji-dibao-check' });

export async function localSetup(clock: Clock = manualClock()): Promise<{ dataDir: string; issuer: LocalIssuer; verifier: TokenVerifier }> {
  const dataDir = await tempDataDir();
  const issuer = await openLocalIssuer({ dataDir, clock });
  const verifier = createTokenVerifier({ keys: createLocalJWKSet(issuer.key.jwks), issuer: issuer.issuer, audience: issuer.audience, clock });
  return { dataDir, issuer, verifier };
}

/** Asserts the promise is refused as UNAUTHENTICATED with this reason, saying nothing else. */
export async function expectRefused(work: Promise<unknown>, reason: string, token?: string): Promise<void> {
  const error = await work.then(
    () => {
      throw new Error(`expected UNAUTHENTICATED (${reason}), but it was accepted`);
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TongxiangError);
  const te = error as TongxiangError;
  expect(te.code).toBe('UNAUTHENTICATED');
  expect(te.fields).toEqual({ reason });
  expect(te.cause).toBeUndefined();
  if (token) {
    const text = te.message + JSON.stringify(te.toExtensions());
    for (const part of token.split('.')) if (part.length > 8) expect(text).not.toContain(part);
  }
}
