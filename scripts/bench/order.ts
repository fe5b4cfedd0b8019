// npm run bench:order [-- --orders 5]
// Runs N orders one after the other on the sandbox's instant scenario through the running stack (worker
// and API from scripts/stack.sh up) and prints how long each took from start to "delivered" (link email
// sent) and until the email was in the inbox.
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { statusQuery } from '../../contracts/order';
import { buildOrderInput, defaultPolicy, startOrder } from '../../domain/orders';
import { configFor } from '../../lib/config';
import { connectClient } from '../../lib/temporal';

async function inboxHas(recipient: string): Promise<boolean> {
  const res = await fetch(`${process.env.MAIL_WEB_URL ?? 'http://127.0.0.1:1080'}/email`);
  const mails = (await res.json()) as Array<{ to: Array<{ address: string }> }>;
  return mails.some((m) => m.to.some((t) => t.address === recipient));
}

async function main() {
  const { values } = parseArgs({ options: { orders: { type: 'string', default: '5' } } });
  const cfg = configFor('cli');
  const client = await connectClient({ component: 'cli' });
  const delivered: number[] = [];
  const inbox: number[] = [];
  for (let i = 0; i < Number(values.orders); i++) {
    const recipient = `bench-${randomUUID().slice(0, 8)}@example.test`;
    const input = buildOrderInput(
      { orderId: `instant-bench-${randomUUID().slice(0, 12)}`, userId: 'bench', email: recipient },
      defaultPolicy(cfg),
    );
    const t0 = performance.now();
    const { workflowId } = await startOrder(client, input, cfg.TEMPORAL_TASK_QUEUE);
    const handle = client.workflow.getHandle(workflowId);
    for (;;) {
      const s = await handle.query(statusQuery).catch(() => null);
      if (s && s.phase !== 'collecting' && s.phase !== 'delivering') break;
      await new Promise((r) => setTimeout(r, 10));
    }
    delivered.push(performance.now() - t0);
    while (!(await inboxHas(recipient))) await new Promise((r) => setTimeout(r, 10));
    inbox.push(performance.now() - t0);
  }
  const fmt = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return `median ${Math.round(s[Math.floor(s.length / 2)]!)} ms, min ${Math.round(s[0]!)} ms, max ${Math.round(s.at(-1)!)} ms`;
  };
  console.log(`${delivered.length} instant orders, one at a time:`);
  console.log(`  start -> delivered (link sent): ${fmt(delivered)}`);
  console.log(`  start -> email in the inbox:    ${fmt(inbox)}`);
  await client.connection.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
