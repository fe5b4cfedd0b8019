/**
 * Each process of the running stack holds only its own secrets (issue 10, item 3). A compromised worker (it
 * parses untrusted provider answers) must not be able to log in as the API or the retention role, sign a
 * JWT, open the codec endpoint or start orders as an intake caller. What a process started by
 * scripts/stack.sh can reach through its environment is its initial environment (/proc/<pid>/environ, of
 * it and every process under it) and the one env file that environment names (STACK_ENV_FILE): both are
 * searched here for every other component's secret values, read from the tests' union file.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { describe, expect, it } from 'vitest';
import { repoRoot, stackEnvFile } from '../../lib/config';

const data = path.join(repoRoot, '.data');
const union = parseEnv(readFileSync(stackEnvFile('test'), 'utf8')) as Record<string, string>;
const bao = JSON.parse(readFileSync(path.join(data, 'bao', 'init.json'), 'utf8')) as {
  root_token: string;
  unseal_keys_b64: string[];
};

/** Every secret of the stack by name, each a value that must appear only where it belongs. */
const SECRETS: Record<string, string> = {
  WORKER_VAULT_SECRET_ID: union.WORKER_VAULT_SECRET_ID!,
  API_VAULT_SECRET_ID: union.API_VAULT_SECRET_ID!,
  RETENTION_VAULT_SECRET_ID: union.RETENTION_VAULT_SECRET_ID!,
  CLI_VAULT_SECRET_ID: union.CLI_VAULT_SECRET_ID!,
  JWT_SECRET: union.JWT_SECRET!,
  OPERATOR_PASSWORD: union.OPERATOR_PASSWORD!,
  CODEC_AUTH_TOKEN: union.CODEC_AUTH_TOKEN!,
  'the intake secret': union.INTAKE_CLIENTS!.split(':')[1]!,
  PROVIDER_API_KEY: union.PROVIDER_API_KEY!,
  // One database role per component: each process holds its own password and no other's.
  "the worker's database password": new URL(union.WORKER_DATABASE_URL!).password,
  "the API's database password": new URL(union.API_DATABASE_URL!).password,
  "the retention worker's database password": new URL(union.RETENTION_DATABASE_URL!).password,
  "the CLIs' database password": new URL(union.CLI_DATABASE_URL!).password,
  'the Vault root token': bao.root_token,
  'the Vault unseal key': bao.unseal_keys_b64[0]!,
};

/** The stack's processes, and which of the secrets above each one needs (all others it must not hold). */
const PROCESSES: Record<string, string[]> = {
  worker: ['WORKER_VAULT_SECRET_ID', 'PROVIDER_API_KEY', "the worker's database password"],
  'retention-worker': ['RETENTION_VAULT_SECRET_ID', "the retention worker's database password"],
  api: [
    'API_VAULT_SECRET_ID',
    'JWT_SECRET',
    'OPERATOR_PASSWORD',
    'CODEC_AUTH_TOKEN',
    'the intake secret',
    "the API's database password",
  ],
  'provider-sandbox': ['PROVIDER_API_KEY'],
};

/** The pid scripts/stack.sh recorded for a process, which must be alive. */
function stackPid(name: string): number {
  const file = path.join(data, 'run', `${name}.pid`);
  let pid: number;
  try {
    pid = Number(readFileSync(file, 'utf8').trim());
    process.kill(pid, 0);
  } catch {
    throw new Error(
      `the stack's ${name} is not running (no live pid in ${file}): run \`bash scripts/stack.sh up\``,
    );
  }
  return pid;
}

/** The process and everything under it (a launcher's children inherit what it was given). */
function withDescendants(root: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Field 4 of /proc/<pid>/stat, after the parenthesised command name (which may hold spaces).
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const all = [root];
  for (let i = 0; i < all.length; i++) {
    for (const [pid, ppid] of parentOf) if (ppid === all[i]) all.push(pid);
  }
  return all;
}

/** Everything a process can read from its environment: its initial environment and the file it names. */
function reachableEnvironment(name: string) {
  const pids = withDescendants(stackPid(name));
  const environs = pids.map((pid) => readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0'));
  const envFile = environs[0]!.find((v) => v.startsWith('STACK_ENV_FILE='))?.slice('STACK_ENV_FILE='.length);
  const fileText = envFile ? readFileSync(envFile, 'utf8') : '';
  return { pids, envFile, text: `${environs.flat().join('\n')}\n${fileText}` };
}

describe("each process of the stack holds only its own component's secrets", () => {
  it.each(Object.entries(PROCESSES))('%s', (name, own) => {
    const reach = reachableEnvironment(name);
    // It loads its own file, the one the stack wrote for it, and nothing else.
    expect(reach.envFile).toBe(path.join(data, 'env', `${name}.env`));
    for (const secret of own) {
      expect(reach.text, `${name} lacks ${secret}: the search reads the wrong thing`).toContain(
        SECRETS[secret],
      );
    }
    for (const [secret, value] of Object.entries(SECRETS)) {
      if (own.includes(secret)) continue;
      expect(reach.text.includes(value), `${name} (pids ${reach.pids.join(', ')}) holds ${secret}`).toBe(
        false,
      );
    }
  });

  it('the env files and their folder are readable by their owner only', () => {
    const dir = path.join(data, 'env');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const files = readdirSync(dir);
    expect(files).toEqual(
      expect.arrayContaining([...Object.keys(PROCESSES), 'cli', 'test'].map((n) => `${n}.env`)),
    );
    for (const file of files) expect(statSync(path.join(dir, file)).mode & 0o777, file).toBe(0o600);
  });

  it("the CLIs' file holds their own identity and no card-decrypting one", () => {
    const cli = readFileSync(path.join(data, 'env', 'cli.env'), 'utf8');
    expect(cli).toContain(SECRETS.CLI_VAULT_SECRET_ID);
    expect(cli).toContain(SECRETS["the CLIs' database password"]);
    for (const secret of Object.keys(SECRETS).filter(
      (s) => !['CLI_VAULT_SECRET_ID', "the CLIs' database password"].includes(s),
    )) {
      expect(cli.includes(SECRETS[secret]!), `cli.env holds ${secret}`).toBe(false);
    }
  });

  it('no file holds every secret any more: the all-in-one stack.env is gone', () => {
    expect(() => statSync(path.join(data, 'stack.env'))).toThrow(/ENOENT/);
  });
});
