import nodemailer from 'nodemailer';
import { metrics } from '../../lib/metrics';
import type { RenderedMail } from './templates';

/**
 * A message the mail server did not take. Permanent (a 5xx answer: no such mailbox, a refused address)
 * means sending the same message again cannot succeed; anything else (4xx, no connection, a timeout) may
 * pass later. The message names the SMTP code only: a server's answer often quotes the address.
 */
export class MailRefused extends Error {
  override name = 'MailRefused';
  constructor(
    readonly permanent: boolean,
    readonly smtpCode: number | undefined,
  ) {
    super(
      permanent
        ? `the mail server refused the message permanently (SMTP ${smtpCode})`
        : `the mail server did not take the message${smtpCode ? ` (SMTP ${smtpCode})` : ' (no answer)'}; it may later`,
    );
  }
}

function classifySmtpError(err: unknown): MailRefused {
  const code = (err as { responseCode?: unknown }).responseCode;
  const smtpCode = typeof code === 'number' && code >= 100 && code < 600 ? code : undefined;
  return new MailRefused(smtpCode !== undefined && smtpCode >= 500, smtpCode);
}

export interface Mailer {
  send(to: string, mail: RenderedMail): Promise<void>;
  close(): void;
}

/** nodemailer over SMTP; production relays require STARTTLS (SMTP_REQUIRE_TLS=true). */
export function createMailer(opts: { smtpUrl: string; from: string; requireTls: boolean }): Mailer {
  const url = new URL(opts.smtpUrl);
  const transport = nodemailer.createTransport({
    host: url.hostname,
    port: Number(url.port) || (url.protocol === 'smtps:' ? 465 : 587),
    secure: url.protocol === 'smtps:',
    auth: url.username
      ? { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) }
      : undefined,
    requireTLS: opts.requireTls,
    // A few connections kept open and reused: a link email no longer pays for a TCP and TLS handshake and
    // the SMTP greeting, which at volume costs the relay and the worker more than the message itself.
    pool: true,
    maxConnections: 5,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  });
  return {
    async send(to, mail) {
      try {
        await transport.sendMail({
          from: opts.from,
          to,
          subject: mail.subject,
          text: mail.text,
          html: mail.html,
          // Inline images by Content-ID: nodemailer wraps the alternatives in multipart/related.
          ...(mail.attachments ? { attachments: mail.attachments } : {}),
        });
      } catch (err) {
        const refused = classifySmtpError(err);
        metrics.emails.inc({ kind: mail.kind, result: refused.permanent ? 'refused' : 'temporary' });
        throw refused;
      }
      metrics.emails.inc({ kind: mail.kind, result: 'sent' });
    },
    close() {
      transport.close();
    },
  };
}
