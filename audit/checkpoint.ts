/**
 * Signed checkpoints: a compact JWS (EdDSA, Ed25519) over the canonical JSON of
 * `{ instance, seq, head, alg, time }`, protected header `{ alg: 'EdDSA', kid, typ:
 * 'tongxiang-audit-checkpoint+jws' }`. A checkpoint vouches for the whole chain of its instance
 * up to `seq`: `head` is the hash of record `seq`, and every earlier record is under that hash.
 */
import { CompactSign, compactVerify, createLocalJWKSet, errors, type CryptoKey, type JWK } from 'jose';
import { TongxiangError } from '../core/index.ts';
import { canonicalJson } from './canonical.ts';
import { isHashAlgorithm } from './hash.ts';
import type { CheckpointEntry, CheckpointPayload } from './types.ts';

export const CHECKPOINT_TYP = 'tongxiang-audit-checkpoint+jws';

const HEX64 = /^[0-9a-f]{64}$/;

/** Why a checkpoint is not valid, in Chinese and English. */
export interface CheckpointReason {
  readonly zh: string;
  readonly en: string;
}

function logInvalid(reason: string): TongxiangError {
  return new TongxiangError('AUDIT_LOG_INVALID', { reason });
}

/** The problem with `value` as a checkpoint payload (both languages), or null when it is one. */
function payloadProblem(value: unknown): CheckpointReason | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { zh: '载荷不是对象', en: 'the payload is not an object' };
  const p = value as Record<string, unknown>;
  if (typeof p.instance !== 'string' || p.instance === '') return { zh: '载荷缺少 instance', en: 'the payload has no instance' };
  if (typeof p.seq !== 'number' || !Number.isSafeInteger(p.seq) || p.seq < 1) return { zh: '载荷的 seq 不是正整数', en: 'the payload seq is not a positive integer' };
  if (typeof p.head !== 'string' || !HEX64.test(p.head)) return { zh: '载荷的 head 不是 64 位十六进制哈希', en: 'the payload head is not a 64-digit hex hash' };
  if (!isHashAlgorithm(p.alg)) return { zh: '载荷中的哈希算法未知', en: 'the payload names an unknown hash algorithm' };
  if (typeof p.time !== 'string' || Number.isNaN(Date.parse(p.time))) return { zh: '载荷的 time 不是 ISO 8601 时间', en: 'the payload time is not an ISO 8601 instant' };
  const extra = Object.keys(p).filter((k) => !['instance', 'seq', 'head', 'alg', 'time'].includes(k));
  if (extra.length > 0) return { zh: `载荷含有多余的成员（${extra.join('、')}）`, en: `the payload has unexpected members (${extra.join(', ')})` };
  return null;
}

/** Signs `payload` with the keyring's current key. */
export async function signCheckpoint(key: { kid: string; privateKey: CryptoKey }, payload: CheckpointPayload): Promise<CheckpointEntry> {
  const problem = payloadProblem(payload);
  if (problem !== null) throw new TongxiangError('BAD_USER_INPUT', { reason: `cannot sign the checkpoint: ${problem.en}` });
  const { instance, seq, head, alg, time } = payload;
  const bytes = new TextEncoder().encode(canonicalJson({ instance, seq, head, alg, time }));
  const jws = await new CompactSign(bytes).setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: CHECKPOINT_TYP }).sign(key.privateKey);
  return { kind: 'checkpoint', instance, seq, jws };
}

const PUBLIC_MEMBERS = ['kty', 'crv', 'x', 'kid', 'alg', 'use'] as const;
type KeyResolver = ReturnType<typeof createLocalJWKSet>;
const resolvers = new WeakMap<object, KeyResolver>();

/**
 * The key resolver for `jwks`, made once per key set object. Only Ed25519 keys with a kid are
 * used, and only their public members: a private member in the set is never imported.
 */
