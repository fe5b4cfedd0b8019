import type pg from 'pg';

/** The audit trail's events (DESIGN 3.9). */
export type AuditEvent =
  | 'ORDER_STARTED'
  | 'CARDS_STORED'
  | 'DELIVERED'
  | 'NOTIFIED'
  | 'NOTICE_FAILED'
  | 'DELIVERY_FAILED'
  | 'LINK_VIEWED'
  | 'REVEALED'
  | 'DOWNLOADED'
  | 'EXPIRED'
  | 'REVOKED'
  | 'PURGED'
  | 'FAILED'
  | 'CANCELLED'
  | 'RETENTION_EXTENDED'
  | 'KEY_DESTROYED'
  /** Cards of an order moved to the key bucket of their purge date (domain/card-buckets.ts): from, to. */
  | 'CARDS_REBUCKETED'
  /** A key rotated by `npm run keys:rotate` (key, run, versions); starts a run. */
  | 'KEY_ROTATED'
  /** One batch of a run's rewrap: key, run, id range, counts (never a ciphertext); the run's checkpoint. */
  | 'KEY_REWRAPPED'
  /** A run done: every card under the new version, min_decryption_version raised (or not, and why). */
  | 'KEY_ROTATION_FINISHED'
  | 'SWEEP'
  | 'WEBHOOK_GONE'
  | 'WEBHOOK_UNDELIVERABLE'
  | 'WEBHOOK_REPLAYED'
  /** A webhook's endpoint resolved to a loopback, private or link-local address: nothing was sent. */
  | 'WEBHOOK_ADDRESS_REFUSED'
  /** A workflow that is not the order's own asked an activity to act on it (DESIGN 3.10): nothing done. */
  | 'OWNERSHIP_REFUSED'
  /** The order's intake caller asked for a new link (to a corrected recipient). */
  | 'RESEND_REQUESTED'
  | 'CODEC_DECODE'
  | 'REVEAL_KEY_ISSUED'
  | 'REVEAL_KEY_BURNED';

export interface AuditEntry {
  orderId?: string | null;
  event: AuditEvent;
  /** Who: a component ("worker", "api", "retention") or a principal ("customer", "user:<id>", "operator"). */
  actor: string;
  /** How: the route or activity ("POST /d/:token/reveal", "activity:deliver"). */
  method?: string;
  ip?: string;
  userAgent?: string;
  count?: number;
  /** Never a secret: ids, counts, reasons. */
  detail?: Record<string, unknown>;
}

const COLUMNS = ['order_id', 'event', 'actor', 'method', 'ip', 'user_agent', 'count', 'detail'] as const;
const TYPES = ['text', 'text', 'text', 'text', 'text', 'text', 'int', 'jsonb'] as const;

function values(e: AuditEntry): unknown[] {
  return [
    e.orderId ?? null,
    e.event,
    e.actor,
    e.method ?? null,
    e.ip ?? null,
    e.userAgent?.slice(0, 512) ?? null,
    e.count ?? null,
    JSON.stringify(e.detail ?? {}),
  ];
}

const INSERT = `INSERT INTO audit_log (${COLUMNS.join(', ')})`;
const INSERT_ONE = `${INSERT} VALUES (${COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})`;

/** Appends one row; the table rejects UPDATE and DELETE by trigger. */
export async function audit(db: Pick<pg.Pool, 'query'> | pg.PoolClient, e: AuditEntry): Promise<void> {
  await db.query(INSERT_ONE, values(e));
}

/**
 * The same row written by the statement that makes the change it records, as one of its data-modifying
 * CTEs: one row per row of `source` (another CTE of that statement; none when it is empty), atomic without
 * a transaction and in the change's own round trip. Its parameters are numbered after the statement's
 * first `after`; `count`, when given, is an expression over `source` that replaces e.count.
 */
export function auditEach(
  source: string,
  e: AuditEntry,
  after: number,
  count?: string,
): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const select = values(e).map((value, i) => {
    if (count !== undefined && COLUMNS[i] === 'count') return count;
    params.push(value);
    return `$${after + params.length}::${TYPES[i]}`;
  });
  return {
    sql: `${INSERT} SELECT ${select.join(', ')} FROM ${source}`,
    params,
  };
}
