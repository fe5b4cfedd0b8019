/** The workflow code as the workers load it, bundled once instead of by every worker at its start. */
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { failureConverterPath, payloadConverterPath, workflowGuardPath } from '../../lib/codec';
import { repoRoot } from '../../lib/config';

/**
 * With the converters and interceptors the sandbox has in production: the payload guard (as workers/create.ts
 * gives every worker: refused payloads never reach workflow code), and `workflowInterceptorModules`, what a
 * traced worker adds (lib/tracing-sdk.ts WORKFLOW_INTERCEPTOR_MODULES).
 */
export async function bundleWorkflows(workflowInterceptorModules: string[] = []): Promise<string> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: path.join(repoRoot, 'workflows', 'index.ts'),
    workflowInterceptorModules: [workflowGuardPath, ...workflowInterceptorModules],
    // The sandbox's failure converter encodes messages and stacks, so the payload codec encrypts them.
    failureConverterPath,
    payloadConverterPath,
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} },
  });
  return code;
}
