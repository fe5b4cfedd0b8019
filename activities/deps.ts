import type { Logger } from 'pino';
import type { Db } from '../lib/db';
import type { ProviderClient } from '../lib/provider';
import type { Transit } from '../lib/vault';
import type { Mailer } from '../mail/mailer';

/** What the fulfillment activities need; the worker builds it once, tests build it with their own parts. */
export interface ActivityDeps {
  db: Db;
  transit: Transit;
  provider: ProviderClient;
  mailer: Mailer;
  log: Logger;
  publicBaseUrl: string;
  cardKeyPrefix: string;
  indexKey: string;
  indexKeyVersion: number;
}

/** The transit key of the month a card is stored in (crypto-shredding buckets, see README). */
export function cardKeyName(prefix: string, at: Date): string {
  return `${prefix}-${at.toISOString().slice(0, 7)}`;
}
