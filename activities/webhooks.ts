import { ApplicationFailure } from '@temporalio/activity';
import type { OrderActivities } from '../contracts/order';
import { WebhookAddressRefused } from '../domain/webhook-address';
import { postWebhookEvent, recordWebhookAttempt, subscribes } from '../domain/webhooks';
import { withTransaction } from '../lib/db';
import { audit } from '../store/audit';
import { insertEvent, markUndeliverable } from '../store/webhooks';
import type { ActivityDeps } from './deps';

/**
 * Sends an order's events to its caller's endpoint, recording each attempt in `webhook_events` (what the
 * ops CLI lists and replays). The endpoint's answer is never read; only its status counts.
 */
export function webhookActivities(
  deps: ActivityDeps,
): Pick<OrderActivities, 'sendWebhook' | 'webhookUndeliverable'> {
  const { db, log } = deps;
  return {
    async sendWebhook({ caller, event }) {
      const endpoint = deps.webhookEndpoints.get(caller);
      if (!endpoint) {
        log.warn(
          { orderId: event.orderId, caller },
          'webhook: the caller has no endpoint; no events are sent',
        );
        return 'no-endpoint';
      }
      if (!subscribes(endpoint, event.type)) return 'not-subscribed'; // nothing recorded, nothing sent
      await insertEvent(db, {
        id: event.id,
        orderId: event.orderId,
        caller,
        sequence: event.sequence,
        type: event.type,
        body: event,
      });
      let status: number;
      try {
        status = await postWebhookEvent(endpoint, event);
      } catch (err) {
        await recordWebhookAttempt(db, event.id, null);
        if (err instanceof WebhookAddressRefused) {
          // Nothing was sent: the endpoint resolves to an internal address. Audited once per event (not
          // retried: the workflow marks the event undeliverable, and an operator may replay it later).
          await audit(db, {
            orderId: event.orderId,
            event: 'WEBHOOK_ADDRESS_REFUSED',
            actor: 'worker',
            method: 'activity:sendWebhook',
            detail: {
              caller,
              eventId: event.id,
              sequence: event.sequence,
              addressClass: err.addressClass,
              address: err.address,
            },
          });
          log.warn(
            { orderId: event.orderId, caller, addressClass: err.addressClass },
            'webhook refused: the endpoint resolves to an internal address; nothing sent',
          );
          throw ApplicationFailure.nonRetryable(err.message, 'WebhookAddressRefused');
        }
        // Only the kind of failure: a fetch error's cause names the endpoint's address.
        const kind = err instanceof Error && err.name === 'TimeoutError' ? 'timed out' : 'is unreachable';
        throw ApplicationFailure.retryable(`webhook endpoint ${kind}`, 'WebhookUnreachable');
      }
      await recordWebhookAttempt(db, event.id, status);
      if (status >= 200 && status < 300) return 'delivered';
      if (status === 410) {
        await audit(db, {
          orderId: event.orderId,
          event: 'WEBHOOK_GONE',
          actor: 'worker',
          method: 'activity:sendWebhook',
          detail: { caller, eventId: event.id, sequence: event.sequence },
        });
        log.info(
          { orderId: event.orderId, caller },
          'webhook endpoint answered 410: no more events for this order',
        );
        return 'gone';
      }
      throw ApplicationFailure.retryable(`webhook endpoint answered HTTP ${status}`, 'WebhookRefused');
    },

    async webhookUndeliverable({ caller, event }) {
      await withTransaction(db, async (tx) => {
        const attempts = await markUndeliverable(tx, event.id);
        if (attempts === undefined) return; // a retry after a lost reply: already recorded
        await audit(tx, {
          orderId: event.orderId,
          event: 'WEBHOOK_UNDELIVERABLE',
          actor: 'worker',
          method: 'activity:webhookUndeliverable',
          count: attempts,
          detail: { caller, eventId: event.id, type: event.type, sequence: event.sequence },
        });
      });
      log.warn({ orderId: event.orderId, caller, eventId: event.id }, 'webhook event undeliverable');
    },
  };
}
