/**
 * The one configuration module. Every process (worker, API, CLI, sandbox, tests) reads its settings here,
 * validated once at start-up: a missing or malformed variable stops the process with a message that names
 * it and never echoes its value.
 *
 * The local stack writes one env file per component under `.data/env/` (addresses and that component's own
 * secrets only): a process loads its own (`configFor`), or the file STACK_ENV_FILE names, when present, and
 * variables already set in the environment win over it. `.env.example` documents every variable.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { msToNumber } from '@temporalio/common/lib/time';
import { z } from 'zod';
import { WEBHOOK_EVENT_TYPES } from '../contracts/order';
import { describeIssues } from './validation';

export const repoRoot = path.resolve(__dirname, '..');

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** A duration in Temporal's notation ("90s", "24h", "30d", "250ms"), kept as text and checked here. */
export const durationSchema = z.string().refine(
  (s) => {
    try {
      return msToNumber(s as Parameters<typeof msToNumber>[0]) > 0;
    } catch {
      return false;
    }
  },
  { message: 'expected a positive duration such as "90s", "24h" or "30d"' },
);

export function durationMs(d: string): number {
  return msToNumber(d as Parameters<typeof msToNumber>[0]);
}

const port = z.coerce.number().int().min(1).max(65535);
const url = z.url({ protocol: /^https?$/ });
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/**
 * Whether a DEBUG value enables one of these namespaces, as the `debug` package reads it: names separated
 * by commas or spaces, `*` as a wildcard, a leading `-` excluding.
 */
export function debugEnables(spec: string, namespaces: string[]): boolean {
  const patterns = spec.split(/[\s,]+/).filter(Boolean);
  const matches = (name: string, pattern: string) =>
    new RegExp(
      `^${pattern
        .split('*')
        .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*')}$`,
    ).test(name);
  return namespaces.some(
    (name) =>
      !patterns.some((p) => p.startsWith('-') && matches(name, p.slice(1))) &&
      patterns.some((p) => !p.startsWith('-') && matches(name, p)),
  );
}

/** The `debug` namespaces that print Vault requests: node-vault (bodies), follow-redirects (headers, token). */
/**
 * A webhook secret: Standard Webhooks' `whsec_<base64 of 24–64 random bytes>`, or (deprecated, converted
 * as `whsec_<base64 of its UTF-8 bytes>`, and its endpoint also gets the old X-Webhook-* headers) the old
 * form of 32+ plain characters. Messages never quote a secret.
 */
const webhookSecret = z.string().superRefine((secret, ctx) => {
  if (secret.startsWith('whsec_')) {
    const b64 = secret.slice('whsec_'.length);
    const bytes = Buffer.from(b64, 'base64').length;
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0 || bytes < 24 || bytes > 64)
      ctx.addIssue({
        code: 'custom',
        message: 'a whsec_ secret is "whsec_" and the base64 of 24 to 64 random bytes',
      });
  } else if (secret.length < 32) {
    ctx.addIssue({ code: 'custom', message: 'secrets must be whsec_… or at least 32 characters' });
  }
});

/** An Ed25519 signing key for v1a signatures: `whsk_` and the base64 of its 32-byte seed (or 64 bytes). */
const webhookSigningKey = z
  .string()
  .refine(
    (key) =>
      /^whsk_[A-Za-z0-9+/]+={0,2}$/.test(key) &&
      [32, 64].includes(Buffer.from(key.slice('whsk_'.length), 'base64').length),
    'a signing key is "whsk_" and the base64 of a 32-byte Ed25519 seed',
  );

const addressOrRange = z.string().refine((entry) => {
  const [net = '', prefix, ...rest] = entry.split('/');
  const family = isIP(net);
  if (family === 0 || rest.length > 0) return false;
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128));
}, 'allowPrivate: addresses or CIDR ranges ("127.0.0.1", "10.0.0.0/8", "::1")');

