/**
 * The one configuration module. Every process (worker, API, CLI, sandbox, tests) reads its settings here,
 * validated once at start-up: a missing or malformed variable stops the process with a message that names
 * it and never echoes its value.
 *
 * The local stack writes `.data/stack.env` (URLs, ports, AppRole ids); it is loaded when present, and
 * variables already set in the environment win over it. `.env.example` documents every variable.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { msToNumber } from '@temporalio/common/lib/time';
import { z } from 'zod';
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

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('giftcards'),
  TEMPORAL_RETENTION_TASK_QUEUE: z.string().min(1).default('giftcards-retention'),
  TEMPORAL_UI_URL: url.default('http://127.0.0.1:8233'),

  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),

  VAULT_ADDR: url,
  VAULT_TOKEN: z.string().min(1).optional(),
  VAULT_ROLE_ID: z.string().min(1).optional(),
  VAULT_SECRET_ID: z.string().min(1).optional(),
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
  VAULT_CODEC_KEY: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]*$/)
    .default('temporal-codec'),

  PROVIDER_BASE_URL: url,
  PROVIDER_API_KEY: z.string().min(8, 'must be at least 8 characters'),
  PROVIDER_TIMEOUT: durationSchema.default('10s'),
  /**
   * Provider requests per second across every worker: the provider's limit for our account. The Temporal
   * server enforces it on the provider task queue, whatever the number of workers.
   */
  PROVIDER_MAX_RPS: z.coerce.number().positive().max(10_000).default(50),

  SMTP_URL: z.url({ protocol: /^smtps?$/ }),
  SMTP_REQUIRE_TLS: bool.default(false),
  MAIL_FROM: z.string().min(3).default('Gift cards <no-reply@giftcards.local>'),
  /** A folder with the business's own notice wording (domain/mail/templates.ts lists the files and variables). */
  MAIL_TEMPLATES_DIR: z.string().min(1).optional(),

  PUBLIC_BASE_URL: url,
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

  // Temporal payload codec and its endpoint (DESIGN 3.6). The API refuses to start without the secrets.
  CODEC_KEY_ROTATION: durationSchema.default('24h'),
  CODEC_AUTH_TOKEN: z.string().min(32, 'must be at least 32 characters').optional(),
  OPERATOR_PASSWORD: z.string().min(12, 'must be at least 12 characters').optional(),
  OPERATOR_SESSION_TTL: durationSchema.default('8h'),
  /** Browser origins allowed to call the codec endpoint with credentials; default: the Temporal UI's. */
  CODEC_CORS_ORIGINS: z.string().optional(),

  // In-app API: JWT bearer tokens of the customer-facing app (HS256 shared secret).
  JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  JWT_ISSUER: z.string().min(1).default('giftcards-app'),
  JWT_AUDIENCE: z.string().min(1).default('giftcards-api'),
  REVEAL_KEY_TTL: durationSchema.default('5m'),

  // Signed intake for upstream systems: "caller:secret,caller2:secret2", secrets of 32+ characters.
  INTAKE_CLIENTS: z
    .string()
    .regex(
      /^[a-z0-9_-]+:[^,:]{32,}(,[a-z0-9_-]+:[^,:]{32,})*$/,
      'expected "caller:secret[,caller:secret]" with secrets of 32+ characters',
    )
    .optional(),
  INTAKE_WINDOW: durationSchema.default('5m'),

  // Webhooks to intake callers (DESIGN 7): JSON {"caller": {"url": "https://…", "secret": "32+ chars"}}.
  WEBHOOK_ENDPOINTS: z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        // JSON.parse's message quotes the text, which holds secrets.
        ctx.addIssue({
          code: 'custom',
          message: 'expected JSON such as {"caller": {"url": "https://…", "secret": "…"}}',
        });
        return z.NEVER;
      }
    })
    .pipe(
      z.record(
        z.string().regex(/^[a-z0-9_-]+$/, 'caller names: lowercase letters, digits, "_" or "-"'),
        z.object({ url, secret: z.string().min(32, 'secrets must be at least 32 characters') }).strict(),
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
  /** OTLP/HTTP collector for traces (spans go to `<endpoint>/v1/traces`, lib/tracing.ts); off when unset. */
  OTEL_EXPORTER_OTLP_ENDPOINT: url.optional(),
  /** The service name on a process's spans; default: its kind (giftcards-api, giftcards-worker...). */
  OTEL_SERVICE_NAME: z.string().min(1).max(100).optional(),

  RETENTION_SWEEP_INTERVAL: durationSchema.default('1h'),
  RETENTION_SWEEP_BATCH: z.coerce.number().int().min(1).max(10_000).default(500),
});

export type Config = z.infer<typeof envSchema>;

/** Components that hold their own Vault identity (DESIGN 3.7). */
export type VaultComponent = 'worker' | 'api' | 'retention';

export function loadStackEnv(): void {
  const file = process.env.STACK_ENV_FILE ?? path.join(repoRoot, '.data', 'stack.env');
  if (existsSync(file)) process.loadEnvFile(file);
}

/** Validates an environment; throws a ConfigError naming every bad variable (never its value). */
export function parseConfig(env: NodeJS.ProcessEnv): Config {
  const result = envSchema.safeParse(env);
  if (!result.success) {
    const problems = describeIssues(result.error, env);
    throw new ConfigError(`Invalid configuration (see .env.example):\n  ${problems.join('\n  ')}`);
  }
  return result.data;
}

let cached: Config | undefined;

export function config(): Config {
  if (!cached) {
    loadStackEnv();
    cached = parseConfig(process.env);
  }
  return cached;
}

/** AppRole credentials for a component: `<COMPONENT>_VAULT_ROLE_ID`, else the generic ones, else a token. */
export function vaultCredentials(
  component: VaultComponent,
  env: NodeJS.ProcessEnv = process.env,
): { roleId: string; secretId: string } | { token: string } {
  const prefix = component.toUpperCase();
  const roleId = env[`${prefix}_VAULT_ROLE_ID`] ?? env.VAULT_ROLE_ID;
  const secretId = env[`${prefix}_VAULT_SECRET_ID`] ?? env.VAULT_SECRET_ID;
  if (roleId && secretId) return { roleId, secretId };
  if (env.VAULT_TOKEN) return { token: env.VAULT_TOKEN };
  throw new ConfigError(
    `Vault credentials for the ${component}: set ${prefix}_VAULT_ROLE_ID and ${prefix}_VAULT_SECRET_ID ` +
      '(or VAULT_ROLE_ID / VAULT_SECRET_ID, or VAULT_TOKEN)',
  );
}
