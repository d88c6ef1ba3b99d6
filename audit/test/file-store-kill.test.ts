/**
 * Durability under `kill -9`: a child process (file-store-kill-child.ts) writes records through a
 * strict writer into a JSONL file store and prints every acknowledged seq; the parent kills it
 * with SIGKILL after a few hundred acknowledgements, reopens the log and checks that every
 * acknowledged seq is there and the chain is whole (each hash recomputed). Three rounds, each child
 * continuing the chain the last one left. Then a torn tail made by hand on that log is recovered.
 */
import { spawn } from 'node:child_process';
import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { openFileAuditStore } from '../file-store.ts';
import type { CheckpointPayload } from '../types.ts';
import { openAuditWriter } from '../writer.ts';
import { checkChain, hashOf, newRecord, readAll, testSigner } from './store-fixtures.ts';

const CHILD = fileURLToPath(new URL('./file-store-kill-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Round {
  readonly startedAt: number;
  readonly acked: number[];
  readonly stderr: string;
  readonly signal: NodeJS.Signals | null;
}

/** Runs the child until it has acknowledged `atLeast` records, then SIGKILLs it. */
function runAndKill(path: string, atLeast: number): Promise<Round> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, path], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let buffer = '';
    let stderr = '';
    let startedAt = -1;
    const acked: number[] = [];
    let killed = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child acknowledged only ${acked.length} records in time; stderr: ${stderr}`));
    }, 45_000);
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      buffer += d;
      const lines = buffer.split('\n');
      buffer = lines.pop()!; // an unfinished line is not an acknowledgement
      for (const line of lines) {
        if (line.startsWith('ready ')) startedAt = Number(line.slice(6));
        else if (line !== '') acked.push(Number(line));
      }
      if (!killed && acked.length >= atLeast) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (!killed) reject(new Error(`child exited by itself (code ${code}); stderr: ${stderr}`));
      else resolve({ startedAt, acked, stderr, signal });
    });
  });
}

function payloadOf(jws: string): CheckpointPayload {
  return JSON.parse(Buffer.from(jws.split('.')[1]!, 'base64url').toString('utf8')) as CheckpointPayload;
}

describe('audit log file under kill -9', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('keeps every acknowledged record, chain whole, across three kill -9 of a writing process; then recovers a torn tail', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tx-audit-kill-'));
    dirs.push(dir);
    const path = join(dir, 'audit', 'audit.jsonl');
    let durableSeq = 0;
    const torn: { bytes: number; savedAs: string }[] = [];

    for (let round = 0; round < 3; round += 1) {
      const run = await runAndKill(path, 300);
      expect(run.signal).toBe('SIGKILL');
      expect(run.startedAt).toBe(durableSeq);
      expect(run.acked.length).toBeGreaterThanOrEqual(300);

      const store = await openFileAuditStore({ path, onTornTail: (info) => torn.push(info) });
      try {
        const entries = await readAll(store);
        const report = checkChain(entries, 'gw-kill');
        expect(report.problems).toEqual([]);
        const last = report.seqs.at(-1)!;
        expect(report.seqs).toEqual(Array.from({ length: last }, (_, i) => i + 1));
        // Every acknowledged seq is in the log (acks arrive in any order: many writes in flight).
        expect(Math.max(...run.acked)).toBeLessThanOrEqual(last);
        expect(new Set(run.acked).size).toBe(run.acked.length);
        expect(Math.min(...run.acked)).toBe(durableSeq + 1);
        for (const cp of report.checkpoints) {
          const payload = payloadOf(cp.jws);
          expect(payload).toMatchObject({ instance: 'gw-kill', seq: cp.seq, alg: 'sha256', head: hashOf(entries, 'gw-kill', cp.seq) });
        }
        expect(report.checkpoints.length).toBeGreaterThan(0);
        console.info(`kill -9 round ${round + 1}: ${run.acked.length} acknowledged, log ends at seq ${last}, ${torn.length} torn tail(s) so far`);
        durableSeq = last;
      } finally {
        await store.close();
      }
    }
    // A torn tail the kill happened to make was set aside, not lost.
    for (const t of torn) expect((await readFile(t.savedAs)).length).toBe(t.bytes);

    // A torn write by hand on the same log: recovered on open, bytes aside, chain goes on.
    const partial = Buffer.from('{"kind":"record","alg":"sha256","prev":"', 'utf8');
    await appendFile(path, partial);
    const told: { bytes: number; savedAs: string }[] = [];
    const store = await openFileAuditStore({ path, onTornTail: (info) => told.push(info) });
    try {
      expect(told.map((t) => t.bytes)).toEqual([partial.length]);
      expect(await readFile(told[0]!.savedAs)).toEqual(partial);
      const signer = await testSigner();
      const writer = await openAuditWriter({
        store, instance: 'gw-kill', alg: 'sha256', mode: 'strict', queueLimit: 10,
        checkpointEvery: 10, checkpointIntervalMs: 60_000, sign: signer.sign,
      });
      expect((await writer.write(newRecord(0))).record.seq).toBe(durableSeq + 1);
      await writer.close();
      const report = checkChain(await readAll(store), 'gw-kill');
      expect(report.problems).toEqual([]);
      expect(report.seqs.at(-1)).toBe(durableSeq + 1);
    } finally {
      await store.close();
    }
  }, 120_000);
});
