/**
 * The embedded default's signing key: an Ed25519 key pair in <dataDir>/identity/, made on first
 * use. The private JWK is written with mode 0600 to a temporary file and linked into place, so a
 * hub and a `tongxiang token` starting at the same moment end up with the same one key; the
 * public key set (jwks.json) sits beside it for anyone who wants to verify the hub's tokens.
 * `kid` is the key's RFC 7638 thumbprint.
 */
import { randomUUID } from 'node:crypto';
import { link, mkdir, open, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JSONWebKeySet, type JWK } from 'jose';
import { TongxiangError } from '../../core/index.ts';

export const PRIVATE_KEY_FILE = 'signing-key.jwk.json';
export const PUBLIC_KEYS_FILE = 'jwks.json';

export interface LocalKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: Readonly<JWK>;
  /** The public key set: what jwks.json holds. */
  readonly jwks: JSONWebKeySet;
  readonly dir: string;
}

export function localKeyDir(dataDir: string): string {
  return join(dataDir, 'identity');
}

function invalid(reason: string): TongxiangError {
  return new TongxiangError('CONFIG_INVALID', { reason });
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

/** Creates the private key file unless it exists; whoever links first wins. */
async function createKeyFile(path: string, dir: string): Promise<void> {
  const { privateKey } = await generateKeyPair('EdDSA', { extractable: true });
  const jwk = await exportJWK(privateKey);
  const tmp = join(dir, `.${PRIVATE_KEY_FILE}.${randomUUID()}.tmp`);
  await writeNewFile(tmp, JSON.stringify({ ...jwk, alg: 'EdDSA', use: 'sig' }) + '\n', 0o600);
  try {
    await link(tmp, path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // EEXIST: another process made it first — use theirs. No hard links here: rename instead.
    if (code !== 'EEXIST') await rename(tmp, path).catch(() => undefined);
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

async function readKeyFile(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw invalid(`cannot read the signing key ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

async function writePublicKeys(dir: string, jwks: JSONWebKeySet): Promise<void> {
  const path = join(dir, PUBLIC_KEYS_FILE);
  const content = JSON.stringify(jwks, null, 2) + '\n';
  if ((await readFile(path, 'utf8').catch(() => null)) === content) return;
  const tmp = join(dir, `.${PUBLIC_KEYS_FILE}.${randomUUID()}.tmp`);
  await writeFile(tmp, content, { mode: 0o644, flag: 'wx' });
  await rename(tmp, path);
}

/** The key in `dir`, made first if there is none. Never puts key material in an error. */
export async function loadOrCreateLocalKey(dir: string): Promise<LocalKey> {
  const path = join(dir, PRIVATE_KEY_FILE);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  let text = await readKeyFile(path);
  if (text === null) {
    await createKeyFile(path, dir);
    text = await readKeyFile(path);
    if (text === null) throw invalid(`cannot create the signing key ${path}`);
  }
  if (process.platform !== 'win32') {
    const { mode } = await stat(path);
    if ((mode & 0o077) !== 0) {
      throw invalid(`the signing key ${path} can be read by other users (mode ${(mode & 0o777).toString(8)}); make it 600`);
    }
  }
  let jwk: JWK;
  try {
    jwk = JSON.parse(text) as JWK;
  } catch {
    throw invalid(`the signing key ${path} is not JSON`);
  }
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string' || typeof jwk.d !== 'string') {
    throw invalid(`the signing key ${path} is not an Ed25519 private JWK`);
  }
  let privateKey: CryptoKey;
  try {
    privateKey = (await importJWK(jwk, 'EdDSA')) as CryptoKey;
  } catch {
    throw invalid(`the signing key ${path} cannot be read as an Ed25519 key`);
  }
  const kid = await calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: jwk.x });
  const publicJwk = Object.freeze({ kty: 'OKP', crv: 'Ed25519', x: jwk.x, kid, alg: 'EdDSA', use: 'sig' });
  const jwks = { keys: [publicJwk] };
  await writePublicKeys(dir, jwks);
  return Object.freeze({ kid, privateKey, publicJwk, jwks, dir });
}
