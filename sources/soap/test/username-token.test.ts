import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createUsernameTokenVerifier } from '../username-token.ts';

const DIGEST_TYPE = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest';
const TEXT_TYPE = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText';
const NOW = Date.parse('2026-03-01T08:00:00Z');

function digestToken(password: string, created: string, nonce = randomBytes(16).toString('base64')) {
  const digest = createHash('sha1')
    .update(Buffer.concat([Buffer.from(nonce, 'base64'), Buffer.from(created), Buffer.from(password)]))
    .digest('base64');
  return { UsernameToken: { Username: 'hub', Password: { attributes: { Type: DIGEST_TYPE }, $value: digest }, Nonce: { $value: nonce }, Created: created } };
}

describe('WS-Security UsernameToken verification (UsernameToken Profile 1.0)', () => {
  const verifier = () => createUsernameTokenVerifier({ username: 'hub', password: 'secret' });

  it('accepts the right PasswordText and refuses a wrong one or a wrong user', () => {
    const v = verifier();
    const token = (username: string, password: string) => ({ UsernameToken: { Username: username, Password: { attributes: { Type: TEXT_TYPE }, $value: password } } });
    expect(v.verify(token('hub', 'secret'), NOW)).toEqual({ ok: true });
    expect(v.verify(token('hub', 'secreT'), NOW)).toEqual({ ok: false, reason: 'mismatch' });
    expect(v.verify(token('other', 'secret'), NOW)).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('refuses a missing token', () => {
    expect(verifier().verify(undefined, NOW)).toEqual({ ok: false, reason: 'missing' });
  });

  it('accepts a fresh PasswordDigest once and refuses its replay', () => {
    const v = verifier();
    const token = digestToken('secret', new Date(NOW - 1000).toISOString());
    expect(v.verify(token, NOW)).toEqual({ ok: true });
    expect(v.verify(token, NOW + 1000)).toEqual({ ok: false, reason: 'replayed' });
  });

  it('refuses a PasswordDigest created outside the five-minute window', () => {
    const token = digestToken('secret', new Date(NOW - 6 * 60_000).toISOString());
    expect(verifier().verify(token, NOW)).toEqual({ ok: false, reason: 'stale' });
  });

  it('refuses a PasswordDigest of the wrong password', () => {
    const token = digestToken('guess', new Date(NOW).toISOString());
    expect(verifier().verify(token, NOW)).toEqual({ ok: false, reason: 'mismatch' });
  });
});
