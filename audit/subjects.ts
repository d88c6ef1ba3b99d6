/**
 * The subject keyring: secret HMAC-SHA256 keys with which the trail records a data subject (a
 * 公民身份号码 or 统一社会信用代码 returned to a caller) as `HMAC(key, "kind:value")`, never the
 * value itself. Whoever holds the key can find the records about one person or company by
 * computing the same HMAC; whoever reads only the trail learns nothing about the subject.
 *
 * Keys are 32 random bytes, each in `subject-<kid>.key.json` (mode 0600, written to a temporary
 * file first), `kid` a short random id; `subject-keyring.json` names the current key and the
 * order keys were made in. Rotation adds a key; old keys stay so that `hmacAll` can still find
 * records made under them. The key bytes never leave this module: not in an error, a log line,
 * or the keyring object (they are KeyObjects in a closure).
 */
import { createHmac, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { TongxiangError } from '../core/index.ts';
import {
  readPrivateFile,
  createFileOnce,
  ensureKeyDir,
  manifestText,
  orderedKids,
  parseManifest,
  readIfExists,
  writeFileAtomic,
  type KeyringManifest,
} from './keys.ts';
import type { AuditSubject } from './types.ts';

export const SUBJECT_KEYRING_FILE = 'subject-keyring.json';
const KEY_FILE_PREFIX = 'subject-';
const KEY_FILE_SUFFIX = '.key.json';
const KEY_BYTES = 32;
/** HMACs under the current key kept in memory (see `hmac`). */
const SUBJECTS_KEPT = 20_000;

export interface SubjectKeyring {
  current(): { kid: string };
  /** HMAC-SHA256 (hex) of `${kind}:${value}` under the current key. */
  hmac(kind: string, value: string): AuditSubject;
  /** The same under every key, current first: what to search the trail for. */
  hmacAll(kind: string, value: string): AuditSubject[];
  /** Makes a new key and makes it current; old keys stay for searching. */
  rotate(): Promise<{ kid: string; previous: string }>;
}

function invalid(reason: string): TongxiangError {
  return new TongxiangError('CONFIG_INVALID', { reason });
}

function keyFileName(kid: string): string {
  return `${KEY_FILE_PREFIX}${kid}${KEY_FILE_SUFFIX}`;
}

/** Makes a key and writes its file (never over another); returns its kid. */
async function makeKeyFile(dir: string): Promise<string> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const kid = randomBytes(4).toString('hex');
    const content = JSON.stringify({ kid, key: randomBytes(KEY_BYTES).toString('base64url'), created: new Date().toISOString() }) + '\n';
    if (await createFileOnce(join(dir, keyFileName(kid)), content, 0o600)) return kid;
  }
  throw invalid(`cannot make a new subject key in ${dir}`);
}

/** Reads and checks one key file (null when it is gone); never puts its content in an error. */
async function readKeyFile(dir: string, kid: string): Promise<KeyObject | null> {
  const path = join(dir, keyFileName(kid));
  const text = await readPrivateFile(path, 'the subject key');
  if (text === null) return null;
  let value: { kid?: unknown; key?: unknown } | null;
  try {
    value = JSON.parse(text) as { kid?: unknown; key?: unknown } | null;
  } catch {
    throw invalid(`the subject key ${path} is not JSON`);
  }
  if (typeof value !== 'object' || value === null || value.kid !== kid || typeof value.key !== 'string') {
    throw invalid(`the subject key ${path} is not a subject key (kid and key)`);
  }
  const bytes = Buffer.from(value.key, 'base64url');
  if (bytes.length !== KEY_BYTES) throw invalid(`the subject key ${path} is not ${KEY_BYTES} bytes`);
  return createSecretKey(bytes);
}

async function kidsOnDisk(dir: string): Promise<string[]> {
  return (await readdir(dir))
    .filter((n) => n.startsWith(KEY_FILE_PREFIX) && n.endsWith(KEY_FILE_SUFFIX))
    .map((n) => n.slice(KEY_FILE_PREFIX.length, -KEY_FILE_SUFFIX.length));
}

