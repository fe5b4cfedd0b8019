/**
 * The shortcuts that make an instant order one activity and two workflow tasks from start to link
 * (docs/benchmarks.md), each with what it trades:
 *
 * 1. **The first poll registers the order** (its row and ORDER_STARTED audit, idempotently) instead of a
 *    registerOrder step before it. Until a poll attempt has run the order has no row: a stop before any poll
 *    answered registers it first (`Order.ensureRegistered`), and the webhook events wait for it.
 * 2. **The poll that finds the order complete sends its link** (FULFILLED, every card stored), with the
 *    deliver step's own code and the delivery id the workflow chose, instead of returning for a deliver
 *    step to send it. The poll becomes a mail step while it carries the link (its timeout, a stop waits for
 *    it), so it is not given the link within the mail step's timeout of the deadline. A refusal for good
 *    comes back with the poll's answer and is recorded once; any other failure of the link leaves it to the
 *    deliver step, under the same delivery id.
 * 3. **The link that completes the order records its outcome** in the delivery's last transaction, instead
 *    of a finishOrder step: only when it carries exactly the cards no link carried before (every card, no
 *    notice); any other end is recorded by finishOrder.
 */
import { msToNumber } from '@temporalio/common/lib/time';
import {
  type CompletingDelivery,
  completingFinish,
  type DeliverInput,
  type NoticeKind,
  type OrderInput,
  type OrderState,
  type OrderStepInput,
  type RegisterOrderInput,
} from '../contracts/order';
import * as rules from './order-state';
import { MAIL_STEP_TIMEOUT } from './steps';

/** Shortcut 1: what the first poll (or a stop before it) registers. */
export function registration(input: OrderInput, step: OrderStepInput): RegisterOrderInput {
  const { userId, policy, caller = null } = input;
  return { ...step, userId, policy, caller };
}

/** Shortcut 2: the link a poll sends if it finds the order complete; null when it could not finish in time. */
export function linkForPoll(
  state: OrderState,
  input: OrderInput,
  remainingMs: number,
  stopping: boolean,
): CompletingDelivery | null {
  if (remainingMs <= msToNumber(MAIL_STEP_TIMEOUT) || stopping) return null;
  const deliveryId = rules.pendingDeliveryId(state, input.orderId);
  return { ...rules.linkFields(state, input, deliveryId), deliveredCards: state.delivered };
}

/** Shortcut 3: the outcome the concluding link records with it, when it is the one that completes the order. */
export function finishWithLink(
  state: OrderState,
  step: OrderStepInput,
  notice: NoticeKind | null,
): DeliverInput['finish'] {
  const completes = notice === null && state.quantity !== null && state.stored >= state.quantity;
  return completes ? completingFinish(step, state.stored, state.delivered) : undefined;
}
