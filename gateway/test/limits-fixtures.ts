/**
 * Helpers for the limits' hub tests: a consumer department other than the harness's, with a
 * contract on the county roster carrying the quotas a test needs, requested and approved through
 * the public admin API.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { postGraphQL, type TestHub } from './harness.ts';

/** 金安区民政局: a consumer with no contracts of its own until a test gives it one. */
export const OTHER_COUNTY = '341502.mzj';
export const ROSTER_OWNER = '341504.mzj';

export const HOUSEHOLDS = (first: number) => `{ allowanceHouseholds(regionCode: "341504", first: ${first}) { items { headName headIdNumber members } } }`;

export async function rosterContract(t: TestHub, quotas: { requestsPerMinute?: number | null; recordsPerDay?: number | null }, consumer = OTHER_COUNTY): Promise<{ id: string; token: string }> {
  const token = await t.tokenFor({ subject: `dev-${consumer}`, department: consumer, roles: ['developer'] });
  const listing = await postGraphQL<{ catalogue: Array<{ coordinate: string; owners: string[]; sharing: string }> }>(
    t.hub.graphqlUrl,
    '{ catalogue { coordinate owners sharing } }',
    {},
    { token },
  );
  const coordinates = listing.body.data!.catalogue.filter((e) => e.sharing === 'CONDITIONAL' && e.owners.includes(ROSTER_OWNER) && e.coordinate.startsWith('AllowanceHousehold')).map((e) => e.coordinate);
  const until = new Date(Date.now() + 30 * 86_400_000).toISOString();
  const requested = await postGraphQL<{ requestContract: { id: string } }>(
    t.hub.graphqlUrl,
    `mutation($fields: [FieldGrantInput!]!, $until: String!, $quotas: QuotasInput) {
      requestContract(input: { provider: "${ROSTER_OWNER}", fields: $fields, purpose: "低保资格核查（测试）", legalBasis: "测试", scope: { kind: ALL }, validUntil: $until, quotas: $quotas }) { id }
    }`,
    { fields: coordinates.map((coordinate) => ({ coordinate })), until, quotas },
    { token },
  );
  if (!requested.body.data) throw new Error(`request: ${JSON.stringify(requested.body.errors)}`);
  const id = requested.body.data.requestContract.id;
  const owner = await t.tokenFor({ subject: 'roster-owner', department: ROSTER_OWNER, roles: ['data_owner'] });
  const approved = await postGraphQL(t.hub.graphqlUrl, 'mutation($id: ID!) { approveContract(id: $id) { state } }', { id }, { token: owner });
  if (approved.body.errors) throw new Error(`approve: ${JSON.stringify(approved.body.errors)}`);
  return { id, token };
}

export interface AccessLine {
  readonly requestId: string;
  readonly outcome: string;
  readonly httpStatus: number;
  readonly reason: string | null;
  readonly errorCodes: string[];
  readonly department: string | null;
}

/** The access records in a hub's local audit log (the file store). */
export async function accessRecords(dataDir: string): Promise<AccessLine[]> {
  const text = await readFile(join(dataDir, 'audit', 'log.jsonl'), 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { kind: string; record?: AccessLine & { type: string } })
    .filter((e) => e.kind === 'record' && e.record?.type === 'access')
    .map((e) => e.record!);
}
