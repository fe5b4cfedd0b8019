import type { Db } from '../../lib/db';

export interface AuditRow {
  event: string;
  actor: string;
  method: string | null;
  ip: string | null;
  user_agent: string | null;
  count: number | null;
  detail: Record<string, unknown>;
}

/** An order's audit trail, oldest first. */
export async function auditRows(db: Db, orderId: string): Promise<AuditRow[]> {
  const { rows } = await db.query<AuditRow>(
    'SELECT event, actor, method, ip, user_agent, count, detail FROM audit_log WHERE order_id = $1 ORDER BY id',
    [orderId],
  );
  return rows;
}
