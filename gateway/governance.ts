/**
 * The governance side of the hub at start: the data catalogue (policies/catalogue) checked
 * against the live graph — an unclassified field, or an entry naming a field that does not exist,
 * stops start-up with CATALOGUE_INVALID — the contract store (PGlite in the data directory, or
 * PostgreSQL when DATABASE_URL is set), the contract service, and, in demo mode, the seed
 * contracts. The public schema hides not-shared fields and carries the admin API.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { GraphQLSchema } from 'graphql';
import {
  DEMO_CONTRACTS_PATH,
  createContractService,
  createPgContractStore,
  createPgliteContractStore,
  loadSeedContracts,
  type ContractService,
  type ContractStore,
} from '../contracts/index.ts';
import { systemClock } from '../core/index.ts';
import { catalogueInvalid, checkCatalogueAgainstSchema, loadCatalogue, publicSchema, type Catalogue } from '../policies/index.ts';
import { contractCatalogueLookup, extendWithAdmin } from './admin/schema.ts';
import type { HubConfig } from './config.ts';
import type { Logger } from './log.ts';

export interface Governance {
  readonly catalogue: Catalogue;
  readonly contracts: ContractService;
  /** The schema consumers see: not-shared fields removed, admin API added. */
  readonly schema: GraphQLSchema;
  close(): Promise<void>;
}

export async function startGovernance(config: HubConfig, meshSchema: GraphQLSchema, logger: Logger): Promise<Governance> {
  const catalogue = await loadCatalogue(join(config.meshDir, 'policies', 'catalogue'));
  const problems = checkCatalogueAgainstSchema(catalogue, meshSchema);
  if (problems.length > 0) throw catalogueInvalid(problems);

  const store: ContractStore = config.databaseUrl
    ? await createPgContractStore({ connectionString: config.databaseUrl })
    : await createPgliteContractStore({ dataDir: config.dataDir });
  try {
    const contracts = createContractService({ store, catalogue: contractCatalogueLookup(catalogue) });
    if (config.demo) {
      const seeded = await loadSeedContracts(contracts, await readFile(DEMO_CONTRACTS_PATH, 'utf8'), systemClock.now());
      logger.info('demo contracts', { created: seeded.created.length, present: seeded.present.length });
    }
    const schema = extendWithAdmin(publicSchema(meshSchema, catalogue), { contracts, catalogue });
    return { catalogue, contracts, schema, close: () => store.close() };
  } catch (error) {
    await store.close();
    throw error;
  }
}
