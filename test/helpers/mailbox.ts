/** MailDev's REST API: the captured messages of one recipient. */
import { config } from '../../lib/config';

export interface CapturedMail {
  id: string;
  subject: string;
  text: string;
  html: string;
  to: Array<{ address: string }>;
}

function mailWeb(): string {
  config(); // loads the stack's env file, which names the inbox
  return process.env.MAIL_WEB_URL ?? 'http://127.0.0.1:1080';
}

export async function allMail(): Promise<CapturedMail[]> {
  const res = await fetch(`${mailWeb()}/email`);
  if (!res.ok) throw new Error(`MailDev answered ${res.status}`);
  return (await res.json()) as CapturedMail[];
}

export async function mailFor(recipient: string): Promise<CapturedMail[]> {
  return (await allMail()).filter((m) => m.to.some((t) => t.address === recipient));
}

/** Waits until `count` messages reached the recipient. */
export async function waitForMail(recipient: string, count = 1, timeoutMs = 30_000): Promise<CapturedMail[]> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const mails = await mailFor(recipient);
    if (mails.length >= count) return mails;
    if (Date.now() > until)
      throw new Error(`expected ${count} mail(s) for the recipient, got ${mails.length}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export function linkIn(mail: CapturedMail): string {
  const m = mail.text.match(/https?:\/\/\S+\/d\/[A-Za-z0-9_-]{43}/);
  if (!m) throw new Error('no delivery link in the mail');
  return m[0];
}
