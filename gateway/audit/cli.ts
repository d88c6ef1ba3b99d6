/**
 * `tongxiang audit <verb>` — for auditors and operators, with only public keys needed to verify:
 *
 *   tongxiang audit verify [--data-dir DIR | --file FILE | --kafka BROKERS [--topic T]] [--keys JWKS] [--json]
 *   tongxiang audit export --out FILE [--from ISO] [--to ISO] [--data-dir DIR]
 *
 * `verify` reads a store read-only (the hub's log file in the data directory, or PostgreSQL when
 * DATABASE_URL is set), a Kafka topic, or a log / export file, and reports OK (records,
 * checkpoints, time span) or the first bad place and what is wrong. Keys: `--keys` (a JWKS file
 * the auditor trusts, e.g. fetched from /audit/jwks.json), else the data directory's public keys,
 * else (export files) the keys the file carries — said so in the output, since a forger could
 * ship their own. Exit codes: 0 verifies, 1 does not, 2 bad arguments or unreadable input.
 */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type { JWK } from 'jose';
import { writeExport, verifyExportFile } from '../../audit/export.ts';
import { readKafkaTopic } from '../../audit/kafka.ts';
import { AUDIT_PUBLIC_KEYS_FILE } from '../../audit/keys.ts';
import { openPgAuditStore } from '../../audit/pg-store.ts';
import type { LogEntry, VerifyResult } from '../../audit/types.ts';
import { verifyEntries } from '../../audit/verify.ts';
import { TongxiangError } from '../../core/index.ts';
import { auditDir } from './hub-audit.ts';

export interface AuditCliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
}

const USAGE = [
  '用法 / usage:',
  '  tongxiang audit verify [--data-dir DIR | --file FILE | --kafka BROKERS [--topic T]] [--keys JWKS] [--json]',
  '  tongxiang audit export --out FILE [--from ISO] [--to ISO] [--data-dir DIR]',
].join('\n');

/** Every line, blank ones included (the verifier skips them but counts them, so line numbers match the file). */
async function* fileLines(path: string): AsyncIterable<string> {
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  for await (const line of lines) yield line;
}

async function readJwks(path: string): Promise<{ keys: JWK[] }> {
  const parsed = JSON.parse(await readFile(path, 'utf8')) as { keys?: unknown };
  if (!Array.isArray(parsed.keys)) throw new TongxiangError('BAD_USER_INPUT', { reason: `${path} is not a JWKS ({ "keys": [...] })` });
  return { keys: parsed.keys as JWK[] };
}

async function firstLine(path: string): Promise<string | null> {
  for await (const line of fileLines(path)) if (line.trim() !== '') return line;
  return null;
}

export function describeResult(result: VerifyResult): string {
  if (result.ok) {
    const span = result.from ? `${result.from} — ${result.to}` : '（无记录 / no records）';
    const lines = [
      `校验通过 / OK: ${result.records} 条记录 / records, ${result.checkpoints} 个检查点 / checkpoints, ${result.instances.length} 个实例 / instances`,
      `时间范围 / time span: ${span}`,
    ];
    if (result.duplicates > 0) lines.push(`重复投递（已按一条计）/ duplicates counted once: ${result.duplicates}`);
    if (result.unsigned > 0) lines.push(`最后检查点之后尚未签名的记录 / records after the last checkpoint (not yet signed): ${result.unsigned}`);
    for (const i of result.instances) lines.push(`  ${i.instance}: seq ${i.firstSeq}–${i.lastSeq}, 最后检查点 / last checkpoint ${i.lastCheckpointSeq ?? '—'}, head ${i.head}`);
    return lines.join('\n');
  }
  const p = result.problem;
  return [
    `校验未通过 / FAILED: ${p.kind}${p.instance ? ` — ${p.instance}` : ''}${p.seq !== null ? ` seq ${p.seq}` : ''}, 第 ${p.line} 行 / line ${p.line}`,
    p.zh,
    p.en,
    `此前已检查 / checked before: ${result.checked}`,
  ].join('\n');
}

