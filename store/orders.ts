/**
 * The orders' store: the only module that reads or writes the `orders` table. Statements of other stores
 * that must change or read an order in their own round trip take a fragment from here (`answeredSql`,
 * `firstDeliveredSql`, `callerSql`), so the table's SQL is written in this file alone.
 */
import type pg from 'pg';
import { type AuditEntry, auditEach } from './audit';

type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient;

/**
 * The order's row and its ORDER_STARTED audit row, in one statement; whether it was new. purge_after
 * starts as a backstop (deadline + retention) for the sweep, should the workflow be lost before
 * delivering; the first delivery replaces it with delivery time + retention.
 */
export async function insertOrder(
  db: Queryable,
  order: {
    orderId: string;
    userId: string;
    workflowId: string;
    firstRunId: string | undefined;
    policy: unknown;
    backstopMs: number;
    caller: string | null | undefined;
  },
  audited: AuditEntry,
): Promise<boolean> {
  const row = auditEach('registered', audited, 7);
  const { rowCount } = await db.query({
    name: 'orders-insert',
    text: `WITH registered AS (
       INSERT INTO orders (order_id, user_id, workflow_id, workflow_first_run_id, policy, caller, purge_after)
       VALUES ($1, $2, $3, $4, $5, $7, now() + make_interval(secs => $6::double precision / 1000))
       ON CONFLICT (order_id) DO NOTHING RETURNING order_id)
     ${row.sql}`,
    values: [
      order.orderId,
      order.userId,
      order.workflowId,
      order.firstRunId,
      JSON.stringify(order.policy),
      order.backstopMs,
      order.caller,
      ...row.params,
    ],
  });
  return (rowCount ?? 0) > 0;
}

/**
 * Records how the order ended, once (only the first call finds no outcome yet), with its audit row when
 * given; whether this call ended it.
 */
export async function recordOutcome(
  db: Queryable,
  outcome: {
    orderId: string;
    outcome: string;
    failureReason: string | null | undefined;
    providerStatus: string | null | undefined;
  },
  audited: AuditEntry | undefined,
): Promise<boolean> {
  const row = audited ? auditEach('ended', audited, 4) : undefined;
  const { rows } = await db.query<{ ended: number }>({
    name: row ? 'orders-outcome-audited' : 'orders-outcome',
    text: `WITH ended AS (
       UPDATE orders SET outcome = $2, failure_reason = $3,
         provider_status = coalesce($4, provider_status), updated_at = now()
       WHERE order_id = $1 AND outcome IS NULL RETURNING 1)
     ${row ? `, audited AS (${row.sql})` : ''}
     SELECT count(*)::int AS ended FROM ended`,
    values: [
      outcome.orderId,
      outcome.outcome,
      outcome.failureReason,
      outcome.providerStatus,
      ...(row?.params ?? []),
    ],
  });
  return (rows[0]?.ended ?? 0) > 0;
}

/** The workflow registered for the order and its first run (null before its first step recorded it). */
export async function orderOwner(
  db: Queryable,
  orderId: string,
): Promise<{ workflowId: string; firstRunId: string | null } | undefined> {
  const { rows } = await db.query<{ workflow_id: string; workflow_first_run_id: string | null }>({
    name: 'orders-owner',
    text: 'SELECT workflow_id, workflow_first_run_id FROM orders WHERE order_id = $1',
    values: [orderId],
  });
  const row = rows[0];
  return row && { workflowId: row.workflow_id, firstRunId: row.workflow_first_run_id };
}

/** Records the first run of the order's workflow, once; whether this call did. */
export async function bindFirstRun(
  db: Queryable,
  orderId: string,
  workflowId: string,
  firstRunId: string,
): Promise<boolean> {
  const { rowCount } = await db.query({
    name: 'orders-bind-first-run',
    text: `UPDATE orders SET workflow_first_run_id = $2
            WHERE order_id = $1 AND workflow_id = $3 AND workflow_first_run_id IS NULL`,
    values: [orderId, firstRunId, workflowId],
  });
  return (rowCount ?? 0) > 0;
}

/** The intake caller that started the order: null from the CLI, undefined when there is no such order. */
export async function orderCaller(db: Queryable, orderId: string): Promise<string | null | undefined> {
  const { rows } = await db.query<{ caller: string | null }>({
    name: 'orders-caller',
    text: 'SELECT caller FROM orders WHERE order_id = $1',
    values: [orderId],
  });
  return rows[0]?.caller;
}

