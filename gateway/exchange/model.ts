/**
 * The exchange's subscription vocabulary (在线订阅): subscriptions, deliveries, dead letters.
 * Plain data only.
 *
 * A change event comes from the file-drop pipeline (`ChangeEvent`, sources/filedrop/model.ts):
 * counts only, never a field value.
 */
import type { ChangeEvent } from '../../sources/filedrop/model.ts';

export type { ChangeEvent };

export type SubscriptionState = 'active' | 'cancelled';

export interface Subscription {
  /** Random (UUID): an id says nothing about how many subscriptions exist. */
  readonly id: string;
  /** The subscribing department, e.g. 341504.mzj. */
  readonly consumer: string;
  /** `sub` of the user who subscribed. */
  readonly createdBy: string;
  readonly dataset: string;
  /** The publishing department, e.g. 341623.mzj. */
  readonly provider: string;
  readonly webhookUrl: string;
  readonly state: SubscriptionState;
  readonly createdAt: Date;
  readonly cancelledAt: Date | null;
  readonly cancelledBy: string | null;
  /**
   * Events with a higher `seq` are for this subscription: the outbox position when it was made, so
   * versions published before subscribing are not pushed, whatever the clocks say.
   */
  readonly afterSeq: number;
}

export interface NewSubscription {
  readonly consumer: string;
  readonly createdBy: string;
  readonly dataset: string;
  readonly provider: string;
  readonly webhookUrl: string;
}

/**
 * - `pending`: to be POSTed (again) at `nextAttemptAt`;
 * - `delivered`: the receiver answered 2xx;
 * - `dead`: every attempt failed (the dead-letter list); `replay` makes it pending again;
 * - `not-entitled`: the consumer's contract no longer covered the dataset when it was due: not
 *   sent, not retried, not dead-lettered;
 * - `cancelled`: the subscription was cancelled before it was sent.
 */
export const DELIVERY_STATUSES = ['pending', 'delivered', 'dead', 'not-entitled', 'cancelled'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export interface Delivery {
  readonly id: string;
  readonly subscriptionId: string;
  readonly consumer: string;
  readonly dataset: string;
  readonly provider: string;
  readonly event: ChangeEvent;
  readonly status: DeliveryStatus;
  /** POSTs made since it was enqueued or last replayed. */
  readonly attempts: number;
  /** When the next POST is due (pending), else null. */
  readonly nextAttemptAt: Date | null;
  readonly lastAttemptAt: Date | null;
  /** The last failure in words: `HTTP 503`, `timeout`, `ECONNREFUSED`… — never a response body. */
  readonly lastError: string | null;
  readonly deliveredAt: Date | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** A delivery ready to be POSTed: with where to and its subscription's state. */
export interface DueDelivery extends Delivery {
  readonly webhookUrl: string;
  readonly subscriptionState: SubscriptionState;
}

/** How a claimed delivery ended (one attempt, or a decision not to make one). */
export interface DeliveryOutcome {
  readonly status: DeliveryStatus;
  readonly attempts: number;
  readonly nextAttemptAt: Date | null;
  readonly lastAttemptAt: Date | null;
  readonly lastError: string | null;
  readonly deliveredAt: Date | null;
}

/** The body POSTed to a webhook: the event plus the subscription it is delivered for. */
export interface WebhookPayload extends ChangeEvent {
  readonly subscriptionId: string;
}

/** The event's fields in a fixed order (the signed bytes are exactly these). */
export function webhookPayload(event: ChangeEvent, subscriptionId: string): WebhookPayload {
  return {
    id: event.id,
    seq: event.seq,
    dataset: event.dataset,
    department: event.department,
    version: event.version,
    kind: event.kind,
    added: event.added,
    changed: event.changed,
    removed: event.removed,
    rows: event.rows,
    at: event.at,
    subscriptionId,
  };
}

/** Only the event's own fields: nothing a pipeline implementation may have added rides along. */
export function plainEvent(event: ChangeEvent): ChangeEvent {
  const { subscriptionId: _drop, ...rest } = webhookPayload(event, '');
  return rest;
}
