import type { OrderActivities } from '../contracts/order';
import { collectActivity } from './collect';
import { deliverActivity } from './deliver';
import type { ActivityDeps } from './deps';
import { withHeartbeats } from './heartbeat';
import { lifecycleActivities } from './lifecycle';
import { webhookActivities } from './webhooks';

export type { ActivityDeps } from './deps';

/** The fulfillment activities, bound to their dependencies (the Temporal samples' dependency pattern). */
export function createActivities(deps: ActivityDeps): OrderActivities {
  const lifecycle = lifecycleActivities(deps);
  return {
    ...lifecycle,
    ...webhookActivities(deps),
    // The steps that wait on a provider or an SMTP server beat while they wait (heartbeatTimeout).
    collect: heartbeating(collectActivity(deps)),
    deliver: heartbeating(deliverActivity(deps)),
    notifyCustomer: heartbeating(lifecycle.notifyCustomer),
  };
}

function heartbeating<I, O>(step: (input: I) => Promise<O>): (input: I) => Promise<O> {
  return (input) => withHeartbeats(() => step(input));
}
