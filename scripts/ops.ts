// npm run ops -- purge --order-id <id>                  purge one order's cards now
//        npm run ops -- extend-retention --order-id <id> --by 30d   keep one order's cards longer
//        npm run ops -- cancel --order-id <id> [--reason "..."]      stop an order, revoke its links, purge
import { parseArgs } from 'node:util';
import { WorkflowNotFoundError } from '@temporalio/client';
import { cancelSignal, extendRetentionSignal, purgeNowSignal, workflowIdFor } from '../contracts/order';
import { purgeOrder } from '../domain/cards';
import { orderIdSchema } from '../domain/orders';
import { config, durationSchema } from '../lib/config';
import { createPool } from '../lib/db';
import { connectClient } from '../lib/temporal';

const USAGE =
  'usage: npm run ops -- purge|extend-retention|cancel --order-id <id> [--by 30d] [--reason text]';

async function main() {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { 'order-id': { type: 'string' }, by: { type: 'string' }, reason: { type: 'string' } },
  });
  const [command] = positionals;
  const orderId = orderIdSchema.parse(values['order-id']);
  config();
  const client = await connectClient({ component: 'api' });
  const handle = client.workflow.getHandle(workflowIdFor(orderId));
  const running = await handle.describe().then(
    (d) => d.status.name === 'RUNNING',
    (err) => {
      if (err instanceof WorkflowNotFoundError) return false;
      throw err;
    },
  );
  try {
    if (command === 'purge') {
      if (running) {
        await handle.signal(purgeNowSignal);
        console.log(`Asked the order's workflow to purge now: ${handle.workflowId}`);
      } else {
        // No live workflow (terminated or long finished): purge directly, as the sweep would.
        const db = createPool();
        const r = await purgeOrder(db, orderId, 'operator', 'operator');
        await db.end();
        console.log(`Purged directly: ${r.cardsDeleted} card(s), ${r.tokensDeleted} token(s)`);
      }
    } else if (command === 'extend-retention') {
      const by = durationSchema.parse(values.by);
      if (!running) throw new Error('the order has no running workflow; its cards are already purged or due');
      await handle.signal(extendRetentionSignal, { by });
      console.log(`Retention of ${orderId} extended by ${by}.`);
    } else if (command === 'cancel') {
      if (!running) throw new Error('the order has no running workflow');
      await handle.signal(cancelSignal, { reason: values.reason ?? 'cancelled by operator' });
      console.log(`Cancel sent to ${handle.workflowId}.`);
    } else {
      console.log(USAGE);
      process.exitCode = 2;
    }
  } finally {
    await client.connection.close();
  }
}

main().catch((err) => {
  console.error(`ops: ${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
  process.exit(1);
});
