/**
 * Runs once before the suite: the local stack must be up (tests fail loudly, never skip, when a service is
 * missing), and the workflow code is bundled once for every test worker.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { TestProject } from 'vitest/node';
import { failureConverterPath } from '../lib/codec';
import { config, repoRoot } from '../lib/config';

function reachable(hostPort: string): Promise<boolean> {
  const [host, port] = hostPort.split(':') as [string, string];
  return new Promise((resolve) => {
    const socket = net.connect({ host, port: Number(port), timeout: 2000 });
    socket.once('connect', () => resolve(socket.end() && true));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => resolve(socket.destroy() && false));
  });
}

export default async function setup(project: TestProject) {
  const stackEnv = path.join(repoRoot, '.data', 'stack.env');
  if (!process.env.STACK_ENV_FILE && !existsSync(stackEnv)) {
    throw new Error('The local stack has never been started: run `bash scripts/stack.sh up` first.');
  }
  const cfg = config();
  const hostOf = (u: string) => new URL(u).host;
  const services: Record<string, string> = {
    Temporal: cfg.TEMPORAL_ADDRESS,
    Vault: hostOf(cfg.VAULT_ADDR),
    PostgreSQL: hostOf(cfg.DATABASE_URL),
    SMTP: hostOf(cfg.SMTP_URL),
    'provider sandbox': hostOf(cfg.PROVIDER_BASE_URL),
  };
  const down = [];
  for (const [name, addr] of Object.entries(services))
    if (!(await reachable(addr))) down.push(`${name} (${addr})`);
  if (down.length) {
    throw new Error(
      `Services the tests need are not reachable: ${down.join(', ')}. Run \`bash scripts/stack.sh up\`.`,
    );
  }
  const { code } = await bundleWorkflowCode({
    workflowsPath: path.join(repoRoot, 'workflows', 'index.ts'),
    // The sandbox's failure converter encodes messages and stacks, so the payload codec encrypts them.
    failureConverterPath,
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} },
  });
  const dir = path.join(repoRoot, '.data', 'test');
  // A fresh log file per run: the leak hunt reads everything in it.
  rmSync(path.join(dir, 'logs'), { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const codePath = path.join(dir, 'workflow-bundle.js');
  writeFileSync(codePath, code);
  project.provide('workflowBundlePath', codePath);
}

declare module 'vitest' {
  export interface ProvidedContext {
    workflowBundlePath: string;
  }
}