/** One caller's endpoint, normalised: `secret` or `secrets` become `secrets` (newest first). */
function webhookEndpointSchema() {
  return z
    .object({
      url,
      secret: webhookSecret.optional(),
      secrets: z
        .array(webhookSecret)
        .min(1)
        .max(2, 'at most two secrets: the new one and the old one')
        .optional(),
      signingKeys: z
        .array(webhookSigningKey)
        .min(1)
        .max(2, 'at most two signing keys: the new one and the old one')
        .optional(),
      events: z.array(z.enum(WEBHOOK_EVENT_TYPES)).min(1).optional(),
      allowPrivate: z.array(addressOrRange).min(1).optional(),
    })
    .strict()
    .refine((e) => e.secret === undefined || e.secrets === undefined, {
      message: 'give "secret" or "secrets" (two while rotating), not both',
    })
    .refine((e) => e.secret !== undefined || e.secrets !== undefined || e.signingKeys !== undefined, {
      message: 'give "secret" (or "secrets"), or "signingKeys" for v1a signatures',
    })
    .transform(({ url: endpointUrl, secret, secrets, signingKeys, events, allowPrivate }) => ({
      url: endpointUrl,
      secrets: secrets ?? (secret === undefined ? [] : [secret]),
      ...(signingKeys ? { signingKeys } : {}),
      ...(events ? { events: [...new Set(events)] } : {}),
      ...(allowPrivate ? { allowPrivate } : {}),
    }));
}

const VAULT_DEBUG_NAMESPACES = ['node-vault', 'follow-redirects'];

const postgresUrl = z.url({ protocol: /^postgres(ql)?$/ });

