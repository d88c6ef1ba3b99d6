/** Shared by the admin tests: the fixture graph extended with the admin API over a PGlite store. */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSchema, graphql, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { createContractService, createPgliteContractStore, type ContractService, type ContractStore } from '../../../contracts/index.ts';
import { parseDepartment, type Principal, type Role } from '../../../core/index.ts';
import { loadCatalogue, type Catalogue } from '../../../policies/index.ts';
import { contractCatalogueLookup, extendWithAdmin } from '../schema.ts';

const FIXTURE = new URL('../../../policies/test/fixtures/graph.graphql', import.meta.url);
const CATALOGUE_DIR = new URL('../../../policies/catalogue/', import.meta.url);

export function person(dept: string, roles: readonly Role[], subject = `${roles.join('+')}@${dept}`): Principal {
  const department = parseDepartment(dept);
  if (!department) throw new Error(`not a department code: ${dept}`);
  return { subject, department, roles, client: null, expiresAt: 4_102_444_800 };
}

export interface AdminFixture {
  readonly schema: GraphQLSchema;
  readonly service: ContractService;
  readonly catalogue: Catalogue;
  run(principal: Principal | null, query: string, variables?: Record<string, unknown>): Promise<ExecutionResult>;
  dispose(): Promise<void>;
}

export async function adminFixture(): Promise<AdminFixture> {
  const dataDir = await mkdtemp(join(tmpdir(), 'tx-admin-'));
  const catalogue = await loadCatalogue(fileURLToPath(CATALOGUE_DIR));
  let store: ContractStore | undefined;
  try {
    store = await createPgliteContractStore({ dataDir });
    const service = createContractService({ store, catalogue: contractCatalogueLookup(catalogue) });
    const schema = extendWithAdmin(buildSchema(await readFile(FIXTURE, 'utf8')), { contracts: service, catalogue });
    const opened = store;
    return {
      schema,
      service,
      catalogue,
      run: (principal, source, variableValues) => graphql({ schema, source, variableValues, contextValue: { principal } }),
      async dispose() {
        await opened.close();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await store?.close();
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
}

/** One year from now, as ISO 8601. */
export const inAYear = (): string => new Date(Date.now() + 365 * 86_400_000).toISOString();

export const CONTRACT_FIELDS = /* GraphQL */ `
  id consumer provider state purpose legalBasis validUntil predecessorId version
  fields { coordinate mode }
  scope { kind regionCodes }
  history { seq action from to actor actorDepartment reason fields { coordinate mode } }
`;
