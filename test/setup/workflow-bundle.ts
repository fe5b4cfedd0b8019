/**
 * Runs once per test project: the workflow code is bundled once (with the converters and interceptors the
 * sandbox uses in production) and every test worker loads it by path, instead of each worker bundling its own.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { TestProject } from 'vitest/node';
import { failureConverterPath, payloadConverterPath, workflowGuardPath } from '../../lib/codec';
import { repoRoot } from '../../lib/config';

export default async function setup(project: TestProject) {
  const { code } = await bundleWorkflowCode({
    workflowsPath: path.join(repoRoot, 'workflows', 'index.ts'),
    // The sandbox's failure converter encodes messages and stacks, so the payload codec encrypts them.
    failureConverterPath,
    payloadConverterPath,
    // As workers/create.ts gives every worker: refused payloads never reach workflow code.
    workflowInterceptorModules: [workflowGuardPath],
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} },
  });
  const dir = path.join(repoRoot, '.data', 'test');
  mkdirSync(dir, { recursive: true });
  const codePath = path.join(dir, `workflow-bundle-${project.name}.js`);
  writeFileSync(codePath, code);
  project.provide('workflowBundlePath', codePath);
}

declare module 'vitest' {
  export interface ProvidedContext {
    workflowBundlePath: string;
  }
}
