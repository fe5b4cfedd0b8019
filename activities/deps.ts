import type { Logger } from 'pino';
import type { Mailer } from '../domain/mail/mailer';
import type { NoticeTemplates } from '../domain/mail/templates';
import type { ProviderClient } from '../domain/provider';
import type { WebhookEndpoints } from '../domain/webhooks';
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
  /** The wording of the notice an order that fell short sends (MAIL_TEMPLATES_DIR, or the default). */
  noticeTemplates: NoticeTemplates;
  /** Each intake caller's webhook endpoint (WEBHOOK_ENDPOINTS); a caller without one gets no events. */
  webhookEndpoints: WebhookEndpoints;
}
