/**
 * The internal ops API (`npm run ops` talks to it): operators act on orders as themselves. Every route
 * checks the operator's access token and role before it reads a body (api/operators/tokens.ts); the
 * actions are in ./actions.ts. Served on the internal listener only, never on the customers' port.
 *
 *   POST /ops/orders/:orderId/resend            {email?}   support, admin (revealed cards: two operators)
 *   POST /ops/orders/:orderId/extend-retention  {by}       support, admin
 *   POST /ops/orders/:orderId/cancel            {reason?}  admin
 *   POST /ops/orders/:orderId/purge                        admin (cards not yet retrieved: two operators)
 *   GET  /ops/orders/:orderId/webhooks                     every role
 *   POST /ops/orders/:orderId/webhooks/:eventId/replay     support, admin
 *   GET  /ops/approvals                                    support, admin: requests waiting for a second
 *   POST /ops/approvals/:id/approve                        support, admin, not the one who asked
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { mayAct, operatorActor } from '../../contracts/operators';
import { orderIdSchema } from '../../domain/orders';
import { durationSchema } from '../../lib/config';
import { audit } from '../../store/audit';
import { approve, findApproval, pendingApprovals, recordOutcome } from '../../store/operator-approvals';
import { sendError } from '../http/json-replies';
import { type OperatorTokenVerifier, operatorDetail, requireOperator } from '../operators/tokens';
import {
  type ActionResult,
  type OpsDeps,
  operatorCancel,
  operatorExtendRetention,
  operatorPurge,
  operatorReplayWebhook,
  operatorResend,
  operatorWebhooks,
} from './actions';

export interface OpsRoutesOptions extends OpsDeps {
  verifyOperator: OperatorTokenVerifier;
}

const orderParams = z.object({ orderId: orderIdSchema });
const bodies = {
  resend: z.object({ email: z.string().min(3).max(320).optional() }).strict(),
  extend: z.object({ by: durationSchema }).strict(),
  cancel: z.object({ reason: z.string().min(1).max(500).optional() }).strict(),
  empty: z.object({}).strict(),
};

function parse<T>(schema: z.ZodType<T>, value: unknown, reply: FastifyReply): T | undefined {
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  // Field names and what was expected, never the value (it may be an address).
  const issues = r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
  void sendError(reply, 400, { detail: issues });
  return undefined;
}

const send = (reply: FastifyReply, r: ActionResult) =>
  r.status >= 400
    ? sendError(reply, r.status, { detail: String(r.body.detail) })
    : reply.code(r.status).send(r.body);

export async function opsRoutes(app: FastifyInstance, opts: OpsRoutesOptions): Promise<void> {
  const as = (action: Parameters<typeof requireOperator>[2]) =>
    requireOperator(opts.db, opts.verifyOperator, action);

  app.post('/orders/:orderId/resend', { onRequest: as('resend') }, async (request, reply) => {
    const params = parse(orderParams, request.params, reply);
    const body = params && parse(bodies.resend, request.body, reply);
    if (!params || !body) return reply;
    return send(reply, await operatorResend(opts, request.operator!, params.orderId, body.email));
  });

  app.post(
    '/orders/:orderId/extend-retention',
    { onRequest: as('extend-retention') },
    async (request, reply) => {
      const params = parse(orderParams, request.params, reply);
      const body = params && parse(bodies.extend, request.body, reply);
      if (!params || !body) return reply;
      return send(reply, await operatorExtendRetention(opts, request.operator!, params.orderId, body.by));
    },
  );

  app.post('/orders/:orderId/cancel', { onRequest: as('cancel') }, async (request, reply) => {
    const params = parse(orderParams, request.params, reply);
    const body = params && parse(bodies.cancel, request.body, reply);
    if (!params || !body) return reply;
    return send(reply, await operatorCancel(opts, request.operator!, params.orderId, body.reason));
  });

  app.post('/orders/:orderId/purge', { onRequest: as('purge') }, async (request, reply) => {
    const params = parse(orderParams, request.params, reply);
    if (!params || !parse(bodies.empty, request.body, reply)) return reply;
    return send(reply, await operatorPurge(opts, request.operator!, params.orderId));
  });

  app.get('/orders/:orderId/webhooks', { onRequest: as('webhooks') }, async (request, reply) => {
    const params = parse(orderParams, request.params, reply);
    if (!params) return reply;
    return send(reply, await operatorWebhooks(opts, params.orderId));
  });

  app.post(
    '/orders/:orderId/webhooks/:eventId/replay',
    { onRequest: as('replay-webhook') },
    async (request, reply) => {
      const params = parse(
        orderParams.extend({ eventId: z.string().min(1).max(128) }),
        request.params,
        reply,
      );
      if (!params) return reply;
      return send(
        reply,
        await operatorReplayWebhook(opts, request.operator!, params.orderId, params.eventId),
      );
    },
  );

  app.get('/approvals', { onRequest: as('approve') }, async () => ({
    approvals: (await pendingApprovals(opts.db)).map((a) => ({
      id: a.id,
      orderId: a.orderId,
      action: a.action,
      requestedBy: operatorActor(a.requestedBy),
      requestedByName: a.requestedBy.name,
      requestedAt: a.requestedAt.toISOString(),
      expiresAt: a.expiresAt.toISOString(),
    })),
  }));

  app.post('/approvals/:id/approve', { onRequest: as('approve') }, async (request, reply) => {
    const params = parse(z.object({ id: z.uuid() }), request.params, reply);
    if (!params) return reply;
    const op = request.operator!;
    // The approver must also hold the right to the action itself (a purge: an admin), checked before the
    // request is claimed, so a refused approver does not use it up.
    const pending = await findApproval(opts.db, params.id);
    if (pending && !mayAct(op.role, pending.action)) {
      await audit(opts.db, {
        orderId: pending.orderId,
        event: 'OPERATOR_REFUSED',
        actor: operatorActor(op),
        method: 'POST /ops/approvals/:id/approve',
        detail: {
          action: 'approve',
          status: 403,
          reason: `role ${op.role} may not ${pending.action}`,
          approvalId: pending.id,
          ...operatorDetail(op),
        },
      });
      return sendError(reply, 403, { detail: `the role ${op.role} may not ${pending.action}` });
    }
    const claimed = await approve(opts.db, params.id, op);
    if (!claimed.ok) {
      await audit(opts.db, {
        event: 'OPERATOR_REFUSED',
        actor: operatorActor(op),
        method: 'POST /ops/approvals/:id/approve',
        detail: {
          action: 'approve',
          status: claimed.reason === 'own request' ? 403 : 409,
          reason: claimed.reason,
          approvalId: params.id,
          ...operatorDetail(op),
        },
      });
      const status = claimed.reason === 'unknown' ? 404 : claimed.reason === 'own request' ? 403 : 409;
      const message =
        claimed.reason === 'own request'
          ? 'a request needs a second operator: you cannot approve your own'
          : `the request is ${claimed.reason}`;
      return sendError(reply, status, { detail: message });
    }
    const a = claimed.approval;
    await audit(opts.db, {
      orderId: a.orderId,
      event: 'APPROVAL_GRANTED',
      actor: operatorActor(op),
      method: 'POST /ops/approvals/:id/approve',
      detail: {
        approvalId: a.id,
        action: a.action,
        requestedBy: operatorActor(a.requestedBy),
        requestedByName: a.requestedBy.name,
        requestedBySubject: a.requestedBy.subject,
        ...operatorDetail(op),
      },
    });
    const approved = { approvalId: a.id, requestedBy: a.requestedBy };
    const result =
      a.action === 'resend'
        ? await operatorResend(opts, op, a.orderId, undefined, approved)
        : await operatorPurge(opts, op, a.orderId, approved);
    await recordOutcome(opts.db, a.id, String(result.body.outcome ?? result.body.message ?? result.status));
    return send(reply, { status: result.status, body: { ...result.body, approvalId: a.id } });
  });
}
