/**
 * One dependency factory per worker kind, shared by the workers, the scripts and the tests: each logs in
 * to Vault with its own component's identity (DESIGN 3.7) and close() releases everything it opened.
 */
import type { ActivityDeps } from '../activities';
import type { RetentionDeps } from '../activities/retention';
import { customerSettings } from '../domain/brand';
import { createMailer } from '../domain/mail/mailer';
import { loadNoticeTemplates } from '../domain/mail/templates';
import { createProviderClient } from '../domain/provider';
import { type Config, databaseUrl, durationMs, requireSetting } from '../lib/config';
import { createPool } from '../lib/db';
import { logger } from '../lib/logger';
import { connectVault, type VaultSession } from '../lib/vault';

export interface Closable {
  close(): Promise<void>;
}

/** The fulfillment activities' dependencies, as the worker role (encrypt, hmac; never decrypt cards). */
export async function fulfillmentDeps(
  cfg: Config,
): Promise<ActivityDeps & Closable & { vault: VaultSession }> {
  const who = 'the fulfillment worker';
  const settings = {
    providerBaseUrl: requireSetting(cfg, 'PROVIDER_BASE_URL', who),
    providerApiKey: requireSetting(cfg, 'PROVIDER_API_KEY', who),
    smtpUrl: requireSetting(cfg, 'SMTP_URL', who),
    publicBaseUrl: requireSetting(cfg, 'PUBLIC_BASE_URL', who),
  };
  const customerMail = customerSettings(cfg);
  const db = createPool(databaseUrl('worker', cfg), cfg.DATABASE_POOL_MAX);
  const vault = await connectVault('worker');
  const mailer = createMailer({
    smtpUrl: settings.smtpUrl,
    from: cfg.MAIL_FROM,
    requireTls: cfg.SMTP_REQUIRE_TLS,
  });
  const deps: ActivityDeps & Closable & { vault: VaultSession } = {
    db,
    vault,
    transit: vault.transit,
    provider: createProviderClient({
      baseUrl: settings.providerBaseUrl,
      apiKey: settings.providerApiKey,
      timeoutMs: durationMs(cfg.PROVIDER_TIMEOUT),
    }),
    mailer,
    log: logger().child({ component: 'activities' }),
    publicBaseUrl: settings.publicBaseUrl,
    cardKeyPrefix: cfg.VAULT_CARD_KEY_PREFIX,
    indexKey: cfg.VAULT_INDEX_KEY,
    indexKeyVersion: cfg.VAULT_INDEX_KEY_VERSION,
    webhookEndpoints: cfg.WEBHOOK_ENDPOINTS ?? new Map(),
    noticeTemplates: loadNoticeTemplates(cfg.MAIL_TEMPLATES_DIR),
    customerMail,
    async close() {
      vault.close();
      deps.mailer.close(); // the one in use: a test may have swapped it
      await db.end();
    },
  };
  return deps;
}

/** The retention sweep's dependencies, as the retention role (the only one that may destroy key buckets). */
export async function retentionDeps(cfg: Config): Promise<RetentionDeps & Closable> {
  const db = createPool(databaseUrl('retention', cfg), cfg.DATABASE_POOL_MAX);
  const vault = await connectVault('retention');
  return {
    db,
    vault,
    cardKeyPrefix: cfg.VAULT_CARD_KEY_PREFIX,
    retentionMs: durationMs(cfg.RETENTION),
    log: logger().child({ component: 'retention' }),
    async close() {
      vault.close();
      await db.end();
    },
  };
}
