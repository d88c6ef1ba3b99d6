/**
 * The exchange store (订阅存储): subscriptions, deliveries (one per subscription × event), a copy of
 * each event delivered (counts only), and cursors over the pipeline's event outbox. One SQL
 * implementation on the contract store's driver seam (contracts/db.ts): PGlite in
 * `<dataDir>/exchange/db` by default, PostgreSQL when a database URL is given. Tables are
 * prefixed `exchange_`; migrations are recorded in the shared `tongxiang_migrations` table under
 * `exchange/…` names.
 *
 * Enqueueing is idempotent: the webhook cursor row is locked, events at or below it are skipped,
 * deliveries are inserted with ON CONFLICT DO NOTHING on (subscription, event), and the cursor
 * advances in the same transaction — a restart or a second replica reading the same events
 * never enqueues one twice. A subscription made meanwhile locks the same row, so it sees either
 * the cursor before an enqueue (and gets its events) or after it (and does not).
 *
 * Delivering is claimed per row (`claimed_until`, `claimed_by`): a replica POSTs a delivery only
 * after claiming it, and records the outcome only while its claim holds.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { isSchemaName, openPg, openPglite, type SqlDatabase, type SqlSession } from '../../contracts/db.ts';
import { TongxiangError } from '../../core/index.ts';
import type { ChangeEvent } from '../../sources/filedrop/model.ts';
import type { Delivery, DeliveryOutcome, DeliveryStatus, DueDelivery, NewSubscription, Subscription, SubscriptionState } from './model.ts';

/** The webhook dispatcher's cursor; Kafka keeps `kafka:<topic>`. */
export const WEBHOOK_CURSOR = 'webhooks';

export interface DeliveryFilter {
  readonly subscriptionId?: string | undefined;
  readonly consumer?: string | undefined;
  readonly status?: DeliveryStatus | undefined;
  /** Newest first; default 50. */
  readonly limit?: number | undefined;
}

