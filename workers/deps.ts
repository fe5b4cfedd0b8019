import type { ActivityDeps } from '../activities';
import { type Config, durationMs } from '../lib/config';
import { createPool } from '../lib/db';
import { logger } from '../lib/logger';
import { createProviderClient } from '../lib/provider';
import { connectVault } from '../lib/vault';
import { createMailer } from '../mail/mailer';

/** Builds the fulfillment activities' dependencies from configuration; close() releases them. */
export async function buildActivityDeps(cfg: Config): Promise<ActivityDeps & { close(): Promise<void> }> {
  const db = createPool(cfg.DATABASE_URL, cfg.DATABASE_POOL_MAX);
  const vault = await connectVault('worker');
  const mailer = createMailer({
    smtpUrl: cfg.SMTP_URL,
    from: cfg.MAIL_FROM,
    requireTls: cfg.SMTP_REQUIRE_TLS,
  });
  return {
    db,
    transit: vault.transit,
    provider: createProviderClient({
      baseUrl: cfg.PROVIDER_BASE_URL,
      apiKey: cfg.PROVIDER_API_KEY,
      timeoutMs: durationMs(cfg.PROVIDER_TIMEOUT),
    }),
    mailer,
    log: logger().child({ component: 'activities' }),
    publicBaseUrl: cfg.PUBLIC_BASE_URL,
    cardKeyPrefix: cfg.VAULT_CARD_KEY_PREFIX,
    indexKey: cfg.VAULT_INDEX_KEY,
    indexKeyVersion: cfg.VAULT_INDEX_KEY_VERSION,
    async close() {
      vault.close();
      mailer.close();
      await db.end();
    },
  };
}
