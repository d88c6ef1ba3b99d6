/**
 * The audit signing keyring: Ed25519 keys that sign the trail's checkpoints, in a directory of
 * the data directory (`<dataDir>/audit/keys`). Each key is a private JWK in `<kid>.jwk.json`
 * (mode 0600, written to a temporary file first, so a key file is never half written); `kid` is
 * the key's RFC 7638 thumbprint. `keyring.json` names the current key and the order keys were
 * made in; `jwks.json` beside it holds the public key set (every key ever made, public parts
 * only) for anyone who verifies the trail offline. Rotation adds a key and never removes one:
 * checkpoints signed with an old key stay verifiable.
 *
 * Several processes may open the same directory: the first key is made by whoever links
 * `keyring.json` first, and every key file in the directory is in the public key set, even one a
 * concurrent rotation left out of `keyring.json`. A process's `current()` is the key it opened
 * or rotated to; it does not notice a rotation made by another process until it is reopened.
 *
 * Key material never appears in an error or a log line.
 */
import { randomUUID } from 'node:crypto';
import { link, mkdir, open, readFile, readdir, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import { TongxiangError } from '../core/index.ts';

export const AUDIT_KEYRING_FILE = 'keyring.json';
export const AUDIT_PUBLIC_KEYS_FILE = 'jwks.json';
const KEY_FILE_SUFFIX = '.jwk.json';

export interface AuditSigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
}

export interface AuditKeyring {
  /** The key new checkpoints are signed with. */
  current(): AuditSigningKey;
  /** Every key ever made in this directory, public parts only (`kid`, `alg` EdDSA, `use` sig). */
  publicJwks(): { keys: JWK[] };
  /** Makes a new key and makes it current; the old one stays in the public key set. */
  rotate(): Promise<{ kid: string; previous: string }>;
}

function invalid(reason: string): TongxiangError {
  return new TongxiangError('CONFIG_INVALID', { reason });
}

function errnoCode(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? 'error';
}

// ---------------------------------------------------------------------------------------------
// Small file helpers, shared with subjects.ts (the subject HMAC keyring keeps its keys alike).

/** Creates `dir` (and parents) readable by the hub's user only. */
export async function ensureKeyDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
}

async function writeNewFile(path: string, content: string, mode: number): Promise<void> {
  const handle = await open(path, 'wx', mode);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function tempPathFor(path: string): string {
  return `${path}.${randomUUID()}.tmp`;
}

/** Writes `path` whole or not at all: a temporary file beside it, synced, then renamed over it. */
export async function writeFileAtomic(path: string, content: string, mode: number): Promise<void> {
  const tmp = tempPathFor(path);
  try {
    await writeNewFile(tmp, content, mode);
    await rename(tmp, path);
  } catch (error) {
    await unlink(tmp).catch(() => undefined);
    throw error;
  }
}

/**
 * Creates `path` with `content` unless it exists (whoever links first wins); true when this call
 * made it. Where hard links are not available it falls back to a rename.
 */
export async function createFileOnce(path: string, content: string, mode: number): Promise<boolean> {
  const tmp = tempPathFor(path);
  await writeNewFile(tmp, content, mode);
  try {
    await link(tmp, path);
    return true;
  } catch (error) {
    if (errnoCode(error) === 'EEXIST') return false;
    try {
      await open(path, 'r').then((h) => h.close());
      return false;
    } catch {
      await rename(tmp, path);
      return true;
    }
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

/** The text of `path`, or null when it does not exist. */
export async function readIfExists(path: string, what: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return null;
    throw invalid(`cannot read ${what} ${path} (${errnoCode(error)})`);
  }
}

/**
 * The text of a secret file, or null when it does not exist (a first-open race's loser removes
 * its own key file): checked and read through one handle, so the mode checked is the file's read.
 */
export async function readPrivateFile(path: string, what: string): Promise<string | null> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return null;
    throw invalid(`cannot read ${what} ${path} (${errnoCode(error)})`);
  }
  try {
    const { mode } = await handle.stat();
    if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
      throw invalid(`${what} ${path} can be read by other users (mode ${(mode & 0o777).toString(8)}); make it 600`);
    }
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

/** Refuses a secret file other users can read. */
export async function assertPrivateMode(path: string, what: string): Promise<void> {
  if (process.platform === 'win32') return;
  const { mode } = await stat(path);
  if ((mode & 0o077) !== 0) {
    throw invalid(`${what} ${path} can be read by other users (mode ${(mode & 0o777).toString(8)}); make it 600`);
  }
}

/** The manifest both keyrings keep: the current key and the keys in the order they were made. */
export interface KeyringManifest {
  readonly current: string;
  readonly keys: readonly { readonly kid: string; readonly created: string }[];
}

export function parseManifest(text: string, path: string): KeyringManifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalid(`the keyring file ${path} is not JSON`);
  }
  const m = value as { current?: unknown; keys?: unknown } | null;
  if (typeof m !== 'object' || m === null || typeof m.current !== 'string' || !Array.isArray(m.keys)) {
    throw invalid(`the keyring file ${path} has no "current" key id and "keys" list`);
  }
  const keys: { kid: string; created: string }[] = [];
  for (const k of m.keys as unknown[]) {
    const entry = k as { kid?: unknown; created?: unknown } | null;
    if (typeof entry !== 'object' || entry === null || typeof entry.kid !== 'string') throw invalid(`the keyring file ${path} has a key without an id`);
    keys.push({ kid: entry.kid, created: typeof entry.created === 'string' ? entry.created : '' });
  }
  return { current: m.current, keys };
}

