/**
 * Change events and subscriptions (变更事件与在线订阅): webhook deliveries (JWS-signed, retried,
 * dead-lettered, replayable), a GraphQL subscription over SSE, and change events to Kafka —
 * each gated by the consumer's contracts. See docs/exchange-subscriptions.md.
 */
export { startExchange } from './exchange.ts';
export type { Exchange, ExchangeAdminEvent, ExchangeOptions, ExchangeStatus, SubscribeInput, WatchFilter } from './exchange.ts';
export type { ExchangeLogger } from './dispatcher.ts';
export { entitled, scopeCovers } from './entitlement.ts';
export type { DatasetOwner, Entitlement } from './entitlement.ts';
export { DEFAULT_DELIVERY, afterAttempt, deliverySettings, retryDelay } from './delivery.ts';
export type { DeliverySettings, PostResult } from './delivery.ts';
export { DEFAULT_WEBHOOK_ALLOW, checkWebhookUrl, parseWebhookAllowList, redactUrl } from './webhook-url.ts';
export type { WebhookAllowList, WebhookUrlCheck } from './webhook-url.ts';
export { EVENT_JWS_TYPE, SIGNATURE_HEADER, verifyEventSignature } from './signing.ts';
export { DEFAULT_EXCHANGE_TOPIC, exchangeMessageKey } from './kafka.ts';
export { DELIVERY_STATUSES, webhookPayload } from './model.ts';
export type { Delivery, DeliveryStatus, Subscription, SubscriptionState, WebhookPayload } from './model.ts';
export { createPgExchangeStore, createPgliteExchangeStore } from './store.ts';
export type { ExchangeStore } from './store.ts';
export { extendWithExchange, isExchangeCoordinate } from './schema.ts';
export { EXCHANGE_JWKS_PATH, EXCHANGE_STREAM_PATH, exchangeStreamSchema, registerExchangeRoutes } from './sse.ts';
export type { ExchangeRouteOptions } from './sse.ts';
export { EXCHANGE_CLI_USAGE, EXCHANGE_CLI_VERBS } from './cli.ts';
export type { ExchangeCliIo, ExchangeCliVerb } from './cli.ts';
