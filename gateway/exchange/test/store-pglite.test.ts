import { createPgliteExchangeStore } from '../store.ts';
import { tempDir } from './fixtures.ts';
import { defineExchangeStoreSuite } from './store-suite.ts';

defineExchangeStoreSuite('PGlite', async () => {
  const { dir, remove } = await tempDir('tx-exchange-store-');
  return { open: () => createPgliteExchangeStore({ dataDir: dir }), dispose: remove };
});