export async function runAuditCli(argv: string[], io: AuditCliIo): Promise<number> {
  const [verb, ...rest] = argv;
  try {
    if (verb === 'verify') return await verify(rest, io);
    if (verb === 'export') return await exportCommand(rest, io);
    io.stderr(USAGE + '\n');
    return 2;
  } catch (error) {
    if (error instanceof TongxiangError) {
      io.stderr(`${error.code}: ${error.message}\n`);
      return error.code === 'AUDIT_LOG_INVALID' ? 1 : 2;
    }
    const e = error as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') {
      io.stderr(`找不到文件 / no such file: ${e.path ?? ''}\n`);
      return 2;
    }
    if (error instanceof TypeError && /parseArgs|option/i.test(String(error.message))) {
      io.stderr(`${error.message}\n${USAGE}\n`);
      return 2;
    }
    throw error;
  }
}

async function verify(argv: string[], io: AuditCliIo): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { 'data-dir': { type: 'string' }, file: { type: 'string' }, kafka: { type: 'string' }, topic: { type: 'string' }, keys: { type: 'string' }, json: { type: 'boolean' } },
    strict: true,
  });
  const dataDir = resolve(values['data-dir'] ?? io.env.TONGXIANG_DATA_DIR ?? './data');
  const trusted = values.keys ? await readJwks(values.keys) : null;
  const localKeys = async () => trusted ?? (await readJwks(join(auditDir(dataDir), 'keys', AUDIT_PUBLIC_KEYS_FILE)));
  let result: VerifyResult;
  let note: string | null = null;
  if (values.file) {
    const head = await firstLine(values.file);
    const isExport = head !== null && (JSON.parse(head) as { kind?: unknown }).kind === 'export';
    if (isExport) {
      const r = await verifyExportFile(values.file, trusted ? { jwks: trusted } : {});
      if (r.keysFrom === 'file') note = '注意：使用了导出文件自带的公钥；请用 --keys 指定可信公钥 / note: verified with the keys inside the file; pass --keys with keys you trust';
      result = r;
    } else {
      result = await verifyEntries(fileLines(values.file), await localKeys());
    }
  } else if (values.kafka) {
    const entries = await readKafkaTopic({ brokers: values.kafka, ...(values.topic ? { topic: values.topic } : {}) });
    result = await verifyEntries(entries, await localKeys());
  } else if (io.env.DATABASE_URL) {
    const store = await openPgAuditStore({ connectionString: io.env.DATABASE_URL, schema: 'tongxiang_audit' });
    try {
      result = await verifyEntries(store.read(), await localKeys());
    } finally {
      await store.close();
    }
  } else {
    result = await verifyEntries(fileLines(join(auditDir(dataDir), 'log.jsonl')), await localKeys());
  }
  if (values.json) io.stdout(JSON.stringify(result) + '\n');
  else io.stdout(describeResult(result) + '\n' + (note ? note + '\n' : ''));
  return result.ok ? 0 : 1;
}

async function exportCommand(argv: string[], io: AuditCliIo): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { 'data-dir': { type: 'string' }, out: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' } },
    strict: true,
  });
  if (!values.out) {
    io.stderr(`--out FILE 必填 / --out FILE is required\n${USAGE}\n`);
    return 2;
  }
  for (const [name, v] of [['from', values.from], ['to', values.to]] as const) {
    if (v !== undefined && Number.isNaN(Date.parse(v))) {
      io.stderr(`--${name} 应为 ISO 8601 时间 / --${name} must be an ISO 8601 time (got ${v})\n`);
      return 2;
    }
  }
  const iso = (v: string | undefined) => (v === undefined ? undefined : new Date(v).toISOString());
  const dataDir = resolve(values['data-dir'] ?? io.env.TONGXIANG_DATA_DIR ?? './data');
  const jwks = await readJwks(join(auditDir(dataDir), 'keys', AUDIT_PUBLIC_KEYS_FILE));
  const range = { ...(values.from ? { from: iso(values.from) } : {}), ...(values.to ? { to: iso(values.to) } : {}) };
  let counts: { records: number; checkpoints: number };
  if (io.env.DATABASE_URL) {
    const store = await openPgAuditStore({ connectionString: io.env.DATABASE_URL, schema: 'tongxiang_audit' });
    try {
      counts = await writeExport(values.out, store.read(), range, jwks);
    } finally {
      await store.close();
    }
  } else {
    async function* entries(): AsyncIterable<LogEntry> {
      for await (const line of fileLines(join(auditDir(dataDir), 'log.jsonl'))) if (line.trim() !== '') yield JSON.parse(line) as LogEntry;
    }
    counts = await writeExport(values.out, entries(), range, jwks);
  }
  io.stdout(`已导出 / exported ${counts.records} 条记录 / records, ${counts.checkpoints} 个检查点 / checkpoints → ${values.out}\n`);
  return 0;
}
