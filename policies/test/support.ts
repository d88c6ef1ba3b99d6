/** Shared by the policies tests: the graph fixture, the shipped catalogue, principals. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildSchema, type GraphQLSchema } from 'graphql';
import { parseDepartment, type Principal, type Role } from '../../core/index.ts';
import { loadCatalogue, parseCatalogue, type Catalogue, type CatalogueFile } from '../index.ts';

export const CATALOGUE_DIR = fileURLToPath(new URL('../catalogue/', import.meta.url));

/** The live graph's SDL as `gateway/` builds it with the demo upstreams (policies/test/fixtures). */
export function fixtureSchema(): GraphQLSchema {
  return buildSchema(readFileSync(new URL('./fixtures/graph.graphql', import.meta.url), 'utf8'));
}

export function shippedCatalogue(): Promise<Catalogue> {
  return loadCatalogue(CATALOGUE_DIR);
}

export function principal(dept: string, roles: readonly Role[] = ['developer']): Principal {
  const department = parseDepartment(dept);
  if (!department) throw new Error(`not a department code: ${dept}`);
  return { subject: `user@${dept}`, department, roles, client: null, expiresAt: 4_102_444_800 };
}

/** A catalogue from inline YAML, failing the test loudly when it does not parse. */
export function catalogueOf(files: Record<string, string>): Catalogue {
  const result = parseCatalogue(Object.entries(files).map(([path, text]): CatalogueFile => ({ path, text })));
  if (!result.ok) throw new Error(result.problems.join('\n'));
  return result.catalogue;
}
