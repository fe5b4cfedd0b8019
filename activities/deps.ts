import type { Logger } from 'pino';
import type { Brands } from '../domain/brand';
import type { Mailer } from '../domain/mail/mailer';
import type { NoticeTemplates } from '../domain/mail/templates';
import type { ProviderClient } from '../domain/provider';
import type { WebhookEndpoints } from '../domain/webhooks';
import type { Db } from '../lib/db';
import type { Transit } from '../lib/vault';
import { orderCaller } from '../store/orders';

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
  /** The business's own wording of the notice an order that fell short sends (MAIL_TEMPLATES_DIR). */
  noticeTemplates: NoticeTemplates;
  /**
   * The emails' language when the order names none (DEFAULT_LOCALE) and each caller's brand (BRANDS);
   * without them, English and the built-in look.
   */
  customerMail?: { defaultLocale: string; brands: Brands };
  /** Each intake caller's webhook endpoint (WEBHOOK_ENDPOINTS); a caller without one gets no events. */
  webhookEndpoints: WebhookEndpoints;
}

/** An order's email voice: its locale, else the business default; its caller's brand, else the default. */
export async function mailVoiceOf(
  deps: Pick<ActivityDeps, 'db' | 'customerMail'>,
  orderId: string,
  locale: string | undefined,
): Promise<{ locale: string; brand?: ReturnType<Brands['of']> }> {
  const resolved = locale ?? deps.customerMail?.defaultLocale ?? 'en';
  if (!deps.customerMail) return { locale: resolved };
  return { locale: resolved, brand: deps.customerMail.brands.of(await orderCaller(deps.db, orderId)) };
}