export function manifestText(manifest: KeyringManifest): string {
  return JSON.stringify(manifest, null, 2) + '\n';
}

/** Key ids in manifest order, then any key file the manifest does not name, by name. */
export function orderedKids(manifest: KeyringManifest, onDisk: readonly string[]): string[] {
  const ordered: string[] = [];
  for (const { kid } of manifest.keys) if (onDisk.includes(kid) && !ordered.includes(kid)) ordered.push(kid);
  for (const kid of [...onDisk].sort()) if (!ordered.includes(kid)) ordered.push(kid);
  return ordered;
}

// ---------------------------------------------------------------------------------------------

interface LoadedKey {
  readonly kid: string;
  readonly publicJwk: Readonly<JWK>;
}

function keyFileName(kid: string): string {
  return `${kid}${KEY_FILE_SUFFIX}`;
}

async function thumbprint(x: string): Promise<string> {
  return calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x });
}

function publicJwkOf(kid: string, x: string): Readonly<JWK> {
  return Object.freeze({ kty: 'OKP', crv: 'Ed25519', x, kid, alg: 'EdDSA', use: 'sig' });
}

/** Makes a key and writes its file; returns its kid. */
async function makeKeyFile(dir: string): Promise<string> {
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const jwk = await exportJWK(privateKey);
  if (typeof jwk.x !== 'string' || typeof jwk.d !== 'string') throw invalid('the new audit signing key could not be exported');
  const kid = await thumbprint(jwk.x);
  const content = JSON.stringify({ kty: 'OKP', crv: 'Ed25519', x: jwk.x, d: jwk.d, kid, alg: 'EdDSA', use: 'sig' }) + '\n';
  await writeFileAtomic(join(dir, keyFileName(kid)), content, 0o600);
  return kid;
}

/** Reads and checks one private key file (null when it is gone); never puts its content in an error. */
async function readKeyFile(dir: string, kid: string): Promise<{ publicJwk: Readonly<JWK>; privateJwk: JWK } | null> {
  const path = join(dir, keyFileName(kid));
  const text = await readPrivateFile(path, 'the audit signing key');
  if (text === null) return null;
  let jwk: JWK;
  try {
    jwk = JSON.parse(text) as JWK;
  } catch {
    throw invalid(`the audit signing key ${path} is not JSON`);
  }
  if (typeof jwk !== 'object' || jwk === null || jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string' || typeof jwk.d !== 'string') {
    throw invalid(`the audit signing key ${path} is not an Ed25519 private JWK`);
  }
  if ((await thumbprint(jwk.x)) !== kid) throw invalid(`the audit signing key ${path} does not match its file name (the name is the key's thumbprint)`);
  return { publicJwk: publicJwkOf(kid, jwk.x), privateJwk: { kty: 'OKP', crv: 'Ed25519', x: jwk.x, d: jwk.d } };
}

async function importPrivate(privateJwk: JWK, path: string): Promise<CryptoKey> {
  try {
    return (await importJWK(privateJwk, 'EdDSA')) as CryptoKey;
  } catch {
    throw invalid(`the audit signing key ${path} cannot be read as an Ed25519 key`);
  }
}

async function kidsOnDisk(dir: string): Promise<string[]> {
  const names = await readdir(dir);
  return names.filter((n) => n.endsWith(KEY_FILE_SUFFIX) && !n.startsWith('.')).map((n) => n.slice(0, -KEY_FILE_SUFFIX.length));
}

