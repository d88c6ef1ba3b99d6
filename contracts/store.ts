/**
 * Contract store (协议存储): contracts and their append-only history. `ContractStore` is the seam;
 * one SQL implementation runs on two drivers — PGlite in the data directory (embedded default) and
 * PostgreSQL through a `pg` pool (at scale) — with the same migrations.
 *
 * Concurrency is optimistic: `applyTransition` updates the contract only if its stored version is
 * the one the transition was computed from, and appends the transition in the same database
 * transaction; a racing writer finds the version moved and gets `{ applied: false }`.
 */
import { join } from 'node:path';
import { TongxiangError } from '../core/index.ts';
import { isSchemaName, openPg, openPglite, type SqlDatabase, type SqlSession } from './db.ts';
import { CONTRACT_CHANNEL, contractChangePayload } from './listen.ts';
import { migrate } from './migrate.ts';
import type {
  Contract,
  ContractAction,
  ContractState,
  ContractTransition,
  FieldGrant,
  NewContract,
  NewTransition,
  RowScope,
} from './model.ts';

export interface ContractFilter {
  readonly consumer?: string | undefined;
  readonly provider?: string | undefined;
  readonly states?: readonly ContractState[] | undefined;
  /** Successors of this contract. */
  readonly predecessorId?: string | undefined;
  /** Only contracts whose window ends at or before this instant (ISO). */
  readonly validUntilBy?: string | undefined;
}

export type ApplyResult =
  | { readonly applied: true; readonly contract: Contract }
  /** Someone moved the contract first; `current` is what is stored now (null if it is gone). */
  | { readonly applied: false; readonly current: Contract | null };

export interface ContractStore {
  /** Numbers a new contract and stores it with the step that opens its history, atomically. */
  create(contract: NewContract, record: NewTransition): Promise<Contract>;
  get(id: string): Promise<Contract | null>;
  /** Oldest first. */
  list(filter?: ContractFilter): Promise<Contract[]>;
  /**
   * Stores `contract` (the result of a lifecycle transition, version n + 1) if the stored version is
   * still n, and appends `record` (seq n + 1) — both or neither.
   */
  applyTransition(contract: Contract, record: ContractTransition): Promise<ApplyResult>;
  /** Every transition of the contract, in order; empty when there is no such contract. */
  history(id: string): Promise<ContractTransition[]>;
  close(): Promise<void>;
  /**
   * The database the store lives in, for the hub's other small stores (the exchange's
   * subscriptions) to share one connection rather than open a second PGlite. They must not close it.
   */
  readonly database?: SqlDatabase;
}

interface ContractRow {
  id: string;
  consumer: string;
  provider: string;
  fields: FieldGrant[];
  purpose: string;
  legal_basis: string;
  scope: RowScope;
  valid_from: Date;
  valid_until: Date;
  requests_per_minute: number | null;
  records_per_day: number | null;
  state: ContractState;
  predecessor_id: string | null;
  version: number;
  created_at: Date;
  updated_at: Date;
}

interface TransitionRow {
  contract_id: string;
  seq: number;
  action: ContractAction;
  from_state: ContractState | null;
  to_state: ContractState;
  actor: string;
  actor_department: string | null;
  at: Date;
  reason: string | null;
  fields: FieldGrant[] | null;
}

const iso = (d: Date | string): string => new Date(d).toISOString();

function toContract(r: ContractRow): Contract {
  return Object.freeze({
    id: r.id,
    consumer: r.consumer,
    provider: r.provider,
    fields: Object.freeze(r.fields.map((f) => Object.freeze({ coordinate: f.coordinate, mode: f.mode }))),
    purpose: r.purpose,
    legalBasis: r.legal_basis,
    scope: Object.freeze(r.scope.kind === 'regions' ? { kind: 'regions', regionCodes: Object.freeze([...r.scope.regionCodes]) } : { kind: r.scope.kind }),
    validFrom: iso(r.valid_from),
    validUntil: iso(r.valid_until),
    quotas: Object.freeze({ requestsPerMinute: r.requests_per_minute, recordsPerDay: r.records_per_day }),
    state: r.state,
    predecessorId: r.predecessor_id,
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
    version: r.version,
  });
}

function toTransition(r: TransitionRow): ContractTransition {
  return Object.freeze({
    contractId: r.contract_id,
    seq: r.seq,
    action: r.action,
    from: r.from_state,
    to: r.to_state,
    actor: r.actor,
    actorDepartment: r.actor_department,
    at: iso(r.at),
    reason: r.reason,
    fields: r.fields === null ? null : Object.freeze(r.fields.map((f) => Object.freeze({ coordinate: f.coordinate, mode: f.mode }))),
  });
}

