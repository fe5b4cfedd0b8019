/**
 * docker-compose.yml as production would run it (issue 10, item 10), checked on what `docker-compose config`
 * resolves (docker-compose from scripts/install.sh; missing, the test fails): no secret has a default, nor
 * has the mode (NODE_ENV), each container gets only its own settings and its own AppRole volume, the apps
 * connect each with its own database role, only the API is published beyond this machine, and only vault-init sees the
 * unseal key and the root token.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../lib/config';

/** Every secret the file requires, each set to a marker value the resolved file can be searched for. */
const REQUIRED: Record<string, string> = {
  POSTGRES_SUPERUSER_PASSWORD: 'marker-pg-superuser',
  GIFTCARDS_OWNER_DB_PASSWORD: 'marker-pg-owner',
  GIFTCARDS_WORKER_DB_PASSWORD: 'marker-pg-worker',
  GIFTCARDS_API_DB_PASSWORD: 'marker-pg-api',
  GIFTCARDS_RETENTION_DB_PASSWORD: 'marker-pg-retention',
  GIFTCARDS_CLI_DB_PASSWORD: 'marker-pg-cli',
  GIFTCARDS_DECRYPTOR_DB_PASSWORD: 'marker-pg-decryptor',
  TEMPORAL_DB_PASSWORD: 'marker-pg-temporal',
  PROVIDER_API_KEY: 'marker-provider-key',
  OPERATOR_TOKEN_ISSUER: 'https://marker-issuer.example',
  JWT_JWKS_URL: 'https://app.example/marker-jwks.json',
  INTAKE_CLIENTS: 'checkout:marker-intake',
  INTAKE_REQUEST_KEY: 'marker-intake-request-key',
};

/** Not a secret, but required all the same: production unless the operator says development. */
const MODE = { NODE_ENV: 'development' };

/** The containers built from the Dockerfile that read the configuration (lib/config.ts, scripts/migrate.ts). */
const CONFIGURED_APPS = ['worker', 'retention-worker', 'api', 'decryptor', 'cli', 'migrate'];

/**
 * Every variable each container built from the Dockerfile gets, and no other: its own settings only (the
 * worker no API secret, the API no provider key, the sandbox nothing but its key and address).
 */
const APP_ENVIRONMENT: Record<string, string[]> = {
  worker: [
    'NODE_ENV',
    'TEMPORAL_ADDRESS',
    'VAULT_ADDR',
    'WORKER_DATABASE_URL',
    'STACK_ENV_FILE',
    'PROVIDER_BASE_URL',
    'PROVIDER_API_KEY',
    'SMTP_URL',
    'PUBLIC_BASE_URL',
  ],
  'retention-worker': [
    'NODE_ENV',
    'TEMPORAL_ADDRESS',
    'VAULT_ADDR',
    'RETENTION_DATABASE_URL',
    'STACK_ENV_FILE',
  ],
  api: [
    'NODE_ENV',
    'TEMPORAL_ADDRESS',
    'VAULT_ADDR',
    'API_DATABASE_URL',
    'STACK_ENV_FILE',
    'API_HOST',
    'PUBLIC_BASE_URL',
    'TEMPORAL_UI_URL',
    'OPERATOR_TOKEN_ISSUER',
    'INTERNAL_HOST',
    'INTERNAL_PORT',
    'DECRYPTOR_URL',
    'JWT_JWKS_URL',
    'INTAKE_CLIENTS',
    'INTAKE_REQUEST_KEY',
  ],
  // The decryptor: its own database role and AppRole, nothing of Temporal's or the API's.
  decryptor: [
    'NODE_ENV',
    'VAULT_ADDR',
    'DECRYPTOR_DATABASE_URL',
    'DECRYPTOR_HOST',
    'DECRYPTOR_PORT',
    'STACK_ENV_FILE',
  ],
  cli: [
    'NODE_ENV',
    'TEMPORAL_ADDRESS',
    'VAULT_ADDR',
    'CLI_DATABASE_URL',
    'STACK_ENV_FILE',
    'TEMPORAL_UI_URL',
  ],
  migrate: ['NODE_ENV', 'MIGRATION_DATABASE_URL'],
  'provider-sandbox': ['PROVIDER_API_KEY', 'PROVIDER_SANDBOX_HOST', 'PROVIDER_SANDBOX_PORT'],
};

