/** SMTP: a message sent through the project's mailer reaches MailDev and reads back through its REST API. */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createMailer } from '../../domain/mail/mailer';
import { config } from '../../lib/config';
import { waitForMail } from '../helpers/mailbox';

describe('smtp', () => {
  it('delivers a message to the capture inbox', async () => {
    const cfg = config();
    const mailer = createMailer({ smtpUrl: cfg.SMTP_URL!, from: cfg.MAIL_FROM, requireTls: false });
    // A unique recipient, so parallel tests and earlier runs sharing the inbox cannot be mistaken for it.
    const recipient = `smtp-test-${randomUUID()}@example.test`;
    const marker = randomUUID();
    try {
      await mailer.send(recipient, {
        kind: 'notice',
        subject: `SMTP check ${marker}`,
        text: `plain body ${marker}`,
        html: `<p>html body ${marker}</p>`,
      });
    } finally {
      mailer.close();
    }
    const [mail, ...others] = await waitForMail(recipient, 1, 15_000);
    expect(others).toHaveLength(0);
    expect(mail!.subject).toBe(`SMTP check ${marker}`);
    expect(mail!.text).toContain(`plain body ${marker}`);
    expect(mail!.html).toContain(`<p>html body ${marker}</p>`);
    expect(mail!.to).toEqual([expect.objectContaining({ address: recipient })]);
  });
});
