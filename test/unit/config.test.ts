/**
 * Start-up configuration: a missing or malformed variable stops the process with a message that names it
 * and never echoes a secret, and .env.example documents every variable the schema knows.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, repoRoot } from '../../lib/config';

/** The smallest valid environment: only the variables without a default. */
const VALID: NodeJS.ProcessEnv = {
  DATABASE_URL: 'postgres://app:pw@db.internal:5432/giftcards',
  VAULT_ADDR: 'https://vault.internal:8200',
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
  const extraKeys = ['WORKER', 'API', 'RETENTION']
    .flatMap((c) => [`${c}_VAULT_ROLE_ID`, `${c}_VAULT_SECRET_ID`])
    .concat(['STACK_ENV_FILE', 'MAIL_WEB_URL', 'PROVIDER_SANDBOX_PORT']);

  it('the schema keys were found in lib/config.ts', () => {
    // Every key a successful parse returns must be among them, or the text scan missed some.
    expect(schemaKeys).toEqual(expect.arrayContaining(Object.keys(parseConfig(VALID))));
    expect(schemaKeys).toEqual(expect.arrayContaining(['VAULT_TOKEN', 'VAULT_ROLE_ID', 'VAULT_SECRET_ID']));
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
    const stackEnv = path.join(repoRoot, '.data', 'stack.env');
    let secrets: string[] = [];
    try {
      secrets = readFileSync(stackEnv, 'utf8')
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
