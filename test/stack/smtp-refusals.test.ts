/**
 * A mail server that refuses recipients, played by nodemailer's smtp-server: a refusal for good (5xx)
 * ends that delivery (not the order) at once, with a reason and an audit row that carry no address; an
 * operator corrects the recipient through the ops CLI, or the order's intake caller through its signed
 * correction route, and the customer gets a working link. A server that keeps saying "later" (4xx) is
 * retried, and an operator's cancel interrupts it.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cancelSignal, workflowIdFor } from '../../contracts/order';
import { repoRoot } from '../../lib/config';
import { auditRows } from '../helpers/audit';
import { signedIntake } from '../helpers/intake';
import { type AcceptedMail, startMailServer } from '../helpers/mail-server';
import { waitForStatus } from '../helpers/orders';
import { type Pipeline, startPipeline, uniqueOrderId } from '../helpers/pipeline';
import { problemOf } from '../helpers/problems';

let p: Pipeline;
let smtp: Awaited<ReturnType<typeof startMailServer>>;
/** Until the test says so, "later-" recipients get 451 (the server is having a bad day). */
let saysLater = true;
let accepted: AcceptedMail[] = [];
/** Recipients answered 451 only after a long pause: an attempt is surely in flight when a cancel comes. */
const slowlyLater = new Set<string>();

/** Intake callers: the order's own, and another. */
const SECRETS = { checkout: randomBytes(32).toString('hex'), partner: randomBytes(32).toString('hex') };

/** A signed intake request to the pipeline's API. */
const intake = (path: string, body: object, caller: keyof typeof SECRETS = 'checkout') =>
  signedIntake(p.apiUrl, { name: caller, secret: SECRETS[caller] }, path, body);

beforeAll(async () => {
  smtp = await startMailServer({
    // The answers real servers give, quoting the address as they often do.
    refuse(address) {
      if (address.startsWith('refused-')) return { code: 550, text: `5.1.1 <${address}>: no such user` };
      if (address.startsWith('later-') && saysLater) return { code: 451, text: '4.3.0 try again later' };
      if (slowlyLater.has(address)) return { code: 451, text: '4.3.0 try again later' };
      return undefined;
    },
    delayMs: (address) => (slowlyLater.has(address) ? 6_000 : 0),
  });
  accepted = smtp.accepted;
  p = await startPipeline({
    smtpUrl: smtp.url,
    intakeClients: Object.entries(SECRETS)
      .map(([caller, secret]) => `${caller}:${secret}`)
      .join(','),
  });
});

afterAll(async () => {
  await p?.stop();
  await smtp?.close();
});

