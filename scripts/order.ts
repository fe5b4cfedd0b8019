// npm run order -- --order-id <id> --user-id <id> --email <addr> [--locale de] [--deliver-partial] [--purge-on-retrieval]
//   [--link-ttl 24h] [--retention 30d] [--deadline 24h] [--wait]
//   [--api <url> --caller <name>]   (HTTP mode: through the intake API as that caller, secret in INTAKE_SECRET)
import { parseArgs } from 'node:util';
import { statusQuery } from '../contracts/order';
import { intakeClient } from '../domain/intake-client';
import {
  buildOrderInput,
  defaultPolicy,
  type OrderRequest,
  OrderValidationError,
  startOrder,
} from '../domain/orders';
import { type Config, configFor } from '../lib/config';
import { connectClient } from '../lib/temporal';
import { startTracingFromConfig } from '../lib/tracing';

const USAGE = `usage: npm run order -- --order-id <id> --user-id <id> --email <addr> [--locale en|de|fr|es|ja]
  [--deliver-partial] [--purge-on-retrieval] [--link-ttl 24h] [--retention 30d] [--deadline 24h] [--wait]
  [--api <url> --caller <name>]   through the intake API, as an upstream system would (the caller's
                                  secret in INTAKE_SECRET, never on the command line)`;

/** A problem answer (RFC 9457) in one line: its title, its detail and the fields it names. */
function problemLine(status: number, problem: unknown): string {
  const p = (problem ?? {}) as { title?: string; detail?: string; errors?: Array<{ name: string }> };
  const fields = p.errors?.map((e) => e.name).join(', ');
  return [`${status} ${p.title ?? ''}`.trim(), p.detail, fields && `invalid: ${fields}`]
    .filter(Boolean)
    .join('; ');
}

/**
 * HTTP mode: the order goes through the intake API with the typed client (domain/intake-client.ts), signed
 * as `caller`; with --wait, the order's status is read back through the API too.
 */
