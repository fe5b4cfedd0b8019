/**
 * Intake binds an order id to its first caller and request (DESIGN 6). The binding is a row of
 * `intake_requests` written in the transaction that starts the order's workflow, so it exists before the
 * workflow does (and before the workflow registers the order): a concurrent request for the same order id
 * waits on the row's insert, then compares with what committed. Only the caller and a keyed fingerprint of
 * the request are kept (domain/orders orderRequestDigest), never the request.
 */
import { timingSafeEqual } from 'node:crypto';
import type pg from 'pg';
import type { Db } from '../../lib/db';
import { bindingOf, deleteBinding, insertBinding } from '../../store/intake';
import { orderCaller } from '../../store/orders';

/** new: this request is the order id's first; same: the first was this caller's, with this request. */
export type Binding = 'new' | 'same' | 'conflict';

export async function bindOrderRequest(
  client: pg.PoolClient,
  entry: { orderId: string; caller: string; requestHash: Buffer },
): Promise<Binding> {
  if (await insertBinding(client, entry)) return 'new';
  const first = await bindingOf(client, entry.orderId);
  const same =
    first !== undefined &&
    first.caller === entry.caller &&
    timingSafeEqual(first.requestHash, entry.requestHash);
  return same ? 'same' : 'conflict';
}

/**
 * For a first intake request whose order id already had a workflow (the order CLI started it, or intake
 * did before it recorded bindings): the order is the caller's only when the order's row names it. Otherwise
 * the new binding is withdrawn, inside the caller's transaction.
 */
export async function keepBindingIfStartedBy(
  client: pg.PoolClient,
  orderId: string,
  caller: string,
): Promise<boolean> {
  if ((await orderCaller(client, orderId)) === caller) return true;
  await deleteBinding(client, orderId, caller);
  return false;
}

/**
 * The caller an order id is bound to: its binding, or for an order intake started before it recorded
 * bindings, the caller its row names. Undefined when no intake caller started it.
 */
export async function boundCaller(db: Db, orderId: string): Promise<string | undefined> {
  return (await bindingOf(db, orderId))?.caller ?? (await orderCaller(db, orderId)) ?? undefined;
}
