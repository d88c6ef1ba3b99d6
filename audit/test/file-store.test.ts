/**
 * The JSONL file store: the shared store suite on a real file in a temp directory, then what only
 * a file has — permissions, torn-tail recovery (bytes saved aside, never lost) and refusing to
 * "recover" a corrupt line in the middle.
 */
import { constants as fsConstants } from 'node:fs';
import { appendFile, mkdtemp, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isTongxiangError } from '../../core/index.ts';
import { openFileAuditStore } from '../file-store.ts';
import { openAuditWriter } from '../writer.ts';
import { chainedEntries, checkChain, newRecord, readAll, testSigner } from './store-fixtures.ts';
import { defineAuditStoreSuite } from './store-suite.ts';

defineAuditStoreSuite('a JSONL file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tx-audit-file-'));
  const path = join(dir, 'nested', 'audit', 'audit.jsonl');
  return {
    open: () => openFileAuditStore({ path }),
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
});

describe('audit log file', () => {
  const dirs: string[] = [];
  const tempDir = async (): Promise<string> => {
    const dir = await mkdtemp(join(tmpdir(), 'tx-audit-file-'));
    dirs.push(dir);
    return dir;
  };
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  const lines = (text: string): string[] => text.split('\n').filter((l) => l !== '');


  it('is created with mode 0600 in a directory created for it, one JSON entry per line', async () => {
    const dir = await tempDir();
    const path = join(dir, 'data', 'audit', 'audit.jsonl');
    const store = await openFileAuditStore({ path });
    expect(store.path).toBe(path);
    const entries = chainedEntries('gw-1', 1, 3);
    await store.append(entries);
    await store.close();
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const text = await readFile(path, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    expect(lines(text)).toEqual(entries.map((e) => JSON.stringify(e)));
  });

  it.skipIf(process.platform !== 'linux')('writes through a descriptor opened O_APPEND | O_DSYNC: an append is on disk when its write returns', async () => {
    const dir = await tempDir();
    const path = join(dir, 'audit.jsonl');
    const store = await openFileAuditStore({ path });
    try {
      // The kernel's view of this process's descriptors: the one open on the log, and its flags (octal).
      const fds = await readdir('/proc/self/fd');
      const flags: number[] = [];
      for (const fd of fds) {
        const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
        if (target !== path) continue;
        const info = await readFile(`/proc/self/fdinfo/${fd}`, 'utf8');
        flags.push(Number.parseInt(/^flags:\s*([0-7]+)/m.exec(info)![1]!, 8));
      }
      expect(flags).toHaveLength(1);
      expect(flags[0]! & fsConstants.O_APPEND).toBe(fsConstants.O_APPEND);
      expect(flags[0]! & fsConstants.O_DSYNC).toBe(fsConstants.O_DSYNC);
    } finally {
      await store.close();
    }
  });

  it('refuses a second store on a file already open in this process', async () => {
    const path = join(await tempDir(), 'audit.jsonl');
    const store = await openFileAuditStore({ path });
    const second = await openFileAuditStore({ path }).then(() => 'opened', (e: unknown) => (isTongxiangError(e) ? e.code : String(e)));
    expect(second).toBe('CONFIG_INVALID');
    await store.close();
    await (await openFileAuditStore({ path })).close();
  });

  it('recovers a torn last line: saves the torn bytes aside, cuts back to the last whole line, says so', async () => {
    const dir = await tempDir();
    const path = join(dir, 'audit.jsonl');
    const entries = chainedEntries('gw-1', 1, 3);
    const store = await openFileAuditStore({ path });
    await store.append(entries);
    await store.close();
    const whole = await readFile(path);
    // Half of a fourth line, as a write cut short by kill -9 or a power cut leaves it.
    const next = JSON.stringify(chainedEntries('gw-1', 4, 4, entries[2]!.hash)[0]);
    const torn = Buffer.from(next.slice(0, Math.floor(next.length / 2)), 'utf8');
    await appendFile(path, torn);

    const told: { bytes: number; savedAs: string }[] = [];
    const recovered = await openFileAuditStore({ path, onTornTail: (info) => told.push(info) });
    expect(told).toHaveLength(1);
    expect(told[0]!.bytes).toBe(torn.length);
    expect(told[0]!.savedAs.startsWith(`${path}.torn-`)).toBe(true);
    expect(await readFile(told[0]!.savedAs)).toEqual(torn);
    expect((await stat(told[0]!.savedAs)).mode & 0o777).toBe(0o600);
    expect(await readFile(path)).toEqual(whole);
    expect(await recovered.tail('gw-1')).toEqual({ last: entries[2], lastCheckpointSeq: null });

    // The chain goes on from the last whole record.
    const signer = await testSigner();
    const writer = await openAuditWriter({
      store: recovered, instance: 'gw-1', alg: 'sha256', mode: 'strict', queueLimit: 100,
      checkpointEvery: 100, checkpointIntervalMs: 60_000, sign: signer.sign,
    });
    expect((await writer.write(newRecord(4))).record.seq).toBe(4);
    await writer.close();
    const report = checkChain(await readAll(recovered), 'gw-1');
    expect(report).toMatchObject({ problems: [], seqs: [1, 2, 3, 4] });
    await recovered.close();

    // Nothing more to recover the next time.
    const again = await openFileAuditStore({ path, onTornTail: (info) => told.push(info) });
    await again.close();
    expect(told).toHaveLength(1);
  });

  it('treats a whole but unparsable last line as torn too', async () => {
    const dir = await tempDir();
    const path = join(dir, 'audit.jsonl');
    const entries = chainedEntries('gw-1', 1, 2);
    await writeFile(path, `${entries.map((e) => JSON.stringify(e)).join('\n')}\n\u0000\u0000{"kind":"rec\n`);
    const told: { bytes: number; savedAs: string }[] = [];
    const store = await openFileAuditStore({ path, onTornTail: (info) => told.push(info) });
    expect(told.map((t) => t.bytes)).toEqual([Buffer.byteLength('\u0000\u0000{"kind":"rec\n')]);
    expect(await readAll(store)).toEqual(entries);
    await store.close();
  });

  it('does not touch a file with a bad line in the middle: AUDIT_LOG_INVALID names the line', async () => {
    const dir = await tempDir();
    const path = join(dir, 'audit.jsonl');
    const entries = chainedEntries('gw-1', 1, 4);
    const text = entries.map((e, i) => (i === 1 ? '{"kind":"record","this is not":"an entry"}' : JSON.stringify(e))).join('\n') + '\n';
    await writeFile(path, text);
    let told = 0;
    const error = await openFileAuditStore({ path, onTornTail: () => (told += 1) }).then(() => null, (e: unknown) => e);
    expect(isTongxiangError(error) && error.code).toBe('AUDIT_LOG_INVALID');
    expect(String((error as Error).message)).toContain('line 2');
    expect(told).toBe(0);
    expect(await readFile(path, 'utf8')).toBe(text);
    expect((await readdir(dir)).filter((f) => f.includes('.torn-'))).toEqual([]);
  });

  it('does not call a bad line followed by a torn one a torn tail', async () => {
    const dir = await tempDir();
    const path = join(dir, 'audit.jsonl');
    const text = `${JSON.stringify(chainedEntries('gw-1', 1, 1)[0])}\nnot json\n{"kind":"rec`;
    await writeFile(path, text);
    const error = await openFileAuditStore({ path }).then(() => null, (e: unknown) => e);
    expect(isTongxiangError(error) && error.code).toBe('AUDIT_LOG_INVALID');
    expect(String((error as Error).message)).toContain('line 2');
    expect(await readFile(path, 'utf8')).toBe(text);
  });

  it('reads only what is durable while an append is in flight', async () => {
    const path = join(await tempDir(), 'audit.jsonl');
    const store = await openFileAuditStore({ path });
    const first = chainedEntries('gw-1', 1, 10);
    await store.append(first);
    const appending = store.append(chainedEntries('gw-1', 11, 2000, first[9]!.hash));
    const seen = await readAll(store);
    await appending;
    expect([10, 2000]).toContain(seen.length);
    expect((await readAll(store)).length).toBe(2000);
    await store.close();
  });
});
