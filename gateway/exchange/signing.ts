/**
 * Webhook signatures (回调签名): each POST carries `Tongxiang-Signature`, a JWS (RFC 7515) over the
 * exact body bytes, EdDSA (Ed25519) with the hub's exchange key, in compact serialization with a
 * detached payload (RFC 7515 appendix F: `<protected header>..<signature>`). The protected header
 * names the key (`kid`), the type (`typ: tongxiang-event+jws`) and when it was signed (`iat`,
 * seconds), so a receiver can refuse stale replays. Receivers verify with the public key set the
 * hub serves at /exchange/jwks.json: nothing secret is shared with them.
 *
 * The keys live in `<dataDir>/exchange/keys`, kept like the audit keyring (one Ed25519 key per
 * file, 0600, `kid` = RFC 7638 thumbprint, rotation keeps old keys public), in a directory of
 * their own: the exchange key signs for consumers, the audit key for auditors.
 */
import { CompactSign, compactVerify, createLocalJWKSet, decodeProtectedHeader, type JWK } from 'jose';
import { openAuditKeyring, type AuditKeyring } from '../../audit/keys.ts';

export const EVENT_JWS_TYPE = 'tongxiang-event+jws';
export const SIGNATURE_HEADER = 'Tongxiang-Signature';

export interface EventSigner {
  /** The detached compact JWS over `body`. */
  sign(body: Uint8Array, nowMs: number): Promise<string>;
  /** Every exchange key ever made, public parts only. */
  jwks(): { keys: JWK[] };
}

export async function openEventSigner(dir: string): Promise<EventSigner> {
  const keyring: AuditKeyring = await openAuditKeyring(dir);
  return Object.freeze({
    async sign(body: Uint8Array, nowMs: number): Promise<string> {
      const { kid, privateKey } = keyring.current();
      const jws = await new CompactSign(body)
        .setProtectedHeader({ alg: 'EdDSA', kid, typ: EVENT_JWS_TYPE, iat: Math.floor(nowMs / 1000) })
        .sign(privateKey);
      const [header, , signature] = jws.split('.');
      return `${header}..${signature}`;
    },
    jwks: () => keyring.publicJwks(),
  });
}

export interface VerifiedEvent {
  readonly kid: string;
  /** Signing time, seconds since the epoch. */
  readonly iat: number | undefined;
}

/**
 * What a receiver does (and the tests do): verifies a detached signature over the body bytes as
 * received, with only the hub's public key set. Throws when the signature, the key, the type or
 * the body does not match.
 */
export async function verifyEventSignature(body: Uint8Array | string, signature: string, jwks: { keys: JWK[] }): Promise<VerifiedEvent> {
  const parts = signature.split('.');
  if (parts.length !== 3 || parts[1] !== '') throw new Error('not a detached compact JWS');
  const header = decodeProtectedHeader(signature);
  if (header.typ !== EVENT_JWS_TYPE) throw new Error(`unexpected JWS type ${String(header.typ)}`);
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body);
  const { protectedHeader } = await compactVerify(`${parts[0]}.${bytes.toString('base64url')}.${parts[2]}`, createLocalJWKSet(jwks), {
    algorithms: ['EdDSA'],
  });
  return { kid: String(protectedHeader.kid), iat: typeof protectedHeader.iat === 'number' ? protectedHeader.iat : undefined };
}
