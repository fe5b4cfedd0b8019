// npm run ops -- purge --order-id <id>                  purge one order's cards now
//        npm run ops -- extend-retention --order-id <id> --by 30d [--operator <name>]  keep one order's cards longer
//        npm run ops -- cancel --order-id <id> [--reason "..."]      stop an order, revoke its links, purge
//        npm run ops -- webhooks --order-id <id> [--replay <event id>]  list its events, re-send one
//        npm run ops -- resend --order-id <id> [--email <corrected address>] [--operator <name>]  a new link, revoking the old
//          without --email: every stored card again, to the same address (revealed ones too: an operator's
//          decision, audited by name); with --email: only while the order's recipient was refused, for the
//          cards no link revealed, and the previous address is told (DESIGN 3.13)
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import {
  cancelSignal,
  extendRetentionSignal,
  purgeNowSignal,
  RECIPIENT_REFUSED,
  resendLinkUpdate,
  statusQuery,
} from '../contracts/order';
import { purgeOrder } from '../domain/cards';
import { orderIdSchema, orderWorkflow } from '../domain/orders';
import { configFor, durationSchema } from '../lib/config';
import { componentPool } from '../lib/db';
import { connectClient } from '../lib/temporal';
import { audit } from '../store/audit';
import { requestResend } from '../store/deliveries';
import { formatWebhookEvents, listWebhookEvents, replayWebhookEvent } from './webhooks';

const USAGE =
  'usage: npm run ops -- purge|extend-retention|cancel|webhooks|resend --order-id <id> [--by 30d] [--reason text] [--replay <event id>] [--email <address>] [--operator <name>]';

/** Who runs the command, for the audit trail: --operator, else the OS account. */
function operatorActor(name: string | undefined): string {
  const who = name ?? userInfo().username;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(who))
    throw new Error('--operator: expected a plain name (letters, digits, ".", "_" or "-")');
  return `operator:${who}`;
}

async function main() {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      'order-id': { type: 'string' },
      by: { type: 'string' },
      reason: { type: 'string' },
      replay: { type: 'string' },
      email: { type: 'string' },
      operator: { type: 'string' },
    },
  });
  const [command] = positionals;
  const orderId = orderIdSchema.parse(values['order-id']);
  const cfg = configFor('cli');
  const client = await connectClient({ component: 'cli' });
  const db = componentPool('cli');
  // Through the order's own workflow (the one registered for it, DESIGN 3.10), never one that merely runs
  // under its id; without it, directly in the database, or not at all.
  const own = await orderWorkflow(client, db, orderId);
  const handle = own.running ? own.handle : undefined;
  const notRunning = own.running
    ? ''
    : own.impostor
      ? 'the workflow running under its id is not the one registered for it (left alone)'
      : 'the order has no running workflow';
  try {
    if (command === 'purge') {
      if (handle) {
        await handle.signal(purgeNowSignal);
        console.log(`Asked the order's workflow to purge now: ${handle.workflowId}`);
      } else {
        // No live workflow of its own (terminated, long finished): purge directly, as the sweep would.
        const r = await purgeOrder(db, orderId, 'operator', 'operator');
        console.log(
          `Purged directly (${notRunning}): ${r.cardsDeleted} card(s), ${r.tokensDeleted} token(s)`,
        );
      }
    } else if (command === 'extend-retention') {
      const by = durationSchema.parse(values.by);
      if (!handle) throw new Error(`${notRunning}; its cards are already purged or due`);
      await handle.signal(extendRetentionSignal, { by, requestedBy: operatorActor(values.operator) });
      console.log(`Retention of ${orderId} extended by ${by}.`);
    } else if (command === 'cancel') {
      if (!handle) throw new Error(notRunning);
      await handle.signal(cancelSignal, { reason: values.reason ?? 'cancelled by operator' });
      console.log(`Cancel sent to ${handle.workflowId}.`);
    } else if (command === 'resend') {
      if (!handle) throw new Error(`${notRunning}; its cards are already purged`);
      // The address travels only inside the update's codec-encrypted arguments, and is never printed.
      const requestedBy = operatorActor(values.operator);
      const request = values.email ? { recipient: values.email, requestedBy } : { requestedBy };
      const requested = (outcome: string, reason?: string) =>
        audit(db, {
          orderId,
          event: 'RESEND_REQUESTED',
          actor: requestedBy,
          method: 'ops resend',
          detail: { recipientChanged: values.email !== undefined, outcome, ...(reason ? { reason } : {}) },
        });
      // Recorded first: the worker's delivery consumes it, and the database mints no resend link without it.
      await requestResend(db, { orderId, requestedBy, kind: values.email ? 'correction' : 'redeliver' });
      const sent = await handle
        .executeUpdate(resendLinkUpdate, { args: [request] })
        .catch(async (err: unknown) => {
          const cause = err instanceof WorkflowUpdateFailedError ? err.cause : undefined;
          const type = cause instanceof ApplicationFailure ? (cause.type ?? undefined) : undefined;
          await requested(type === RECIPIENT_REFUSED ? 'recipientRefused' : 'rejected', type);
          const why = cause instanceof Error ? cause.message : '';
          throw new Error(`the order refused the resend${why ? `: ${why}` : ''}`);
        });
      await requested('sent');
      console.log(
        values.email
          ? `A new link for ${sent.cardCount} card(s) no link had revealed was sent to the corrected address; the previous address was told.`
          : `A new link for ${sent.cardCount} card(s) was sent (re-delivered by ${requestedBy}).`,
      );
    } else if (command === 'webhooks') {
      if (values.replay) {
        const endpoints = cfg.WEBHOOK_ENDPOINTS ?? new Map();
        const status = await replayWebhookEvent(
          db,
          endpoints,
          orderId,
          values.replay,
          operatorActor(values.operator),
        );
        console.log(`Re-sent ${values.replay}: the endpoint answered HTTP ${status}.`);
      }
      console.log(formatWebhookEvents(await listWebhookEvents(db, orderId)));
      if (handle) {
        const { webhooks } = await handle.query(statusQuery);
        console.log(
          `  queued in the running workflow: ${webhooks.pending}; last sequence ${webhooks.lastSequence}`,
        );
      }
    } else {
      console.log(USAGE);
      process.exitCode = 2;
    }
  } finally {
    await db.end();
    await client.connection.close();
  }
}

main().catch((err) => {
  console.error(`ops: ${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
  process.exit(1);
});