const envSchema = z.object({
  /**
   * Unset means production: only an environment that says `development` (the local stack's env files, which
   * scripts/stack.sh writes) or `test` (the test runners) skips the production refusals. A forgotten
   * variable must never turn them off.
   */
  NODE_ENV: z.enum(['development', 'test', 'production']).default('production'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** The `debug` package's namespaces; never ones that print Vault requests (lib/vault.ts). */
  DEBUG: z
    .string()
    .refine((v) => !debugEnables(v, VAULT_DEBUG_NAMESPACES), {
      message:
        'enables debug output that prints Vault requests (namespaces node-vault and follow-redirects: ' +
        'bodies with card codes, the Vault token); exclude them, e.g. DEBUG=*,-node-vault,-follow-redirects',
    })
    .optional(),

  TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('giftcards'),
  TEMPORAL_RETENTION_TASK_QUEUE: z.string().min(1).default('giftcards-retention'),
  TEMPORAL_UI_URL: url.default('http://127.0.0.1:8233'),
  /** How long a worker starting while Temporal does not answer (or cannot describe its namespace) waits for it. */
  TEMPORAL_STARTUP_WAIT: durationSchema.default('5m'),
  /**
   * TLS to the Temporal frontend (lib/temporal.ts temporalTarget): on when any file, the server name or an
   * API key is set, or TEMPORAL_TLS=true (the system's CAs then verify the server). mTLS with a client
   * certificate and key; Temporal Cloud with an API key (TLS is implied).
   */
  TEMPORAL_TLS: bool.optional(),
  TEMPORAL_TLS_CA_FILE: z.string().min(1).optional(),
  TEMPORAL_TLS_CERT_FILE: z.string().min(1).optional(),
  TEMPORAL_TLS_KEY_FILE: z.string().min(1).optional(),
  TEMPORAL_TLS_SERVER_NAME: z
    .string()
    .regex(/^[A-Za-z0-9.-]+$/, 'expected a host name such as temporal.example.internal')
    .optional(),
  TEMPORAL_API_KEY: z.string().min(1).optional(),
  /** Production only: the connection leaves the process in plain text because a service mesh sidecar wraps it in mTLS. */
  TEMPORAL_TLS_TERMINATED_BY_MESH: bool.default(false),

  /**
   * One database role per component (docs/security.md): each connects with its own URL. DATABASE_URL, one
   * role for every component, only outside production (databaseUrl refuses it there).
   */
  WORKER_DATABASE_URL: postgresUrl.optional(),
  API_DATABASE_URL: postgresUrl.optional(),
  RETENTION_DATABASE_URL: postgresUrl.optional(),
  CLI_DATABASE_URL: postgresUrl.optional(),
  DATABASE_URL: postgresUrl.optional(),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),

  /**
   * The decryptor (decryptor/): the one process that decrypts cards, on an internal address only. The
   * API reaches it at DECRYPTOR_URL; the decryptor listens on DECRYPTOR_HOST:DECRYPTOR_PORT and connects to
   * the database as its own role (DECRYPTOR_DATABASE_URL).
   */
  DECRYPTOR_URL: url.optional(),
  DECRYPTOR_HOST: z.string().min(1).default('127.0.0.1'),
  DECRYPTOR_PORT: port.default(3110),
  DECRYPTOR_DATABASE_URL: postgresUrl.optional(),
  DECRYPTOR_DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(20),

  VAULT_ADDR: url,
  /** A token instead of an AppRole login (never the root token: connectVault refuses it). */
  VAULT_TOKEN: z.string().min(1).optional(),
  /** The CA that signed Vault's certificate (PEM file), when it is not one the system trusts. */
  VAULT_CACERT: z.string().min(1).optional(),
  VAULT_TRANSIT_MOUNT: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]*$/, 'expected a mount path such as "transit"')
    .default('transit'),
  VAULT_CARD_KEY_PREFIX: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]*$/)
    .default('cards'),
  VAULT_INDEX_KEY: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]*$/)
    .default('card-index'),
  VAULT_INDEX_KEY_VERSION: z.coerce.number().int().min(1).default(1),
  /** How long a process starting while Vault is down (or sealed) waits for it before giving up. */
  VAULT_STARTUP_WAIT: durationSchema.default('5m'),
  /** Every Vault request gives up after this long (a reveal holds its rows locked while Vault decrypts). */
  VAULT_REQUEST_TIMEOUT: durationSchema.default('10s'),
  VAULT_CODEC_KEY: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]*$/)
    .default('temporal-codec'),

  // Needed by some components only (requireSetting): a process is not handed what it does not use.
  PROVIDER_BASE_URL: url.optional(),
  PROVIDER_API_KEY: z.string().min(8, 'must be at least 8 characters').optional(),
  PROVIDER_TIMEOUT: durationSchema.default('10s'),
  /**
   * Provider requests per second across every worker: the provider's limit for our account. The Temporal
   * server enforces it on the provider task queue, whatever the number of workers.
   */
  PROVIDER_MAX_RPS: z.coerce.number().positive().max(10_000).default(50),

  SMTP_URL: z.url({ protocol: /^smtps?$/ }).optional(),
  SMTP_REQUIRE_TLS: bool.default(false),
  MAIL_FROM: z.string().min(3).default('Gift cards <no-reply@giftcards.local>'),
  /** A folder with the business's own notice wording (domain/mail/templates.ts lists the files and variables). */
  MAIL_TEMPLATES_DIR: z.string().min(1).optional(),

  /** The business's language for pages and emails when neither the order nor the browser names one (en, de, fr, es, ja). */
  DEFAULT_LOCALE: z
    .string()
    .regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, 'a BCP 47 language tag such as "en" or "de-CH"')
    .default('en'),
  /**
   * The business's look per intake caller and a default (domain/brand.ts): JSON {"default": {"displayName":
   * …, "accent": "#rrggbb", …}, "<caller>": {…}}; checked at start-up, contrast included.
   */
  BRANDS: z.string().min(2).optional(),

  PUBLIC_BASE_URL: url.optional(),
  API_HOST: z.string().min(1).default('127.0.0.1'),
  API_PORT: port.default(3000),
  /**
   * Behind reverse proxies: how many hops to trust in X-Forwarded-For (a number), or the proxies' addresses
   * or CIDRs (comma-separated). Never "trust everyone": a client could then pick its own IP and step
   * around every per-IP rate limit.
   */
  TRUST_PROXY: z
    .string()
    .regex(
      /^(false|\d{1,2}|[0-9a-fA-F.:/]+(,[0-9a-fA-F.:/]+)*)$/,
      'expected false, a hop count such as 1, or proxy addresses/CIDRs such as 10.0.0.0/8,127.0.0.1',
    )
    .default('false')
    .transform((v): false | number | string[] =>
      v === 'false' ? false : /^\d+$/.test(v) ? Number(v) : v.split(','),
    ),

  LINK_TTL: durationSchema.default('24h'),
  RETENTION: durationSchema.default('30d'),
  ORDER_DEADLINE: durationSchema.default('24h'),
  POLL_INITIAL_INTERVAL: durationSchema.default('5s'),
  POLL_MAX_INTERVAL: durationSchema.default('5m'),
  REVEAL_VISIBLE: durationSchema.default('60s'),
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(30),

  // Temporal payload codec and its endpoint (DESIGN 3.6).
  CODEC_KEY_ROTATION: durationSchema.default('24h'),
  /** Browser origins allowed to call the codec endpoint (with the operator's token); default: the Temporal UI's. */
  CODEC_CORS_ORIGINS: z.string().optional(),

  // Operators by name (DESIGN 3.6, docs/operations.md): the internal listener (codec endpoint and ops API)
  // and the identity provider whose access tokens it accepts. The API refuses to start without them.
  /** The internal listener's address: an operators' network, never the customers' (API_HOST/API_PORT). */
  INTERNAL_HOST: z.string().min(1).default('127.0.0.1'),
  INTERNAL_PORT: port.optional(),
  /**
   * The internal listener's certificate and key (PEM): https, which the Temporal UI requires before it
   * passes an operator's access token to the codec endpoint. Without them it serves http (the CLI, a proxy).
   */
  INTERNAL_TLS_CERT_FILE: z.string().min(1).optional(),
  INTERNAL_TLS_KEY_FILE: z.string().min(1).optional(),
  /** The operators' identity provider (its `iss`); tokens of any other issuer are refused. */
  OPERATOR_TOKEN_ISSUER: url.optional(),
  /** The `aud` operators' tokens must carry for the codec endpoint and ops API (the resource indicator). */
  OPERATOR_TOKEN_AUDIENCE: z.string().min(1).default('urn:giftcards:ops'),
  /** The issuer's signing keys; default `<issuer>/jwks` (oidc-provider's). Refetched when a new key appears. */
  OPERATOR_JWKS_URL: url.optional(),
  /** How long a request that needs a second operator waits for one. */
  OPERATOR_APPROVAL_TTL: durationSchema.default('24h'),
  /** The internal ops API for `npm run ops` (the CLI's side of INTERNAL_PORT). */
  OPS_API_URL: url.optional(),

  // In-app API: the customer app's tokens, verified against the keys the app publishes (JWKS, asymmetric
  // algorithms only), with issuer, audience and a maximum age (api/in-app/bearer-auth.ts).
  JWT_JWKS_URL: url.optional(),
  JWT_ISSUER: z.string().min(1).default('giftcards-app'),
  JWT_AUDIENCE: z.string().min(1).default('giftcards-api'),
  /** The oldest token accepted, by its `iat`, whatever its `exp` says. */
  JWT_MAX_AGE: durationSchema.default('15m'),
  REVEAL_KEY_TTL: durationSchema.default('5m'),

  // Signed intake for upstream systems: "caller:secret,caller2:secret2", secrets of 32+ characters.
  INTAKE_CLIENTS: z
    .string()
    .regex(
      /^[a-z0-9_-]+:[^,:]{32,}(,[a-z0-9_-]+:[^,:]{32,})*$/,
      'expected "caller:secret[,caller:secret]" with secrets of 32+ characters',
    )
    .optional(),
  /**
   * Each intake caller's order-id namespace, "caller:prefix[,caller:prefix]": the caller may claim only
   * order ids that start with its prefix (domain/order-fences.ts), so that no caller claims another's
   * provider order first. No prefix may begin another's. Required in production for every caller as soon
   * as INTAKE_CLIENTS lists more than one.
   */
  INTAKE_ORDER_ID_PREFIXES: z
    .string()
    .regex(
      /^[a-z0-9_-]+:[A-Za-z0-9][A-Za-z0-9._:-]{0,63}(,[a-z0-9_-]+:[A-Za-z0-9][A-Za-z0-9._:-]{0,63})*$/,
      'expected "caller:prefix[,caller:prefix]", prefixes of order-id characters (letters, digits, ._:-)',
    )
    .transform((spec, ctx) => {
      const prefixes = new Map<string, string>();
      for (const entry of spec.split(',')) {
        const at = entry.indexOf(':');
        const caller = entry.slice(0, at);
        if (prefixes.has(caller)) ctx.addIssue({ code: 'custom', message: `${caller} is listed twice` });
        prefixes.set(caller, entry.slice(at + 1));
      }
      for (const [a, pa] of prefixes)
        for (const [b, pb] of prefixes)
          if (a !== b && pb.startsWith(pa))
            ctx.addIssue({
              code: 'custom',
              message: `${a}'s prefix begins ${b}'s: ${a} could claim ${b}'s order ids`,
            });
      return prefixes as ReadonlyMap<string, string>;
    })
    .optional(),
  /** Keys the fingerprint that binds an order id to its first intake caller and request. */
  INTAKE_REQUEST_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
  INTAKE_WINDOW: durationSchema.default('5m'),
  /**
   * Also accept the deprecated intake signature `v1=` (no domain label, the same input as the old webhook
   * signature): for a deprecation period only, while callers move to `v2=` (domain/signing.ts).
   */
  INTAKE_ACCEPT_V1_SIGNATURES: bool.default(false),

  // Webhooks to intake callers (DESIGN 7, docs/webhooks.md): JSON {"caller": {"url": "https://…",
  // "secret": "whsec_…"}}; or "secrets": [new, old] while rotating, "signingKeys": ["whsk_…"] for v1a
  // (Ed25519) signatures, "events": [types] to receive only those, "allowPrivate": ["127.0.0.1"] for a
  // receiver on an internal address (refused in production).
  WEBHOOK_ENDPOINTS: z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        // JSON.parse's message quotes the text, which holds secrets.
        ctx.addIssue({
          code: 'custom',
          message: 'expected JSON such as {"caller": {"url": "https://…", "secret": "whsec_…"}}',
        });
        return z.NEVER;
      }
    })
    .pipe(
      z.record(
        z.string().regex(/^[a-z0-9_-]+$/, 'caller names: lowercase letters, digits, "_" or "-"'),
        webhookEndpointSchema(),
      ),
    )
    .transform((spec) => new Map(Object.entries(spec)))
    .optional(),
  WEBHOOK_MAX_AGE: durationSchema.default('24h'),
  INTAKE_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(120),

  // Each process's ops port (/metrics, /readyz, /livez), apart from the public one; off when unset.
  OPS_HOST: z.string().min(1).default('127.0.0.1'),
  OPS_PORT: port.optional(),
  /** A worker's Temporal SDK metrics (Prometheus exporter of its Runtime), on their own port; off when unset. */
  TEMPORAL_METRICS_PORT: port.optional(),
  /** On SIGTERM, how long a worker's running activities get to finish before they are retried elsewhere. */
  WORKER_SHUTDOWN_GRACE: durationSchema.default('10s'),
  /** OTLP/HTTP collector for traces (spans go to `<endpoint>/v1/traces`, lib/tracing.ts); off when unset. */
  OTEL_EXPORTER_OTLP_ENDPOINT: url.optional(),
  /** The service name on a process's spans; default: its kind (giftcards-api, giftcards-worker...). */
  OTEL_SERVICE_NAME: z.string().min(1).max(100).optional(),

  RETENTION_SWEEP_INTERVAL: durationSchema.default('1h'),
  RETENTION_SWEEP_BATCH: z.coerce.number().int().min(1).max(10_000).default(500),
});

