/**
 * Exports: a time range of the log in one self-contained file that verifies offline, with its
 * tail signed; tampering inside the file is found at its line in the file.
 */
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signCheckpoint } from '../checkpoint.ts';
import { EXPORT_FORMAT, verifyExportFile, writeExport } from '../export.ts';
import { openAuditKeyring, type AuditKeyring } from '../keys.ts';
import type { LogEntry } from '../types.ts';
import { buildLog, recordEntry, removeTempDirs, tempDir, timeAt } from './core-fixtures.ts';

afterAll(removeTempDirs);

let keyring: AuditKeyring;
let log: LogEntry[];

beforeAll(async () => {
  keyring = await openAuditKeyring(await tempDir());
  log = await buildLog({ key: keyring.current() });
});

async function* stream(entries: readonly LogEntry[]): AsyncIterable<LogEntry> {
  yield* entries;
}

async function fileLines(path: string): Promise<string[]> {
  return (await readFile(path, 'utf8')).split('\n').filter((l) => l !== '');
}

// Records are one minute apart, A and B alternating: tick 2k is hub-a seq k+1, tick 2k+1 hub-b seq k+1.
const range = { from: timeAt(12), to: timeAt(31) }; // hub-a seq 7–16, hub-b seq 7–16

describe('export of a middle time range', () => {
  it('holds the records in range, continues each instance to its next checkpoint, and verifies offline', async () => {
    const path = join(await tempDir(), 'export.jsonl');
    const counts = await writeExport(path, stream(log), range, keyring.publicJwks());
    // Per instance: seq 7–16 in range, 17–20 up to the checkpoint at 20; checkpoints 10 and 20.
    expect(counts).toEqual({ records: 28, checkpoints: 4 });

    const lines = await fileLines(path);
    const header = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(header).toMatchObject({ kind: 'export', format: EXPORT_FORMAT, from: range.from, to: range.to, jwks: keyring.publicJwks() });
    expect(Date.parse(String(header.createdAt))).not.toBeNaN();
    expect(lines).toHaveLength(1 + 28 + 4);

    const result = await verifyExportFile(path);
    expect(result).toMatchObject({ ok: true, records: 28, checkpoints: 4, unsigned: 0, from: range.from, keysFrom: 'file' });
    expect(result.ok && result.instances.map((i) => [i.instance, i.firstSeq, i.lastSeq, i.lastCheckpointSeq])).toEqual([
      ['hub-a', 7, 20, 20],
      ['hub-b', 7, 20, 20],
    ]);
    expect(await verifyExportFile(path, { jwks: keyring.publicJwks() })).toMatchObject({ ok: true, keysFrom: 'given' });
    expect((await readdir(join(path, '..'))).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('ends where the range ends when the range ends on a checkpoint, and exports everything without a range', async () => {
    const dir = await tempDir();
    const onCheckpoint = await writeExport(join(dir, 'a.jsonl'), stream(log), { from: timeAt(0), to: timeAt(39) }, keyring.publicJwks());
    expect(onCheckpoint).toEqual({ records: 40, checkpoints: 4 });
    const everything = await writeExport(join(dir, 'all.jsonl'), stream(log), {}, keyring.publicJwks());
    expect(everything).toEqual({ records: 50, checkpoints: 4 });
    expect(await verifyExportFile(join(dir, 'all.jsonl'))).toMatchObject({ ok: true, records: 50, unsigned: 10 });
  });

  it('finds a record changed inside the export, at its line in the file', async () => {
    const path = join(await tempDir(), 'export.jsonl');
    await writeExport(path, stream(log), range, keyring.publicJwks());
    const lines = await fileLines(path);
    const i = lines.findIndex((l) => l.includes('"requestId":"req-hub-b-9"'));
    lines[i] = lines[i]!.replace('"user":"zhang.wei"', '"user":"li.na"');
    await writeFile(path, lines.join('\n') + '\n');
    const result = await verifyExportFile(path, { jwks: keyring.publicJwks() });
    expect(result).toMatchObject({ ok: false, problem: { kind: 'record-modified', instance: 'hub-b', seq: 9, line: i + 1 }, keysFrom: 'given' });
  });

  it('finds a record deleted from the export', async () => {
    const path = join(await tempDir(), 'export.jsonl');
    await writeExport(path, stream(log), range, keyring.publicJwks());
    const lines = (await fileLines(path)).filter((l) => !l.includes('"requestId":"req-hub-a-12"'));
    await writeFile(path, lines.join('\n') + '\n');
    expect(await verifyExportFile(path)).toMatchObject({ ok: false, problem: { kind: 'record-missing', instance: 'hub-a', seq: 12 } });
  });

  it('catches an export re-signed by a forger when the auditor gives the trusted keys, not when it trusts the file', async () => {
    const forger = await openAuditKeyring(await tempDir());
    const path = join(await tempDir(), 'export.jsonl');
    await writeExport(path, stream(log), range, keyring.publicJwks());
    const entries = (await fileLines(path)).slice(1).map((l) => JSON.parse(l) as LogEntry);
    // The forger changes hub-a's record 8, recomputes every hash after it and re-signs every
    // checkpoint with their own key, which they put in the header.
    const heads = new Map<string, string>();
    const forged: LogEntry[] = [];
    for (const e of entries) {
      if (e.kind === 'record') {
        const { instance, seq } = e.record;
        const record = instance === 'hub-a' && seq === 8 ? { ...e.record, time: timeAt(99) } : e.record;
        const entry = recordEntry(e.alg, heads.get(instance) ?? e.prev, record);
        heads.set(instance, entry.hash);
        forged.push(entry);
      } else {
        forged.push(await signCheckpoint(forger.current(), { instance: e.instance, seq: e.seq, head: heads.get(e.instance)!, alg: 'sha256', time: timeAt(0) }));
      }
    }
    const header = { kind: 'export', format: EXPORT_FORMAT, from: range.from, to: range.to, createdAt: new Date().toISOString(), jwks: forger.publicJwks() };
    await writeFile(path, [header, ...forged].map((x) => JSON.stringify(x)).join('\n') + '\n');
    expect(await verifyExportFile(path)).toMatchObject({ ok: true, keysFrom: 'file' });
    expect(await verifyExportFile(path, { jwks: keyring.publicJwks() })).toMatchObject({ ok: false, problem: { kind: 'checkpoint-invalid', instance: 'hub-a', seq: 10 }, keysFrom: 'given' });
  });

  it('never writes private key members into the header', async () => {
    const path = join(await tempDir(), 'export.jsonl');
    const withPrivate = { keys: keyring.publicJwks().keys.map((k) => ({ ...k, d: 'private-part' })) };
    await writeExport(path, stream(log), range, withPrivate);
    expect(await readFile(path, 'utf8')).not.toContain('private-part');
  });
});

describe('export files', () => {
  it('leave no file, half or temporary, when reading the log fails midway', async () => {
    const dir = await tempDir();
    const path = join(dir, 'export.jsonl');
    async function* failing(): AsyncIterable<LogEntry> {
      yield* log.slice(0, 10);
      throw new Error('store went away');
    }
    await expect(writeExport(path, failing(), {}, keyring.publicJwks())).rejects.toThrow('store went away');
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses a range that is not ISO 8601 or runs backwards', async () => {
    const dir = await tempDir();
    await expect(writeExport(join(dir, 'x.jsonl'), stream(log), { from: 'yesterday' }, keyring.publicJwks())).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(writeExport(join(dir, 'x.jsonl'), stream(log), { from: timeAt(5), to: timeAt(1) }, keyring.publicJwks())).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(await readdir(dir)).toEqual([]);
  });

  it('are reported malformed at line 1 without an export header, and refused when unreadable', async () => {
    const dir = await tempDir();
    const path = join(dir, 'not-an-export.jsonl');
    await writeFile(path, log.map((e) => JSON.stringify(e)).join('\n') + '\n');
    expect(await verifyExportFile(path)).toMatchObject({ ok: false, problem: { kind: 'malformed', line: 1 }, keysFrom: 'file' });
    await writeFile(path, '');
    expect(await verifyExportFile(path)).toMatchObject({ ok: false, problem: { kind: 'malformed', line: 1 } });
    await expect(verifyExportFile(join(dir, 'missing.jsonl'))).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
  });
});
