/**
 * Start-up configuration: a missing or malformed variable stops the process with a message that names it
 * and never echoes a secret, production is the mode unless the environment says otherwise, and
 * .env.example documents every variable the schema knows.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  assertMigrationUrlSafe,
  ConfigError,
  databaseUrl,
  debugEnables,
  isProduction,
  parseConfig,
  repoRoot,
  requireSetting,
  temporalTlsEnabled,
  vaultCredentials,
} from '../../lib/config';
import { temporalTarget } from '../../lib/temporal';

/**
 * What every component needs: the variables without a default, and a mode that is not production (unset,
 * NODE_ENV means production, whose refusals the tests of production mode below check one by one).
 */
const MINIMAL: NodeJS.ProcessEnv = {
  NODE_ENV: 'development',
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

/** A production environment that passes: https everywhere, SMTP with required TLS, AppRole, own secrets. */
const PROD: NodeJS.ProcessEnv = {
  ...VALID,
  NODE_ENV: 'production',
  DATABASE_URL: 'postgres://app:Xq7-own-db-secret-91@db.internal:5432/giftcards?sslmode=verify-full',
  SMTP_URL: 'smtp://relay.internal:587',
  SMTP_REQUIRE_TLS: 'true',
  PROVIDER_API_KEY: 'pk_live_4f9a2c7e1b8d3a6f',
  WORKER_VAULT_ROLE_ID: 'b1c2d3e4-role',
  WORKER_VAULT_SECRET_ID: '7d1e6a52-2b7e-4bd9-a0a1-5f0e4c3b2a19',
  OPERATOR_TOKEN_ISSUER: 'https://login.example.com',
  JWT_JWKS_URL: 'https://app.example/.well-known/jwks.json',
  INTAKE_CLIENTS: 'checkout:Wq8Lp3Xz6Nc1Vb9Mk4Jh7Gf2Ds5Aa0Tt3Yy',
  // Temporal's own TLS is checked apart (Temporal transport settings): here a mesh wraps it.
  TEMPORAL_TLS_TERMINATED_BY_MESH: 'true',
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
    const whsec = `whsec_${Buffer.alloc(32, 1).toString('base64')}`;
    const older = `whsec_${Buffer.alloc(24, 2).toString('base64')}`;
    const signingKey = `whsk_${Buffer.alloc(32, 4).toString('base64')}`;
    const spec = {
      checkout: { url: 'https://checkout.example/hooks', secret },
      shop: {
        url: 'https://shop.example/hooks',
        secrets: [whsec, older],
        events: ['order.delivered', 'order.failed'],
      },
      local: {
        url: 'http://127.0.0.1:8080/hooks',
        secret: whsec,
        allowPrivate: ['127.0.0.1', '10.0.0.0/8', '::1'],
      },
      signed: { url: 'https://signed.example/hooks', signingKeys: [signingKey] },
    };
    const cfg = parseConfig({ ...VALID, WEBHOOK_ENDPOINTS: JSON.stringify(spec) });
    expect(cfg.WEBHOOK_ENDPOINTS?.get('checkout')).toEqual({ url: spec.checkout.url, secrets: [secret] });
    expect(cfg.WEBHOOK_ENDPOINTS?.get('shop')).toEqual({
      url: spec.shop.url,
      secrets: [whsec, older],
      events: ['order.delivered', 'order.failed'],
    });
    expect(cfg.WEBHOOK_ENDPOINTS?.get('local')).toEqual({
      url: spec.local.url,
      secrets: [whsec],
      allowPrivate: spec.local.allowPrivate,
    });
    expect(cfg.WEBHOOK_ENDPOINTS?.get('signed')).toEqual({
      url: spec.signed.url,
      secrets: [],
      signingKeys: [signingKey],
    });
    for (const bad of [
      `{"checkout": {"url": "https://x", "secret": "${secret}"`, // not JSON
      JSON.stringify({ checkout: { url: 'ftp://x', secret } }),
      JSON.stringify({ Checkout: { url: 'https://x', secret } }),
      JSON.stringify({ checkout: { url: 'https://x', secret: 'short' } }),
      JSON.stringify({ checkout: { url: 'https://x', secret: 'whsec_c2hvcnQ=' } }), // 5 bytes
      JSON.stringify({ checkout: { url: 'https://x', secret: `whsec_${'!'.repeat(40)}` } }), // not base64
      JSON.stringify({ checkout: { url: 'https://x', secret, secrets: [secret] } }), // both
      JSON.stringify({ checkout: { url: 'https://x' } }), // neither
      JSON.stringify({ checkout: { url: 'https://x', secrets: [secret, whsec, older] } }), // three
      JSON.stringify({ checkout: { url: 'https://x', secret, events: ['card.revealed'] } }),
      JSON.stringify({ checkout: { url: 'https://x', signingKeys: [whsec] } }), // not a signing key
      JSON.stringify({ checkout: { url: 'https://x', signingKeys: ['whsk_c2hvcnQ='] } }),
      JSON.stringify({ checkout: { url: 'https://x', secret, allowPrivate: ['localhost'] } }),
      JSON.stringify({ checkout: { url: 'https://x', secret, allowPrivate: ['10.0.0.0/33'] } }),
    ]) {
      const message = errorOf({ ...VALID, WEBHOOK_ENDPOINTS: bad }).message;
      expect(message).toMatch(/WEBHOOK_ENDPOINTS/);
      expect(message).not.toContain(secret);
      expect(message).not.toContain(whsec.slice(6, 20));
    }
  });

  it('names a missing required variable', () => {
    const { VAULT_ADDR: _, ...env } = VALID;
    expect(errorOf(env).message).toMatch(/VAULT_ADDR: is required/);
  });

  describe('one database role per component (databaseUrl)', () => {
    const own = 'postgres://giftcards_worker:w0rker-own-91@db.internal:5432/giftcards?sslmode=verify-full';

    it("takes the component's own URL over the shared one", () => {
      expect(databaseUrl('worker', parseConfig({ ...VALID, WORKER_DATABASE_URL: own }))).toBe(own);
    });

    it('falls back to DATABASE_URL outside production, and says which is missing without it', () => {
      expect(databaseUrl('api', parseConfig(VALID))).toBe(VALID.DATABASE_URL);
      const { DATABASE_URL: _, ...env } = VALID;
      expect(() => databaseUrl('api', parseConfig(env))).toThrow(/API_DATABASE_URL is required by the api/);
    });

    it('refuses the shared URL in production, naming the setting and never the URL', () => {
      const cfg = parseConfig(PROD);
      expect(() => databaseUrl('retention', cfg)).toThrow(/RETENTION_DATABASE_URL: .* own in production/);
      expect(() => databaseUrl('retention', cfg)).not.toThrow(/Xq7-own-db-secret-91/);
      expect(databaseUrl('worker', parseConfig({ ...PROD, WORKER_DATABASE_URL: own }))).toBe(own);
    });

    it.each(['WORKER', 'API', 'RETENTION', 'CLI'])(
      'refuses a %s_DATABASE_URL without TLS in production',
      (component) => {
        const name = `${component}_DATABASE_URL`;
        const message = errorOf({
          ...PROD,
          [name]: 'postgres://r:Xq7-own-db-secret-92@db.internal/giftcards',
        }).message;
        expect(message).toContain(`${name}: a PostgreSQL connection without TLS is refused`);
        expect(message).not.toContain('Xq7-own-db-secret-92');
      },
    );
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
    const message = errorOf({
      ...VALID,
      API_PORT: 'x',
      RETENTION: 'soon',
      DATABASE_URL: 'mysql://x',
    }).message;
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
    const production = { ...PROD, TEMPORAL_TLS_TERMINATED_BY_MESH: undefined };
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

describe('DEBUG', () => {
  const { createRequire } = require('node:module') as typeof import('node:module');
  // The `debug` package node-vault and follow-redirects log through, to check the reading against.
  const createDebug = createRequire(path.join(repoRoot, 'node_modules', 'node-vault', 'src', 'index.js'))(
    'debug',
  ) as { enable(spec: string): void; enabled(name: string): boolean; disable(): string };

  it.each([
    ['*', true],
    ['node-vault', true],
    ['follow-redirects', true],
    ['node-*', true],
    ['express:* node-vault', true],
    ['*,-node-vault', true], // follow-redirects still prints headers, the token among them
    ['*,-node-vault,-follow-redirects', false],
    ['express:*,pino', false],
    ['-*', false],
  ])('reads %j as the debug package does, and refuses it when it prints Vault requests', (spec, refused) => {
    const before = createDebug.disable();
    try {
      createDebug.enable(spec);
      expect(createDebug.enabled('node-vault') || createDebug.enabled('follow-redirects')).toBe(refused);
    } finally {
      createDebug.enable(before);
    }
    expect(debugEnables(spec, ['node-vault', 'follow-redirects'])).toBe(refused);
    if (refused) {
      const message = errorOf({ ...VALID, DEBUG: spec }).message;
      expect(message).toMatch(/\bDEBUG: enables debug output that prints Vault requests/);
    } else {
      expect(() => parseConfig({ ...VALID, DEBUG: spec })).not.toThrow();
    }
  });
});

describe('production mode', () => {
  function refusalOf(env: NodeJS.ProcessEnv): string {
    const message = errorOf(env).message;
    expect(message).toMatch(/^Unsafe configuration for production \(NODE_ENV/);
    return message;
  }

  it('is the mode unless NODE_ENV says development or test: unset means production', () => {
    const { NODE_ENV: _, ...unset } = PROD;
    expect(parseConfig(unset).NODE_ENV).toBe('production');
    const message = refusalOf({ ...unset, PUBLIC_BASE_URL: 'http://cards.example' });
    expect(message).toMatch(/NODE_ENV is unset, which means production/);
    expect(message).toContain('PUBLIC_BASE_URL: must be an https:// URL in production');
    // The local stack's plain settings are refused, all of them, without a mode...
    const local = {
      ...MINIMAL,
      NODE_ENV: undefined,
      VAULT_ADDR: 'http://127.0.0.1:8200',
      DATABASE_URL: 'postgres://giftcards:pw@127.0.0.1:55432/giftcards',
    };
    const refused = refusalOf(local);
    for (const name of ['VAULT_ADDR', 'DATABASE_URL', 'TEMPORAL_ADDRESS'])
      expect(refused).toContain(`${name}: `);
    // ...and accepted when the environment says development (the stack's env files) or test (the runners).
    for (const mode of ['development', 'test'])
      expect(() => parseConfig({ ...local, NODE_ENV: mode })).not.toThrow();
    // A value that is none of the three is a mistake, not a way around the refusals.
    for (const mode of ['', 'dev', 'Production', 'local'])
      expect(errorOf({ ...local, NODE_ENV: mode }).message).toMatch(/\bNODE_ENV: /);
    expect(isProduction({})).toBe(true);
    expect(isProduction({ NODE_ENV: 'production' })).toBe(true);
    expect(isProduction({ NODE_ENV: 'dev' })).toBe(true);
    expect(isProduction({ NODE_ENV: 'development' })).toBe(false);
    expect(isProduction({ NODE_ENV: 'test' })).toBe(false);
  });

  it('an env file of the local stack says development; without it a process started empty is production', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'giftcards-config-'));
    try {
      const body = [
        'DATABASE_URL=postgres://giftcards:pw@127.0.0.1:55432/giftcards',
        'VAULT_ADDR=http://127.0.0.1:8200',
        'SMTP_URL=smtp://127.0.0.1:1025',
      ];
      // As scripts/stack.sh starts an app: an empty environment but for PATH and the file it names.
      const start = (lines: string[]) => {
        const file = path.join(dir, 'worker.env');
        writeFileSync(file, `${lines.join('\n')}\n`, { mode: 0o600 });
        return spawnSync(
          process.execPath,
          [
            '--import',
            'tsx',
            '-e',
            "const c = require('./lib/config'); process.stdout.write(c.configFor('worker').NODE_ENV)",
          ],
          { cwd: repoRoot, env: { PATH: process.env.PATH, STACK_ENV_FILE: file }, encoding: 'utf8' },
        );
      };
      const local = start(['NODE_ENV=development', ...body]);
      expect(local.stderr).toBe('');
      expect(local.stdout).toBe('development');
      const unmarked = start(body);
      expect(unmarked.status).not.toBe(0);
      expect(unmarked.stderr).toMatch(/Unsafe configuration for production \(NODE_ENV is unset/);
      expect(unmarked.stderr).toContain('DATABASE_URL: a PostgreSQL connection without TLS is refused');
      expect(unmarked.stderr).not.toContain('giftcards:pw');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([
    ['no sslmode', 'postgres://app:Xq7-own-db-secret-91@db.internal:5432/giftcards', true],
    ['sslmode=disable', 'postgres://app:Xq7-own-db-secret-91@db.internal/giftcards?sslmode=disable', true],
    ['sslmode=prefer', 'postgres://app:Xq7-own-db-secret-91@db.internal/giftcards?sslmode=prefer', true],
    [
      'sslmode=no-verify',
      'postgres://app:Xq7-own-db-secret-91@db.internal/giftcards?sslmode=no-verify',
      true,
    ],
    ['ssl=true alone', 'postgres://app:Xq7-own-db-secret-91@db.internal/giftcards?ssl=true', true],
    ['sslmode=require', 'postgres://app:Xq7-own-db-secret-91@db.internal/giftcards?sslmode=require', false],
    [
      'sslmode=verify-ca',
      'postgres://app:Xq7-own-db-secret-91@db.internal/giftcards?sslmode=verify-ca',
      false,
    ],
    [
      'sslmode=verify-full and a CA',
      'postgres://app:Xq7-own-db-secret-91@db.internal/giftcards?sslmode=verify-full&sslrootcert=/etc/ca.crt',
      false,
    ],
  ])('PostgreSQL without TLS is refused in production (%s)', (_what, url, refused) => {
    for (const name of ['DATABASE_URL', 'MIGRATION_DATABASE_URL']) {
      const env = { ...PROD, [name]: url };
      if (refused) {
        const message = refusalOf(env);
        expect(message).toContain(`${name}: a PostgreSQL connection without TLS is refused in production`);
        expect(message).not.toContain('Xq7-own-db-secret-91');
      } else {
        expect(() => parseConfig(env)).not.toThrow();
      }
      // Outside production the local stack's plain connection is fine.
      expect(() => parseConfig({ ...env, NODE_ENV: 'development' })).not.toThrow();
    }
    // The migrations read their URL alone (scripts/migrate.ts): the same rule, by the same words.
    const check = (env: NodeJS.ProcessEnv) => () =>
      assertMigrationUrlSafe(env, 'MIGRATION_DATABASE_URL', url);
    if (refused) {
      expect(check({})).toThrow(/MIGRATION_DATABASE_URL: a PostgreSQL connection without TLS is refused/);
      expect(check({ NODE_ENV: 'production' })).toThrow(ConfigError);
    } else {
      expect(check({})).not.toThrow();
    }
    expect(check({ NODE_ENV: 'development' })).not.toThrow();
    expect(check({ NODE_ENV: 'test' })).not.toThrow();
  });

  it('reads INTAKE_ORDER_ID_PREFIXES, refuses overlapping prefixes, and requires one per caller in production', () => {
    const cfg = parseConfig({ ...VALID, INTAKE_ORDER_ID_PREFIXES: 'checkout:co-,shop:shop:' });
    expect([...cfg.INTAKE_ORDER_ID_PREFIXES!]).toEqual([
      ['checkout', 'co-'],
      ['shop', 'shop:'],
    ]);
    // "co" begins "co-": checkout's ids would all be claimable by shop.
    expect(errorOf({ ...VALID, INTAKE_ORDER_ID_PREFIXES: 'checkout:co-,shop:co' }).message).toContain(
      "shop's prefix begins checkout's",
    );
    expect(errorOf({ ...VALID, INTAKE_ORDER_ID_PREFIXES: 'checkout:../' }).message).toContain(
      'INTAKE_ORDER_ID_PREFIXES',
    );
    const two = `${PROD.INTAKE_CLIENTS},shop:Zq8Lp3Xz6Nc1Vb9Mk4Jh7Gf2Ds5Aa0Tt3Yy`;
    expect(refusalOf({ ...PROD, INTAKE_CLIENTS: two })).toContain(
      'INTAKE_ORDER_ID_PREFIXES: every intake caller needs its own order-id prefix in production',
    );
    expect(refusalOf({ ...PROD, INTAKE_CLIENTS: two, INTAKE_ORDER_ID_PREFIXES: 'checkout:co-' })).toContain(
      '(none for shop)',
    );
    expect(() =>
      parseConfig({ ...PROD, INTAKE_CLIENTS: two, INTAKE_ORDER_ID_PREFIXES: 'checkout:co-,shop:sh-' }),
    ).not.toThrow();
  });

  it('refuses a webhook endpoint over http:// or allowed internal addresses', () => {
    const whsec = `whsec_${Buffer.alloc(32, 3).toString('base64')}`;
    const endpoints = {
      plain: { url: 'http://hooks.example/x', secret: whsec },
      local: { url: 'https://hooks.example/x', secret: whsec, allowPrivate: ['127.0.0.1'] },
      fine: { url: 'https://hooks.example/x', secret: whsec },
    };
    const message = refusalOf({ ...PROD, WEBHOOK_ENDPOINTS: JSON.stringify(endpoints) });
    expect(message).toContain("WEBHOOK_ENDPOINTS: plain's url must be https:// in production");
    expect(message).toContain("WEBHOOK_ENDPOINTS: local's allowPrivate is refused in production");
    expect(message).not.toContain('fine');
    expect(message).not.toContain(whsec.slice(6, 20));
    expect(() =>
      parseConfig({ ...PROD, WEBHOOK_ENDPOINTS: JSON.stringify({ fine: endpoints.fine }) }),
    ).not.toThrow();
    expect(() =>
      parseConfig({ ...PROD, NODE_ENV: 'development', WEBHOOK_ENDPOINTS: JSON.stringify(endpoints) }),
    ).not.toThrow();
  });

  it('accepts a production environment without any of them', () => {
    expect(parseConfig(PROD).NODE_ENV).toBe('production');
    // SMTP over implicit TLS needs no STARTTLS requirement.
    expect(() =>
      parseConfig({ ...PROD, SMTP_URL: 'smtps://relay.internal:465', SMTP_REQUIRE_TLS: 'false' }),
    ).not.toThrow();
  });

  it("refuses the retired shared operator secrets, and an operators' identity provider over http", () => {
    const retired = 'kR3v9Lx2Qw8Zp5Tn7Ym1Hc4Jd6Fg0Sa2Bb9Nn';
    for (const name of ['CODEC_AUTH_TOKEN', 'OPERATOR_PASSWORD']) {
      const message = errorOf({ ...PROD, [name]: retired }).message;
      expect(message).toContain(`${name}: retired; operators sign in at the identity provider`);
      expect(message).not.toContain(retired);
    }
    for (const name of ['OPERATOR_TOKEN_ISSUER', 'OPERATOR_JWKS_URL']) {
      expect(errorOf({ ...PROD, [name]: 'http://login.internal' }).message).toContain(
        `${name}: must be an https:// URL in production`,
      );
    }
    // Outside production the local stack's plain-http identity provider is fine.
    expect(() =>
      parseConfig({ ...PROD, NODE_ENV: 'development', OPERATOR_TOKEN_ISSUER: 'http://127.0.0.1:4020' }),
    ).not.toThrow();
  });

  it.each(['PUBLIC_BASE_URL', 'VAULT_ADDR', 'PROVIDER_BASE_URL'])('refuses http:// for %s', (name) => {
    const url = `http://${name.toLowerCase()}.internal:8443/x`;
    const message = refusalOf({ ...PROD, [name]: url });
    expect(message).toContain(`${name}: must be an https:// URL in production`);
    expect(message).not.toContain(url);
    // The same URL is fine outside production.
    expect(() => parseConfig({ ...PROD, NODE_ENV: 'development', [name]: url })).not.toThrow();
  });

  it('refuses SMTP without required TLS', () => {
    for (const env of [
      { ...PROD, SMTP_REQUIRE_TLS: 'false' },
      { ...PROD, SMTP_REQUIRE_TLS: undefined }, // the default
    ]) {
      expect(refusalOf(env)).toContain('SMTP_REQUIRE_TLS: must be true in production');
    }
  });

  it('refuses VAULT_TOKEN, with or without AppRole beside it', () => {
    const token = 'hvs.CAESIJ-a-real-looking-token-value-1234';
    for (const env of [
      { ...PROD, VAULT_TOKEN: token },
      { ...PROD, VAULT_TOKEN: token, WORKER_VAULT_ROLE_ID: undefined, WORKER_VAULT_SECRET_ID: undefined },
    ]) {
      const message = refusalOf(env);
      expect(message).toContain('VAULT_TOKEN: not allowed in production');
      expect(message).not.toContain(token);
    }
  });

  it('names every refusal at once, each by its variable only', () => {
    const message = refusalOf({
      ...PROD,
      PUBLIC_BASE_URL: 'http://cards.example',
      SMTP_REQUIRE_TLS: 'false',
      VAULT_TOKEN: 'dev-only-token',
      OPERATOR_PASSWORD: 'replace-with-a-long-passphrase',
      JWT_JWKS_URL: 'http://app.example/jwks.json',
      DECRYPTOR_URL: 'http://decryptor.internal:3110',
    });
    for (const name of [
      'PUBLIC_BASE_URL',
      'SMTP_REQUIRE_TLS',
      'VAULT_TOKEN',
      'OPERATOR_PASSWORD',
      'JWT_JWKS_URL',
      'DECRYPTOR_URL',
    ])
      expect(message).toContain(`${name}: `);
    expect(message).not.toContain('replace-with');
    expect(message).not.toContain('dev-only-token');
  });

  /** Every secret .env.example and docker-compose.yml publish, with the variable it belongs to. */
  function publishedSecrets(): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    const example = readFileSync(path.join(repoRoot, '.env.example'), 'utf8');
    for (const m of example.matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=(.*)$/gm)) out.push([m[1]!, m[2]!]);
    const compose = readFileSync(path.join(repoRoot, 'docker-compose.yml'), 'utf8');
    for (const m of compose.matchAll(/^\s*([A-Z][A-Z0-9_]*):\s*(.*\$\{[A-Z_]+:-[^}]+\}.*)$/gm)) {
      // `${VAR:-default}` substituted, as compose does when the variable is unset.
      out.push([m[1]!, m[2]!.replace(/\$\{[A-Z_]+:-([^}]+)\}/g, '$1')]);
    }
    const secretish =
      /SECRET|PASSWORD|TOKEN|API_KEY|DATABASE_URL|INTAKE_CLIENTS|INTAKE_REQUEST_KEY|WEBHOOK_ENDPOINTS|POSTGRES_PWD/;
    // Which identity provider's tokens, and for which audience: names of public things, not secrets.
    const notSecret = /^OPERATOR_TOKEN_(ISSUER|AUDIENCE)$/;
    return out.filter(([name]) => secretish.test(name) && !notSecret.test(name));
  }

  it('refuses every example and docker-compose default secret, naming the variable, never the value', () => {
    const published = publishedSecrets();
    // The scan found .env.example's secrets (11), and whatever defaults docker-compose.yml still has.
    expect(published.length).toBeGreaterThanOrEqual(11);
    const asSchema: Record<string, string> = {
      POSTGRES_PASSWORD: 'DATABASE_URL',
      POSTGRES_PWD: 'DATABASE_URL',
    };
    let checked = 0;
    for (const [name, value] of published) {
      const variable = asSchema[name] ?? name;
      // POSTGRES_* defaults reach the apps as the password in DATABASE_URL.
      const effective = variable === name ? value : `postgres://giftcards:${value}@postgres:5432/giftcards`;
      const env = { ...PROD, [variable]: effective };
      if (variable === 'VAULT_TOKEN') continue; // refused whatever its value (above)
      if (variable === 'VAULT_SECRET_ID') env.VAULT_ROLE_ID = 'b1c2d3e4-role';
      const message = refusalOf(env);
      expect(message, `${name}=${value}`).toContain(
        `${variable}: holds an example or docker-compose default`,
      );
      for (const part of value.split(/[:@/,"{} ]+/).filter((p) => p.length >= 8))
        expect(message).not.toContain(part);
      checked++;
    }
    expect(checked).toBe(published.length - 1);
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