function resolverFor(jwks: { keys: JWK[] }): KeyResolver {
  let resolver = resolvers.get(jwks);
  if (resolver === undefined) {
    const keys: JWK[] = [];
    for (const jwk of Array.isArray(jwks?.keys) ? jwks.keys : []) {
      if (typeof jwk !== 'object' || jwk === null || jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string' || typeof jwk.kid !== 'string') continue;
      if (jwk.use !== undefined && jwk.use !== 'sig') continue;
      if (jwk.alg !== undefined && jwk.alg !== 'EdDSA') continue;
      const clean: Record<string, string> = {};
      for (const m of PUBLIC_MEMBERS) if (typeof jwk[m] === 'string') clean[m] = jwk[m];
      clean.alg = 'EdDSA';
      keys.push(clean as JWK);
    }
    resolver = createLocalJWKSet({ keys });
    if (typeof jwks === 'object' && jwks !== null) resolvers.set(jwks, resolver);
  }
  return resolver;
}

function joseReason(error: unknown): CheckpointReason {
  if (error instanceof errors.JOSEError) {
    switch (error.code) {
      case errors.JWSSignatureVerificationFailed.code:
        return { zh: '签名与内容不符', en: 'the signature does not verify' };
      case errors.JOSEAlgNotAllowed.code:
        return { zh: '签名算法不是 EdDSA', en: 'the algorithm is not EdDSA' };
      case errors.JWKSNoMatchingKey.code:
        return { zh: '签名密钥不在公钥集中', en: 'it is signed with a key that is not in the key set' };
      case errors.JWKSMultipleMatchingKeys.code:
        return { zh: '公钥集中有多个密钥与其密钥标识匹配', en: 'several keys of the key set match its key id' };
      default:
        break;
    }
  }
  return { zh: '不是格式正确的 JWS', en: 'it is not a well-formed JWS' };
}

/**
 * Checks a checkpoint against public keys: the payload when it is valid, else the reason (both
 * languages). `verifyCheckpoint` is the same, throwing; the verifier uses this one.
 */
export async function inspectCheckpoint(entry: CheckpointEntry, jwks: { keys: JWK[] }): Promise<{ payload: CheckpointPayload } | { reason: CheckpointReason }> {
  if (typeof entry?.jws !== 'string') return { reason: { zh: '缺少 JWS', en: 'it has no JWS' } };
  let result: Awaited<ReturnType<typeof compactVerify>>;
  try {
    result = await compactVerify(entry.jws, resolverFor(jwks), { algorithms: ['EdDSA'] });
  } catch (error) {
    return { reason: joseReason(error) };
  }
  const header = result.protectedHeader;
  if (header.alg !== 'EdDSA') return { reason: { zh: '签名算法不是 EdDSA', en: 'the algorithm is not EdDSA' } };
  if (typeof header.kid !== 'string') return { reason: { zh: '头部未指明密钥（kid）', en: 'the header names no key (kid)' } };
  if (header.typ !== CHECKPOINT_TYP) return { reason: { zh: `头部类型不是 ${CHECKPOINT_TYP}`, en: `the header type is not ${CHECKPOINT_TYP}` } };
  let payload: unknown;
  try {
    payload = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(result.payload));
  } catch {
    return { reason: { zh: '载荷不是 JSON', en: 'the payload is not JSON' } };
  }
  const problem = payloadProblem(payload);
  if (problem !== null) return { reason: problem };
  const p = payload as CheckpointPayload;
  if (p.instance !== entry.instance || p.seq !== entry.seq) {
    return { reason: { zh: `签名的载荷属于 ${p.instance}#${p.seq}，与条目不符`, en: `the signed payload is for ${p.instance}#${p.seq}, not this entry` } };
  }
  return { payload: { instance: p.instance, seq: p.seq, head: p.head, alg: p.alg, time: p.time } };
}

/**
 * Verifies a checkpoint against public keys (the keyring's `publicJwks()`, or an export's). Only
 * EdDSA is accepted; the header must name its key (`kid`) and carry the checkpoint `typ`; the
 * payload must be a checkpoint payload whose instance and seq are the entry's. Throws
 * AUDIT_LOG_INVALID, with the reason, on any problem.
 */
export async function verifyCheckpoint(entry: CheckpointEntry, jwks: { keys: JWK[] }): Promise<CheckpointPayload> {
  const outcome = await inspectCheckpoint(entry, jwks);
  if ('reason' in outcome) throw logInvalid(`checkpoint ${String(entry?.instance)}#${String(entry?.seq)}: ${outcome.reason.en}`);
  return outcome.payload;
}