/** Whether `userId` owns the order (the in-app API's JWT subject). */
export async function ownsOrder(db: Queryable, orderId: string, userId: string): Promise<boolean> {
  const { rowCount } = await db.query({
    name: 'orders-owned',
    text: 'SELECT 1 FROM orders WHERE order_id = $1 AND user_id = $2',
    values: [orderId, userId],
  });
  return (rowCount ?? 0) > 0;
}

/** The sweep's purge time, kept in step with the workflow's own purge timer. */
export async function setPurgeAfter(db: Queryable, orderId: string, at: Date): Promise<void> {
  await db.query({
    name: 'orders-purge-after',
    text: 'UPDATE orders SET purge_after = $2, updated_at = now() WHERE order_id = $1',
    values: [orderId, at],
  });
}

/** Not delivered yet: the backstop pushed out (the first delivery adds the extension itself). */
export async function extendBackstop(db: Queryable, orderId: string, byMs: number): Promise<void> {
  await db.query({
    name: 'orders-extend-backstop',
    text: `UPDATE orders SET purge_after = purge_after + make_interval(secs => $2::double precision / 1000),
             updated_at = now() WHERE order_id = $1`,
    values: [orderId, byMs],
  });
}

/** The orders the next sweep would purge, oldest due first. */
export async function dueOrders(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ order_id: string }>({
    name: 'orders-due',
    text: 'SELECT order_id FROM orders WHERE purged_at IS NULL AND purge_after <= now() ORDER BY purge_after',
  });
  return rows.map((r) => r.order_id);
}

/** Orders past their deadline without an outcome (an index covers the open ones). */
export async function overdueOrders(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ n: number }>({
    name: 'orders-overdue',
    text: `SELECT count(*)::int AS n FROM orders
            WHERE outcome IS NULL AND created_at + (policy->>'deadline')::interval < now()`,
  });
  return rows[0]?.n ?? 0;
}

export interface CallerOrderRow {
  provider_status: string;
  quantity: number | null;
  outcome: string | null;
  failure_reason: string | null;
  created_at: Date;
  purged_at: Date | null;
}

/** An order as its intake caller may see it; undefined when it is not that caller's. */
export async function callerOrder(
  db: Queryable,
  orderId: string,
  caller: string,
): Promise<CallerOrderRow | undefined> {
  const { rows } = await db.query<CallerOrderRow>({
    name: 'orders-of-caller',
    text: `SELECT provider_status, quantity, outcome, failure_reason, created_at, purged_at
             FROM orders WHERE order_id = $1 AND caller = $2`,
    values: [orderId, caller],
  });
  return rows[0];
}

// ---------------------------------------------------------------- fragments for other stores' statements

/** The provider's answer on the order ($-numbered parameters of the enclosing statement). */
export function answeredSql(p: { orderId: string; status: string; quantity: string }): string {
  return `UPDATE orders SET provider_status = ${p.status}, quantity = ${p.quantity}, updated_at = now()
          WHERE order_id = ${p.orderId}`;
}

/**
 * The order's first delivery and the retention it starts; returns how long the order waited for its first
 * link (null when this was not it). now() is the statement's start: delivered_at equals it only then.
 */
export function firstDeliveredSql(p: { orderId: string; retentionMs: string }): string {
  return `UPDATE orders SET delivered_at = coalesce(delivered_at, now()),
         purge_after = CASE WHEN delivered_at IS NULL
           THEN now() + make_interval(secs => ${p.retentionMs}::double precision / 1000) ELSE purge_after END,
         updated_at = now()
       WHERE order_id = ${p.orderId}
       RETURNING CASE WHEN delivered_at = now() THEN extract(epoch FROM now() - created_at)::float8 END
         AS first_link_after`;
}

/**
 * A subquery (order_id, purge_after): the orders not purged yet that have a purge date, for a statement
 * that joins them to their cards.
 */
export function livePurgeDatesSql(): string {
  return '(SELECT order_id, purge_after FROM orders WHERE purged_at IS NULL AND purge_after IS NOT NULL)';
}

/** A scalar subquery: the caller of the order whose id is `orderId` (an expression). */
export function callerSql(orderId: string): string {
  return `(SELECT o.caller FROM orders o WHERE o.order_id = ${orderId})`;
}
