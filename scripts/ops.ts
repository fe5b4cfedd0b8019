// npm run ops -- <command> --order-id <id> [...]     acts on an order as the signed-in operator
//
//   resend --order-id <id> [--email <corrected address>]   a new link, revoking the old (support, admin)
//     without --email: every stored card again, to the same address; when a link already revealed cards,
//     this files a request a second operator approves (`approve <id>`); with --email: only while the
//     order's recipient was refused, for the cards no link revealed, and the previous address is told
//   extend-retention --order-id <id> --by 30d   keep one order's cards longer (support, admin)
//   cancel --order-id <id> [--reason "..."]     stop an order, revoke its links, purge (admin)
//   purge --order-id <id>                       purge one order's cards now (admin; cards not yet
//                                               retrieved by the customer: a second admin approves)
//   webhooks --order-id <id> [--replay <event id>]  list its events (every role), re-send one (support, admin)
//   approvals                                   requests waiting for a second operator (support, admin)
//   approve <request id>                        approve one: it is carried out at once, both names audited
//
// Who acts is the operator's access token (`--token` or OPERATOR_TOKEN; local stack:
// `export OPERATOR_TOKEN=$(bash scripts/stack.sh operator-token sam)`), verified by the API's internal ops
// API (OPS_API_URL), which acts through the order's own workflow. There is no --operator name any more.
import { parseArgs } from 'node:util';
import { formatWebhookEvents, type WebhookRow } from '../domain/webhook-replay';
import { loadStackEnv } from '../lib/config';

const USAGE =
  'usage: npm run ops -- resend|extend-retention|cancel|purge|webhooks --order-id <id> [--email <address>] [--by 30d] [--reason text] [--replay <event id>] | approvals | approve <request id>   (--token <access token> or OPERATOR_TOKEN)';

interface Answer {
  status: number;
  body: Record<string, unknown>;
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
      token: { type: 'string' },
    },
  });
  loadStackEnv('cli');
  const base = process.env.OPS_API_URL;
  if (!base)
    throw new Error('OPS_API_URL is not set (the API internal listener, e.g. http://127.0.0.1:3100)');
  const token = values.token ?? process.env.OPERATOR_TOKEN;
  if (!token)
    throw new Error('no operator token: pass --token or set OPERATOR_TOKEN (stack.sh operator-token <user>)');
  const call = async (method: 'GET' | 'POST', path: string, body?: object): Promise<Answer> => {
    const res = await fetch(new URL(path, base), {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, body: (await res.json().catch(() => ({}))) as Record<string, unknown> };
  };
  const [command, arg] = positionals;
  const order = () => {
    const id = values['order-id'];
    if (!id) throw new Error('--order-id is required');
    return `/ops/orders/${encodeURIComponent(id)}`;
  };
  let answer: Answer;
  switch (command) {
    case 'resend':
      answer = await call('POST', `${order()}/resend`, values.email ? { email: values.email } : {});
      break;
    case 'extend-retention':
      answer = await call('POST', `${order()}/extend-retention`, { by: values.by });
      break;
    case 'cancel':
      answer = await call('POST', `${order()}/cancel`, values.reason ? { reason: values.reason } : {});
      break;
    case 'purge':
      answer = await call('POST', `${order()}/purge`, {});
      break;
    case 'webhooks':
      if (values.replay) {
        const replayed = await call(
          'POST',
          `${order()}/webhooks/${encodeURIComponent(values.replay)}/replay`,
          {},
        );
        report(replayed);
        if (replayed.status >= 300) return;
      }
      answer = await call('GET', `${order()}/webhooks`);
      if (answer.status === 200) {
        console.log(formatWebhookEvents(answer.body.events as WebhookRow[]));
        if (answer.body.pending !== undefined)
          console.log(
            `  queued in the running workflow: ${answer.body.pending}; last sequence ${answer.body.lastSequence}`,
          );
        return;
      }
      break;
    case 'approvals':
      answer = await call('GET', '/ops/approvals');
      if (answer.status === 200) {
        const list = answer.body.approvals as Array<Record<string, string>>;
        if (list.length === 0) console.log('No request is waiting for a second operator.');
        for (const a of list)
          console.log(
            `  ${a.id}  ${String(a.action).padEnd(7)} order ${a.orderId}  asked by ${a.requestedBy} (${a.requestedByName}) at ${a.requestedAt}, expires ${a.expiresAt}`,
          );
        return;
      }
      break;
    case 'approve':
      if (!arg) throw new Error('approve: which request? (npm run ops -- approvals)');
      answer = await call('POST', `/ops/approvals/${encodeURIComponent(arg)}/approve`);
      break;
    default:
      console.log(USAGE);
      process.exitCode = 2;
      return;
  }
  report(answer);
}

function report(answer: Answer): void {
  // Errors are problem details (RFC 9457): `detail` says what was wrong, `title` the status's phrase.
  const message = String(
    answer.body.message ?? answer.body.detail ?? answer.body.title ?? `HTTP ${answer.status}`,
  );
  if (answer.status >= 400) {
    process.exitCode = 1;
    console.error(`ops: refused (HTTP ${answer.status}): ${message}`);
  } else {
    console.log(message);
    if (answer.body.approvalId && answer.body.outcome === 'approval-required')
      console.log(`request id: ${answer.body.approvalId}`);
  }
}

main().catch((err: unknown) => {
  console.error(`ops: ${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
  process.exit(1);
});