async function orderOverHttp(
  api: string,
  caller: string,
  request: OrderRequest,
  wait: boolean,
): Promise<void> {
  const secret = process.env.INTAKE_SECRET;
  if (!secret)
    throw new OrderValidationError('INTAKE_SECRET: the secret of the caller named by --caller is not set');
  const intake = intakeClient(api, { name: caller, secret });
  const { data, error, response } = await intake.POST('/v1/fulfillments', { body: request });
  if (!data) throw new Error(`the intake API refused the order: ${problemLine(response.status, error)}`);
  console.log(data.existing ? 'Order already exists; nothing new was started.' : 'Order started.');
  console.log(`  workflow id: ${data.workflowId}`);
  console.log(`  status:      GET ${api}/v1/fulfillments/${encodeURIComponent(request.orderId)} (signed)`);
  if (!wait) return;
  const deadline = Date.now() + 120_000;
  for (;;) {
    const status = await intake.GET('/v1/fulfillments/{orderId}', {
      params: { path: { orderId: request.orderId } },
    });
    // 404 until the order's workflow registered it.
    if (status.data && status.data.phase !== 'collecting') {
      const { outcome, phase, deliveredCards, failureReason } = status.data;
      console.log(
        `  outcome:     ${outcome ?? phase} (${deliveredCards} card(s) delivered${failureReason ? `; ${failureReason}` : ''})`,
      );
      return;
    }
    if (status.error && status.response.status !== 404)
      throw new Error(`status refused: ${problemLine(status.response.status, status.error)}`);
    if (Date.now() > deadline) throw new Error('the order did not finish within 2 minutes');
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

/** The `temporal` CLI's connection flags for this configuration (its address and, over mTLS, the CLI's certificate). */
function cliFlags(cfg: Config): string {
  const flags: Array<[string, string | undefined]> = [
    ['--address', cfg.TEMPORAL_ADDRESS === '127.0.0.1:7233' ? undefined : cfg.TEMPORAL_ADDRESS],
    ['--tls-ca-path', cfg.TEMPORAL_TLS_CA_FILE],
    ['--tls-cert-path', cfg.TEMPORAL_TLS_CERT_FILE],
    ['--tls-key-path', cfg.TEMPORAL_TLS_KEY_FILE],
    ['--tls-server-name', cfg.TEMPORAL_TLS_SERVER_NAME],
  ];
  return flags.map(([flag, value]) => (value ? ` ${flag} ${value}` : '')).join('');
}

async function main() {
  process.env.LOG_LEVEL ??= 'warn'; // the CLI prints its own lines; the log shows only problems
  const { values } = parseArgs({
    options: {
      'order-id': { type: 'string' },
      'user-id': { type: 'string' },
      email: { type: 'string' },
      locale: { type: 'string' },
      'deliver-partial': { type: 'boolean', default: false },
      'purge-on-retrieval': { type: 'boolean', default: false },
      'link-ttl': { type: 'string' },
      retention: { type: 'string' },
      deadline: { type: 'string' },
      wait: { type: 'boolean', default: false },
      api: { type: 'string' },
      caller: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const policy = Object.fromEntries(
    Object.entries({
      deliverPartial: values['deliver-partial'],
      purgeOnRetrieval: values['purge-on-retrieval'],
      linkTtl: values['link-ttl'],
      retention: values.retention,
      deadline: values.deadline,
    }).filter(([, v]) => v !== undefined),
  );
  const request = {
    orderId: values['order-id'],
    userId: values['user-id'],
    email: values.email,
    ...(values.locale !== undefined ? { locale: values.locale } : {}),
    policy,
  };
  if (values.api !== undefined || values.caller !== undefined) {
    if (!values.api || !values.caller)
      throw new OrderValidationError('HTTP mode needs both --api and --caller');
    // Checked here first, so a mistyped field is named before anything is sent.
    buildOrderInput(request, defaultPolicy(configFor('cli')));
    await orderOverHttp(values.api.replace(/\/+$/, ''), values.caller, request as OrderRequest, values.wait);
    return;
  }
  const cfg = configFor('cli');
  const input = buildOrderInput(request, defaultPolicy(cfg));
  // Traced, the order's trace starts at this CLI's StartWorkflow span.
  const tracing = await startTracingFromConfig(cfg, 'giftcards-cli');
  const client = await connectClient({ component: 'cli' });
  const started = await startOrder(client, input, cfg.TEMPORAL_TASK_QUEUE);
  const ui = `${cfg.TEMPORAL_UI_URL}/namespaces/${cfg.TEMPORAL_NAMESPACE}/workflows/${encodeURIComponent(started.workflowId)}`;
  console.log(started.existing ? 'Order already exists; nothing new was started.' : 'Order started.');
  console.log(`  workflow id: ${started.workflowId}`);
  console.log(`  run id:      ${started.runId}`);
  console.log(`  follow it:   ${ui}`);
  console.log(
    `  or:          temporal workflow describe --workflow-id ${started.workflowId}${cliFlags(cfg)}`,
  );
  if (values.wait) {
    const handle = client.workflow.getHandle(started.workflowId);
    const deadline = Date.now() + 120_000;
    for (;;) {
      const status = await handle.query(statusQuery);
      if (status.phase !== 'collecting' && status.phase !== 'delivering') {
        console.log(
          `  outcome:     ${status.outcome ?? status.phase} (${status.deliveredCards} card(s) delivered${
            status.failureReason ? `; ${status.failureReason}` : ''
          })`,
        );
        break;
      }
      if (Date.now() > deadline)
        throw new Error('the order did not finish within 2 minutes; follow it in the UI');
      await new Promise((r) => setTimeout(r, 500));
    }
    if (process.env.MAIL_WEB_URL)
      console.log(`  inbox:       ${process.env.MAIL_WEB_URL} (the email with the link)`);
  }
  await client.connection.close();
  await tracing?.shutdown();
}

main().catch((err) => {
  console.error(
    err instanceof OrderValidationError ? `${err.message}\n${USAGE}` : `order failed: ${err.message}`,
  );
  process.exit(1);
});
