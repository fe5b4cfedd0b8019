/**
 * A private OpenBao dev server, bootstrapped by scripts/vault-bootstrap.sh itself with this checkout's
 * policies and AppRoles: for tests that destroy keys or need a policy the shared stack's Vault does not
 * have yet. Each component logs in with its own AppRole, as in production.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomInt, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { repoRoot, type VaultComponent } from '../../lib/config';
import { connectVault, type VaultSession } from '../../lib/vault';

const run = promisify(execFile);
const BAO = path.join(repoRoot, '.tools', 'venv', 'bin', 'bao');

export interface PrivateVault {
  addr: string;
  /** A component's AppRole settings (VAULT_ROLE_ID…), as a process of it would be given them. */
  approle(component: VaultComponent): Record<string, string>;
  connect(component: VaultComponent): Promise<VaultSession>;
  stop(): void;
}

export async function startPrivateVault(): Promise<PrivateVault> {
  const dir = mkdtempSync(path.join(tmpdir(), 'private-vault-'));
  const port = 18_200 + randomInt(0, 700);
  const addr = `http://127.0.0.1:${port}`;
  const rootToken = randomUUID();
  const bao: ChildProcess = spawn(
    BAO,
    ['server', '-dev', `-dev-listen-address=127.0.0.1:${port}`, `-dev-root-token-id=${rootToken}`],
    { stdio: 'ignore', env: { PATH: process.env.PATH ?? '', HOME: dir } },
  );
  const stop = () => {
    bao.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await healthy(addr);
    await run('bash', [path.join(repoRoot, 'scripts', 'vault-bootstrap.sh'), path.join(dir, 'vault')], {
      env: {
        PATH: process.env.PATH ?? '',
        VAULT_ADDR: addr,
        VAULT_TOKEN: rootToken,
        BAO_BIN: BAO,
        VAULT_BOUND_CIDRS: '127.0.0.1/32',
      },
    });
  } catch (err) {
    stop();
    throw err;
  }
  const approle = (component: string): Record<string, string> =>
    Object.fromEntries(
      readFileSync(path.join(dir, 'vault', component, 'approle.env'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
  return {
    addr,
    approle,
    connect: (component) =>
      connectVault(component, { addr, mount: 'transit', env: approle(component), caFile: '' }),
    stop,
  };
}

async function healthy(addr: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${addr}/v1/sys/health`)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the private OpenBao dev server did not answer at ${addr}`);
}
