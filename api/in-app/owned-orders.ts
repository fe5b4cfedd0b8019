/**
 * Orders as their owner sees them in the app (DESIGN 3.5). Ownership is one query by order id AND user id,
 * so an order that belongs to someone else and an order that does not exist take the same path and the
 * same time; callers answer both with the same 404.
 */
import type { Db } from '../../lib/db';

export async function ownsOrder(db: Db, orderId: string, userId: string): Promise<boolean> {
  const { rowCount } = await db.query('SELECT 1 FROM orders WHERE order_id = $1 AND user_id = $2', [
    orderId,
    userId,
  ]);
  return (rowCount ?? 0) > 0;
}
