import type { Logger } from 'pino';
import type { Mailer } from '../domain/mail/mailer';
import type { ProviderClient } from '../domain/provider';
import type { Db } from '../lib/db';
import type { Transit } from '../lib/vault';

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
