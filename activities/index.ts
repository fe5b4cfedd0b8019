import type { OrderActivities } from '../contracts/order';
import { collectActivity } from './collect';
import { deliverActivity } from './deliver';
import type { ActivityDeps } from './deps';
import { lifecycleActivities } from './lifecycle';
import { webhookActivities } from './webhooks';

export type { ActivityDeps } from './deps';

/** The fulfillment activities, bound to their dependencies (the Temporal samples' dependency pattern). */
export function createActivities(deps: ActivityDeps): OrderActivities {
  return {
    collect: collectActivity(deps),
    deliver: deliverActivity(deps),
    ...lifecycleActivities(deps),
    ...webhookActivities(deps),
  };
}
