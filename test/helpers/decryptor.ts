/**
 * The decryptor inside a test process, as production runs it (decryptor/): its own Vault identity (decrypt
 * of card keys only), its own database role (DECRYPTOR_DATABASE_URL), on an ephemeral loopback port; the
 * API under test reaches it over HTTP with the client production uses.
 */
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildDecryptor } from '../../decryptor/server';
import { type Decryptor, decryptorClient } from '../../domain/decryptor-client';
import { config, databaseUrl } from '../../lib/config';
import { createPool, type Db } from '../../lib/db';
import { logger as rootLogger } from '../../lib/logger';
import { connectVault, type VaultSession } from '../../lib/vault';

export interface RunningDecryptor {
  url: string;
  client: Decryptor;
  app: FastifyInstance;
  /** The decryptor's own pool (its database role). */
  db: Db;
  vault: VaultSession;
  close(): Promise<void>;
}

export async function startDecryptor(
  opts: { logger?: Logger; poolMax?: number } = {},
): Promise<RunningDecryptor> {
  const cfg = config();
  const db = createPool(databaseUrl('decryptor', cfg), opts.poolMax ?? cfg.DECRYPTOR_DATABASE_POOL_MAX);
  const vault = await connectVault('decryptor');
  const app = await buildDecryptor({ db, transit: vault.transit, logger: opts.logger ?? rootLogger() });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return {
    url,
    client: decryptorClient(url),
    app,
    db,
    vault,
    async close() {
      await app.close();
      await db.end();
      vault.close();
    },
  };
}