/** Which container may hold which secret; any other container holding it fails the test. */
const ALLOWED: Record<string, string[]> = {
  POSTGRES_SUPERUSER_PASSWORD: ['postgres'],
  GIFTCARDS_OWNER_DB_PASSWORD: ['postgres', 'migrate'],
  GIFTCARDS_WORKER_DB_PASSWORD: ['postgres', 'worker'],
  GIFTCARDS_API_DB_PASSWORD: ['postgres', 'api'],
  GIFTCARDS_RETENTION_DB_PASSWORD: ['postgres', 'retention-worker'],
  GIFTCARDS_CLI_DB_PASSWORD: ['postgres', 'cli'],
  GIFTCARDS_DECRYPTOR_DB_PASSWORD: ['postgres', 'decryptor'],
  TEMPORAL_DB_PASSWORD: ['postgres', 'temporal'],
  PROVIDER_API_KEY: ['worker', 'provider-sandbox'],
  OPERATOR_TOKEN_ISSUER: ['api'],
  JWT_JWKS_URL: ['api'],
  INTAKE_CLIENTS: ['api'],
  INTAKE_REQUEST_KEY: ['api'],
};

interface Service {
  build?: unknown;
  env_file?: unknown;
  environment?: Record<string, string | null>;
  volumes?: Array<string | { source?: string; target: string }>;
  ports?: Array<string | { published?: number | string; target: number; host_ip?: string }>;
}