export type Config = z.infer<typeof envSchema>;

/** Components that hold their own Vault identity (DESIGN 3.7); `cli`: the order and ops CLIs. */
export type VaultComponent = 'worker' | 'api' | 'retention' | 'cli' | 'decryptor';

/**
 * The local stack's env files (.data/env/<name>.env, written by scripts/stack.sh), one per component, each
 * with only what that component needs; `test` is the union, for test processes and benchmarks that run
 * several components at once.
 */
export type StackEnvName =
  | 'worker'
  | 'retention-worker'
  | 'api'
  | 'decryptor'
  | 'provider-sandbox'
  | 'identity-provider'
  | 'cli'
  | 'test';

/** The env file a process loads: STACK_ENV_FILE when set, else its component's own. */
export function stackEnvFile(name: StackEnvName): string {
  return process.env.STACK_ENV_FILE ?? path.join(repoRoot, '.data', 'env', `${name}.env`);
}

export function loadStackEnv(name: StackEnvName = 'cli'): void {
  const file = stackEnvFile(name);
  if (existsSync(file)) process.loadEnvFile(file);
}

/** Settings some components need and others must not be handed (the API has no provider key, say). */
type PerComponentSetting =
  | 'PROVIDER_BASE_URL'
  | 'PROVIDER_API_KEY'
  | 'SMTP_URL'
  | 'PUBLIC_BASE_URL'
  | 'INTAKE_REQUEST_KEY'
  | 'DECRYPTOR_URL'
  | 'INTERNAL_PORT'
  | 'OPS_API_URL';

