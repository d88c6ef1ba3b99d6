/**
 * One gateway replica for limits-replicas.test.ts and scale-out.test.ts: a hub on port 0 with the
 * settings given as JSON in argv[2] (data directory, upstream variables, limits, and optionally
 * environment such as DATABASE_URL), sharing Redis (and PostgreSQL) with its siblings.
 * Prints one line `{"url": ...}` when it listens; closes when stdin closes.
 */
import { createInterface } from 'node:readline';
import { loadConfig } from '../config.ts';
import type { LimitOverrides } from '../limits/settings.ts';
import { silentLogger } from '../log.ts';
import { startHub } from '../server.ts';

const given = JSON.parse(process.argv[2] ?? '{}') as { dataDir: string; variables: Record<string, string>; limits: LimitOverrides; instance: string; env?: Record<string, string> };
const hub = await startHub(
  loadConfig({ env: given.env ?? {}, overrides: { port: 0, dataDir: given.dataDir, variables: given.variables, limits: given.limits, audit: { instance: given.instance } } }),
  { logger: silentLogger },
);
process.stdout.write(JSON.stringify({ url: hub.graphqlUrl }) + '\n');
createInterface({ input: process.stdin }).on('close', () => {
  void hub.close().finally(() => process.exit(0));
});
