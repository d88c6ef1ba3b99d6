/**
 * Child process for the kill -9 test (run with `node --import tsx`): opens the file store at
 * argv[2] and a strict writer, then writes records forever from 32 concurrent loops, printing
 * `ready <seq>` once and then each acknowledged (durable) seq on its own line. Stdout to a pipe is
 * synchronous on Linux, so a printed seq was acknowledged before the parent could see it.
 */
import { openFileAuditStore } from '../file-store.ts';
import { openAuditWriter } from '../writer.ts';
import { newRecord, testSigner } from './store-fixtures.ts';

const path = process.argv[2];
if (!path) throw new Error('usage: file-store-kill-child.ts <log path>');

const signer = await testSigner();
const store = await openFileAuditStore({
  path,
  onTornTail: ({ bytes }) => process.stderr.write(`torn tail of ${bytes} bytes set aside\n`),
});
const writer = await openAuditWriter({
  store,
  instance: 'gw-kill',
  alg: 'sha256',
  mode: 'strict',
  queueLimit: 100_000,
  checkpointEvery: 50,
  checkpointIntervalMs: 200,
  sign: signer.sign,
});
process.stdout.write(`ready ${writer.status().seq}\n`);

let n = 0;
async function loop(): Promise<never> {
  for (;;) {
    const entry = await writer.write(newRecord(n++));
    process.stdout.write(`${entry.record.seq}\n`);
  }
}
await Promise.all(Array.from({ length: 32 }, loop));