export function requireSetting<K extends PerComponentSetting>(
  cfg: Config,
  name: K,
  who: string,
): NonNullable<Config[K]> {
  const value = cfg[name];
  if (value === undefined)
    throw new ConfigError(`${name} is required by ${who} but not set (see .env.example)`);
  return value as NonNullable<Config[K]>;
}

/** Settings that contradict each other (each message names the variable, never a value). */
function transportProblems(cfg: Config): string[] {
  const problems: string[] = [];
  if (Boolean(cfg.TEMPORAL_TLS_CERT_FILE) !== Boolean(cfg.TEMPORAL_TLS_KEY_FILE)) {
    problems.push('TEMPORAL_TLS_CERT_FILE and TEMPORAL_TLS_KEY_FILE: set both (mTLS) or neither');
  }
  if (cfg.TEMPORAL_TLS === false && temporalTlsRequested(cfg)) {
    problems.push('TEMPORAL_TLS: false, but TLS files, a server name or an API key are set');
  }
  return problems;
}

function temporalTlsRequested(cfg: Config): boolean {
  return Boolean(
    cfg.TEMPORAL_TLS_CA_FILE ||
      cfg.TEMPORAL_TLS_CERT_FILE ||
      cfg.TEMPORAL_TLS_SERVER_NAME ||
      cfg.TEMPORAL_API_KEY,
  );
}

