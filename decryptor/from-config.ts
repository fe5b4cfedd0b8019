/**
 * The decryptor as production runs it: its own database role (DECRYPTOR_DATABASE_URL) and its own Vault
 * identity (decrypt of card keys only, DESIGN 3.7). It holds no Temporal connection, no intake or operator
 * secret and no payload codec: the one thing it can do is turn a consumable link token or reveal key into
 * that capability's cards.
 */
import type { FastifyInstance } from 'fastify';
import { type Config, databaseUrl } from '../lib/config';
import { createPool, type Db } from '../lib/db';
import { logger } from '../lib/logger';
import type { ReadinessCheck } from '../lib/ops-server';
import { connectVault } from '../lib/vault';
import { buildDecryptor } from './server';

export interface ConfiguredDecryptor {
  app: FastifyInstance;
  readiness: Record<string, ReadinessCheck>;
  close(): Promise<void>;
}

export async function decryptorFromConfig(
  cfg: Config,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ConfiguredDecryptor> {
  const db = createPool(databaseUrl('decryptor', cfg), cfg.DECRYPTOR_DATABASE_POOL_MAX);
  // Connected before the first reveal: a connection's SCRAM login costs the server more than a reveal's
  // statement, and the first burst of reveals would pay for them all.
  await warm(db, cfg.DECRYPTOR_DATABASE_POOL_MAX);
  const vault = await connectVault('decryptor', { env });
  const app = await buildDecryptor({ db, transit: vault.transit, logger: logger() });
  return {
    app,
    readiness: { postgres: () => db.query('SELECT 1'), vault: () => vault.vault.tokenLookupSelf() },
    async close() {
      try {
        await app.close();
        await db.end();
      } finally {
        vault.close();
      }
    },
  };
}

async function warm(db: Db, connections: number): Promise<void> {
  const clients = await Promise.all(Array.from({ length: connections }, () => db.connect()));
  for (const client of clients) client.release();
}
