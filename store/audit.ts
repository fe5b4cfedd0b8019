/**
 * The audit trail's store: the only module that reads or writes audit_log (DESIGN 3.9). Rows are only ever
 * appended: every app role has INSERT and no UPDATE or DELETE, and the table's triggers refuse them even to
 * its owner.
 */
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
  /** An operator decoded payloads through the codec endpoint (actor operator:<username>, detail: who). */
  | 'CODEC_DECODE'
  /** A request to the codec endpoint or ops API refused: no valid operator token (401) or a role without it (403). */
  | 'OPERATOR_REFUSED'
  /** An operator acted through the ops API (cancel, purge, extend retention...): who, what, the outcome. */
  | 'OPERATOR_ACTION'
  /** An action that needs two operators was asked for by the first: pending until a second approves. */
  | 'APPROVAL_REQUESTED'
  /** A second operator approved a pending request (both named); the action's own row follows. */
  | 'APPROVAL_GRANTED'
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

type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient;

/** Appends one row; the table rejects UPDATE and DELETE by trigger. */
export async function audit(db: Queryable, e: AuditEntry): Promise<void> {
  await db.query({ name: 'audit-append', text: INSERT_ONE, values: values(e) });
}

/** When the retention sweep last recorded a run (Unix seconds), read backwards along the primary key. */
export async function lastSweepAt(db: Queryable): Promise<number | undefined> {
  const { rows } = await db.query<{ at: number }>({
    name: 'audit-last-sweep',
    text: `SELECT extract(epoch FROM at)::float8 AS at FROM audit_log WHERE event = 'SWEEP' ORDER BY id DESC LIMIT 1`,
  });
  return rows[0]?.at;
}

/** The latest key rotation run of `key` with no KEY_ROTATION_FINISHED row, and its recorded batches. */
export async function unfinishedRotation(
  db: Queryable,
  key: string,
): Promise<{ run: string; fromVersion: number; toVersion: number; cursor: string; batches: number } | null> {
  const { rows } = await db.query<{ run: string; from_version: number; to_version: number }>({
    name: 'audit-unfinished-rotation',
    text: `SELECT a.detail->>'run' AS run, (a.detail->>'fromVersion')::int AS from_version,
            (a.detail->>'toVersion')::int AS to_version
       FROM audit_log a
      WHERE a.event = 'KEY_ROTATED' AND a.detail->>'key' = $1
        AND NOT EXISTS (SELECT 1 FROM audit_log f
                         WHERE f.event = 'KEY_ROTATION_FINISHED' AND f.detail->>'key' = $1
                           AND f.detail->>'run' = a.detail->>'run')
      ORDER BY a.id DESC LIMIT 1`,
    values: [key],
  });
  const found = rows[0];
  if (!found) return null;
  const done = await db.query<{ cursor: string | null; batches: number }>({
    name: 'audit-rotation-batches',
    text: `SELECT max((detail->>'lastId')::bigint)::text AS cursor, count(*)::int AS batches
       FROM audit_log WHERE event = 'KEY_REWRAPPED' AND detail->>'key' = $1 AND detail->>'run' = $2`,
    values: [key, found.run],
  });
  return {
    run: found.run,
    fromVersion: found.from_version,
    toVersion: found.to_version,
    cursor: done.rows[0]?.cursor ?? '0',
    batches: done.rows[0]?.batches ?? 0,
  };
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

/**
 * An audit row per row of a statement's own SELECT, for a row whose values come from that statement's
 * CTEs (the order, the delivery): `select` gives, in order, order_id, event, actor, method, ip, user_agent,
 * count and detail.
 */
export function auditSelectSql(select: string): string {
  return `${INSERT} ${select}`;
}

/**
 * The key rotation's checkpoint, as the last part of the statement that rewraps a page: one KEY_REWRAPPED
 * row counting the rows of `source` (a CTE of that statement), with the run's parameters $6..$14 (key,
 * actor, run, version, pass, first and last id, read, already current); returns the count as `n`.
 */
export function rewrappedAuditSql(source: string): string {
  return `INSERT INTO audit_log (event, actor, method, count, detail)
     SELECT 'KEY_REWRAPPED', $7, 'keys:rotate', count(*),
            jsonb_build_object('key', $6::text, 'run', $8::text, 'version', $9::int, 'pass', $10::int,
                               'firstId', $11::text, 'lastId', $12::text, 'read', $13::int,
                               'alreadyCurrent', $14::int, 'rewrapped', count(*))
       FROM ${source}
     RETURNING count AS n`;
}