/** Whether the Temporal connection uses TLS (an API key implies it, as Temporal Cloud requires). */
export function temporalTlsEnabled(cfg: Config): boolean {
  return cfg.TEMPORAL_TLS ?? temporalTlsRequested(cfg);
}

/**
 * Validates an environment; throws a ConfigError naming every bad variable (never its value). In
 * production it also refuses the settings that are fine on a laptop only (see productionRefusals).
 */
export function parseConfig(env: NodeJS.ProcessEnv): Config {
  const result = envSchema.safeParse(env);
  const problems = result.success ? transportProblems(result.data) : describeIssues(result.error, env);
  if (!result.success || problems.length > 0) {
    throw new ConfigError(`Invalid configuration (see .env.example):\n  ${problems.join('\n  ')}`);
  }
  if (result.data.NODE_ENV === 'production') {
    const refusals = productionRefusals(result.data, env);
    if (refusals.length) throw new ConfigError(productionMessage(env, refusals));
  }
  return result.data;
}

/**
 * Whether an environment runs in production mode: unless NODE_ENV says development or test, it does (for
 * the processes that read a few variables of their own rather than the whole configuration, as the
 * migrations do).
 */
export function isProduction(env: NodeJS.ProcessEnv): boolean {
  return env.NODE_ENV !== 'development' && env.NODE_ENV !== 'test';
}

function productionMessage(env: NodeJS.ProcessEnv, refusals: string[]): string {
  const mode =
    env.NODE_ENV === undefined
      ? 'NODE_ENV is unset, which means production; the local stack says NODE_ENV=development in its env files'
      : 'NODE_ENV=production';
  return `Unsafe configuration for production (${mode}; see docs/operations.md, "Production mode"):\n  ${refusals.join('\n  ')}`;
}

/** The sslmode values that make node-postgres use TLS (and refuse a server that does not speak it). */
const DATABASE_TLS_MODES = ['require', 'verify-ca', 'verify-full'];

/**
 * A PostgreSQL URL that would connect without TLS, as a refusal naming the variable (never the URL, which
 * holds a password); undefined when it asks for TLS, or is unset or unreadable (the schema says so).
 */
function databaseTlsRefusal(name: string, value: string | undefined): string | undefined {
  if (!value) return undefined;
  let mode: string | null;
  try {
    mode = new URL(value).searchParams.get('sslmode');
  } catch {
    return undefined;
  }
  if (mode !== null && DATABASE_TLS_MODES.includes(mode)) return undefined;
  return `${name}: a PostgreSQL connection without TLS is refused in production; add sslmode=verify-full (with sslrootcert=<the CA's file> unless the system trusts it), or verify-ca or require`;
}

/**
 * What a process that reads only the migrations' URL refuses in production (scripts/migrate.ts): a
 * connection without TLS. Throws a ConfigError naming the variable.
 */
export function assertMigrationUrlSafe(env: NodeJS.ProcessEnv, name: string, url: string): void {
  if (!isProduction(env)) return;
  const refusal = databaseTlsRefusal(name, url);
  if (refusal) throw new ConfigError(productionMessage(env, [refusal]));
}

/** A file a setting names, read now: a missing or unreadable one stops start-up naming the variable. */
export function readSettingFile(name: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError(`${name}: cannot read the file it names (${code})`);
  }
}

// ---------------------------------------------------------------- production mode

/**
 * Secrets that are published: the values of .env.example and the local-only defaults of docker-compose.yml
 * (test/unit/config.test.ts reads both files and checks that each of their secrets is refused here).
 */
const PUBLISHED_SECRET_MARKERS = ['change-me', 'replace-with', 'local-only', 'dev-only'];
const PUBLISHED_SECRETS = new Set(['example-provider-key', '00000000-0000-0000-0000-000000000000']);

function isPublishedSecret(value: string): boolean {
  // A whsec_ secret's example is readable once decoded.
  const decoded = value.startsWith('whsec_') ? Buffer.from(value.slice(6), 'base64').toString('latin1') : '';
  return [value, decoded]
    .filter(Boolean)
    .map((v) => v.toLowerCase())
    .some((lower) => PUBLISHED_SECRETS.has(lower) || PUBLISHED_SECRET_MARKERS.some((m) => lower.includes(m)));
}

function urlPassword(value: string | undefined): string | undefined {
  if (!value) return undefined;
  try {
    return decodeURIComponent(new URL(value).password) || undefined;
  } catch {
    return undefined;
  }
}

