/**
 * Cross-replica cache invalidation (协议变更通知): every contract change stored in PostgreSQL sends
 * `NOTIFY tongxiang_contracts` with the consumer department and contract id, inside the
 * transaction that stores it (`store.ts`), so the notification goes out on commit and never for a
 * rolled-back change. Each replica LISTENs here on a dedicated connection (not from the pool: a
 * pooled connection is handed to other queries and LISTEN is per session).
 *
 * The cache is only trusted while this connection listens: `onLost` when it fails (an error, the
 * server ending it, or a ping unanswered within `pingTimeoutMs`), then a new connection every
 * `retryMs`; `onListening` each time LISTEN succeeds — the first time and after every reconnect —
 * since notifications sent meanwhile are gone. The hub drops its whole cache and reads through
 * while the connection is down.
 *
 * Channels are per database, not per schema: a payload names its schema and other schemas'
 * changes are ignored.
 */
import pg from 'pg';

export const CONTRACT_CHANNEL = 'tongxiang_contracts';

export interface ContractChange {
  readonly schema: string;
  readonly consumer: string;
  readonly contractId: string;
}

/** The payload `store.ts` sends (well below NOTIFY's 8000-byte limit: codes and an id). */
export function contractChangePayload(change: ContractChange): string {
  return JSON.stringify({ schema: change.schema, consumer: change.consumer, contractId: change.contractId });
}

function parseChange(payload: string | undefined): ContractChange | null {
  try {
    const p = JSON.parse(payload ?? '') as Partial<ContractChange>;
    if (typeof p.schema === 'string' && typeof p.consumer === 'string' && typeof p.contractId === 'string') {
      return { schema: p.schema, consumer: p.consumer, contractId: p.contractId };
    }
  } catch {
    // not ours
  }
  return null;
}

export interface ContractListenerOptions {
  readonly connectionString: string;
  /** The contract store's schema. Default `public`. */
  readonly schema?: string | undefined;
  /** A contract of `change.consumer` changed in another process (or this one). */
  readonly onChange: (change: ContractChange) => void;
  /** LISTEN is in place (at start and after every reconnect): anything cached before may be stale. */
  readonly onListening: () => void;
  /** The connection is gone; notifications may be missed until `onListening`. */
  readonly onLost: (error: unknown) => void;
  /** A notification that is not a contract change of this schema (or unreadable). */
  readonly onIgnored?: ((payload: string | undefined) => void) | undefined;
  /** Wait between connection attempts. Default 1000 ms. */
  readonly retryMs?: number | undefined;
  /** How often the idle connection is checked with `SELECT 1`. Default 5000 ms. */
  readonly pingMs?: number | undefined;
  /** A ping unanswered this long counts as a lost connection. Default 2000 ms. */
  readonly pingTimeoutMs?: number | undefined;
  /** Shown in pg_stat_activity. Default `tongxiang-contracts-listen`. */
  readonly applicationName?: string | undefined;
}

export interface ContractListener {
  /** True while LISTEN is in place. */
  readonly listening: boolean;
  /** Resolves after the first connection attempt, whether it succeeded or not. */
  readonly started: Promise<void>;
  close(): Promise<void>;
}

export function listenForContractChanges(options: ContractListenerOptions): ContractListener {
  const schema = options.schema ?? 'public';
  const retryMs = options.retryMs ?? 1000;
  const pingMs = options.pingMs ?? 5000;
  const pingTimeoutMs = options.pingTimeoutMs ?? 2000;
  for (const [name, v] of [['retryMs', retryMs], ['pingMs', pingMs], ['pingTimeoutMs', pingTimeoutMs]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new TypeError(`contract listener: ${name} must be a positive integer`);
  }
  let closed = false;
  let listening = false;
  let current: pg.Client | null = null;
  let retry: NodeJS.Timeout | undefined;

  async function connect(): Promise<void> {
    if (closed) return;
    const client = new pg.Client({
      connectionString: options.connectionString,
      application_name: options.applicationName ?? 'tongxiang-contracts-listen',
      keepAlive: true,
      connectionTimeoutMillis: Math.max(pingTimeoutMs, 5000),
    });
    current = client;
    let ping: NodeJS.Timeout | undefined;
    let gone = false;
    const lose = (error: unknown) => {
      if (gone) return;
      gone = true;
      clearInterval(ping);
      client.removeAllListeners('notification');
      void client.end().catch(() => undefined);
      if (current === client) current = null;
      if (closed) return;
      if (listening) {
        listening = false;
        options.onLost(error);
      }
      retry = setTimeout(() => void connect(), retryMs);
      retry.unref();
    };
    client.on('error', lose);
    client.on('end', () => lose(new Error('the LISTEN connection ended')));
    client.on('notification', (message) => {
      if (message.channel !== CONTRACT_CHANNEL) return;
      const change = parseChange(message.payload);
      if (change && change.schema === schema) options.onChange(change);
      else options.onIgnored?.(message.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CONTRACT_CHANNEL}`);
    } catch (error) {
      lose(error);
      return;
    }
    if (gone || closed) {
      if (closed) void client.end().catch(() => undefined);
      return;
    }
    listening = true;
    options.onListening();
    ping = setInterval(() => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer to a ping within ${pingTimeoutMs} ms`)), pingTimeoutMs);
      });
      Promise.race([client.query('SELECT 1'), timeout])
        .catch(lose)
        .finally(() => clearTimeout(timer));
    }, pingMs);
    ping.unref();
  }

  const started = connect();
  return {
    get listening() {
      return listening;
    },
    started,
    async close() {
      closed = true;
      clearTimeout(retry);
      listening = false;
      const client = current;
      current = null;
      await started;
      await client?.end().catch(() => undefined);
    },
  };
}