async function writePublicKeys(dir: string, keys: readonly Readonly<JWK>[]): Promise<void> {
  const path = join(dir, AUDIT_PUBLIC_KEYS_FILE);
  const content = JSON.stringify({ keys }, null, 2) + '\n';
  if ((await readFile(path, 'utf8').catch(() => null)) === content) return;
  await writeFileAtomic(path, content, 0o644);
}

/** Reads the manifest, making the first key when there is none. */
async function loadOrCreateManifest(dir: string): Promise<KeyringManifest> {
  const path = join(dir, AUDIT_KEYRING_FILE);
  let text = await readIfExists(path, 'the audit keyring');
  if (text === null) {
    const kid = await makeKeyFile(dir);
    const created = await createFileOnce(path, manifestText({ current: kid, keys: [{ kid, created: new Date().toISOString() }] }), 0o600);
    // Another process made the first key at the same moment: use theirs, drop ours (never used).
    if (!created) await unlink(join(dir, keyFileName(kid))).catch(() => undefined);
    text = await readIfExists(path, 'the audit keyring');
    if (text === null) throw invalid(`cannot create the audit keyring ${path}`);
  }
  return parseManifest(text, path);
}

/** Opens the keyring in `dir` (e.g. `<dataDir>/audit/keys`), making the first key on first use. */
export async function openAuditKeyring(dir: string): Promise<AuditKeyring> {
  await ensureKeyDir(dir);
  const manifest = await loadOrCreateManifest(dir);
  const onDisk = await kidsOnDisk(dir);
  for (const kid of [manifest.current, ...manifest.keys.map((k) => k.kid)]) {
    // Keys are never removed: without one, the checkpoints it signed can no longer be verified.
    if (!onDisk.includes(kid)) throw invalid(`the audit keyring in ${dir} names key ${kid}, whose file ${keyFileName(kid)} is missing`);
  }
  const keys: LoadedKey[] = [];
  let current: AuditSigningKey | null = null;
  const named = new Set([manifest.current, ...manifest.keys.map((k) => k.kid)]);
  for (const kid of orderedKids(manifest, onDisk)) {
    const read = await readKeyFile(dir, kid);
    if (read === null) {
      // A key the keyring does not name may vanish: the loser of a first-open race removes its own.
      if (!named.has(kid)) continue;
      throw invalid(`the audit keyring in ${dir} names key ${kid}, whose file ${keyFileName(kid)} is missing`);
    }
    const { publicJwk, privateJwk } = read;
    keys.push({ kid, publicJwk });
    if (kid === manifest.current) current = Object.freeze({ kid, privateKey: await importPrivate(privateJwk, join(dir, keyFileName(kid))) });
  }
  if (current === null) throw invalid(`the audit keyring in ${dir} has no current key`);
  await writePublicKeys(dir, keys.map((k) => k.publicJwk));

  let rotating: Promise<unknown> = Promise.resolve();
  const state = { current, keys };

  async function rotateNow(): Promise<{ kid: string; previous: string }> {
    const previous = state.current.kid;
    const kid = await makeKeyFile(dir);
    const read = await readKeyFile(dir, kid);
    if (read === null) throw invalid(`the new audit signing key ${keyFileName(kid)} vanished from ${dir}`);
    const { publicJwk, privateJwk } = read;
    const privateKey = await importPrivate(privateJwk, join(dir, keyFileName(kid)));
    // Re-read the manifest: another process may have rotated since we opened.
    const path = join(dir, AUDIT_KEYRING_FILE);
    const fresh = parseManifest((await readIfExists(path, 'the audit keyring')) ?? manifestText({ current: previous, keys: [] }), path);
    await writeFileAtomic(path, manifestText({ current: kid, keys: [...fresh.keys, { kid, created: new Date().toISOString() }] }), 0o600);
    state.keys = [...state.keys, { kid, publicJwk }];
    state.current = Object.freeze({ kid, privateKey });
    await writePublicKeys(dir, state.keys.map((k) => k.publicJwk));
    return { kid, previous };
  }

  return Object.freeze({
    current: () => state.current,
    publicJwks: () => ({ keys: state.keys.map((k) => ({ ...k.publicJwk })) }),
    rotate(): Promise<{ kid: string; previous: string }> {
      const next = rotating.then(rotateNow, rotateNow);
      rotating = next.catch(() => undefined);
      return next;
    },
  });
}
