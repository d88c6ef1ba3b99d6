/**
 * The audit core: hash functions and canonical JSON against their standards' examples, chains in
 * both algorithms, the signing and subject keyrings on disk, checkpoints.
 */
import { createHash, createHmac } from 'node:crypto';
import { chmod, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CompactSign, calculateJwkThumbprint, decodeProtectedHeader } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import canonicalize from 'canonicalize';
import { canonicalForm, canonicalJson } from '../canonical.ts';
import { signCheckpoint, verifyCheckpoint } from '../checkpoint.ts';
import { chainHash, digest } from '../hash.ts';
import { AUDIT_KEYRING_FILE, AUDIT_PUBLIC_KEYS_FILE, openAuditKeyring } from '../keys.ts';
import { SUBJECT_KEYRING_FILE, openSubjectKeyring } from '../subjects.ts';
import { GENESIS } from '../types.ts';
import { verifyEntries } from '../verify.ts';
import { accessRecord, buildLog, removeTempDirs, tempDir, timeAt } from './core-fixtures.ts';

afterAll(removeTempDirs);

const posix = process.platform !== 'win32';

describe('hash functions', () => {
  it('computes SM3 as GB/T 32905 specifies ("abc" and the 512-bit "abcd"×16 examples)', () => {
    expect(digest('sm3', 'abc')).toBe('66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0');
    expect(digest('sm3', 'abcd'.repeat(16))).toBe('debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732');
  });

  it('chains as H(prev hex || canonical JSON of the record), so any implementation can recompute it', () => {
    const record = accessRecord('hub-a', 1, timeAt(0));
    const expected = createHash('sha256').update(GENESIS + canonicalJson(record), 'utf8').digest('hex');
    expect(chainHash('sha256', GENESIS, record)).toBe(expected);
    expect(chainHash('sm3', GENESIS, record)).toBe(digest('sm3', GENESIS + canonicalJson(record)));
  });
});

