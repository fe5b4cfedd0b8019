/**
 * A caller's secret is not a key to cards (DESIGN 3.13), tested as the attack: the order's own intake
 * caller, with its own secret and a correctly signed `POST /v1/fulfillments/:id/recipient`, tries to re-route
 * an order that reached its customer. Refused, naming why, with nothing sent, minted or changed. A real
 * correction (the mail server refused the email) is taken: a new link only to the corrected address, for
 * only the cards no link revealed, and the previous address told without a link. The mail server is the
 * test's own (nodemailer's smtp-server), so every message each address got is known.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../lib/config';
import { auditRows } from '../helpers/audit';
import { signedIntake } from '../helpers/intake';
import { type AcceptedMail, startMailServer } from '../helpers/mail-server';
import { waitForStatus } from '../helpers/orders';
import { type Pipeline, startPipeline, uniqueOrderId } from '../helpers/pipeline';
import { problemOf } from '../helpers/problems';
import { registerScenario, sandboxOrder } from '../helpers/sandbox';

let p: Pipeline;
let smtp: Awaited<ReturnType<typeof startMailServer>>;
let accepted: AcceptedMail[] = [];
/** Recipients the mail server refuses for good (550) while they are in here. */
const refusing = new Set<string>();

const SECRET = randomBytes(32).toString('hex');

/** A request signed with the caller's own secret, exactly as the caller signs its orders. */
const intake = (path: string, body: object) =>
  signedIntake(p.apiUrl, { name: 'checkout', secret: SECRET }, path, body);

const correct = (orderId: string, email: string) =>
  intake(`/v1/fulfillments/${orderId}/recipient`, { orderId, email });

const sentTo = (address: string) => accepted.filter((m) => m.to.includes(address));

