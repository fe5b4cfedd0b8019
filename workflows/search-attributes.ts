/**
 * Search attributes operators filter orders by in the Temporal UI (`OrderStatus="failed"`). The server
 * indexes them in plaintext (the codec never sees them), so they hold phases and counts only: no email, no
 * user id, no card data (DESIGN 3.6). scripts/stack.sh registers them on the dev server and
 * test/helpers/time-skipping.ts on the test server; a cluster needs `temporal operator search-attribute create`.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** The order's phase: collecting, delivering, delivered, failed, cancelled, purged. */
export const OrderStatusKey = defineSearchAttributeKey('OrderStatus', SearchAttributeType.KEYWORD);
/** DELIVERED, PARTIALLY_DELIVERED, FAILED or CANCELLED, once the order concluded. */
export const OrderOutcomeKey = defineSearchAttributeKey('OrderOutcome', SearchAttributeType.KEYWORD);
/** Cards stored for the order so far (a count survives the purge; the cards do not). */
export const CardCountKey = defineSearchAttributeKey('CardCount', SearchAttributeType.INT);

export const ORDER_SEARCH_ATTRIBUTES = [OrderStatusKey, OrderOutcomeKey, CardCountKey];