describe('canonical JSON (RFC 8785)', () => {
  it('gives the RFC 8785 §3.2.2 example: sorted keys, shortest numbers, minimal string escapes', () => {
    const input = JSON.parse(
      String.raw`{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],"string":"\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/","literals":[null,true,false]}`,
    ) as unknown;
    expect(canonicalJson(input)).toBe(
      String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`,
    );
  });

  it('writes -0 as 0 and large and small numbers in exponent form', () => {
    expect(canonicalJson([-0, 1e21, 1e-7, 100, 0.5])).toBe('[0,1e+21,1e-7,100,0.5]');
  });

  it('sorts keys by UTF-16 code units, as in the RFC 8785 §3.2.3 example, and keeps non-ASCII text as is', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    expect(canonicalJson(input)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
    expect(canonicalJson({ 用途: '最低生活保障审核', b: [1, { z: 1, a: 2 }] })).toBe('{"b":[1,{"a":2,"z":1}],"用途":"最低生活保障审核"}');
  });

  it('refuses what JSON cannot carry', () => {
    expect(() => canonicalJson({ n: Number.NaN })).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
    expect(() => canonicalJson({ a: 1, z: Number.POSITIVE_INFINITY })).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
    expect(() => canonicalJson({ a: 'lone \ud800 surrogate' })).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
    expect(() => canonicalJson({ 'lone \udc00': 1 })).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.b = cyclic;
    expect(() => canonicalJson(cyclic)).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
  });

  it('remembers only what cannot change: deep-frozen data; a frozen shell around a mutable object, or a getter, is checked again', () => {
    const shared = Object.freeze([Object.freeze({ a: 1, b: 'x' })]);
    expect(canonicalJson({ c: shared })).toBe('{"c":[{"a":1,"b":"x"}]}');
    expect(canonicalJson({ c: shared, d: 2 })).toBe('{"c":[{"a":1,"b":"x"}],"d":2}');

    const inner: Record<string, unknown> = { a: 1 };
    const shell = Object.freeze({ x: inner });
    expect(canonicalJson(shell)).toBe('{"x":{"a":1}}');
    inner.z = Number.NaN; // not JSON: must be refused, not served from memory
    expect(() => canonicalJson(shell)).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
    delete inner.z;
    inner.b = -0;
    expect(canonicalJson(shell)).toBe('{"x":{"a":1,"b":0}}');

    let n = 0;
    const ticking = Object.freeze(Object.defineProperty({}, 'v', { get: () => (n += 1), enumerable: true }));
    expect(canonicalJson(ticking)).toBe('{"v":2}'); // read once by the check, once by JSON.stringify
    expect(canonicalJson(ticking)).not.toBe('{"v":2}');
  });

  it('agrees with the reference implementation on values in and out of canonical shape (random, 2,000 values)', () => {
    // The fast path (JSON.stringify of values already in canonical shape) must give the bytes
    // `canonicalize` gives, and hand everything else to it: unsorted and integer-like keys, -0,
    // undefined, toJSON, class instances, null prototypes, sparse arrays, deep nesting.
    let seed = 20261123;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const keys = ['a', 'b', 'z', 'A', '1', '10', '9', '__proto__', '用途', '\u20ac', '\ud83d\ude00', '', 'aa', 'contractId', 'coordinate'];
    const leaves: unknown[] = [0, -0, 1, -1.5, 1e21, 1e-7, 333333333.33333329, 'x', '', '公民身份号码', 'a"b\\c\n\u0001', true, false, null];
    const make = (depth: number): unknown => {
      const r = rand();
      if (depth > 3 || r < 0.35) return pick(leaves);
      if (r < 0.55) return Array.from({ length: Math.floor(rand() * 4) }, () => make(depth + 1));
      const o: Record<string, unknown> = {};
      const chosen = [...new Set(Array.from({ length: Math.floor(rand() * 5) }, () => pick(keys)))];
      if (rand() < 0.5) chosen.sort();
      for (const k of chosen) Object.defineProperty(o, k, { value: make(depth + 1), enumerable: true, writable: true, configurable: true });
      return o;
    };
    let fastShaped = 0;
    for (let i = 0; i < 2000; i++) {
      const value = make(0);
      const expected = canonicalize(value);
      expect(canonicalJson(value)).toBe(expected);
      const form = canonicalForm(structuredClone(value));
      expect(form.text).toBe(expected);
      expect(form.value).toEqual(JSON.parse(expected!));
      if (JSON.stringify(value) === expected) fastShaped += 1;
    }
    // Both kinds were exercised.
    expect(fastShaped).toBeGreaterThan(200);
    expect(fastShaped).toBeLessThan(1800);
    const odd: unknown[] = [
      { b: undefined, a: 1 },
      { a: undefined },
      [1, , 3],
      { a: new Date(0) },
      { a: { toJSON: () => 'x' } },
      Object.assign(Object.create(null) as object, { a: 1 }),
      { a: new (class Point { x = 1; })() },
      { '2': 1, '10': 2 },
      { a: -0 },
    ];
    for (const value of odd) expect(canonicalJson(value)).toBe(canonicalize(value));
  });

  it('canonicalForm reads back as its text: the value itself when in canonical shape, else a frozen copy', () => {
    const given = { a: [{ b: 1 }], c: 'x' };
    const form = canonicalForm(given);
    expect(form.value).toBe(given);
    expect(Object.isFrozen(given)).toBe(true);
    const unsorted = canonicalForm({ z: -0, a: [{ y: 1, x: 2 }] });
    expect(unsorted.text).toBe('{"a":[{"x":2,"y":1}],"z":0}');
    expect(Object.is(unsorted.value.z, 0)).toBe(true);
    expect(Object.isFrozen(unsorted.value.a[0])).toBe(true);
  });
});

describe('chains', () => {
  it('verifies a SHA-256 chain and an SM3 chain, interleaved in one log', async () => {
    const keyring = await openAuditKeyring(join(await tempDir(), 'keys'));
    const log = await buildLog({ key: keyring.current(), algs: { 'hub-a': 'sha256', 'hub-b': 'sm3' } });
    const result = await verifyEntries(log, keyring.publicJwks());
    expect(result).toMatchObject({ ok: true, records: 50, checkpoints: 4, duplicates: 0, unsigned: 10, from: timeAt(0), to: timeAt(49) });
    if (!result.ok) return;
    const b = result.instances.find((i) => i.instance === 'hub-b')!;
    expect(b).toMatchObject({ firstSeq: 1, lastSeq: 25, lastCheckpointSeq: 20 });
    const lastB = log.filter((e) => e.kind === 'record' && e.record.instance === 'hub-b').at(-1)!;
    expect(lastB.kind === 'record' && lastB.alg).toBe('sm3');
    expect(b.head).toBe(lastB.kind === 'record' ? lastB.hash : '');
  });

  it('verifies an empty log as OK with nothing in it', async () => {
    expect(await verifyEntries([], { keys: [] })).toEqual({ ok: true, records: 0, checkpoints: 0, duplicates: 0, instances: [], from: null, to: null, unsigned: 0 });
  });
});

describe('audit signing keyring', () => {
  it('makes one key on first open: private JWK with mode 0600, kid = RFC 7638 thumbprint, public set beside it', async () => {
    const dir = join(await tempDir(), 'audit', 'keys');
    const keyring = await openAuditKeyring(dir);
    const { kid } = keyring.current();
    const file = join(dir, `${kid}.jwk.json`);
    const jwk = JSON.parse(await readFile(file, 'utf8')) as Record<string, string>;
    expect(jwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519', kid });
    expect(kid).toBe(await calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: jwk.x! }));
    if (posix) {
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect((await stat(dir)).mode & 0o077).toBe(0);
    }
    expect((await readdir(dir)).sort()).toEqual([`${kid}.jwk.json`, AUDIT_KEYRING_FILE, AUDIT_PUBLIC_KEYS_FILE].sort());
    const onDisk = JSON.parse(await readFile(join(dir, AUDIT_PUBLIC_KEYS_FILE), 'utf8')) as unknown;
    expect(onDisk).toEqual(keyring.publicJwks());
  });

  it('is the same key after reopening', async () => {
    const dir = join(await tempDir(), 'keys');
    const first = await openAuditKeyring(dir);
    const again = await openAuditKeyring(dir);
    expect(again.current().kid).toBe(first.current().kid);
    expect(again.publicJwks()).toEqual(first.publicJwks());
  });

  it('is one key when several opens race on an empty directory', async () => {
    const dir = join(await tempDir(), 'keys');
    const rings = await Promise.all(Array.from({ length: 5 }, () => openAuditKeyring(dir)));
    expect(new Set(rings.map((r) => r.current().kid)).size).toBe(1);
    const files = await readdir(dir);
    expect(files.filter((f) => f.endsWith('.jwk.json'))).toHaveLength(1);
    expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('rotates to a new key and keeps every old public key, so old checkpoints still verify after reopening', async () => {
    const dir = join(await tempDir(), 'keys');
    const keyring = await openAuditKeyring(dir);
    const payload = (seq: number) => ({ instance: 'hub-a', seq, head: 'd'.repeat(64), alg: 'sha256' as const, time: timeAt(seq) });
    const old = await signCheckpoint(keyring.current(), payload(10));
    const first = keyring.current().kid;
    const rotation = await keyring.rotate();
    expect(rotation).toEqual({ kid: keyring.current().kid, previous: first });
    expect(rotation.kid).not.toBe(first);
    const fresh = await signCheckpoint(keyring.current(), payload(20));
    expect(decodeProtectedHeader(fresh.jws).kid).toBe(rotation.kid);

    const reopened = await openAuditKeyring(dir);
    expect(reopened.current().kid).toBe(rotation.kid);
    expect(reopened.publicJwks().keys.map((k) => k.kid)).toEqual([first, rotation.kid]);
    await expect(verifyCheckpoint(old, reopened.publicJwks())).resolves.toEqual(payload(10));
    await expect(verifyCheckpoint(fresh, reopened.publicJwks())).resolves.toEqual(payload(20));
    if (posix) for (const kid of [first, rotation.kid]) expect((await stat(join(dir, `${kid}.jwk.json`))).mode & 0o777).toBe(0o600);
  });

  it('publishes public parts only: kty, crv, x, kid, alg EdDSA, use sig', async () => {
    const keyring = await openAuditKeyring(join(await tempDir(), 'keys'));
    await keyring.rotate();
    for (const key of keyring.publicJwks().keys) {
      expect(Object.keys(key).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x']);
      expect(key).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
    }
  });

  it.runIf(posix)('refuses a key file other users can read', async () => {
    const dir = join(await tempDir(), 'keys');
    const keyring = await openAuditKeyring(dir);
    await chmod(join(dir, `${keyring.current().kid}.jwk.json`), 0o644);
    await expect(openAuditKeyring(dir)).rejects.toMatchObject({ code: 'CONFIG_INVALID', fields: { reason: expect.stringContaining('644') } });
  });

  it('refuses a damaged key file without quoting it', async () => {
    const dir = join(await tempDir(), 'keys');
    const keyring = await openAuditKeyring(dir);
    await writeFile(join(dir, `${keyring.current().kid}.jwk.json`), '{"kty":"OKP","crv":"Ed25519","x":"zq8","d":"zq8-secret"}', { mode: 0o600 });
    const failure = (await openAuditKeyring(dir).catch((e: unknown) => e)) as Error & { code: string };
    expect(failure.code).toBe('CONFIG_INVALID');
    expect(failure.message).not.toContain('zq8');
  });
});

describe('subject keyring', () => {
  it('gives the same HMAC after reopening, HMAC-SHA256 of "kind:value" under the current key', async () => {
    const dir = join(await tempDir(), 'subject-keys');
    const ring = await openSubjectKeyring(dir);
    const subject = ring.hmac('idNumber', '34150219900101001X');
    expect(subject).toEqual({ kind: 'idNumber', keyId: ring.current().kid, hmac: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const again = await openSubjectKeyring(dir);
    expect(again.hmac('idNumber', '34150219900101001X')).toEqual(subject);

    const keyFile = join(dir, `subject-${ring.current().kid}.key.json`);
    if (posix) expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    const key = Buffer.from((JSON.parse(await readFile(keyFile, 'utf8')) as { key: string }).key, 'base64url');
    expect(key).toHaveLength(32);
    expect(subject.hmac).toBe(createHmac('sha256', key).update('idNumber:34150219900101001X').digest('hex'));
    expect((await readdir(dir)).sort()).toEqual([SUBJECT_KEYRING_FILE, `subject-${ring.current().kid}.key.json`].sort());
  });

  it('differs per key and per kind; after rotation hmacAll finds the subject under old and new keys', async () => {
    const dir = join(await tempDir(), 'subject-keys');
    const ring = await openSubjectKeyring(dir);
    const before = ring.hmac('idNumber', '34150219900101001X');
    expect(ring.hmac('creditCode', '34150219900101001X').hmac).not.toBe(before.hmac);
    const { kid, previous } = await ring.rotate();
    expect(previous).toBe(before.keyId);
    const after = ring.hmac('idNumber', '34150219900101001X');
    expect(after.keyId).toBe(kid);
    expect(after.hmac).not.toBe(before.hmac);

    // Kept HMACs are emptied when full: the answer stays the same.
    for (let i = 0; i < 20_001; i++) ring.hmac('idNumber', `n${i}`);
    expect(ring.hmac('idNumber', '34150219900101001X')).toEqual(after);

    const reopened = await openSubjectKeyring(dir);
    expect(reopened.current().kid).toBe(kid);
    expect(reopened.hmacAll('idNumber', '34150219900101001X')).toEqual([after, before]);
    // A different directory: different keys, different HMACs.
    const other = await openSubjectKeyring(join(await tempDir(), 'subject-keys'));
    expect(other.hmac('idNumber', '34150219900101001X').hmac).not.toBe(before.hmac);
  });

  it('is one key when several opens race on an empty directory', async () => {
    const dir = join(await tempDir(), 'subject-keys');
    const rings = await Promise.all(Array.from({ length: 5 }, () => openSubjectKeyring(dir)));
    expect(new Set(rings.map((r) => r.current().kid)).size).toBe(1);
    expect(new Set(rings.map((r) => r.hmac('creditCode', '91341500MA2N0XXXXX').hmac)).size).toBe(1);
    expect((await readdir(dir)).filter((f) => f.endsWith('.key.json'))).toHaveLength(1);
  });

  it('keeps key bytes out of the keyring object', async () => {
    const dir = join(await tempDir(), 'subject-keys');
    const ring = await openSubjectKeyring(dir);
    const keyText = (JSON.parse(await readFile(join(dir, `subject-${ring.current().kid}.key.json`), 'utf8')) as { key: string }).key;
    expect(JSON.stringify(ring)).not.toContain(keyText);
    expect(JSON.stringify(Object.entries(ring))).not.toContain(keyText);
  });
});

describe('checkpoints', () => {
  it('are compact JWS with EdDSA, the key id and the checkpoint type, over canonical JSON of the payload', async () => {
    const keyring = await openAuditKeyring(join(await tempDir(), 'keys'));
    const payload = { instance: 'hub-a', seq: 10, head: 'e'.repeat(64), alg: 'sm3' as const, time: timeAt(10) };
    const entry = await signCheckpoint(keyring.current(), payload);
    expect(entry).toMatchObject({ kind: 'checkpoint', instance: 'hub-a', seq: 10 });
    expect(decodeProtectedHeader(entry.jws)).toEqual({ alg: 'EdDSA', kid: keyring.current().kid, typ: 'tongxiang-audit-checkpoint+jws' });
    expect(Buffer.from(entry.jws.split('.')[1]!, 'base64url').toString('utf8')).toBe(canonicalJson(payload));
    await expect(verifyCheckpoint(entry, keyring.publicJwks())).resolves.toEqual(payload);
  });

  it('are refused (AUDIT_LOG_INVALID) when signed by an unknown key, with another algorithm, or for another seq', async () => {
    const keyring = await openAuditKeyring(join(await tempDir(), 'keys'));
    const stranger = await openAuditKeyring(join(await tempDir(), 'keys'));
    const payload = { instance: 'hub-a', seq: 10, head: 'e'.repeat(64), alg: 'sha256' as const, time: timeAt(10) };
    const forged = await signCheckpoint(stranger.current(), payload);
    await expect(verifyCheckpoint(forged, keyring.publicJwks())).rejects.toMatchObject({ code: 'AUDIT_LOG_INVALID', fields: { reason: expect.stringContaining('not in the key set') } });

    const hs = await new CompactSign(new TextEncoder().encode(canonicalJson(payload)))
      .setProtectedHeader({ alg: 'HS256', kid: keyring.current().kid, typ: 'tongxiang-audit-checkpoint+jws' })
      .sign(new Uint8Array(32));
    await expect(verifyCheckpoint({ kind: 'checkpoint', instance: 'hub-a', seq: 10, jws: hs }, keyring.publicJwks())).rejects.toMatchObject({
      code: 'AUDIT_LOG_INVALID',
      fields: { reason: expect.stringContaining('not EdDSA') },
    });

    const good = await signCheckpoint(keyring.current(), payload);
    await expect(verifyCheckpoint({ ...good, seq: 11 }, keyring.publicJwks())).rejects.toMatchObject({ code: 'AUDIT_LOG_INVALID' });
  });

  it('refuses to sign something that is not a checkpoint payload', async () => {
    const keyring = await openAuditKeyring(join(await tempDir(), 'keys'));
    await expect(signCheckpoint(keyring.current(), { instance: 'hub-a', seq: 0, head: 'x', alg: 'sha256', time: 'now' })).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
  });
});
