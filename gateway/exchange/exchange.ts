/**
 * The exchange as the hub runs it (数据交换订阅): subscriptions and their webhook deliveries, the
 * live feed behind the SSE endpoint, and (when configured) the Kafka producer — all fed from the
 * file-drop pipeline's durable event outbox (`pipeline.events(afterSeq, limit)`), woken by
 * `pipeline.onEvent`.
 *
 * Who may do what: any authenticated user of a department with role developer, data_owner or
 * operator acts for its own department only. A subscription needs entitlement (entitlement.ts)
 * when it is made, and again at every delivery. Another department's subscription or delivery is
 * reported as not existing: its existence is none of the caller's business.
 *
 * Logs carry ids, departments, dataset names and webhook URLs without their query string — never
 * a token, a query string (it may hold the receiver's secret) or a data value.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { JWK } from 'jose';
import type { ActiveGrant, ContractService } from '../../contracts/index.ts';
import { systemClock, TongxiangError, type Clock, type Principal } from '../../core/index.ts';
import type { DatasetDefinition } from '../../sources/filedrop/dataset.ts';
import type { ChangeEvent, DropPipeline } from '../../sources/filedrop/model.ts';
import { deliverySettings, type DeliverySettings } from './delivery.ts';
import { startDispatcher, type Dispatcher, type ExchangeLogger } from './dispatcher.ts';
import { entitled, type Entitlement } from './entitlement.ts';
import { DEFAULT_EXCHANGE_TOPIC, startExchangeKafka, type ExchangeKafka, type ExchangeKafkaStatus } from './kafka.ts';
import { plainEvent, type Delivery, type Subscription } from './model.ts';
import { openEventSigner } from './signing.ts';
import { createExchangeStoreOn, createPgExchangeStore, createPgliteExchangeStore, WEBHOOK_CURSOR, type ExchangeStore } from './store.ts';
import type { SqlDatabase } from '../../contracts/db.ts';
import { checkWebhookUrl, DEFAULT_WEBHOOK_ALLOW, parseWebhookAllowList, redactUrl } from './webhook-url.ts';

export type ExchangeAdminEvent = 'subscription-created' | 'subscription-cancelled' | 'dead-letter-replayed';

export interface ExchangeOptions {
  readonly pipeline: Pick<DropPipeline, 'events' | 'onEvent' | 'datasets'>;
  readonly contracts: Pick<ContractService, 'grants'>;
  /** Keys in `<dataDir>/exchange/keys`; PGlite in `<dataDir>/exchange/db` unless `databaseUrl`. */
  readonly dataDir: string;
  /** A database another store owns (the contract store's): the exchange's tables go there, and it stays open on close. */
  readonly database?: SqlDatabase | undefined;
  /** PostgreSQL (the hub's DATABASE_URL): the store's tables go there instead of PGlite. */
  readonly databaseUrl?: string | undefined;
  /** PostgreSQL schema for the tables; default `public` (tests use their own). */
  readonly databaseSchema?: string | undefined;
  /** Kafka (KAFKA_BROKERS): change events also go to `topic` (default `tongxiang.exchange`). */
  readonly kafka?: { readonly brokers: string; readonly topic?: string | undefined } | undefined;
  /** Host names (`hooks.example.gov.cn`, `*.example.gov.cn`), addresses or CIDRs webhooks may go to; default loopback only. */
  readonly webhookAllow?: readonly string[] | undefined;
  readonly delivery?: Partial<DeliverySettings> | undefined;
  /** How often the outbox and the retries are looked at when nothing kicks; default 2 000 ms. */
  readonly pollMs?: number | undefined;
  /** POSTs at once (to different subscriptions); default 4. */
  readonly concurrency?: number | undefined;
  readonly logger: ExchangeLogger;
  readonly clock?: Clock | undefined;
  /** Told of subscription changes, for the audit trail's admin records. Awaited; a failure is logged. */
  readonly onAdminEvent?:
    | ((kind: ExchangeAdminEvent, actor: Principal, details: Record<string, unknown>) => void | Promise<void>)
    | undefined;
}

export interface SubscribeInput {
  readonly dataset: string;
  readonly provider: string;
  readonly webhookUrl: string;
}