/** The year a contract number carries: the year of creation in China Standard Time (UTC+8). */
export function contractYear(createdAt: string): number {
  return new Date(Date.parse(createdAt) + 8 * 3600_000).getUTCFullYear();
}

const INSERT_CONTRACT = `
  WITH n AS (SELECT nextval('contract_number_seq') AS n)
  INSERT INTO contracts (id, consumer, provider, fields, purpose, legal_basis, scope, valid_from, valid_until,
    requests_per_minute, records_per_day, state, predecessor_id, version, created_at, updated_at)
  SELECT 'GX-' || $1::text || '-' || CASE WHEN n.n < 1000000 THEN lpad(n.n::text, 6, '0') ELSE n.n::text END,
    $2, $3, $4::jsonb, $5, $6, $7::jsonb, $8::timestamptz, $9::timestamptz, $10::int, $11::int, $12, $13, 1,
    $14::timestamptz, $14::timestamptz
  FROM n
  RETURNING *`;

const UPDATE_CONTRACT = `
  UPDATE contracts SET fields = $3::jsonb, state = $4, version = $2::int + 1, updated_at = $5::timestamptz
  WHERE id = $1 AND version = $2::int
  RETURNING *`;

const INSERT_TRANSITION = `
  INSERT INTO contract_transitions (contract_id, seq, action, from_state, to_state, actor, actor_department, at, reason, fields)
  VALUES ($1, $2::int, $3, $4, $5, $6, $7, $8::timestamptz, $9, $10::jsonb)`;

function transitionParams(contractId: string, seq: number, t: NewTransition): unknown[] {
  return [
    contractId, seq, t.action, t.from, t.to, t.actor, t.actorDepartment, t.at, t.reason,
    t.fields === null ? null : JSON.stringify(t.fields),
  ];
}

async function getIn(db: SqlSession, id: string): Promise<Contract | null> {
  const result = await db.query<ContractRow>('SELECT * FROM contracts WHERE id = $1', [id]);
  const row = result.rows[0];
  return row ? toContract(row) : null;
}

function isLiveSuccessorConflict(error: unknown): boolean {
  const e = error as { code?: string; constraint?: string; message?: string } | null;
  return e?.code === '23505' && (e.constraint === 'contracts_one_live_successor' || /contracts_one_live_successor/.test(e.message ?? ''));
}

export function alreadyRenewed(predecessorId: string | null, successorId?: string): TongxiangError {
  const by = successorId === undefined ? '' : ` ${successorId}`;
  return new TongxiangError('CONTRACT_INVALID', {
    reason: `协议 ${predecessorId ?? ''} 已有续签协议${by} / contract ${predecessorId ?? ''} already has a successor${by}`,
  });
}

/**
 * The store over an open, migrated database. With `notify` (PostgreSQL), every stored change also
 * sends NOTIFY tongxiang_contracts in its own transaction: delivered on commit, never on rollback
 * (see listen.ts).
 */
