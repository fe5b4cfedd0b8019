/**
 * A mail server of a test's own, played by nodemailer's smtp-server: it keeps every message it accepts,
 * and answers each recipient as the test says (a refusal for good or for now, after a delay if asked), so a
 * test can make the mail server refuse, stall or hold its acknowledgement where the shared MailDev cannot.
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface AcceptedMail {
  to: string[];
  raw: string;
}

/** A refusal, as real servers give it (`code` 5xx for good, 4xx for now). */
export interface Refusal {
  code: number;
  text: string;
}

export interface MailServerOptions {
  /** How a recipient is answered: a refusal, or undefined to accept it. */
  refuse?: (address: string) => Refusal | undefined;
  /** How long a recipient waits for its answer (a slow server), whatever the answer. */
  delayMs?: (address: string) => number;
  /** How long to hold the acknowledgement of a message the server already has (the sender still waits). */
  holdMs?: (to: string[]) => number;
}

export async function startMailServer(opts: MailServerOptions = {}) {
  const accepted: AcceptedMail[] = [];
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(address, _session, callback) {
      const refusal = opts.refuse?.(address.address);
      const answer = () =>
        refusal
          ? callback(Object.assign(new Error(refusal.text), { responseCode: refusal.code }))
          : callback();
      const delay = opts.delayMs?.(address.address) ?? 0;
      if (delay > 0) setTimeout(answer, delay);
      else answer();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const to = session.envelope.rcptTo.map((r) => r.address);
        accepted.push({ to, raw: Buffer.concat(chunks).toString('utf8') });
        const hold = opts.holdMs?.(to) ?? 0;
        if (hold > 0) setTimeout(() => callback(), hold);
        else callback();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  const port = (smtp.server.address() as AddressInfo).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    /** Every message accepted so far, in order. */
    accepted,
    close: () => new Promise<void>((resolve) => smtp.close(() => resolve())),
  };
}