// An empty env file: a developer's own .env beside the compose file must not fill anything in.
const scratch = mkdtempSync(path.join(os.tmpdir(), 'giftcards-compose-'));
const emptyEnvFile = path.join(scratch, 'empty.env');
writeFileSync(emptyEnvFile, '');
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function compose(
  env: Record<string, string>,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('docker-compose', ['--env-file', emptyEnvFile, 'config'], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', (err) =>
      reject(new Error(`docker-compose could not run (${err.message}): run \`bash scripts/install.sh\``)),
    );
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** The resolved file as JSON (PyYAML comes with docker-compose; the project has no YAML parser of its own). */
async function resolved(env: Record<string, string>): Promise<{ services: Record<string, Service> }> {
  const res = await compose(env);
  expect(res.status, res.stderr).toBe(0);
  const json = spawnSync(
    'python3',
    ['-c', 'import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'],
    { input: res.stdout, encoding: 'utf8' },
  );
  expect(json.status, json.stderr).toBe(0);
  return JSON.parse(json.stdout);
}

/** The interface a published port listens on: undefined for all of them. */
function hostIp(port: string | { host_ip?: string }): string | undefined {
  if (typeof port !== 'string') return port.host_ip;
  const parts = port.split(':'); // "127.0.0.1:8233:8080/tcp", "3000:3000", "3000"
  return parts.length === 3 ? parts[0] : undefined;
}

const volumeSource = (v: string | { source?: string }) =>
  typeof v === 'string' ? v.split(':')[0] : v.source;

describe('docker-compose.yml', () => {
  let services: Record<string, Service>;
  beforeAll(async () => {
    services = (await resolved({ ...REQUIRED, ...MODE })).services;
  });

  it('refuses to resolve without the required secrets and mode, naming them; every use of one is required', async () => {
    const res = await compose({});
    expect(res.status).not.toBe(0);
    expect(res.stderr).toMatch(new RegExp(`set (${[...Object.keys(REQUIRED), 'NODE_ENV'].join('|')})`));
    // The secrets all given, the mode alone missing: named too.
    const modeless = await compose(REQUIRED);
    expect(modeless.status).not.toBe(0);
    expect(modeless.stderr).toMatch(/set NODE_ENV to development .* or production/);
    // docker-compose names the first missing one only: that no use of a required secret has a default
    // (\${NAME:-…}, \${NAME-…}, $NAME) or lacks the message is read from the file itself.
    const text = readFileSync(path.join(repoRoot, 'docker-compose.yml'), 'utf8');
    for (const name of [...Object.keys(REQUIRED), 'NODE_ENV']) {
      const uses = [...text.matchAll(new RegExp(`\\$\\{?${name}\\b[^}\\s]{0,2}`, 'g'))].map((m) => m[0]);
      expect(uses.length, `${name} is not used`).toBeGreaterThan(0);
      for (const use of uses) expect(use, name).toBe(`\${${name}:?`);
    }
  });

  it('has no default secret: every secret-looking setting of every container is a required variable', () => {
    const secretish = /PASSWORD|SECRET|TOKEN|API_KEY|INTAKE_CLIENTS|INTAKE_REQUEST_KEY|DATABASE_URL/;
    const markers = Object.values(REQUIRED);
    for (const [name, service] of Object.entries(services)) {
      for (const [key, value] of Object.entries(service.environment ?? {})) {
        if (!secretish.test(key)) continue;
        expect(
          markers.some((m) => String(value).includes(m)),
          `${name}: ${key} has a value of its own`,
        ).toBe(true);
      }
    }
  });

  it('gives every app the mode it is told, and production is what it says', async () => {
    for (const app of CONFIGURED_APPS) expect(services[app]?.environment?.NODE_ENV, app).toBe('development');
    const production = (await resolved({ ...REQUIRED, NODE_ENV: 'production' })).services;
    for (const app of CONFIGURED_APPS) expect(production[app]?.environment?.NODE_ENV, app).toBe('production');
  });

  it('gives each app container exactly its own settings, and no env_file', () => {
    for (const [name, service] of Object.entries(services)) {
      expect(service.env_file, `${name} takes a whole env file`).toBeUndefined();
      if (!service.build) continue;
      expect(APP_ENVIRONMENT[name], `${name} is built from the Dockerfile but not listed here`).toBeDefined();
      expect(Object.keys(service.environment ?? {}).sort(), name).toEqual([...APP_ENVIRONMENT[name]!].sort());
    }
  });

  it('gives each container only the secrets it needs', () => {
    for (const [secret, marker] of Object.entries(REQUIRED)) {
      for (const [name, service] of Object.entries(services)) {
        const holds = JSON.stringify(service.environment ?? {}).includes(marker);
        expect(holds, `${name} ${holds ? 'holds' : 'lacks'} ${secret}`).toBe(ALLOWED[secret]!.includes(name));
      }
    }
  });

  it("mounts each app's AppRole volume in that app only, and the unseal key and root token in vault-init only", () => {
    const mounts = (name: string) => (services[name]?.volumes ?? []).map(volumeSource);
    for (const [app, volume] of [
      ['worker', 'worker-approle'],
      ['retention-worker', 'retention-approle'],
      ['api', 'api-approle'],
      ['cli', 'cli-approle'],
      ['decryptor', 'decryptor-approle'],
    ] as const) {
      expect(mounts(app)).toEqual([volume]);
      expect(services[app]?.environment?.STACK_ENV_FILE).toBe('/run/giftcards/approle.env');
    }
    for (const [name] of Object.entries(services)) {
      if (name === 'vault-init') continue;
      expect(mounts(name), name).not.toContain('vault-init');
      if (!['worker', 'retention-worker', 'api', 'cli', 'decryptor'].includes(name)) {
        expect(
          mounts(name).some((v) => v?.endsWith('-approle')),
          name,
        ).toBe(false);
      }
    }
    // vault-init writes the files for the app image's user (Dockerfile: USER node, uid 1000), mode 600.
    expect(services['vault-init']?.environment?.APPROLE_FILE_OWNER).toBe('1000:1000');
    expect(readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8')).toMatch(/^USER node$/m);
    expect(readFileSync(path.join(repoRoot, 'scripts', 'vault-bootstrap.sh'), 'utf8')).toMatch(
      /chmod 600 "\$file\.new"/,
    );
  });

  it('connects each app with its own database role, named on the database so the grants apply', () => {
    const init = readFileSync(path.join(repoRoot, 'deploy', 'postgres-init.sh'), 'utf8');
    for (const [app, component] of [
      ['worker', 'worker'],
      ['retention-worker', 'retention'],
      ['api', 'api'],
      ['cli', 'cli'],
      ['decryptor', 'decryptor'],
    ] as const) {
      const url = new URL(String(services[app]?.environment?.[`${component.toUpperCase()}_DATABASE_URL`]));
      expect(url.username, app).toBe(`giftcards_${component}`);
      expect(init).toContain(
        `ALTER DATABASE giftcards SET giftcards.${component}_role = 'giftcards_${component}';`,
      );
      expect(init).toMatch(new RegExp(`CREATE ROLE giftcards_${component} LOGIN NOINHERIT PASSWORD`));
    }
    expect(new URL(String(services.migrate?.environment?.MIGRATION_DATABASE_URL)).username).toBe(
      'giftcards_owner',
    );
    expect(services.postgres?.environment?.POSTGRES_USER).toBe('postgres');
    expect(services.temporal?.environment?.POSTGRES_USER).toBe('temporal');
    // No SUPERUSER, CREATEDB or CREATEROLE for the owner or any app.
    expect(init).not.toMatch(/CREATE ROLE giftcards\w* [^;]*(CREATEDB|CREATEROLE|SUPERUSER)/);
    expect(
      (services.postgres?.volumes ?? []).some((v) => String(volumeSource(v)).endsWith('postgres-init.sh')),
    ).toBe(true);
  });

  it('publishes only the API beyond this machine', () => {
    const published = Object.entries(services).flatMap(([name, service]) =>
      (service.ports ?? []).map((port) => ({ name, port, ip: hostIp(port) })),
    );
    expect(published.length).toBeGreaterThan(1);
    for (const { name, port, ip } of published) {
      if (name !== 'api') expect(ip, `${name} publishes ${JSON.stringify(port)}`).toBe('127.0.0.1');
    }
    const api = published.filter((p) => p.name === 'api');
    expect(api).toHaveLength(1);
    expect(api[0]?.ip).toBeUndefined();
  });
});
