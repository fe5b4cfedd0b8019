/**
 * The order's activities as the workflow calls them, with timeouts sized to each kind of step, so that a
 * step lost with its worker is retried elsewhere within seconds instead of after a long start-to-close:
 * database bookkeeping is quick; mail waits on an SMTP server and heartbeats meanwhile. Every step is
 * idempotent, so a retry of one that did finish is harmless.
 */
import * as wf from '@temporalio/workflow';
import type { OrderActivities } from '../contracts/order';

export const RETRY = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute' } as const;

/** Database bookkeeping. */
export const steps = wf.proxyActivities<OrderActivities>({ startToCloseTimeout: '10 seconds', retry: RETRY });

export const MAIL_STEP_TIMEOUT = '2 minutes';

/** Steps that send mail (and so wait on an SMTP server). */
export const mail = wf.proxyActivities<OrderActivities>({
  startToCloseTimeout: MAIL_STEP_TIMEOUT,
  heartbeatTimeout: '5 seconds',
  retry: RETRY,
  // An operator's stop waits for a link email in flight to end (sent or not) before it revokes the links
  // and purges: nothing it minted can outlive the revocation.
  cancellationType: wf.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});
