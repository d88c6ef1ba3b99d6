/**
 * The governance side of the hub at start: the data catalogue (policies/catalogue) checked
 * against the live graph — an unclassified field, or an entry naming a field that does not exist,
 * stops start-up with CATALOGUE_INVALID — the contract store (PGlite in the data directory, or
 * PostgreSQL when DATABASE_URL is set), the contract service, and, in demo mode, the seed
 * contracts. With PostgreSQL, the cache of active contracts follows the other replicas' changes
 * through LISTEN/NOTIFY (contracts/listen.ts). The public schema hides not-shared fields,
 * enforces the rest field by field (deny / mask / jurisdiction, gateway/enforcement) and carries
 * the admin API.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLSchema } from 'graphql';
import {
  DEMO_CONTRACTS_PATH,
  createContractService,
  createPgContractStore,
  createPgliteContractStore,
  listenForContractChanges,
  loadSeedContracts,
  type ContractListener,
  type ContractService,
  type ContractServiceOptions,
  type ContractStore,
} from '../contracts/index.ts';
import { systemClock } from '../core/index.ts';
import { catalogueInvalid, checkCatalogueAgainstSchema, loadCatalogue, publicSchema, type Catalogue } from '../policies/index.ts';
import { contractCatalogueLookup, extendWithAdmin, isAdminCoordinate } from './admin/schema.ts';
import { isAuditCoordinate } from './audit/schema.ts';
import { createEnforcement, type Admission, type EnforcementContext } from './enforcement/index.ts';
import { isLimitsCoordinate } from './limits/schema.ts';
import type { SqlDatabase } from '../contracts/db.ts';
import { isDropsCoordinate } from './drops/schema.ts';
import { isExchangeCoordinate } from './exchange/schema.ts';
import { isConsoleCoordinate } from './console/schema.ts';
import type { HubConfig } from './config.ts';
import type { Logger } from './log.ts';

export interface Governance<Ctx extends EnforcementContext> {
  readonly catalogue: Catalogue;
  readonly contracts: ContractService;
  /** The contract store's database, shared by the exchange's subscriptions (one PGlite per hub). */
  readonly database?: SqlDatabase | undefined;
  /** The schema consumers see: not-shared fields removed, governed fields enforced, admin API added. */
  readonly schema: GraphQLSchema;
  /** Decides every field an operation touches against the caller's active contracts. */
  readonly plugin: ApolloServerPlugin<Ctx>;
  close(): Promise<void>;
}

export async function startGovernance<Ctx extends EnforcementContext>(
  config: HubConfig,
  meshSchema: GraphQLSchema,
  logger: Logger,
  options: { enforce?: boolean; onTransition?: ContractServiceOptions['onTransition']; admission?: Admission<EnforcementContext> | undefined } = {},
): Promise<Governance<Ctx>> {
  const catalogue = await loadCatalogue(join(config.meshDir, 'policies', 'catalogue'));
  if (options.enforce === false) {
    // Benchmarks only (the policy tax): the same graph without field enforcement. Never from configuration.
    const problems = checkCatalogueAgainstSchema(catalogue, meshSchema);
    if (problems.length > 0) throw catalogueInvalid(problems);
  }

  const store: ContractStore = config.databaseUrl
    ? await createPgContractStore({ connectionString: config.databaseUrl })
    : await createPgliteContractStore({ dataDir: config.dataDir });
  let listener: ContractListener | undefined;
  try {
    const contracts = createContractService({ store, catalogue: contractCatalogueLookup(catalogue), onTransition: options.onTransition });
    if (config.databaseUrl) listener = await followOtherReplicas(contracts, config.databaseUrl, logger);
    if (config.demo) {
      const seeded = await loadSeedContracts(contracts, await readFile(DEMO_CONTRACTS_PATH, 'utf8'), systemClock.now());
      logger.info('demo contracts', { created: seeded.created.length, present: seeded.present.length });
    }
    const sweep = startExpirySweep(contracts, config.contractSweepMs, logger);
    const close = async () => {
      await sweep.stop();
      await listener?.close();
      await store.close();
    };
    if (options.enforce === false) {
      const schema = extendWithAdmin(publicSchema(meshSchema, catalogue), { contracts, catalogue });
      return { catalogue, contracts, schema, plugin: {}, close, database: store.database };
    }
    // Checks the catalogue against the graph (CATALOGUE_INVALID), removes not-shared fields, wraps the rest.
    const enforcement = createEnforcement<Ctx>({
      schema: meshSchema,
      catalogue,
      mode: config.enforcementMode,
      grantsFor: (principal, now) => contracts.grants(principal.department.code, now),
      clock: systemClock,
      ungoverned: (coordinate) =>
        isAdminCoordinate(coordinate) || isAuditCoordinate(coordinate) || isLimitsCoordinate(coordinate) || isDropsCoordinate(coordinate) || isExchangeCoordinate(coordinate) || isConsoleCoordinate(coordinate),
      admission: options.admission,
    });
    const schema = extendWithAdmin(enforcement.schema, { contracts, catalogue });
    return { catalogue, contracts, schema, plugin: enforcement.plugin, close, database: store.database };
  } catch (error) {
    await listener?.close();
    await store.close();
    throw error;
  }
}

/**
 * Other replicas' (and the CLI's) contract changes, as PostgreSQL notifies them: the consumer's
 * cached contracts are dropped, so the next request reads them. Until LISTEN is in place, and
 * whenever its connection is lost, the cache is not used at all (every request reads the store);
 * once listening again everything cached before is dropped, since notifications may have been
 * missed. Propagation: a committed change reaches every listening replica within milliseconds;
 * docs/scaling.md states the bound.
 */
async function followOtherReplicas(contracts: ContractService, databaseUrl: string, logger: Logger): Promise<ContractListener> {
  contracts.trustCache(false);
  const listener = listenForContractChanges({
    connectionString: databaseUrl,
    onChange: (change) => contracts.invalidate(change.consumer),
    onListening: () => contracts.trustCache(true),
    onLost: (error) => {
      contracts.trustCache(false);
      logger.warn('lost the contract change feed (LISTEN); reading contracts from PostgreSQL on every request until it is back', {
        error: error instanceof Error ? error.message : String(error),
      });
    },
  });
  await listener.started;
  if (!listener.listening) logger.warn('contract change feed (LISTEN) not available yet; reading contracts from PostgreSQL on every request until it is');
  return listener;
}

/**
 * Marks contracts past their validUntil `expired`, at start and every `intervalMs` (their grants
 * end at validUntil whether or not this has run: time decides, the sweep only records it). One
 * sweep at a time; a failed sweep is logged and tried again next time.
 */
export function startExpirySweep(contracts: ContractService, intervalMs: number, logger: Logger): { stop(): Promise<void> } {
  let running: Promise<void> | null = null;
  let stopped = false;
  const sweep = () => {
    if (running || stopped) return;
    running = (async () => {
      try {
        const expired = await contracts.expireDue();
        if (expired.length > 0) logger.info('contracts expired', { count: expired.length, contractIds: expired.map((c) => c.id) });
      } catch (error) {
        logger.warn('contract expiry sweep failed; will retry', { error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
      } finally {
        running = null;
      }
    })();
  };
  sweep();
  const timer = setInterval(sweep, intervalMs);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
