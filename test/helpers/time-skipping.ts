/**
 * Temporal's time-skipping test environment on the Java TestServer that scripts/install.sh put under
 * .tools/, through scripts/temporal-test-server.sh: nothing is downloaded at test time.
 *
 * The TestServer refuses to upsert search attributes it does not know (the workflow task fails with
 * "search attribute … is not defined"), so the order's are registered here, the way `stack.sh` registers
 * them on the dev server: the workflow itself behaves the same on every server.
 */
import path from 'node:path';
import type { DataConverter } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { ORDER_SEARCH_ATTRIBUTES } from '../../contracts/order';
import { repoRoot } from '../../lib/config';

const testServerScript = path.join(repoRoot, 'scripts', 'temporal-test-server.sh');

const { IndexedValueType } = temporal.api.enums.v1;
const INDEXED_TYPE = {
  KEYWORD: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  INT: IndexedValueType.INDEXED_VALUE_TYPE_INT,
} as const;

/** `dataConverter`: give env.client the payload codec when the test's worker has it too. */
export async function createTimeSkippingEnv(
  opts: { dataConverter?: DataConverter } = {},
): Promise<TestWorkflowEnvironment> {
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: testServerScript } },
    ...(opts.dataConverter ? { client: { dataConverter: opts.dataConverter } } : {}),
  });
  try {
    await env.connection.operatorService.addSearchAttributes({
      namespace: env.namespace ?? 'default',
      searchAttributes: Object.fromEntries(
        ORDER_SEARCH_ATTRIBUTES.map((key) => [key.name, INDEXED_TYPE[key.type as keyof typeof INDEXED_TYPE]]),
      ),
    });
  } catch (err) {
    await env.teardown();
    throw err;
  }
  return env;
}