/**
 * What production refuses, one line per variable, naming it and never its value: published (example or
 * compose-default) secrets, plain-http endpoints, SMTP that may fall back to plaintext, a Temporal or
 * PostgreSQL connection without TLS, and a Vault token where each component must log in with its own AppRole.
 */
function productionRefusals(cfg: Config, env: NodeJS.ProcessEnv): string[] {
  const refusals: string[] = [];

  const secrets: Array<[string, string | undefined]> = [
    ...DATABASE_URL_SETTINGS.map((name) => [name, urlPassword(cfg[name])] as [string, string | undefined]),
    ['MIGRATION_DATABASE_URL', urlPassword(env.MIGRATION_DATABASE_URL)],
    ['SMTP_URL', urlPassword(cfg.SMTP_URL)],
    ['PROVIDER_API_KEY', cfg.PROVIDER_API_KEY],
    ...(['WORKER', 'API', 'RETENTION', 'CLI', 'DECRYPTOR'] as const).map(
      (c): [string, string | undefined] => [`${c}_VAULT_SECRET_ID`, env[`${c}_VAULT_SECRET_ID`]],
    ),
    ['INTAKE_REQUEST_KEY', cfg.INTAKE_REQUEST_KEY],
    ['TEMPORAL_API_KEY', cfg.TEMPORAL_API_KEY],
    ...(cfg.INTAKE_CLIENTS ?? '')
      .split(',')
      .filter(Boolean)
      .map((entry): [string, string] => ['INTAKE_CLIENTS', entry.slice(entry.indexOf(':') + 1)]),
    ...[...(cfg.WEBHOOK_ENDPOINTS?.values() ?? [])].flatMap((e) =>
      [...e.secrets, ...(e.signingKeys ?? [])].map((secret): [string, string] => [
        'WEBHOOK_ENDPOINTS',
        secret,
      ]),
    ),
  ];
  // The shared operator secrets are retired (operators sign in at the identity provider, DESIGN 3.6): one
  // still set is a deployment that believes it still protects something.
  for (const name of ['CODEC_AUTH_TOKEN', 'OPERATOR_PASSWORD'])
    if (env[name])
      refusals.push(
        `${name}: retired; operators sign in at the identity provider (OPERATOR_TOKEN_ISSUER), remove it`,
      );
  const published = new Set(secrets.filter(([, v]) => v && isPublishedSecret(v)).map(([name]) => name));
  for (const name of published)
    refusals.push(`${name}: holds an example or docker-compose default secret; set a secret of your own`);

  // Each only where the component has it at all (the API has no provider URL, say).
  for (const name of [
    'PUBLIC_BASE_URL',
    'VAULT_ADDR',
    'PROVIDER_BASE_URL',
    'OTEL_EXPORTER_OTLP_ENDPOINT',
    'JWT_JWKS_URL',
    'OPERATOR_TOKEN_ISSUER',
    'OPERATOR_JWKS_URL',
  ] as const) {
    const value = cfg[name];
    if (value !== undefined && new URL(value).protocol !== 'https:')
      refusals.push(`${name}: must be an https:// URL in production`);
  }

  // Cards travel from the decryptor to the API in clear on this hop: loopback, or TLS.
  if (cfg.DECRYPTOR_URL !== undefined) {
    const hop = new URL(cfg.DECRYPTOR_URL);
    if (hop.protocol !== 'https:' && !['127.0.0.1', '[::1]', 'localhost'].includes(hop.hostname))
      refusals.push('DECRYPTOR_URL: must be https:// in production unless the decryptor is on loopback');
  }

  for (const [caller, endpoint] of cfg.WEBHOOK_ENDPOINTS ?? []) {
    if (new URL(endpoint.url).protocol !== 'https:')
      refusals.push(`WEBHOOK_ENDPOINTS: ${caller}'s url must be https:// in production`);
    if (endpoint.allowPrivate)
      refusals.push(
        `WEBHOOK_ENDPOINTS: ${caller}'s allowPrivate is refused in production: webhooks never reach internal addresses`,
      );
  }

  const callers = new Set(
    (cfg.INTAKE_CLIENTS ?? '')
      .split(',')
      .filter(Boolean)
      .map((e) => e.split(':')[0]!),
  );
  const unfenced = [...callers].filter((c) => !cfg.INTAKE_ORDER_ID_PREFIXES?.has(c));
  if (callers.size > 1 && unfenced.length > 0)
    refusals.push(
      `INTAKE_ORDER_ID_PREFIXES: every intake caller needs its own order-id prefix in production when there is ` +
        `more than one (none for ${unfenced.join(', ')}): otherwise one caller can claim another's orders`,
    );

  if (cfg.SMTP_URL !== undefined && !cfg.SMTP_REQUIRE_TLS && new URL(cfg.SMTP_URL).protocol !== 'smtps:') {
    refusals.push(
      'SMTP_REQUIRE_TLS: must be true in production (or SMTP_URL smtps://): mail must never go out unencrypted',
    );
  }

  if (!temporalTlsEnabled(cfg) && !cfg.TEMPORAL_TLS_TERMINATED_BY_MESH) {
    refusals.push(
      'TEMPORAL_ADDRESS: a Temporal connection without TLS is refused in production; set TEMPORAL_TLS_CA_FILE, ' +
        'TEMPORAL_TLS_CERT_FILE and TEMPORAL_TLS_KEY_FILE (mTLS), or TEMPORAL_API_KEY, or ' +
        'TEMPORAL_TLS_TERMINATED_BY_MESH=true where a service mesh wraps the connection in mTLS',
    );
  }

  for (const [name, value] of [
    ...DATABASE_URL_SETTINGS.map((name) => [name, cfg[name]] as [string, string | undefined]),
    ['MIGRATION_DATABASE_URL', env.MIGRATION_DATABASE_URL],
  ] as const) {
    const refusal = databaseTlsRefusal(name, value);
    if (refusal) refusals.push(refusal);
  }

  if (cfg.VAULT_TOKEN) {
    refusals.push(
      'VAULT_TOKEN: not allowed in production; each component logs in with its own AppRole ' +
        '(<COMPONENT>_VAULT_ROLE_ID and <COMPONENT>_VAULT_SECRET_ID)',
    );
  }
  return refusals;
}

