/**
 * The dual-control requests' store: the only module that reads or writes `operator_approvals` (the API's
 * role only: the ops API runs in the API process).
 * A request is approved at most once, by a person other than the one who asked, before it expires; the
 * claim is one UPDATE, so two approvers racing cannot both act.
 */
import { randomUUID } from 'node:crypto';
import type { OperatorIdentity } from '../contracts/operators';
import type { Db } from '../lib/db';

export type ApprovalAction = 'resend' | 'purge';

export interface Approval {
  id: string;
  orderId: string;
  action: ApprovalAction;
  requestedBy: { subject: string; username: string; name: string };
  requestedAt: Date;
  expiresAt: Date;
  approvedBy?: { subject: string; username: string; name: string };
  outcome?: string;
}

interface Row {
  id: string;
  order_id: string;
  action: ApprovalAction;
  requested_subject: string;
  requested_username: string;
  requested_name: string;
  requested_at: Date;
  expires_at: Date;
  approved_subject: string | null;
  approved_username: string | null;
  approved_name: string | null;
  outcome: string | null;
}

function fromRow(r: Row): Approval {
  return {
    id: r.id,
    orderId: r.order_id,
    action: r.action,
    requestedBy: { subject: r.requested_subject, username: r.requested_username, name: r.requested_name },
    requestedAt: r.requested_at,
    expiresAt: r.expires_at,
    ...(r.approved_subject
      ? {
          approvedBy: {
            subject: r.approved_subject,
            username: r.approved_username!,
            name: r.approved_name!,
          },
        }
      : {}),
    ...(r.outcome ? { outcome: r.outcome } : {}),
  };
}

export async function requestApproval(
  db: Db,
  input: { orderId: string; action: ApprovalAction; requester: OperatorIdentity; ttlMs: number },
): Promise<Approval> {
  const { rows } = await db.query<Row>({
    name: 'operator-approvals-request',
    text: `INSERT INTO operator_approvals
       (id, order_id, action, requested_subject, requested_username, requested_name, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, now() + $7::integer * interval '1 millisecond')
     RETURNING *`,
    values: [
      randomUUID(),
      input.orderId,
      input.action,
      input.requester.subject,
      input.requester.username,
      input.requester.name,
      input.ttlMs,
    ],
  });
  return fromRow(rows[0]!);
}

export type ApproveResult =
  | { ok: true; approval: Approval }
  | { ok: false; reason: 'unknown' | 'own request' | 'already approved' | 'expired' };

/** Claims the request for `approver`: once, by someone else, before it expires. */
export async function approve(db: Db, id: string, approver: OperatorIdentity): Promise<ApproveResult> {
  const { rows } = await db.query<Row>({
    name: 'operator-approvals-approve',
    text: `UPDATE operator_approvals
        SET approved_subject = $2, approved_username = $3, approved_name = $4, approved_at = now()
      WHERE id = $1 AND approved_at IS NULL AND expires_at > now() AND requested_subject <> $2
      RETURNING *`,
    values: [id, approver.subject, approver.username, approver.name],
  });
  if (rows[0]) return { ok: true, approval: fromRow(rows[0]) };
  const found = await findApproval(db, id);
  if (!found) return { ok: false, reason: 'unknown' };
  if (found.approvedBy) return { ok: false, reason: 'already approved' };
  if (found.requestedBy.subject === approver.subject) return { ok: false, reason: 'own request' };
  return { ok: false, reason: 'expired' };
}

export async function recordOutcome(db: Db, id: string, outcome: string): Promise<void> {
  await db.query({
    name: 'operator-approvals-outcome',
    text: 'UPDATE operator_approvals SET outcome = $2 WHERE id = $1',
    values: [id, outcome.slice(0, 200)],
  });
}

export async function findApproval(db: Db, id: string): Promise<Approval | undefined> {
  const { rows } = await db.query<Row>({
    name: 'operator-approvals-find',
    text: 'SELECT * FROM operator_approvals WHERE id = $1',
    values: [id],
  });
  return rows[0] ? fromRow(rows[0]) : undefined;
}

/** Requests still waiting for a second operator, oldest first. */
export async function pendingApprovals(db: Db): Promise<Approval[]> {
  const { rows } = await db.query<Row>({
    name: 'operator-approvals-pending',
    text: `SELECT * FROM operator_approvals WHERE approved_at IS NULL AND expires_at > now()
      ORDER BY requested_at LIMIT 100`,
  });
  return rows.map(fromRow);
}
