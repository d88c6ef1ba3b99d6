import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPglite } from '../db.ts';
import { createPgliteContractStore } from '../store.ts';
import { defineContractStoreSuite } from './conformance.ts';

defineContractStoreSuite('PGlite', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'tx-contracts-'));
  return {
    open: () => createPgliteContractStore({ dataDir }),
    async raw(fn) {
      const db = await openPglite(join(dataDir, 'contracts'));
      try {
        return await fn(db);
      } finally {
        await db.close();
      }
    },
    dispose: () => rm(dataDir, { recursive: true, force: true }),
  };
});