export interface WatchFilter {
  readonly dataset: string;
  /** One providing department, or every one the caller is entitled to. */
  readonly provider?: string | null | undefined;
}

export interface ExchangeStatus {
  readonly webhookCursor: number;
  readonly liveSeq: number;
  /** SSE streams open now. */
  readonly liveStreams: number;
  readonly kafka: ExchangeKafkaStatus | null;
}

export interface Exchange {
  subscribe(principal: Principal, input: SubscribeInput): Promise<Subscription>;
  cancel(principal: Principal, subscriptionId: string): Promise<Subscription>;
  /** The caller's department's subscriptions, newest first. */
  subscriptions(principal: Principal): Promise<Subscription[]>;
  /** The department's dead deliveries, most recently failed first. */
  deadLetters(principal: Principal, first?: number): Promise<Delivery[]>;
  /** A dead delivery back to pending, attempts reset (entitlement and URL checked again). */
  replay(principal: Principal, deliveryId: string): Promise<Delivery>;
  /** One subscription's deliveries, most recent first. */
  deliveries(principal: Principal, subscriptionId: string, first?: number): Promise<Delivery[]>;
  /**
   * Live events of one dataset as they are published, each checked against the caller's grants
   * at the moment it is handed out. Refuses up front when `provider` is named and not entitled.
   * `return()` on the iterator ends it.
   */
  watch(principal: Principal, filter: WatchFilter): Promise<AsyncIterableIterator<ChangeEvent>>;
  /** Whether the department may hear of this department's dataset now (for callers outside). */
  entitlement(department: string, ref: { dataset: string; department: string }): Promise<Entitlement>;
  /** The public keys webhook signatures verify with (served at /exchange/jwks.json). */
  jwks(): { keys: JWK[] };
  /** Read the outbox and deliver what is due now. */
  kick(): void;
  status(): Promise<ExchangeStatus>;
  /** Kafka only: resolves once every event in the outbox is acknowledged (tests, shutdown). */
  drainKafka(timeoutMs: number): Promise<void>;
  /** Stops timers, waits for POSTs in flight, ends live streams, closes the producer and the store. */
  close(): Promise<void>;
}

const ACTING_ROLES = ['developer', 'data_owner', 'operator'] as const;
const MAX_FIRST = 500;
/** A live stream that falls this far behind is ended (the client reconnects) rather than buffered without bound. */
const LIVE_QUEUE_LIMIT = 1_000;

function mayAct(principal: Principal): void {
  if (!principal.roles.some((r) => (ACTING_ROLES as readonly string[]).includes(r))) {
    throw new TongxiangError('FORBIDDEN_ACTION', {
      reason: '订阅数据集需要 developer、data_owner 或 operator 角色 / subscriptions need the developer, data_owner or operator role',
    });
  }
}

function firstOf(first: number | undefined): number {
  const n = first ?? 50;
  if (!Number.isInteger(n) || n < 1 || n > MAX_FIRST) {
    throw new TongxiangError('BAD_USER_INPUT', { reason: `first 须为 1 到 ${MAX_FIRST} 的整数 / first must be an integer from 1 to ${MAX_FIRST}` });
  }
  return n;
}

function checkOptions(options: ExchangeOptions): void {
  const problems: string[] = [];
  if (typeof options?.pipeline?.events !== 'function' || typeof options.pipeline.onEvent !== 'function' || !Array.isArray(options.pipeline.datasets)) {
    problems.push('pipeline with events, onEvent and datasets is required');
  }
  if (typeof options?.contracts?.grants !== 'function') problems.push('contracts with grants is required');
  if (typeof options?.dataDir !== 'string' || options.dataDir === '') problems.push('dataDir is required');
  if (options?.kafka !== undefined && (typeof options.kafka.brokers !== 'string' || options.kafka.brokers.trim() === '')) problems.push('kafka.brokers is required');
  for (const key of ['pollMs', 'concurrency'] as const) {
    const v = options?.[key];
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) problems.push(`${key} must be a positive integer`);
  }
  if (typeof options?.logger?.info !== 'function') problems.push('logger is required');
  if (problems.length > 0) throw new TongxiangError('CONFIG_INVALID', { reason: `exchange: ${problems.join('; ')}` });
}

