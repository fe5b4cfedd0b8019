import type { OrderActivities, OrderStepInput } from '../contracts/order';
import { collectActivity } from './collect';
import { deliverActivity } from './deliver';
import type { ActivityDeps } from './deps';
import { withHeartbeats } from './heartbeat';
import { lifecycleActivities } from './lifecycle';
import { checkOwnership } from './ownership';
import { webhookActivities } from './webhooks';

export type { ActivityDeps } from './deps';

/**
 * The fulfillment activities, bound to their dependencies (the Temporal samples' dependency pattern). Each
 * acts on an order only for the workflow registered for it (DESIGN 3.10): registerOrder and collect
 * register the order or check, every other step checks before it starts.
 */
export function createActivities(deps: ActivityDeps): OrderActivities {
  const lifecycle = lifecycleActivities(deps);
  const webhooks = webhookActivities(deps);
  const owned =
    <I, O>(step: string, stepInput: (input: I) => OrderStepInput, fn: (input: I) => Promise<O>) =>
    async (input: I): Promise<O> => {
      await checkOwnership(deps, stepInput(input), step);
      return fn(input);
    };
  const own = <I extends OrderStepInput, O>(step: string, fn: (input: I) => Promise<O>) =>
    owned(step, (input: I) => input, fn);
  const ofEvent = (input: Parameters<OrderActivities['sendWebhook']>[0]) => ({
    orderId: input.event.orderId,
    firstRunId: input.firstRunId,
  });
  const deliver = deliverActivity(deps);
  return {
    registerOrder: lifecycle.registerOrder,
    // The steps that wait on a provider or an SMTP server beat while they wait (heartbeatTimeout).
    collect: heartbeating(collectActivity(deps, deliver)),
    deliver: heartbeating(own('deliver', deliver)),
    notifyCustomer: heartbeating(own('notifyCustomer', lifecycle.notifyCustomer)),
    finishOrder: own('finishOrder', lifecycle.finishOrder),
    expireDelivery: own('expireDelivery', lifecycle.expireDelivery),
    revokeLinks: own('revokeLinks', lifecycle.revokeLinks),
    recordRetention: own('recordRetention', lifecycle.recordRetention),
    purgeOrder: own('purgeOrder', lifecycle.purgeOrder),
    sendWebhook: owned('sendWebhook', ofEvent, webhooks.sendWebhook),
    webhookUndeliverable: owned('webhookUndeliverable', ofEvent, webhooks.webhookUndeliverable),
  };
}

function heartbeating<I, O>(step: (input: I) => Promise<O>): (input: I) => Promise<O> {
  return (input) => withHeartbeats(() => step(input));
}