const linkIn = (raw: string) =>
  raw.replace(/=\r?\n/g, '').match(/http:\/\/[^\s"<>]+\/d\/[A-Za-z0-9_-]{43}/)?.[0];

async function reveal(link: string) {
  const res = await fetch(`${link}/reveal`, { method: 'POST', redirect: 'manual' });
  return { status: res.status, body: await res.text() };
}

async function mailFor(address: string, count = 1, timeoutMs = 30_000): Promise<AcceptedMail[]> {
  const until = Date.now() + timeoutMs;
  while (sentTo(address).length < count) {
    if (Date.now() > until) throw new Error(`${address} got ${sentTo(address).length} of ${count} mail(s)`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return sentTo(address);
}

/** What the order holds in the database: its links, deliveries, cards and row (to show nothing changed). */
async function holdings(orderId: string) {
  const q = async (sql: string) => (await p.db.query(sql, [orderId])).rows;
  return {
    tokens: await q(
      `SELECT encode(token_hash, 'hex') AS token, delivery_id, expires_at, consumed_at, revoked_at, expired_at
         FROM delivery_tokens WHERE order_id = $1 ORDER BY token`,
    ),
    deliveries: await q(
      'SELECT id, kind, card_count, sent_at, expires_at FROM deliveries WHERE order_id = $1 ORDER BY id',
    ),
    linked: await q(
      `SELECT dc.delivery_id, dc.card_id FROM delivery_cards dc JOIN deliveries d ON d.id = dc.delivery_id
        WHERE d.order_id = $1 ORDER BY 1, 2`,
    ),
    cards: await q('SELECT id FROM cards WHERE order_id = $1 ORDER BY id'),
    order: await q(
      'SELECT outcome, failure_reason, delivered_at, purge_after FROM orders WHERE order_id = $1',
    ),
  };
}

beforeAll(async () => {
  smtp = await startMailServer({
    refuse: (address) => (refusing.has(address) ? { code: 550, text: '5.1.1 no such user' } : undefined),
  });
  accepted = smtp.accepted;
  p = await startPipeline({ smtpUrl: smtp.url, intakeClients: `checkout:${SECRET}` });
});

afterAll(async () => {
  await p?.stop();
  await smtp?.close();
});

describe("the caller's secret re-routes a live order (the issue's attack)", () => {
  it('a correction of an order delivered normally, revealed or not, is refused: nothing sent, minted or changed', async () => {
    const orders = [uniqueOrderId('instant'), uniqueOrderId('instant')];
    const victims = orders.map((id) => `victim-${id}@example.test`);
    for (const [i, orderId] of orders.entries())
      expect((await intake('/v1/fulfillments', { orderId, userId: 'u-1', email: victims[i] })).status).toBe(
        202,
      );
    for (const orderId of orders)
      await waitForStatus(p.client, orderId, (s) => s.outcome === 'DELIVERED' && s.phase === 'delivered');
    // The customer of the first order revealed its cards; the second one's link is still unused.
    const [revealedMail] = await mailFor(victims[0]!);
    expect((await reveal(linkIn(revealedMail!.raw)!)).status).toBe(200);
    await mailFor(victims[1]!);
    await waitForStatus(p.client, orders[0]!, (s) => s.deliveries[0]?.retrieved === true);

    for (const [i, orderId] of orders.entries()) {
      const before = await holdings(orderId);
      const statusBefore = await waitForStatus(p.client, orderId, () => true);
      const attacker = `attacker-${orderId}@example.test`;
      const res = await correct(orderId, attacker);
      expect(res.status).toBe(409);
      const text = await res.text();
      expect(JSON.parse(text)).toEqual(
        problemOf(
          409,
          undefined,
          "the order's recipient was not refused: only a recipient the mail server refused can be corrected",
        ),
      );
      expect(text).not.toContain(attacker);
      expect(text).not.toContain(victims[i]);

      await new Promise((r) => setTimeout(r, 1_000)); // anything sent would have arrived by now
      expect(sentTo(attacker)).toEqual([]);
      expect(sentTo(victims[i]!)).toHaveLength(1); // the original link, no notice: nothing changed
      expect(await holdings(orderId)).toEqual(before);
      const after = await waitForStatus(p.client, orderId, () => true);
      expect(after.deliveries).toEqual(statusBefore.deliveries);
      expect(after.recipientRefused).toBeNull();

      const rows = await auditRows(p.db, orderId);
      expect(rows.filter((r) => r.event === 'RESEND_REQUESTED')).toEqual([
        expect.objectContaining({
          actor: 'caller:checkout',
          detail: { recipientChanged: true, outcome: 'rejected', reason: 'RecipientNotRefused' },
        }),
      ]);
      expect(rows.filter((r) => r.event === 'DELIVERED')).toHaveLength(1);
      expect(rows.filter((r) => r.event === 'REVOKED')).toEqual([]);
      expect(JSON.stringify(rows)).not.toContain(attacker);
    }
  });
});

describe("an operator's correction through the ops CLI", () => {
  it('is refused the same way for an order whose recipient was not refused, and the CLI says why', async () => {
    const orderId = uniqueOrderId('instant');
    const customer = `customer-${orderId}@example.test`;
    await p.start({ orderId, userId: 'u-4', email: customer });
    await waitForStatus(p.client, orderId, (s) => s.outcome === 'DELIVERED' && s.phase === 'delivered');
    const before = await holdings(orderId);
    const elsewhere = `elsewhere-${orderId}@example.test`;
    const args = ['resend', '--order-id', orderId, '--email', elsewhere, '--operator', 'ann'];
    const run = await promisify(execFile)('npx', ['tsx', 'scripts/ops.ts', ...args], {
      cwd: repoRoot,
      env: { ...process.env, LOG_FILE: '' },
    }).catch((err: { code?: number; stdout: string; stderr: string }) => err);
    expect('code' in run ? run.code : 0).toBe(1);
    expect(run.stderr).toContain(
      "ops: the order refused the resend: the order's recipient was not refused: only a refused recipient can be corrected",
    );
    expect(`${run.stdout}${run.stderr}`).not.toContain(elsewhere);
    await new Promise((r) => setTimeout(r, 500));
    expect(sentTo(elsewhere)).toEqual([]);
    expect(await holdings(orderId)).toEqual(before);
    const rows = await auditRows(p.db, orderId);
    expect(rows.filter((r) => r.event === 'RESEND_REQUESTED')).toEqual([
      expect.objectContaining({
        actor: 'operator:ann',
        method: 'ops resend',
        detail: { recipientChanged: true, outcome: 'rejected', reason: 'RecipientNotRefused' },
      }),
    ]);
  });
});

describe('a correction of a refused recipient', () => {
  it('sends a new link only to the corrected address; the previous address is told, without a link', async () => {
    const orderId = uniqueOrderId('instant');
    const previous = `bounced-${orderId}@example.test`;
    refusing.add(previous);
    expect((await intake('/v1/fulfillments', { orderId, userId: 'u-2', email: previous })).status).toBe(202);
    await waitForStatus(p.client, orderId, (s) => s.outcome !== null && s.recipientRefused !== null);
    // The mailbox takes mail again (full, then emptied): it can hear that the cards went elsewhere.
    refusing.delete(previous);

    const corrected = `fixed-${orderId}@example.test`;
    const res = await correct(orderId, corrected);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(JSON.parse(text)).toMatchObject({ orderId, cardCount: 3 });
    expect(text).not.toContain(corrected);

    const [linkMail] = await mailFor(corrected);
    const revealed = await reveal(linkIn(linkMail!.raw)!);
    expect(revealed.status).toBe(200);
    const cards = (await sandboxOrder(orderId)).cards;
    for (const card of cards) expect(revealed.body).toContain(card.value);

    const [notice] = await mailFor(previous);
    expect(notice!.raw).toContain('sent to another address');
    expect(notice!.raw).not.toMatch(/\/d\//);
    expect(notice!.raw).not.toContain(corrected);
    for (const card of cards) expect(notice!.raw).not.toContain(card.value);
    await new Promise((r) => setTimeout(r, 500));
    expect(sentTo(previous)).toHaveLength(1);
    expect(sentTo(corrected)).toHaveLength(1);

    const rows = await auditRows(p.db, orderId);
    expect(rows.find((r) => r.event === 'DELIVERED')?.detail).toMatchObject({
      requestedBy: 'caller:checkout',
      recipientChanged: true,
      unrevealedOnly: true,
    });
    expect(rows.filter((r) => r.event === 'NOTIFIED').map((r) => r.detail.kind)).toEqual([
      'recipient-changed',
    ]);
    for (const address of [previous, corrected]) expect(JSON.stringify(rows)).not.toContain(address);

    // Corrected, the order reached its customer: the same secret cannot re-route it now.
    const attacker = `attacker-${orderId}@example.test`;
    const again = await correct(orderId, attacker);
    expect(again.status).toBe(409);
    await new Promise((r) => setTimeout(r, 500));
    expect(sentTo(attacker)).toEqual([]);
  });

  it('of an order partly revealed (deliverPartial, one batch revealed) covers only the unrevealed cards', async () => {
    const orderId = uniqueOrderId('partial-then-full');
    await registerScenario(orderId, 'partial-then-full', { quantity: 4 });
    const address = `customer-${orderId}@example.test`;
    // Polls 6 s apart: the first batch's link arrives and is revealed well before the order is complete.
    const policy = { deliverPartial: true, pollInitialInterval: '6s', pollMaxInterval: '6s' };
    expect(
      (await intake('/v1/fulfillments', { orderId, userId: 'u-3', email: address, policy })).status,
    ).toBe(202);
    const [first] = await mailFor(address);
    const firstBatch = await reveal(linkIn(first!.raw)!);
    expect(firstBatch.status).toBe(200);
    // Then the mailbox refuses: the second batch's link bounces.
    refusing.add(address);
    const refused = await waitForStatus(
      p.client,
      orderId,
      (s) => s.outcome !== null && s.phase !== 'delivering' && s.recipientRefused !== null,
    );
    expect(refused).toMatchObject({ outcome: 'PARTIALLY_DELIVERED', storedCards: 4, deliveredCards: 2 });
    refusing.delete(address);

    const cards = (await sandboxOrder(orderId)).cards;
    const seen = cards.filter((c) => firstBatch.body.includes(c.value));
    const unseen = cards.filter((c) => !firstBatch.body.includes(c.value));
    expect(seen).toHaveLength(2);

    const corrected = `fixed-${orderId}@example.test`;
    const res = await correct(orderId, corrected);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ orderId, cardCount: 2 });
    const [linkMail] = await mailFor(corrected);
    const resent = await reveal(linkIn(linkMail!.raw)!);
    expect(resent.status).toBe(200);
    for (const card of unseen) expect(resent.body).toContain(card.value);
    for (const card of seen) expect(resent.body).not.toContain(card.value);

    // The previous address: its first link, then the notice (no link); nothing else.
    const mails = await mailFor(address, 2);
    expect(mails).toHaveLength(2);
    expect(mails[1]!.raw).toContain('sent to another address');
    expect(mails[1]!.raw).not.toMatch(/\/d\//);
  });
});