export interface ExchangeStore {
  /**
   * Stores a subscription after the current webhook cursor. An active subscription of the same
   * department to the same dataset, provider and URL is returned instead (`created: false`).
   */
  createSubscription(input: NewSubscription, now: Date): Promise<{ subscription: Subscription; created: boolean }>;
  getSubscription(id: string): Promise<Subscription | null>;
  /** The department's subscriptions, newest first. */
  listSubscriptions(consumer: string): Promise<Subscription[]>;
  /** Cancels (idempotent) and marks its pending deliveries `cancelled`; null when there is no such subscription. */
  cancelSubscription(id: string, actor: string, now: Date): Promise<Subscription | null>;
  /** A cursor's position (0 when never set). */
  cursor(name: string): Promise<number>;
  /** Moves a cursor forward (never back). */
  advanceCursor(name: string, seq: number, now: Date): Promise<void>;
  /**
   * Copies the events past the webhook cursor and enqueues one delivery per active subscription
   * to each event's (dataset, department); returns the cursor after and how many deliveries.
   */
  enqueue(events: readonly ChangeEvent[], now: Date): Promise<{ cursor: number; enqueued: number }>;
  /** Per subscription, its first pending delivery in event order, when due and not claimed. */
  dueHeads(now: Date, limit: number): Promise<DueDelivery[]>;
  /** When the earliest pending head becomes due (or its claim lapses); null when none. */
  nextDueAt(): Promise<Date | null>;
  /** Claims a pending delivery until `until`; false when someone else holds it or it is no longer pending. */
  claim(id: string, holder: string, until: Date, now: Date): Promise<boolean>;
  /** Records an outcome while `holder`'s claim is the current one; releases the claim. */
  finish(id: string, holder: string, outcome: DeliveryOutcome, now: Date): Promise<boolean>;
  getDelivery(id: string): Promise<Delivery | null>;
  listDeliveries(filter: DeliveryFilter): Promise<Delivery[]>;
  /** A dead delivery back to pending, attempts reset, due now; null when it is not dead. */
  replay(id: string, now: Date): Promise<Delivery | null>;
  /** Resolves when the database answers. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Migrations

interface Migration {
  readonly name: string;
  readonly sql: string;
}

const MIGRATIONS: readonly Migration[] = [
  {
    name: 'exchange/001_exchange.sql',
    sql: `
CREATE TABLE exchange_subscriptions (
  id            text        PRIMARY KEY,
  consumer      text        NOT NULL,
  created_by    text        NOT NULL,
  dataset       text        NOT NULL,
  provider      text        NOT NULL,
  webhook_url   text        NOT NULL,
  state         text        NOT NULL CHECK (state IN ('active', 'cancelled')),
  after_seq     bigint      NOT NULL,
  created_at    timestamptz NOT NULL,
  cancelled_at  timestamptz,
  cancelled_by  text
);
CREATE INDEX exchange_subscriptions_consumer ON exchange_subscriptions (consumer, created_at);
CREATE INDEX exchange_subscriptions_target ON exchange_subscriptions (dataset, provider) WHERE state = 'active';
CREATE UNIQUE INDEX exchange_subscriptions_once ON exchange_subscriptions (consumer, dataset, provider, webhook_url) WHERE state = 'active';

CREATE TABLE exchange_events (
  seq         bigint      PRIMARY KEY,
  id          text        NOT NULL UNIQUE,
  dataset     text        NOT NULL,
  department  text        NOT NULL,
  version     integer     NOT NULL,
  kind        text        NOT NULL,
  added       integer     NOT NULL,
  changed     integer     NOT NULL,
  removed     integer     NOT NULL,
  rows        integer     NOT NULL,
  at          text        NOT NULL
);

CREATE TABLE exchange_deliveries (
  id               text        PRIMARY KEY,
  subscription_id  text        NOT NULL REFERENCES exchange_subscriptions (id),
  event_seq        bigint      NOT NULL REFERENCES exchange_events (seq),
  status           text        NOT NULL CHECK (status IN ('pending', 'delivered', 'dead', 'not-entitled', 'cancelled')),
  attempts         integer     NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz,
  last_attempt_at  timestamptz,
  last_error       text,
  delivered_at     timestamptz,
  claimed_until    timestamptz,
  claimed_by       text,
  created_at       timestamptz NOT NULL,
  updated_at       timestamptz NOT NULL,
  UNIQUE (subscription_id, event_seq)
);
CREATE INDEX exchange_deliveries_pending ON exchange_deliveries (subscription_id, event_seq) WHERE status = 'pending';
CREATE INDEX exchange_deliveries_status ON exchange_deliveries (status, updated_at);

CREATE TABLE exchange_cursors (
  name        text        PRIMARY KEY,
  seq         bigint      NOT NULL,
  updated_at  timestamptz NOT NULL
);
INSERT INTO exchange_cursors (name, seq, updated_at) VALUES ('${WEBHOOK_CURSOR}', 0, now());
`,
  },
];

const checksum = (sql: string) => createHash('sha256').update(sql).digest('hex');

/** Applies what is missing, each once, under an advisory lock (replicas starting together). */
async function migrate(db: SqlDatabase, schema: string | undefined): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`tongxiang_migrations:${schema ?? 'public'}`]);
    if (schema !== undefined) await tx.exec(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await tx.exec(`CREATE TABLE IF NOT EXISTS tongxiang_migrations (
      name       text        PRIMARY KEY,
      checksum   text        NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = await tx.query<{ name: string; checksum: string }>("SELECT name, checksum FROM tongxiang_migrations WHERE name LIKE 'exchange/%'");
    const applied = new Map(done.rows.map((r) => [r.name, r.checksum]));
    for (const m of MIGRATIONS) {
      const sum = checksum(m.sql);
      const had = applied.get(m.name);
      if (had === sum) continue;
      if (had !== undefined) throw new TongxiangError('CONFIG_INVALID', { reason: `migration ${m.name} was changed after it was applied (add a new migration instead)` });
      await tx.exec(m.sql);
      await tx.query('INSERT INTO tongxiang_migrations (name, checksum) VALUES ($1, $2)', [m.name, sum]);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Rows

interface SubscriptionRow {
  id: string;
  consumer: string;
  created_by: string;
  dataset: string;
  provider: string;
  webhook_url: string;
  state: SubscriptionState;
  after_seq: number | string | bigint;
  created_at: Date;
  cancelled_at: Date | null;
  cancelled_by: string | null;
}

interface DeliveryRow {
  id: string;
  subscription_id: string;
  event_seq: number | string | bigint;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: Date | null;
  last_attempt_at: Date | null;
  last_error: string | null;
  delivered_at: Date | null;
  created_at: Date;
  updated_at: Date;
  consumer: string;
  dataset: string;
  provider: string;
  webhook_url: string;
  sub_state: SubscriptionState;
  e_id: string;
  e_dataset: string;
  e_department: string;
  e_version: number;
  e_kind: string;
  e_added: number;
  e_changed: number;
  e_removed: number;
  e_rows: number;
  e_at: string;
}

const date = (value: Date | string | null): Date | null => (value === null ? null : value instanceof Date ? value : new Date(value));

function subscriptionOf(r: SubscriptionRow): Subscription {
  return Object.freeze({
    id: r.id,
    consumer: r.consumer,
    createdBy: r.created_by,
    dataset: r.dataset,
    provider: r.provider,
    webhookUrl: r.webhook_url,
    state: r.state,
    afterSeq: Number(r.after_seq),
    createdAt: date(r.created_at)!,
    cancelledAt: date(r.cancelled_at),
    cancelledBy: r.cancelled_by,
  });
}

function deliveryOf(r: DeliveryRow): DueDelivery {
  return Object.freeze({
    id: r.id,
    subscriptionId: r.subscription_id,
    consumer: r.consumer,
    dataset: r.dataset,
    provider: r.provider,
    webhookUrl: r.webhook_url,
    subscriptionState: r.sub_state,
    event: Object.freeze({
      id: r.e_id,
      seq: Number(r.event_seq),
      dataset: r.e_dataset,
      department: r.e_department,
      version: Number(r.e_version),
      kind: r.e_kind as ChangeEvent['kind'],
      added: Number(r.e_added),
      changed: Number(r.e_changed),
      removed: Number(r.e_removed),
      rows: Number(r.e_rows),
      at: r.e_at,
    }),
    status: r.status,
    attempts: Number(r.attempts),
    nextAttemptAt: date(r.next_attempt_at),
    lastAttemptAt: date(r.last_attempt_at),
    lastError: r.last_error,
    deliveredAt: date(r.delivered_at),
    createdAt: date(r.created_at)!,
    updatedAt: date(r.updated_at)!,
  });
}

/** Without the webhook URL and subscription state: what a consumer's listing shows of a delivery. */
function publicDelivery(d: DueDelivery): Delivery {
  const { webhookUrl: _url, subscriptionState: _state, ...rest } = d;
  return Object.freeze(rest);
}

const DELIVERY_SELECT = `
  SELECT d.id, d.subscription_id, d.event_seq, d.status, d.attempts, d.next_attempt_at, d.last_attempt_at, d.last_error,
         d.delivered_at, d.created_at, d.updated_at, d.claimed_until,
         s.consumer, s.dataset, s.provider, s.webhook_url, s.state AS sub_state,
         e.id AS e_id, e.dataset AS e_dataset, e.department AS e_department, e.version AS e_version, e.kind AS e_kind,
         e.added AS e_added, e.changed AS e_changed, e.removed AS e_removed, e.rows AS e_rows, e.at AS e_at
    FROM exchange_deliveries d
    JOIN exchange_subscriptions s ON s.id = d.subscription_id
    JOIN exchange_events e ON e.seq = d.event_seq`;

/** Each subscription's first pending delivery in event order: deliveries per subscription go in order. */
const HEADS = `SELECT DISTINCT ON (d.subscription_id) * FROM (${DELIVERY_SELECT} WHERE d.status = 'pending') d ORDER BY d.subscription_id, d.event_seq`;

async function lockCursor(tx: SqlSession, name: string): Promise<number> {
  const row = await tx.query<{ seq: number | string }>('SELECT seq FROM exchange_cursors WHERE name = $1 FOR UPDATE', [name]);
  return row.rows[0] === undefined ? 0 : Number(row.rows[0].seq);
}

function sqlExchangeStore(db: SqlDatabase): ExchangeStore {
  let closed = false;

  const store: ExchangeStore = {
    async createSubscription(input, now) {
      return db.transaction(async (tx) => {
        // Locked like enqueue does: see its comment at the top of the file.
        const afterSeq = await lockCursor(tx, WEBHOOK_CURSOR);
        const inserted = await tx.query<SubscriptionRow>(
          `INSERT INTO exchange_subscriptions (id, consumer, created_by, dataset, provider, webhook_url, state, after_seq, created_at)
           VALUES (gen_random_uuid()::text, $1, $2, $3, $4, $5, 'active', $6, $7)
           ON CONFLICT (consumer, dataset, provider, webhook_url) WHERE state = 'active' DO NOTHING
           RETURNING *`,
          [input.consumer, input.createdBy, input.dataset, input.provider, input.webhookUrl, afterSeq, now],
        );
        if (inserted.rows[0]) return { subscription: subscriptionOf(inserted.rows[0]), created: true };
        const existing = await tx.query<SubscriptionRow>(
          "SELECT * FROM exchange_subscriptions WHERE consumer = $1 AND dataset = $2 AND provider = $3 AND webhook_url = $4 AND state = 'active'",
          [input.consumer, input.dataset, input.provider, input.webhookUrl],
        );
        return { subscription: subscriptionOf(existing.rows[0]!), created: false };
      });
    },

    async getSubscription(id) {
      const r = await db.query<SubscriptionRow>('SELECT * FROM exchange_subscriptions WHERE id = $1', [id]);
      return r.rows[0] ? subscriptionOf(r.rows[0]) : null;
    },

    async listSubscriptions(consumer) {
      const r = await db.query<SubscriptionRow>('SELECT * FROM exchange_subscriptions WHERE consumer = $1 ORDER BY created_at DESC, id', [consumer]);
      return r.rows.map(subscriptionOf);
    },

    async cancelSubscription(id, actor, now) {
      return db.transaction(async (tx) => {
        const r = await tx.query<SubscriptionRow>(
          `UPDATE exchange_subscriptions SET state = 'cancelled', cancelled_at = COALESCE(cancelled_at, $2), cancelled_by = COALESCE(cancelled_by, $3)
            WHERE id = $1 RETURNING *`,
          [id, now, actor],
        );
        if (!r.rows[0]) return null;
        await tx.query(
          "UPDATE exchange_deliveries SET status = 'cancelled', next_attempt_at = NULL, updated_at = $2 WHERE subscription_id = $1 AND status = 'pending' AND claimed_until IS NULL",
          [id, now],
        );
        return subscriptionOf(r.rows[0]);
      });
    },

    async cursor(name) {
      const r = await db.query<{ seq: number | string }>('SELECT seq FROM exchange_cursors WHERE name = $1', [name]);
      return r.rows[0] === undefined ? 0 : Number(r.rows[0].seq);
    },

    async advanceCursor(name, seq, now) {
      await db.query(
        `INSERT INTO exchange_cursors (name, seq, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET seq = GREATEST(exchange_cursors.seq, EXCLUDED.seq), updated_at = EXCLUDED.updated_at`,
        [name, seq, now],
      );
    },

    async enqueue(events, now) {
      return db.transaction(async (tx) => {
        let cursor = await lockCursor(tx, WEBHOOK_CURSOR);
        let enqueued = 0;
        for (const e of [...events].sort((a, b) => a.seq - b.seq)) {
          if (e.seq <= cursor) continue;
          // The event is kept only when someone is to receive it.
          await tx.query(
            `INSERT INTO exchange_events (seq, id, dataset, department, version, kind, added, changed, removed, rows, at)
             SELECT $1::bigint, $2::text, $3::text, $4::text, $5::integer, $6::text, $7::integer, $8::integer, $9::integer, $10::integer, $11::text
              WHERE EXISTS (SELECT 1 FROM exchange_subscriptions s WHERE s.state = 'active' AND s.dataset = $3 AND s.provider = $4 AND s.after_seq < $1)
             ON CONFLICT DO NOTHING`,
            [e.seq, e.id, e.dataset, e.department, e.version, e.kind, e.added, e.changed, e.removed, e.rows, e.at],
          );
          const r = await tx.query(
            `INSERT INTO exchange_deliveries (id, subscription_id, event_seq, status, attempts, next_attempt_at, created_at, updated_at)
             SELECT gen_random_uuid()::text, s.id, $1, 'pending', 0, $4, $4, $4
               FROM exchange_subscriptions s
              WHERE s.state = 'active' AND s.dataset = $2 AND s.provider = $3 AND s.after_seq < $1
             ON CONFLICT (subscription_id, event_seq) DO NOTHING`,
            [e.seq, e.dataset, e.department, now],
          );
          enqueued += r.rowCount;
          cursor = e.seq;
        }
        await tx.query('UPDATE exchange_cursors SET seq = $2, updated_at = $3 WHERE name = $1 AND seq < $2', [WEBHOOK_CURSOR, cursor, now]);
        return { cursor, enqueued };
      });
    },

    async dueHeads(now, limit) {
      const r = await db.query<DeliveryRow>(
        `SELECT * FROM (${HEADS}) h WHERE h.next_attempt_at <= $1 AND (h.claimed_until IS NULL OR h.claimed_until <= $1)
          ORDER BY h.next_attempt_at, h.event_seq LIMIT $2`,
        [now, limit],
      );
      return r.rows.map(deliveryOf);
    },

    async nextDueAt() {
      const r = await db.query<{ at: Date | string | null }>(
        `SELECT min(GREATEST(h.next_attempt_at, COALESCE(h.claimed_until, h.next_attempt_at))) AS at FROM (${HEADS}) h`,
      );
      return date(r.rows[0]?.at ?? null);
    },

    async claim(id, holder, until, now) {
      const r = await db.query(
        `UPDATE exchange_deliveries SET claimed_until = $2, claimed_by = $3
          WHERE id = $1 AND status = 'pending' AND (claimed_until IS NULL OR claimed_until <= $4)`,
        [id, until, holder, now],
      );
      return r.rowCount === 1;
    },

    async finish(id, holder, o, now) {
      const r = await db.query(
        `UPDATE exchange_deliveries
            SET status = $3, attempts = $4, next_attempt_at = $5, last_attempt_at = $6, last_error = $7, delivered_at = $8,
                claimed_until = NULL, claimed_by = NULL, updated_at = $9
          WHERE id = $1 AND claimed_by = $2 AND status = 'pending'`,
        [id, holder, o.status, o.attempts, o.nextAttemptAt, o.lastAttemptAt, o.lastError, o.deliveredAt, now],
      );
      return r.rowCount === 1;
    },

    async getDelivery(id) {
      const r = await db.query<DeliveryRow>(`${DELIVERY_SELECT} WHERE d.id = $1`, [id]);
      return r.rows[0] ? publicDelivery(deliveryOf(r.rows[0])) : null;
    },

    async listDeliveries(filter) {
      const where: string[] = [];
      const params: unknown[] = [];
      if (filter.subscriptionId !== undefined) where.push(`d.subscription_id = $${params.push(filter.subscriptionId)}`);
      if (filter.consumer !== undefined) where.push(`s.consumer = $${params.push(filter.consumer)}`);
      if (filter.status !== undefined) where.push(`d.status = $${params.push(filter.status)}`);
      const limit = Math.max(1, Math.min(500, filter.limit ?? 50));
      const r = await db.query<DeliveryRow>(
        `${DELIVERY_SELECT} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY d.updated_at DESC, d.event_seq DESC LIMIT $${params.push(limit)}`,
        params,
      );
      return r.rows.map((row) => publicDelivery(deliveryOf(row)));
    },

    async replay(id, now) {
      const r = await db.query(
        `UPDATE exchange_deliveries SET status = 'pending', attempts = 0, next_attempt_at = $2, claimed_until = NULL, claimed_by = NULL, updated_at = $2
          WHERE id = $1 AND status = 'dead'`,
        [id, now],
      );
      return r.rowCount === 1 ? store.getDelivery(id) : null;
    },

    async ping() {
      await db.query('SELECT 1');
    },

    async close() {
      if (closed) return;
      closed = true;
      await db.close();
    },
  };
  return Object.freeze(store);
}

async function migrated(db: SqlDatabase, schema?: string): Promise<ExchangeStore> {
  try {
    await migrate(db, schema);
  } catch (error) {
    await db.close().catch(() => undefined);
    throw error;
  }
  return sqlExchangeStore(db);
}

/**
 * On a database another store owns (the contract store's: one PGlite per hub, not two). The
 * tables are migrated on it; closing this store leaves the database open for its owner.
 */
export async function createExchangeStoreOn(db: SqlDatabase, schema?: string): Promise<ExchangeStore> {
  await migrate(db, schema);
  const store = sqlExchangeStore(db);
  return Object.freeze({ ...store, close: async () => undefined });
}

/** Embedded default: PGlite persisted in `<dataDir>/exchange/db`. One store per directory per process. */
export async function createPgliteExchangeStore(options: { readonly dataDir: string }): Promise<ExchangeStore> {
  if (typeof options?.dataDir !== 'string' || options.dataDir === '') {
    throw new TongxiangError('CONFIG_INVALID', { reason: 'exchange store: dataDir is required' });
  }
  return migrated(await openPglite(join(options.dataDir, 'exchange', 'db')));
}

export interface PgExchangeStoreOptions {
  readonly connectionString: string;
  /** Schema the tables live in, created if missing. Default `public`. */
  readonly schema?: string | undefined;
  /** Pool size; default 5. */
  readonly poolSize?: number | undefined;
}

/** At scale: PostgreSQL (the hub's DATABASE_URL). The migrations run before this resolves. */
export async function createPgExchangeStore(options: PgExchangeStoreOptions): Promise<ExchangeStore> {
  const problems: string[] = [];
  if (typeof options?.connectionString !== 'string' || options.connectionString === '') problems.push('connectionString is required');
  const schema = options?.schema;
  if (schema !== undefined && !isSchemaName(schema)) problems.push('schema must be lower-case letters, digits and _');
  const poolSize = options?.poolSize ?? 5;
  if (!Number.isInteger(poolSize) || poolSize < 1) problems.push('poolSize must be a positive integer');
  if (problems.length > 0) throw new TongxiangError('CONFIG_INVALID', { reason: `exchange store: ${problems.join('; ')}` });
  return migrated(openPg(options.connectionString, schema ?? 'public', poolSize), schema);
}
