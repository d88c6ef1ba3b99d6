/**
 * The hub with KAFKA_BROKERS: every record it writes reaches the `tongxiang.audit` topic, and
 * `tongxiang audit verify --kafka` verifies the topic with the public keys alone. A real
 * single-node broker (scripts/kafka/broker.ts); without one the test is skipped with a warning,
 * except under CI, where it fails.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { startKafkaBroker, type KafkaBroker } from '../../scripts/kafka/broker.ts';
import { runAuditCli } from '../audit/cli.ts';
import { loadConfig } from '../config.ts';
import { issueLocalToken } from '../identity/index.ts';
import { silentLogger } from '../log.ts';
import { startHub } from '../server.ts';
import { postGraphQL } from './harness.ts';

let broker: KafkaBroker | undefined;
let unavailable: string | null = null;
beforeAll(async () => {
  try {
    broker = await startKafkaBroker({ startTimeoutMs: 120_000 });
  } catch (error) {
    if (process.env.CI) throw error;
    unavailable = error instanceof Error ? error.message : String(error);
    console.warn(`\n!! KAFKA HUB TEST SKIPPED: the Kafka broker could not be started: ${unavailable}\n`);
  }
}, 180_000);
afterAll(async () => {
  await broker?.dispose();
});

describe('audit shipped to Kafka by the hub', () => {
  it('puts every record in the topic, and the topic verifies with the public keys', async (ctx: TestContext) => {
    if (!broker) return ctx.skip(`no Kafka broker: ${unavailable ?? 'not started'}`);
    const dataDir = await mkdtemp(join(tmpdir(), 'tongxiang-kafka-hub-'));
    const topic = `tongxiang.audit.hub-${Date.now()}`;
    const config = loadConfig({ env: {}, overrides: { port: 0, dataDir, demo: true, audit: { kafkaBrokers: broker.brokers, kafkaTopic: topic, checkpointEvery: 5 } } });
    const hub = await startHub(config, { logger: silentLogger });
    try {
      const token = await issueLocalToken(config.identity, dataDir, { subject: 'dev', department: '341504.mzj', roles: ['developer'], ttlSeconds: 600 });
      const auditor = await issueLocalToken(config.identity, dataDir, { subject: 'aud', department: '340000.sjzyj', roles: ['auditor'], ttlSeconds: 600 });
      const example = hub.examples[0]!;
      for (let i = 0; i < 12; i++) expect((await postGraphQL(hub.graphqlUrl, example.query, example.variables, { token })).status).toBe(200);

      // Shipping is asynchronous: wait until the topic has caught up with the log.
      type Status = { auditStatus: { seq: number; kafka: { shipped: number; pending: number; connected: boolean } } };
      const deadline = Date.now() + 30_000;
      let status: Status['auditStatus'];
      for (;;) {
        status = (await postGraphQL<Status>(hub.graphqlUrl, '{ auditStatus { seq kafka { shipped pending connected } } }', {}, { token: auditor })).body.data!.auditStatus;
        if ((status.kafka.pending === 0 && status.kafka.shipped > 12) || Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(status.kafka.connected).toBe(true);
      expect(status.kafka.pending).toBe(0);
    } finally {
      await hub.close(); // drains the shipper after the final checkpoint
    }
    let out = '';
    let err = '';
    const code = await runAuditCli(['verify', '--kafka', broker.brokers, '--topic', topic, '--data-dir', dataDir, '--json'], { stdout: (s) => (out += s), stderr: (s) => (err += s), env: {} });
    expect(err).toBe('');
    const result = JSON.parse(out) as { ok: boolean; records: number; checkpoints: number };
    expect(result).toMatchObject({ ok: true });
    expect(code).toBe(0);
    expect(result.records).toBeGreaterThan(12);
    expect(result.checkpoints).toBeGreaterThan(1);
    await rm(dataDir, { recursive: true, force: true });
  }, 120_000);
});
