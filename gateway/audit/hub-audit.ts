/**
 * The audit trail as the hub runs it: this instance's name, the audit signing keys and the
 * subject HMAC keys (both in the data directory), the log store (an append-only file in the data
 * directory, or PostgreSQL when DATABASE_URL is set), the writer (hash chain, group commit, signed
 * checkpoints) and, with KAFKA_BROKERS, the shipper to the `tongxiang.audit` topic.
 */
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { signCheckpoint } from '../../audit/checkpoint.ts';
import { canonicalJson } from '../../audit/canonical.ts';
import { assertHashAvailable, digest } from '../../audit/hash.ts';
import { openFileAuditStore } from '../../audit/file-store.ts';
import { startKafkaShipper, type KafkaShipper } from '../../audit/kafka.ts';
import { openAuditKeyring, readIfExists, writeFileAtomic, type AuditKeyring } from '../../audit/keys.ts';
import { openPgAuditStore } from '../../audit/pg-store.ts';
import { openSubjectKeyring, type SubjectKeyring } from '../../audit/subjects.ts';
import type { AdminAction, AuditLogStore } from '../../audit/types.ts';
import { openAuditWriter, type AuditWriter } from '../../audit/writer.ts';
import type { HubConfig } from '../config.ts';
import type { Logger } from '../log.ts';

export interface HubAudit {
  readonly instance: string;
  readonly writer: AuditWriter;
  readonly store: AuditLogStore;
  readonly keyring: AuditKeyring;
  readonly subjects: SubjectKeyring;
  readonly shipper: KafkaShipper | null;
  /** Writes an admin event (contract transition, key rotation...); resolves once durable in strict mode. */
  admin(action: AdminAction, actor: { department: string | null; user: string }, details: Record<string, unknown>): Promise<void>;
  close(): Promise<void>;
}

export function auditDir(dataDir: string): string {
  return join(dataDir, 'audit');
}

/** This instance's name: configured, or made once and kept in the data directory. */
export async function instanceName(config: HubConfig): Promise<string> {
  if (config.audit.instance) return config.audit.instance;
  const path = join(auditDir(config.dataDir), 'instance');
  const known = (await readIfExists(path, 'the instance name'))?.trim();
  if (known) return known;
  const made = `hub-${randomBytes(4).toString('hex')}`;
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFileAtomic(path, made + '\n', 0o600);
  return made;
}

/** What the hub runs with, without secrets: the digest of this goes into `hub-start`. */
function configSummary(config: HubConfig): Record<string, unknown> {
  return {
    host: config.host,
    port: config.port,
    demo: config.demo,
    enforcementMode: config.enforcementMode,
    identity: { mode: config.identity.mode, issuer: config.identity.issuer ?? null, audience: config.identity.audience },
    audit: { mode: config.audit.mode, hash: config.audit.hash, checkpointEvery: config.audit.checkpointEvery, checkpointIntervalMs: config.audit.checkpointIntervalMs, kafka: config.audit.kafkaBrokers !== null },
    contractStore: config.databaseUrl ? 'postgresql' : 'pglite',
    upstreamTimeoutMs: config.upstreamTimeoutMs,
  };
}

export async function startHubAudit(config: HubConfig, logger: Logger, options: { catalogueDigest: string }): Promise<HubAudit> {
  assertHashAvailable(config.audit.hash);
  const dir = auditDir(config.dataDir);
  const instance = await instanceName(config);
  const keyring = await openAuditKeyring(join(dir, 'keys'));
  const subjects = await openSubjectKeyring(join(dir, 'subject-keys'));
  const torn: Array<{ bytes: number; savedAs: string }> = [];
  const store: AuditLogStore = config.databaseUrl
    ? await openPgAuditStore({ connectionString: config.databaseUrl, schema: 'tongxiang_audit' })
    : await openFileAuditStore({ path: join(dir, 'log.jsonl'), onTornTail: (info) => torn.push(info) });
  let writer: AuditWriter;
  try {
    writer = await openAuditWriter({
      store,
      instance,
      alg: config.audit.hash,
      mode: config.audit.mode,
      queueLimit: config.audit.queueLimit,
      checkpointEvery: config.audit.checkpointEvery,
      checkpointIntervalMs: config.audit.checkpointIntervalMs,
      sign: (payload) => signCheckpoint(keyring.current(), payload),
      onError: (error) => logger.error('audit store failed; records are held and retried', { error: error instanceof Error ? error.message : String(error) }),
    });
  } catch (error) {
    await store.close();
    throw error;
  }
  const shipper = config.audit.kafkaBrokers
    ? startKafkaShipper({
        source: store,
        brokers: config.audit.kafkaBrokers,
        topic: config.audit.kafkaTopic,
        stateFile: join(dir, `kafka-${instance}.state`),
        onError: (error) => logger.warn('audit shipping to Kafka failed; will retry from the local log', { error: error instanceof Error ? error.message : String(error) }),
      })
    : null;

  const system = { department: null, user: 'system' };
  const admin: HubAudit['admin'] = async (action, actor, details) => {
    await writer.write({ type: 'admin', time: new Date().toISOString(), action, actor, details });
  };

  for (const t of torn) {
    logger.warn('audit log had a torn last record (the hub stopped mid-write); it was cut off and kept aside', t);
    await admin('torn-tail-recovered', system, t);
  }
  // Configuration and catalogue changes between starts are admin events of their own.
  const configDigest = digest('sha256', canonicalJson(configSummary(config)));
  const statePath = join(dir, `last-start-${instance}.json`);
  const previous = JSON.parse((await readIfExists(statePath, 'the last start')) ?? 'null') as { configDigest?: string; catalogueDigest?: string } | null;
  await admin('hub-start', system, { configDigest, catalogueDigest: options.catalogueDigest, keyId: keyring.current().kid, subjectKeyId: subjects.current().kid, alg: config.audit.hash, mode: config.audit.mode });
  if (previous?.configDigest && previous.configDigest !== configDigest) await admin('config-change', system, { from: previous.configDigest, to: configDigest });
  if (previous?.catalogueDigest && previous.catalogueDigest !== options.catalogueDigest) {
    await admin('policy-reload', system, { from: previous.catalogueDigest, to: options.catalogueDigest });
  }
  await writeFileAtomic(statePath, JSON.stringify({ configDigest, catalogueDigest: options.catalogueDigest }) + '\n', 0o600);

  let closing: Promise<void> | null = null;
  return {
    instance,
    writer,
    store,
    keyring,
    subjects,
    shipper,
    admin,
    close() {
      closing ??= (async () => {
        try {
          await admin('hub-stop', system, {}).catch(() => undefined);
          await writer.close();
          if (shipper) {
            await shipper.drain(2000).catch(() => undefined);
            await shipper.close();
          }
        } finally {
          await store.close();
        }
      })();
      return closing;
    },
  };
}