let cached: Config | undefined;
let envName: StackEnvName = 'cli';

export function config(): Config {
  if (!cached) {
    loadStackEnv(envName);
    cached = parseConfig(process.env);
  }
  return cached;
}

/**
 * Entry points name their component before anything reads the configuration, so that the process loads
 * its own env file and nobody else's. Without a name (a script, a tool), a process gets the CLIs' file.
 */
export function configFor(name: StackEnvName): Config {
  if (cached && envName !== name) {
    throw new ConfigError(
      `the configuration was read as "${envName}" before this process named itself "${name}"`,
    );
  }
  envName = name;
  return config();
}

/**
 * AppRole credentials of one component: `<COMPONENT>_VAULT_ROLE_ID` and `_SECRET_ID`, else VAULT_TOKEN.
 * Never another component's, nor a shared pair: a process that lacks its own identity does not start.
 */
export function vaultCredentials(
  component: VaultComponent,
  env: NodeJS.ProcessEnv = process.env,
): { roleId: string; secretId: string } | { token: string } {
  const prefix = component.toUpperCase();
  const roleId = env[`${prefix}_VAULT_ROLE_ID`];
  const secretId = env[`${prefix}_VAULT_SECRET_ID`];
  if (roleId && secretId) return { roleId, secretId };
  if (env.VAULT_TOKEN) return { token: env.VAULT_TOKEN };
  throw new ConfigError(
    `Vault credentials for the ${component}: set ${prefix}_VAULT_ROLE_ID and ${prefix}_VAULT_SECRET_ID ` +
      '(or VAULT_TOKEN, never the root token)',
  );
}

/** Components that connect to the database with a role of their own (the migrations' is the owner's). */
export type DatabaseComponent = 'worker' | 'api' | 'retention' | 'cli' | 'decryptor';

const DATABASE_URL_SETTINGS = [
  'WORKER_DATABASE_URL',
  'API_DATABASE_URL',
  'RETENTION_DATABASE_URL',
  'CLI_DATABASE_URL',
  'DECRYPTOR_DATABASE_URL',
  'DATABASE_URL',
] as const;

/**
 * The database URL of one component: `<COMPONENT>_DATABASE_URL` (its own role, with only the grants its
 * work needs), else, outside production only, DATABASE_URL (one role for everything). A production process
 * without its own URL does not start.
 */
export function databaseUrl(component: DatabaseComponent, cfg: Config = config()): string {
  const name = `${component.toUpperCase()}_DATABASE_URL` as `${Uppercase<DatabaseComponent>}_DATABASE_URL`;
  const own = cfg[name];
  if (own) return own;
  if (cfg.NODE_ENV === 'production')
    throw new ConfigError(
      `${name}: the ${component} connects with a database role of its own in production (DATABASE_URL, one role for every component, is refused)`,
    );
  if (cfg.DATABASE_URL) return cfg.DATABASE_URL;
  throw new ConfigError(`${name} is required by the ${component} but not set (see .env.example)`);
}
