/**
 * Runs once before the stack tests: the local stack must be up (tests fail loudly, never skip, when a
 * service is missing), and the log file the leak hunt reads starts empty.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { config, databaseUrl, repoRoot, requireSetting, stackEnvFile } from '../../lib/config';

function reachable(hostPort: string): Promise<boolean> {
  const [host, port] = hostPort.split(':') as [string, string];
  return new Promise((resolve) => {
    const socket = net.connect({ host, port: Number(port), timeout: 2000 });
    socket.once('connect', () => resolve(socket.end() && true));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => resolve(socket.destroy() && false));
  });
}

export default async function setup() {
  // The test processes run several components at once: they load the union of their env files.
  const stackEnv = stackEnvFile('test');
  if (!existsSync(stackEnv)) {
    throw new Error(
      `The local stack has never been started (no ${path.relative(repoRoot, stackEnv)}): run \`bash scripts/stack.sh up\` first.`,
    );
  }
  const cfg = config();
  const hostOf = (u: string) => new URL(u).host;
  const services: Record<string, string> = {
    Temporal: cfg.TEMPORAL_ADDRESS,
    Vault: hostOf(cfg.VAULT_ADDR),
    PostgreSQL: hostOf(databaseUrl('worker', cfg)),
    SMTP: hostOf(requireSetting(cfg, 'SMTP_URL', 'the tests')),
    'provider sandbox': hostOf(requireSetting(cfg, 'PROVIDER_BASE_URL', 'the tests')),
  };
  // The operators' identity provider: the codec endpoint, the ops API and their tests take its tokens.
  if (!cfg.OPERATOR_TOKEN_ISSUER || !process.env.IDP_STATE_DIR) {
    throw new Error(
      `${path.relative(repoRoot, stackEnv)} names no identity provider (OPERATOR_TOKEN_ISSUER, IDP_STATE_DIR): run \`bash scripts/stack.sh up\` to rewrite it.`,
    );
  }
  services['identity provider'] = hostOf(cfg.OPERATOR_TOKEN_ISSUER);
  const down = [];
  for (const [name, addr] of Object.entries(services))
    if (!(await reachable(addr))) down.push(`${name} (${addr})`);
  if (down.length) {
    throw new Error(
      `Services the tests need are not reachable: ${down.join(', ')}. Run \`bash scripts/stack.sh up\`.`,
    );
  }
  // A fresh log file per run: the leak hunt reads everything in it.
  const logs = path.join(repoRoot, '.data', 'test', 'logs');
  rmSync(logs, { recursive: true, force: true });
  mkdirSync(logs, { recursive: true });
}
