/**
 * Runs once per test project: the workflow code is bundled once (with the converters and interceptors the
 * sandbox uses in production) and every test worker loads it by path, instead of each worker bundling its own.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { repoRoot } from '../../lib/config';
import { bundleWorkflows } from '../helpers/workflow-bundle';

export default async function setup(project: TestProject) {
  const code = await bundleWorkflows();
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