function sqlContractStore(db: SqlDatabase, notify?: { readonly schema: string }): ContractStore {
  let closed = false;
  const open = (): SqlDatabase => {
    if (closed) throw new Error('contract store is closed');
    return db;
  };
  const announce = async (tx: SqlSession, contract: { readonly id: string; readonly consumer: string }): Promise<void> => {
    if (!notify) return;
    await tx.query('SELECT pg_notify($1, $2)', [CONTRACT_CHANNEL, contractChangePayload({ schema: notify.schema, consumer: contract.consumer, contractId: contract.id })]);
  };

  const store: ContractStore = {
    database: db,
    async create(contract, record) {
      if (record.from !== null || record.to !== 'draft' || contract.state !== 'draft') {
        throw new TypeError('a contract is created as a draft, by a create or renew step');
      }
      return open().transaction(async (tx) => {
        const inserted = await tx.query<ContractRow>(INSERT_CONTRACT, [
          String(contractYear(contract.createdAt)), contract.consumer, contract.provider,
          JSON.stringify(contract.fields), contract.purpose, contract.legalBasis, JSON.stringify(contract.scope),
          contract.validFrom, contract.validUntil, contract.quotas.requestsPerMinute, contract.quotas.recordsPerDay,
          contract.state, contract.predecessorId, contract.createdAt,
        ]);
        const row = inserted.rows[0]!;
        await tx.query(INSERT_TRANSITION, transitionParams(row.id, 1, record));
        await announce(tx, row);
        return toContract(row);
      }).catch((error: unknown) => {
        throw isLiveSuccessorConflict(error) ? alreadyRenewed(contract.predecessorId) : error;
      });
    },

    get: (id) => getIn(open(), id),

    async list(filter = {}) {
      const result = await open().query<ContractRow>(
        `SELECT * FROM contracts
         WHERE ($1::text IS NULL OR consumer = $1)
           AND ($2::text IS NULL OR provider = $2)
           AND ($3::jsonb IS NULL OR state IN (SELECT jsonb_array_elements_text($3::jsonb)))
           AND ($4::text IS NULL OR predecessor_id = $4)
           AND ($5::timestamptz IS NULL OR valid_until <= $5::timestamptz)
         ORDER BY created_at, id`,
        [
          filter.consumer ?? null,
          filter.provider ?? null,
          filter.states === undefined ? null : JSON.stringify(filter.states),
          filter.predecessorId ?? null,
          filter.validUntilBy ?? null,
        ],
      );
      return result.rows.map(toContract);
    },

    async applyTransition(contract, record) {
      if (record.contractId !== contract.id || record.seq !== contract.version || record.to !== contract.state) {
        throw new TypeError('the transition does not belong to this contract version');
      }
      const base = contract.version - 1;
      return open().transaction(async (tx): Promise<ApplyResult> => {
        const updated = await tx.query<ContractRow>(UPDATE_CONTRACT, [
          contract.id, base, JSON.stringify(contract.fields), contract.state, contract.updatedAt,
        ]);
        const row = updated.rows[0];
        if (!row) return { applied: false, current: await getIn(tx, contract.id) };
        await tx.query(INSERT_TRANSITION, transitionParams(contract.id, record.seq, record));
        await announce(tx, row);
        return { applied: true, contract: toContract(row) };
      });
    },

    async history(id) {
      const result = await open().query<TransitionRow>(
        'SELECT * FROM contract_transitions WHERE contract_id = $1 ORDER BY seq',
        [id],
      );
      return result.rows.map(toTransition);
    },

    async close() {
      if (closed) return;
      closed = true;
      await db.close();
    },
  };
  return Object.freeze(store);
}

async function migrated(db: SqlDatabase, schema?: string, notify?: { readonly schema: string }): Promise<ContractStore> {
  try {
    await migrate(db, schema === undefined ? {} : { schema });
  } catch (error) {
    await db.close().catch(() => undefined);
    throw error;
  }
  return sqlContractStore(db, notify);
}

export interface PgliteContractStoreOptions {
  /** The hub's data directory; the store lives in `<dataDir>/contracts`. */
  readonly dataDir: string;
}

/** Embedded default: PGlite persisted in `<dataDir>/contracts`. One store per directory per process. */
export async function createPgliteContractStore(options: PgliteContractStoreOptions): Promise<ContractStore> {
  if (typeof options?.dataDir !== 'string' || options.dataDir === '') {
    throw new TongxiangError('CONFIG_INVALID', { reason: 'contract store: dataDir is required' });
  }
  return migrated(await openPglite(join(options.dataDir, 'contracts')));
}

export interface PgContractStoreOptions {
  /** e.g. `postgres://tongxiang@db.internal:5432/tongxiang` (DATABASE_URL). */
  readonly connectionString: string;
  /** Schema the tables live in, created if missing. Default `public`. */
  readonly schema?: string | undefined;
  /** Pool size. Default 10. */
  readonly poolSize?: number | undefined;
}

/**
 * At scale: PostgreSQL through a `pg` pool. The migrations run before this resolves. Every change
 * is announced on the `tongxiang_contracts` channel for the other replicas' caches (listen.ts).
 */
export async function createPgContractStore(options: PgContractStoreOptions): Promise<ContractStore> {
  const problems: string[] = [];
  if (typeof options?.connectionString !== 'string' || options.connectionString === '') problems.push('connectionString is required');
  const schema = options?.schema;
  if (schema !== undefined && !isSchemaName(schema)) problems.push('schema must be lower-case letters, digits and _');
  const poolSize = options?.poolSize ?? 10;
  if (!Number.isInteger(poolSize) || poolSize < 1) problems.push('poolSize must be a positive integer');
  if (problems.length > 0) throw new TongxiangError('CONFIG_INVALID', { reason: `contract store: ${problems.join('; ')}` });
  return migrated(openPg(options.connectionString, schema ?? 'public', poolSize), schema, { schema: schema ?? 'public' });
}
