/**
 * Orders as their owner sees them in the app (DESIGN 3.5). Ownership is one query by order id AND user id,
 * so an order that belongs to someone else and an order that does not exist take the same path and the
 * same time; callers answer both with the same 404.
 */
export { ownsOrder } from '../../store/orders';
