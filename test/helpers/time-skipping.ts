/**
 * Temporal's time-skipping test environment on the Java TestServer that scripts/install.sh put under
 * .tools/, through scripts/temporal-test-server.sh: nothing is downloaded at test time.
 */
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { repoRoot } from '../../lib/config';

export const testServerScript = path.join(repoRoot, 'scripts', 'temporal-test-server.sh');

export function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: testServerScript } },
  });
}
