/**
 * Start-up configuration: a missing or malformed variable stops the process with a message that names it
 * and never echoes a secret, and .env.example documents every variable the schema knows.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  parseConfig,
  repoRoot,
  requireSetting,
  temporalTlsEnabled,
  vaultCredentials,
} from '../../lib/config';
import { temporalTarget } from '../../lib/temporal';

/** What every component needs: the variables without a default. */
const MINIMAL: NodeJS.ProcessEnv = {
  DATABASE_URL: 'postgres://app:pw@db.internal:5432/giftcards',
  VAULT_ADDR: 'https://vault.internal:8200',
};

/** The fulfillment worker's environment: the minimal one and the settings only it needs. */
const VALID: NodeJS.ProcessEnv = {
  ...MINIMAL,
  PROVIDER_BASE_URL: 'https://provider.example',
  PROVIDER_API_KEY: 'provider-key-0123456789',
  SMTP_URL: 'smtp://relay.internal:587',
  PUBLIC_BASE_URL: 'https://cards.example',
};

function errorOf(env: NodeJS.ProcessEnv): ConfigError {
  try {
    parseConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('parseConfig accepted an invalid environment');
}

describe('parseConfig', () => {
  it('accepts the minimal environment and fills in defaults', () => {
    const cfg = parseConfig(VALID);
    expect(cfg.API_PORT).toBe(3000);
    expect(cfg.VAULT_INDEX_KEY_VERSION).toBe(1);
  });

  it('reads WEBHOOK_ENDPOINTS as caller → endpoint, and refuses a bad one without echoing its secret', () => {
    const secret = 'webhook-secret-that-is-32-chars-long!';
    const spec = { checkout: { url: 'https://checkout.example/hooks', secret } };
    const cfg = parseConfig({ ...VALID, WEBHOOK_ENDPOINTS: JSON.stringify(spec) });
    expect(cfg.WEBHOOK_ENDPOINTS?.get('checkout')).toEqual(spec.checkout);
    for (const bad of [
      `{"checkout": {"url": "https://x", "secret": "${secret}"`, // not JSON
      JSON.stringify({ checkout: { url: 'ftp://x', secret } }),
      JSON.stringify({ Checkout: { url: 'https://x', secret } }),
      JSON.stringify({ checkout: { url: 'https://x', secret: 'short' } }),
    ]) {
      const message = errorOf({ ...VALID, WEBHOOK_ENDPOINTS: bad }).message;
      expect(message).toMatch(/WEBHOOK_ENDPOINTS/);
      expect(message).not.toContain(secret);
    }
  });

  it('names a missing required variable', () => {
    const { DATABASE_URL: _, ...env } = VALID;
    expect(errorOf(env).message).toMatch(/DATABASE_URL: is required/);
  });

  it.each([
    ['VAULT_ADDR', 'not-a-url'],
    ['API_PORT', '99999'],
    ['LINK_TTL', 'forever'],
    ['SMTP_URL', 'http://relay.internal'],
    ['VAULT_INDEX_KEY_VERSION', '0'],
  ])('names a malformed %s', (name, value) => {
    expect(errorOf({ ...VALID, [name]: value }).message).toMatch(new RegExp(`\\b${name}: `));
  });

  it('names every bad variable at once', () => {
    const message = errorOf({ ...VALID, API_PORT: 'x', RETENTION: 'soon', DATABASE_URL: undefined }).message;
    for (const name of ['API_PORT', 'RETENTION', 'DATABASE_URL']) expect(message).toContain(name);
  });

  it('never echoes a secret value', () => {
    const shortKey = 'Sh0rtK!';
    const badDbUrl = 'mysql://app:Db-Pa55word-XYZ@db.internal/giftcards';
    const message = errorOf({ ...VALID, PROVIDER_API_KEY: shortKey, DATABASE_URL: badDbUrl }).message;
    expect(message).toContain('PROVIDER_API_KEY');
    expect(message).toContain('DATABASE_URL');
    expect(message).not.toContain(shortKey);
    expect(message).not.toContain('Db-Pa55word-XYZ');
  });
});

describe('settings of one component only', () => {
  it('a process without the provider, SMTP or public URL settings starts; one that needs them names them', () => {
    const cfg = parseConfig(MINIMAL);
    expect(() => requireSetting(cfg, 'PROVIDER_API_KEY', 'the fulfillment worker')).toThrow(
      /PROVIDER_API_KEY is required by the fulfillment worker/,
    );
    expect(requireSetting(parseConfig(VALID), 'SMTP_URL', 'the fulfillment worker')).toBe(VALID.SMTP_URL);
  });

  it("a component's Vault identity is its own: never another component's, nor a shared pair", () => {
    const api = { API_VAULT_ROLE_ID: 'api-role', API_VAULT_SECRET_ID: 'api-secret' };
    expect(vaultCredentials('api', api)).toEqual({ roleId: 'api-role', secretId: 'api-secret' });
    for (const component of ['worker', 'retention', 'cli'] as const) {
      expect(() => vaultCredentials(component, { ...api, VAULT_ROLE_ID: 'x', VAULT_SECRET_ID: 'y' })).toThrow(
        new RegExp(`${component.toUpperCase()}_VAULT_ROLE_ID`),
      );
    }
    expect(vaultCredentials('cli', { ...api, VAULT_TOKEN: 'tok' })).toEqual({ token: 'tok' });
  });
});

describe('Temporal transport settings', () => {
  const tls = { TEMPORAL_TLS_CA_FILE: '/nonexistent/ca.crt' };

  it('TLS is on with any TLS setting or an API key, off otherwise', () => {
    expect(temporalTlsEnabled(parseConfig(VALID))).toBe(false);
    expect(temporalTlsEnabled(parseConfig({ ...VALID, ...tls }))).toBe(true);
    expect(temporalTlsEnabled(parseConfig({ ...VALID, TEMPORAL_API_KEY: 'cloud-key' }))).toBe(true);
    expect(temporalTlsEnabled(parseConfig({ ...VALID, TEMPORAL_TLS: 'true' }))).toBe(true);
    expect(temporalTarget(parseConfig({ ...VALID, TEMPORAL_API_KEY: 'cloud-key' }))).toMatchObject({
      tls: {},
      apiKey: 'cloud-key',
    });
  });

  it('refuses a client certificate without its key, and TEMPORAL_TLS=false beside TLS settings', () => {
    expect(errorOf({ ...VALID, TEMPORAL_TLS_CERT_FILE: '/x/worker.crt' }).message).toMatch(
      /TEMPORAL_TLS_CERT_FILE and TEMPORAL_TLS_KEY_FILE: set both/,
    );
    expect(errorOf({ ...VALID, ...tls, TEMPORAL_TLS: 'false' }).message).toMatch(/TEMPORAL_TLS: false/);
    expect(errorOf({ ...VALID, TEMPORAL_TLS_SERVER_NAME: 'bad name!' }).message).toMatch(
      /TEMPORAL_TLS_SERVER_NAME: /,
    );
  });

  it('names a certificate file it cannot read, without echoing anything else', () => {
    expect(() => temporalTarget(parseConfig({ ...VALID, ...tls }))).toThrow(
      /TEMPORAL_TLS_CA_FILE: cannot read the file it names \(ENOENT\)/,
    );
  });

  it('production refuses a Temporal connection without TLS, unless a service mesh terminates mTLS', () => {
    const production = { ...VALID, NODE_ENV: 'production' };
    expect(errorOf(production).message).toMatch(
      /TEMPORAL_ADDRESS: a Temporal connection without TLS is refused/,
    );
    expect(() => parseConfig({ ...production, TEMPORAL_TLS_TERMINATED_BY_MESH: 'true' })).not.toThrow();
    expect(() => parseConfig({ ...production, ...tls })).not.toThrow();
    expect(() => parseConfig({ ...production, TEMPORAL_API_KEY: 'cloud-key' })).not.toThrow();
    // Development keeps the plain local dev server.
    expect(() => parseConfig(VALID)).not.toThrow();
  });
});

describe('.env.example', () => {
  const example = readFileSync(path.join(repoRoot, '.env.example'), 'utf8');
  const lines = example.split('\n');
  // `NAME=value`, or `# NAME=value` for an optional variable shown but left unset.
  const VARIABLE = /^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$/;
  const documented = new Map<string, { value: string; commentedOut: boolean; comment: string | undefined }>();
  lines.forEach((line, i) => {
    const m = VARIABLE.exec(line);
    if (!m) return;
    const above = lines[i - 1] ?? '';
    const comment = above.startsWith('#') && !VARIABLE.test(above) ? above.replace(/^#\s*/, '') : undefined;
    documented.set(m[2]!, { value: m[3]!, commentedOut: Boolean(m[1]), comment });
  });

  // The schema's keys, read from the source so that lib/config.ts needs to export nothing for the test.
  const source = readFileSync(path.join(repoRoot, 'lib', 'config.ts'), 'utf8');
  const schemaBody = source.slice(source.indexOf('const envSchema = z.object({'));
  const schemaKeys = [
    ...schemaBody.slice(0, schemaBody.indexOf('\n});')).matchAll(/^ {2}([A-Z][A-Z0-9_]*):/gm),
  ].map((m) => m[1]!);
  const extraKeys = ['WORKER', 'API', 'RETENTION', 'CLI']
    .flatMap((c) => [`${c}_VAULT_ROLE_ID`, `${c}_VAULT_SECRET_ID`])
    .concat(['STACK_ENV_FILE', 'MAIL_WEB_URL', 'PROVIDER_SANDBOX_PORT']);

  it('the schema keys were found in lib/config.ts', () => {
    // Every key a successful parse returns must be among them, or the text scan missed some.
    expect(schemaKeys).toEqual(expect.arrayContaining(Object.keys(parseConfig(VALID))));
    expect(schemaKeys).toEqual(expect.arrayContaining(['VAULT_TOKEN', 'VAULT_CACERT', 'TEMPORAL_API_KEY']));
  });

  it('lists every variable, each with a one-line comment', () => {
    for (const name of [...schemaKeys, ...extraKeys]) {
      expect(documented.has(name), `${name} is missing from .env.example`).toBe(true);
      expect(documented.get(name)?.comment, `${name} has no comment above it`).toMatch(/\w{3,}/);
    }
  });

  it('its example values are valid, set or commented out', () => {
    const active = [...documented].filter(([, v]) => !v.commentedOut);
    expect(() => parseConfig(Object.fromEntries(active.map(([name, v]) => [name, v.value])))).not.toThrow();
    // A commented-out example must also be a valid value once someone fills it in.
    expect(() =>
      parseConfig(Object.fromEntries([...documented].map(([name, v]) => [name, v.value]))),
    ).not.toThrow();
  });

  it('holds no real credential of the local stack', () => {
    const envDir = path.join(repoRoot, '.data', 'env');
    let secrets: string[] = [];
    try {
      secrets = readdirSync(envDir)
        .map((f) => readFileSync(path.join(envDir, f), 'utf8'))
        .join('\n')
        .split('\n')
        .filter((l) => /(SECRET|KEY|DATABASE_URL)[A-Z_]*=/.test(l))
        .map((l) => l.slice(l.indexOf('=') + 1))
        .filter((v) => v.length >= 8);
    } catch {
      return; // no local stack: nothing to leak
    }
    for (const s of secrets) expect(example).not.toContain(s);
  });
});
