// npm run order -- --order-id <id> --user-id <id> --email <addr> [--locale de] [--deliver-partial] [--purge-on-retrieval]
//   [--link-ttl 24h] [--retention 30d] [--deadline 24h] [--wait]
import { parseArgs } from 'node:util';
import { statusQuery } from '../contracts/order';
import { buildOrderInput, defaultPolicy, OrderValidationError, startOrder } from '../domain/orders';
import { type Config, configFor } from '../lib/config';
import { connectClient } from '../lib/temporal';
import { startTracingFromConfig } from '../lib/tracing';

const USAGE = `usage: npm run order -- --order-id <id> --user-id <id> --email <addr> [--locale en|de|fr|es|ja]
  [--deliver-partial] [--purge-on-retrieval] [--link-ttl 24h] [--retention 30d] [--deadline 24h] [--wait]`;

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
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const cfg = configFor('cli');
  const policy = Object.fromEntries(
    Object.entries({
      deliverPartial: values['deliver-partial'],
      purgeOnRetrieval: values['purge-on-retrieval'],
      linkTtl: values['link-ttl'],
      retention: values.retention,
      deadline: values.deadline,
    }).filter(([, v]) => v !== undefined),
  );
  const input = buildOrderInput(
    {
      orderId: values['order-id'],
      userId: values['user-id'],
      email: values.email,
      ...(values.locale !== undefined ? { locale: values.locale } : {}),
      policy,
    },
    defaultPolicy(cfg),
  );
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