export async function startExchange(options: ExchangeOptions): Promise<Exchange> {
  checkOptions(options);
  const allow = parseWebhookAllowList(options.webhookAllow ?? DEFAULT_WEBHOOK_ALLOW);
  const settings = deliverySettings(options.delivery);
  const clock = options.clock ?? systemClock;
  const { pipeline, contracts, logger } = options;
  const instance = `exchange-${randomUUID()}`;

  const datasetOf = (name: string): DatasetDefinition | undefined => pipeline.datasets.find((d) => d.name === name);
  const graphqlTypeOf = (name: string): string | undefined => datasetOf(name)?.graphqlType;
  const grantsFor = (department: string, now: number): Promise<readonly ActiveGrant[]> => contracts.grants(department, now);
  const events = async (afterSeq: number, limit: number): Promise<ChangeEvent[]> => (await pipeline.events(afterSeq, limit)).map(plainEvent);

  const store: ExchangeStore = options.databaseUrl
    ? await createPgExchangeStore({ connectionString: options.databaseUrl, schema: options.databaseSchema })
    : options.database
    ? await createExchangeStoreOn(options.database, options.databaseSchema)
    : await createPgliteExchangeStore({ dataDir: options.dataDir });

  const watchers = new Set<(events: readonly ChangeEvent[]) => void>();
  let dispatcher: Dispatcher | undefined;
  let kafka: ExchangeKafka | null = null;
  let unsubscribe: (() => void) | undefined;
  try {
    const signer = await openEventSigner(join(options.dataDir, 'exchange', 'keys'));
    dispatcher = await startDispatcher({
      store,
      events,
      grantsFor,
      graphqlTypeOf,
      signer,
      allow,
      settings,
      clock,
      logger,
      instance,
      pollMs: options.pollMs ?? 2_000,
      concurrency: options.concurrency ?? 4,
      onLive: (fresh) => {
        for (const watcher of watchers) watcher(fresh);
      },
    });
    if (options.kafka) {
      const topic = options.kafka.topic ?? DEFAULT_EXCHANGE_TOPIC;
      const name = `kafka:${topic}`;
      kafka = startExchangeKafka({
        brokers: options.kafka.brokers,
        topic,
        events,
        cursor: { load: () => store.cursor(name), save: (seq) => store.advanceCursor(name, seq, new Date(clock.now())) },
        onError: (error) => logger.warn('exchange Kafka producer problem; retrying', { problem: error.message }),
      });
    }
    const d = dispatcher;
    const k = kafka;
    unsubscribe = pipeline.onEvent(() => {
      d.kick();
      k?.kick();
    });
    logger.info('exchange started', {
      store: options.databaseUrl ? 'postgresql' : 'pglite',
      kafka: options.kafka ? (options.kafka.topic ?? DEFAULT_EXCHANGE_TOPIC) : 'off',
      webhookAllow: allow.entries,
      keyId: signer.jwks().keys.at(-1)?.kid,
    });

    return buildExchange({ signer, dispatcher: d, kafka: k });
  } catch (error) {
    unsubscribe?.();
    await dispatcher?.close().catch(() => undefined);
    await kafka?.close().catch(() => undefined);
    await store.close().catch(() => undefined);
    throw error;
  }

  function buildExchange(parts: { signer: { jwks(): { keys: JWK[] } }; dispatcher: Dispatcher; kafka: ExchangeKafka | null }): Exchange {
    let closed = false;
    const closers = new Set<() => void>();

    async function admin(kind: ExchangeAdminEvent, actor: Principal, details: Record<string, unknown>): Promise<void> {
      try {
        await options.onAdminEvent?.(kind, actor, details);
      } catch (error) {
        logger.error('exchange admin event not recorded', { kind, error: error instanceof Error ? error.message : String(error) });
      }
    }

    async function entitlement(department: string, ref: { dataset: string; department: string }): Promise<Entitlement> {
      return entitled(department, ref, graphqlTypeOf(ref.dataset), await grantsFor(department, clock.now()));
    }

    async function own(principal: Principal, subscriptionId: string): Promise<Subscription> {
      const subscription = typeof subscriptionId === 'string' && subscriptionId !== '' ? await store.getSubscription(subscriptionId) : null;
      if (!subscription || subscription.consumer !== principal.department.code) throw new TongxiangError('SUBSCRIPTION_NOT_FOUND', { subscriptionId: String(subscriptionId) });
      return subscription;
    }

    function knownDataset(dataset: string, provider: string): DatasetDefinition {
      const def = typeof dataset === 'string' ? datasetOf(dataset) : undefined;
      if (!def || typeof provider !== 'string' || !def.intake.departments.includes(provider)) {
        throw new TongxiangError('SUBSCRIPTION_DATASET_UNKNOWN', { dataset: String(dataset), provider: String(provider) });
      }
      return def;
    }

    const exchange: Exchange = {
      async subscribe(principal, input) {
        mayAct(principal);
        const { dataset, provider } = input;
        knownDataset(dataset, provider);
        const checked = checkWebhookUrl(input.webhookUrl, allow);
        if (!checked.ok) throw new TongxiangError('WEBHOOK_URL_REFUSED', { reason: checked.reason });
        const consumer = principal.department.code;
        const decision = await entitlement(consumer, { dataset, department: provider });
        if (!decision.ok) throw new TongxiangError('SUBSCRIPTION_NOT_ENTITLED', { dataset, provider, reason: decision.reason });
        // The subscription starts after the outbox as it is now: bring the cursor up to date first.
        await parts.dispatcher.catchUp().catch((error: unknown) => logger.warn('exchange outbox not read before subscribing', { error: String(error) }));
        const url = new URL(checked.url.href);
        url.hash = '';
        const { subscription, created } = await store.createSubscription(
          { consumer, createdBy: principal.subject, dataset, provider, webhookUrl: url.href },
          new Date(clock.now()),
        );
        if (created) {
          const details = { subscriptionId: subscription.id, dataset, provider, webhook: redactUrl(url), contractIds: decision.contractIds };
          logger.info('exchange subscription created', { ...details, consumer });
          await admin('subscription-created', principal, details);
        }
        return subscription;
      },

      async cancel(principal, subscriptionId) {
        mayAct(principal);
        const before = await own(principal, subscriptionId);
        const after = await store.cancelSubscription(before.id, principal.subject, new Date(clock.now()));
        if (!after) throw new TongxiangError('SUBSCRIPTION_NOT_FOUND', { subscriptionId });
        if (before.state === 'active') {
          const details = { subscriptionId: before.id, dataset: before.dataset, provider: before.provider };
          logger.info('exchange subscription cancelled', { ...details, consumer: before.consumer });
          await admin('subscription-cancelled', principal, details);
        }
        return after;
      },

      async subscriptions(principal) {
        mayAct(principal);
        return store.listSubscriptions(principal.department.code);
      },

      async deadLetters(principal, first) {
        mayAct(principal);
        return store.listDeliveries({ consumer: principal.department.code, status: 'dead', limit: firstOf(first) });
      },

      async replay(principal, deliveryId) {
        mayAct(principal);
        const delivery = typeof deliveryId === 'string' && deliveryId !== '' ? await store.getDelivery(deliveryId) : null;
        if (!delivery || delivery.consumer !== principal.department.code) throw new TongxiangError('DELIVERY_NOT_FOUND', { deliveryId: String(deliveryId) });
        if (delivery.status !== 'dead') {
          throw new TongxiangError('DELIVERY_NOT_REPLAYABLE', { deliveryId, reason: `状态为 ${delivery.status}，只有死信可以重放 / it is ${delivery.status}; only dead letters can be replayed` });
        }
        const subscription = await own(principal, delivery.subscriptionId);
        if (subscription.state !== 'active') {
          throw new TongxiangError('DELIVERY_NOT_REPLAYABLE', { deliveryId, reason: '订阅已取消 / the subscription is cancelled' });
        }
        const decision = await entitlement(subscription.consumer, { dataset: subscription.dataset, department: subscription.provider });
        if (!decision.ok) throw new TongxiangError('SUBSCRIPTION_NOT_ENTITLED', { dataset: subscription.dataset, provider: subscription.provider, reason: decision.reason });
        const checked = checkWebhookUrl(subscription.webhookUrl, allow);
        if (!checked.ok) throw new TongxiangError('WEBHOOK_URL_REFUSED', { reason: checked.reason });
        const replayed = await store.replay(delivery.id, new Date(clock.now()));
        if (!replayed) {
          throw new TongxiangError('DELIVERY_NOT_REPLAYABLE', { deliveryId, reason: '已被其他请求重放 / it was replayed by another request meanwhile' });
        }
        const details = { deliveryId: delivery.id, subscriptionId: subscription.id, eventId: delivery.event.id, attemptsBefore: delivery.attempts };
        logger.info('exchange dead letter replayed', { ...details, consumer: subscription.consumer });
        await admin('dead-letter-replayed', principal, details);
        parts.dispatcher.kick();
        return replayed;
      },

      async deliveries(principal, subscriptionId, first) {
        mayAct(principal);
        const subscription = await own(principal, subscriptionId);
        return store.listDeliveries({ subscriptionId: subscription.id, limit: firstOf(first) });
      },

      async watch(principal, filter) {
        mayAct(principal);
        if (closed) throw new TongxiangError('CONFIG_INVALID', { reason: 'exchange is closed' });
        const dataset = filter.dataset;
        const provider = filter.provider ?? null;
        const consumer = principal.department.code;
        if (!datasetOf(dataset)) throw new TongxiangError('SUBSCRIPTION_DATASET_UNKNOWN', { dataset: String(dataset), provider: String(provider ?? '*') });
        if (provider !== null) {
          knownDataset(dataset, provider);
          const decision = await entitlement(consumer, { dataset, department: provider });
          if (!decision.ok) throw new TongxiangError('SUBSCRIPTION_NOT_ENTITLED', { dataset, provider, reason: decision.reason });
        }
        return liveStream(consumer, dataset, provider);
      },

      entitlement,
      jwks: () => parts.signer.jwks(),
      kick: () => {
        parts.dispatcher.kick();
        parts.kafka?.kick();
      },

      async status() {
        return { webhookCursor: await store.cursor(WEBHOOK_CURSOR), liveSeq: parts.dispatcher.liveSeq(), liveStreams: watchers.size, kafka: parts.kafka?.status() ?? null };
      },

      async drainKafka(timeoutMs) {
        if (!parts.kafka) throw new TongxiangError('CONFIG_INVALID', { reason: 'exchange: Kafka is not configured' });
        await parts.kafka.drain(timeoutMs);
      },

      async close() {
        if (closed) return;
        closed = true;
        unsubscribe?.();
        for (const end of [...closers]) end();
        await parts.dispatcher.close();
        await parts.kafka?.close();
        await store.close();
        logger.info('exchange stopped');
      },
    };

    /** A bounded queue per stream; entitlement decided as each event is taken out to be sent. */
    function liveStream(consumer: string, dataset: string, provider: string | null): AsyncIterableIterator<ChangeEvent> {
      const queue: ChangeEvent[] = [];
      let wake: (() => void) | null = null;
      let ended = false;
      let overflowed = false;
      const end = (): void => {
        ended = true;
        watchers.delete(watcher);
        closers.delete(end);
        wake?.();
      };
      const watcher = (fresh: readonly ChangeEvent[]): void => {
        for (const e of fresh) {
          if (e.dataset !== dataset || (provider !== null && e.department !== provider)) continue;
          if (queue.length >= LIVE_QUEUE_LIMIT) {
            overflowed = true;
            end();
            return;
          }
          queue.push(e);
        }
        wake?.();
      };
      watchers.add(watcher);
      closers.add(end);
      const iterator: AsyncIterableIterator<ChangeEvent> = {
        async next() {
          for (;;) {
            const event = queue.shift();
            if (event) {
              // Decided now, as it is sent: a contract ended since the stream began stops the events.
              const decision = await entitlement(consumer, event).catch((error: unknown) => {
                logger.warn('exchange live event withheld: entitlement could not be decided', { consumer, eventId: event.id, error: String(error) });
                return null;
              });
              if (decision?.ok) return { value: event, done: false };
              continue;
            }
            if (ended) {
              if (overflowed) logger.warn('exchange live stream ended: the client fell behind', { consumer, dataset });
              return { value: undefined, done: true };
            }
            await new Promise<void>((resolve) => (wake = resolve));
            wake = null;
          }
        },
        async return() {
          end();
          queue.length = 0;
          return { value: undefined, done: true };
        },
        [Symbol.asyncIterator]() {
          return iterator;
        },
      };
      return iterator;
    }

    return Object.freeze(exchange);
  }
}