async function loadOrCreateManifest(dir: string): Promise<KeyringManifest> {
  const path = join(dir, SUBJECT_KEYRING_FILE);
  let text = await readIfExists(path, 'the subject keyring');
  if (text === null) {
    const kid = await makeKeyFile(dir);
    const created = await createFileOnce(path, manifestText({ current: kid, keys: [{ kid, created: new Date().toISOString() }] }), 0o600);
    // Another process made the first key at the same moment: use theirs, drop ours (never used).
    if (!created) await unlink(join(dir, keyFileName(kid))).catch(() => undefined);
    text = await readIfExists(path, 'the subject keyring');
    if (text === null) throw invalid(`cannot create the subject keyring ${path}`);
  }
  return parseManifest(text, path);
}

function mac(key: KeyObject, kind: string, value: string): string {
  return createHmac('sha256', key).update(`${kind}:${value}`, 'utf8').digest('hex');
}

/** Opens the subject keyring in `dir`, making the first key on first use. */
export async function openSubjectKeyring(dir: string): Promise<SubjectKeyring> {
  await ensureKeyDir(dir);
  const manifest = await loadOrCreateManifest(dir);
  const onDisk = await kidsOnDisk(dir);
  for (const kid of [manifest.current, ...manifest.keys.map((k) => k.kid)]) {
    // Without a key, the records made under it can no longer be found by subject.
    if (!onDisk.includes(kid)) throw invalid(`the subject keyring in ${dir} names key ${kid}, whose file ${keyFileName(kid)} is missing`);
  }
  const keys = new Map<string, KeyObject>();
  const named = new Set([manifest.current, ...manifest.keys.map((k) => k.kid)]);
  for (const kid of orderedKids(manifest, onDisk)) {
    const key = await readKeyFile(dir, kid);
    if (key !== null) keys.set(kid, key);
    // A key the keyring does not name may vanish: the loser of a first-open race removes its own.
    else if (named.has(kid)) throw invalid(`the subject keyring in ${dir} names key ${kid}, whose file ${keyFileName(kid)} is missing`);
  }
  let currentKid = manifest.current;
  let rotating: Promise<unknown> = Promise.resolve();

  function keyOf(kid: string): KeyObject {
    const key = keys.get(kid);
    if (key === undefined) throw new TongxiangError('INTERNAL', { requestId: 'subject-keyring' });
    return key;
  }

  async function rotateNow(): Promise<{ kid: string; previous: string }> {
    const previous = currentKid;
    const kid = await makeKeyFile(dir);
    const key = await readKeyFile(dir, kid);
    if (key === null) throw invalid(`the new subject key ${keyFileName(kid)} vanished from ${dir}`);
    const path = join(dir, SUBJECT_KEYRING_FILE);
    const fresh = parseManifest((await readIfExists(path, 'the subject keyring')) ?? manifestText({ current: previous, keys: [] }), path);
    await writeFileAtomic(path, manifestText({ current: kid, keys: [...fresh.keys, { kid, created: new Date().toISOString() }] }), 0o600);
    keys.set(kid, key);
    currentKid = kid;
    return { kid, previous };
  }

  // The same subjects come back request after request (a roster page: 100 of them): their HMACs
  // under the current key are kept, at most SUBJECTS_KEPT, emptied when full and on rotation. The
  // map lives only in this process's memory, as the returned data itself does; it is never
  // written anywhere.
  let memo = new Map<string, AuditSubject>();
  let memoKid = currentKid;

  return Object.freeze({
    current: () => ({ kid: currentKid }),
    hmac(kind: string, value: string): AuditSubject {
      if (memoKid !== currentKid || memo.size >= SUBJECTS_KEPT) {
        memo = new Map();
        memoKid = currentKid;
      }
      const id = `${kind}:${value}`;
      let subject = memo.get(id);
      if (subject === undefined) {
        subject = Object.freeze({ hmac: mac(keyOf(currentKid), kind, value), keyId: currentKid, kind });
        memo.set(id, subject);
      }
      return subject;
    },
    hmacAll(kind: string, value: string): AuditSubject[] {
      const kids = [currentKid, ...[...keys.keys()].filter((k) => k !== currentKid)];
      return kids.map((kid) => ({ hmac: mac(keyOf(kid), kind, value), keyId: kid, kind }));
    },
    rotate(): Promise<{ kid: string; previous: string }> {
      const next = rotating.then(rotateNow, rotateNow);
      rotating = next.catch(() => undefined);
      return next;
    },
  });
}
