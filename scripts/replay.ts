/**
 * Replays orders' histories from the cluster against this checkout's workflow code: the check to run
 * before deploying a change to workflows/ (docs/contributing.md). Every open order meets the new code at its
 * next task; one whose history the new code cannot replay would fail there with a non-determinism error.
 * The recorded histories in test/replay/ guard every branch in CI; this guards the orders actually open.
 *
 *   npm run replay -- [--workflow-id ID]... [--limit 1000]
 *
 * Without ids: the running orders, newest first, up to --limit. Prints one line per order that diverged
 * (its id and the SDK's words, which name the event) and a count; exits 1 when any did.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { HistoryAndWorkflowId } from '@temporalio/common';
import { Runtime, Worker } from '@temporalio/worker';
import { ORDER_WORKFLOW_TYPE } from '../contracts/order';
import { dataConverterWith, workflowGuardPath } from '../lib/codec';
import { configFor, repoRoot } from '../lib/config';
import { createLogger, TemporalPinoLogger } from '../lib/logger';
import { connectClient, createCodec } from '../lib/temporal';
import { connectVault } from '../lib/vault';

const USAGE = 'usage: npm run replay -- [--workflow-id <id>]... [--limit <n>]';

async function main() {
  process.env.LOG_LEVEL ??= 'warn';
  const { values } = parseArgs({
    options: {
      'workflow-id': { type: 'string', multiple: true },
      limit: { type: 'string', default: '1000' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return console.log(USAGE);
  const limit = Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new Error(`--limit: a whole number above 0\n${USAGE}`);
  configFor('cli');
  // The replay worker's own start and stop are not news here; what diverged is printed below.
  Runtime.install({ logger: new TemporalPinoLogger(createLogger({ name: 'replay', level: 'warn' })) });
  const vault = await connectVault('cli');
  const codec = createCodec(vault.transit);
  const client = await connectClient({ component: 'cli', vault, codec });
  try {
    const ids = values['workflow-id'] ?? (await runningOrders(client, limit));
    async function* histories(): AsyncGenerator<HistoryAndWorkflowId> {
      for (const workflowId of ids)
        yield { workflowId, history: await client.workflow.getHandle(workflowId).fetchHistory() };
    }
    const results = Worker.runReplayHistories(
      {
        workflowsPath: path.join(repoRoot, 'workflows', 'index.ts'),
        interceptors: { workflowModules: [workflowGuardPath] },
        dataConverter: dataConverterWith(codec),
      },
      histories(),
    );
    let replayed = 0;
    let diverged = 0;
    for await (const result of results) {
      replayed++;
      if (!result.error) continue;
      diverged++;
      console.log(`${result.workflowId}: ${result.error.message}`);
    }
    console.log(`${replayed} replayed, ${diverged} diverged`);
    if (diverged > 0) process.exitCode = 1;
  } finally {
    await client.connection.close();
    vault.close();
  }
}

async function runningOrders(client: Awaited<ReturnType<typeof connectClient>>, limit: number) {
  const ids: string[] = [];
  const query = `WorkflowType = '${ORDER_WORKFLOW_TYPE}' AND ExecutionStatus = 'Running'`;
  for await (const wf of client.workflow.list({ query })) {
    ids.push(wf.workflowId);
    if (ids.length >= limit) break;
  }
  return ids;
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(2);
});