const linkIn = (raw: string) =>
  raw.replace(/=\r?\n/g, '').match(/http:\/\/[^\s"<>]+\/d\/[A-Za-z0-9_-]{43}/)?.[0];

describe('a recipient refused for good', () => {
  it('ends that delivery at once with a reason; an operator corrects the address and the customer gets a working link', async () => {
    const orderId = uniqueOrderId('instant');
    const refused = `refused-${orderId}@example.test`;
    await p.start({ orderId, userId: 'u-1', email: refused });
    const failed = await waitForStatus(
      p.client,
      orderId,
      (s) => s.outcome !== null && s.phase !== 'delivering',
    );
    expect(failed).toMatchObject({ outcome: 'FAILED', deliveredCards: 0, deliveries: [] });
    expect(failed.recipientRefused).toBe('the mail server refused the message permanently (SMTP 550)');
    const rows = await auditRows(p.db, orderId);
    // Refused once, recorded once: the refusal the poll met is not tried again by a deliver step.
    expect(rows.filter((r) => r.event === 'DELIVERY_FAILED')).toHaveLength(1);
    expect(rows.find((r) => r.event === 'DELIVERY_FAILED')?.detail).toMatchObject({
      smtpCode: 550,
      permanent: true,
    });
    const tokens = await p.db.query('SELECT revoked_at FROM delivery_tokens WHERE order_id = $1', [orderId]);
    expect(tokens.rows.every((t) => t.revoked_at !== null)).toBe(true);
    // The revocation is on the audit trail, with the delivery and why.
    const deliveryId = rows.find((r) => r.event === 'DELIVERY_FAILED')?.detail.deliveryId;
    expect(rows.filter((r) => r.event === 'REVOKED')).toEqual([
      expect.objectContaining({
        actor: 'worker',
        method: 'activity:deliver:batch',
        count: tokens.rows.length,
        detail: { deliveryId, reason: 'recipient refused' },
      }),
    ]);
    // Neither the status nor the audit trail names the address.
    expect(JSON.stringify(failed) + JSON.stringify(rows)).not.toContain(refused);

    const corrected = `fixed-${orderId}@example.test`;
    const { stdout } = await promisify(execFile)(
      'npx',
      ['tsx', 'scripts/ops.ts', 'resend', '--order-id', orderId, '--email', corrected, '--operator', 'ann'],
      { cwd: repoRoot, env: { ...process.env, LOG_FILE: '' } },
    );
    expect(stdout).toContain(
      'A new link for 3 card(s) no link had revealed was sent to the corrected address; the previous address was told.',
    );
    expect(stdout).not.toContain(corrected);
    const mail = accepted.find((m) => m.to.includes(corrected));
    expect(mail?.raw).toContain('This email replaces an earlier one');
    const link = linkIn(mail!.raw)!;
    expect((await fetch(link)).status).toBe(200);
    const after = await waitForStatus(p.client, orderId, (s) => s.recipientRefused === null);
    expect(after.deliveries.map((d) => d.cardCount)).toEqual([3]);
    const trail = await auditRows(p.db, orderId);
    const resent = trail.find((r) => r.event === 'DELIVERED');
    expect(resent?.detail).toMatchObject({ requestedBy: 'operator:ann', recipientChanged: true });
    // The operator's request is on the trail by name, as a caller's is.
    expect(trail.filter((r) => r.event === 'RESEND_REQUESTED')).toEqual([
      expect.objectContaining({
        actor: 'operator:ann',
        method: 'ops resend',
        detail: { recipientChanged: true, outcome: 'sent' },
      }),
    ]);
    expect(accepted.some((m) => m.to.includes(refused))).toBe(false);
  });
});

describe("the intake caller corrects its order's refused recipient", () => {
  it('its signed correction sends a new link to the new address; another caller gets 404 and nothing is sent', async () => {
    const orderId = uniqueOrderId('instant');
    const refused = `refused-${orderId}@example.test`;
    expect((await intake('/v1/fulfillments', { orderId, userId: 'u-3', email: refused })).status).toBe(202);
    await waitForStatus(p.client, orderId, (s) => s.outcome !== null && s.recipientRefused !== null);
    const route = `/v1/fulfillments/${orderId}/recipient`;
    const sentTo = (address: string) => accepted.filter((m) => m.to.includes(address));

    // Another caller, with its own valid signature: the same 404 as an unknown order; nothing sent.
    const stranger = `stranger-${orderId}@example.test`;
    const foreign = await intake(route, { orderId, email: stranger }, 'partner');
    expect(foreign.status).toBe(404);
    expect(await foreign.json()).toEqual(problemOf(404));
    const unknown = uniqueOrderId('instant');
    expect(
      (await intake(`/v1/fulfillments/${unknown}/recipient`, { orderId: unknown, email: stranger })).status,
    ).toBe(404);

    // Malformed input names the field, never the value; the body must name the order of the path.
    const bad = await intake(route, { orderId, email: 'not an address <x@y>' });
    expect(bad.status).toBe(400);
    const badText = await bad.text();
    expect(JSON.parse(badText)).toEqual(problemOf(400, ['email']));
    expect(badText).not.toContain('not an address');
    const elsewhere = await intake(route, { orderId: unknown, email: `fixed-${orderId}@example.test` });
    expect(await elsewhere.json()).toEqual(problemOf(400, ['orderId']));

    // A correction the mail server refuses too: 422 on the email field, the address not echoed.
    const refusedAgain = `refused-again-${orderId}@example.test`;
    const again = await intake(route, { orderId, email: refusedAgain });
    expect(again.status).toBe(422);
    const againText = await again.text();
    expect(JSON.parse(againText)).toEqual(problemOf(422, ['email']));

    const corrected = `fixed-${orderId}@example.test`;
    const res = await intake(route, { orderId, email: corrected });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(JSON.parse(text)).toMatchObject({ orderId, cardCount: 3 });
    expect(text).not.toContain(corrected);
    const mails = sentTo(corrected);
    expect(mails).toHaveLength(1);
    expect((await fetch(linkIn(mails[0]!.raw)!)).status).toBe(200);
    expect(sentTo(stranger)).toEqual([]);
    expect(sentTo(refused)).toEqual([]);
    expect(sentTo(refusedAgain)).toEqual([]);

    const rows = await auditRows(p.db, orderId);
    const requested = rows.filter((r) => r.event === 'RESEND_REQUESTED');
    expect(requested.map((r) => [r.actor, r.detail.outcome])).toEqual([
      ['caller:checkout', 'recipientRefused'],
      ['caller:checkout', 'sent'],
    ]);
    expect(rows.find((r) => r.event === 'DELIVERED')?.detail).toMatchObject({
      requestedBy: 'caller:checkout',
      recipientChanged: true,
    });
    for (const address of [corrected, stranger, refusedAgain, refused])
      expect(JSON.stringify(rows)).not.toContain(address);

    // The addresses travelled only inside the updates' encrypted arguments.
    const history = await p.client.workflow.getHandle(workflowIdFor(orderId)).fetchHistory();
    const args = (history.events ?? []).flatMap(
      (e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.args?.payloads ?? [],
    );
    expect(args).toHaveLength(2);
    for (const payload of args) {
      expect(Buffer.from(payload.metadata!.encoding!).toString()).toBe('binary/encrypted');
      expect(Buffer.from(payload.data!).toString('latin1')).not.toContain('@example.test');
    }
  });
});

describe('a mail server that keeps saying later', () => {
  it('is retried, and an operator cancel interrupts the link email: CANCELLED, no live link, cards purged', async () => {
    const orderId = uniqueOrderId('instant');
    await p.start({ orderId, userId: 'u-2', email: `later-${orderId}@example.test` });
    await waitForStatus(p.client, orderId, (s) => s.phase === 'delivering');
    await new Promise((r) => setTimeout(r, 3_000)); // a few refused attempts
    const handle = p.client.workflow.getHandle(workflowIdFor(orderId));
    await handle.signal(cancelSignal, { reason: 'mail server keeps refusing' });
    // The link email is abandoned at once; the cancellation notice then waits, like any mail, for the
    // server to take it.
    await waitForStatus(p.client, orderId, (s) => s.outcome === 'CANCELLED');
    saysLater = false;
    const final = (await handle.result()) as { outcome: string; phase: string };
    expect(final).toMatchObject({ outcome: 'CANCELLED', phase: 'purged' });
    const live = await p.db.query(
      `SELECT count(*)::int AS n FROM delivery_tokens WHERE order_id = $1 AND revoked_at IS NULL AND consumed_at IS NULL`,
      [orderId],
    );
    expect(live.rows[0].n).toBe(0);
    expect(
      (await p.db.query('SELECT count(*)::int AS n FROM cards WHERE order_id = $1', [orderId])).rows[0].n,
    ).toBe(0);
    const mails = accepted.filter((m) => m.to.includes(`later-${orderId}@example.test`));
    expect(mails).toHaveLength(1); // the notice; the link email never went
    expect(mails[0]!.raw).not.toMatch(/\/d\/[A-Za-z0-9_-]{43}/);
    // Every retry revoked the token its previous attempt minted, and said so: one row per retry, then the
    // cancel revoked the last one.
    const revoked = (await auditRows(p.db, orderId)).filter((r) => r.event === 'REVOKED');
    const byRetries = revoked.filter((r) => r.method === 'activity:deliver:batch');
    expect(byRetries.length).toBeGreaterThanOrEqual(1);
    for (const r of byRetries)
      expect(r).toMatchObject({ actor: 'worker', count: 1, detail: { reason: 'delivery retried' } });
    expect(new Set(byRetries.map((r) => r.detail.deliveryId)).size).toBe(1);
    expect(revoked.filter((r) => r.method === 'activity:revokeLinks')).toHaveLength(1);
  });

  it('a cancel that comes while an attempt is in flight ends the order as CANCELLED too (the attempt fails, not retried)', async () => {
    const orderId = uniqueOrderId('instant');
    const email = `slowly-${orderId}@example.test`;
    slowlyLater.add(email);
    await p.start({ orderId, userId: 'u-4', email });
    await waitForStatus(p.client, orderId, (s) => s.phase === 'delivering');
    await new Promise((r) => setTimeout(r, 1_000)); // the first attempt waits on the server's answer
    const handle = p.client.workflow.getHandle(workflowIdFor(orderId));
    await handle.signal(cancelSignal, { reason: 'mail server keeps refusing' });
    await waitForStatus(p.client, orderId, (s) => s.outcome === 'CANCELLED');
    slowlyLater.delete(email);
    expect(await handle.result()).toMatchObject({ outcome: 'CANCELLED', phase: 'purged' });
    const history = await handle.fetchHistory();
    // The server did not retry the attempt the cancel caught; it failed rather than being cancelled.
    expect(history.events?.some((e) => e.activityTaskFailedEventAttributes)).toBe(true);
    const mails = accepted.filter((m) => m.to.includes(email));
    expect(mails).toHaveLength(1); // the notice
    expect(mails[0]!.raw).not.toMatch(/\/d\/[A-Za-z0-9_-]{43}/);
  });
});
