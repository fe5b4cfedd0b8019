/**
 * The delivery link API over real HTTP, against the stack's PostgreSQL and Vault (the API's own AppRole,
 * which may decrypt but not encrypt; the seed uses the worker's). Every token and card the tests create
 * is collected, and the last test checks that none of them reached the captured log output.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../api/app';
import type { RetrievedEvent } from '../../api/delivery-links/routes';
import { purgeOrder } from '../../domain/cards';
import { config } from '../../lib/config';
import type { Db } from '../../lib/db';
import { createLogger, scrub } from '../../lib/logger';
import { generateToken, hashToken } from '../../lib/tokens';
import { connectVault, createVaultClient, Transit, type VaultSession } from '../../lib/vault';
import { auditRows as auditOf } from '../helpers/audit';
import { fixturePool } from '../helpers/fixture-db';
import { problemOf } from '../helpers/problems';
import { createSeeder, type SeededOrder, type Seeder, type SeedOptions } from '../helpers/seed';

const UA = 'delivery-api-test/1.0 (vitest)';

let db: Db;
let vault: VaultSession;
let seeder: Seeder;
const apps: FastifyInstance[] = [];
let baseUrl: string;
const logLines: string[] = [];
const retrieved: RetrievedEvent[] = [];
/** Every token, card value and serial handed out in this file: none may appear in a log line. */
const secrets: string[] = [];

const captureLogger = createLogger(
  { level: 'debug', name: 'delivery-api-test' },
  { write: (l) => logLines.push(l) },
);

async function startApp(overrides: { rateLimitPerMinute?: number } = {}): Promise<string> {
  const app = await buildApp({
    db,
    transit: vault.transit,
    logger: captureLogger,
    publicBaseUrl: config().PUBLIC_BASE_URL!,
    revealVisibleMs: 60_000,
    rateLimitPerMinute: overrides.rateLimitPerMinute ?? 10_000,
    // Counters of their own: each app's limits start empty, whatever other tests spent.
    limitScope: `test-${randomUUID()}`,
    onRetrieved: async (e) => {
      if (e.orderId.startsWith('test-api-notify-fails-')) throw new Error('temporal unreachable');
      retrieved.push(e);
    },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  apps.push(app);
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  db = fixturePool();
  vault = await connectVault('api');
  seeder = await createSeeder(db);
  baseUrl = await startApp();
});

afterAll(async () => {
  for (const app of apps) await app.close();
  await seeder?.cleanup();
  seeder?.close();
  vault?.close();
  await db?.end();
});

async function seed(options?: SeedOptions): Promise<SeededOrder> {
  const order = await seeder.seed(options);
  secrets.push(order.token, ...order.cards.flatMap((c) => [c.value, c.serial]));
  return order;
}

const landing = (token: string, base = baseUrl) =>
  fetch(`${base}/d/${token}`, { headers: { 'user-agent': UA } });

const retrieve = (token: string, action: 'reveal' | 'download', base = baseUrl) =>
  fetch(`${base}/d/${token}/${action}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': UA },
    body: '',
  });

function shownCards(html: string) {
  const values = [...html.matchAll(/class="card-value">([^<]*)</g)].map((m) => m[1]);
  const serials = [...html.matchAll(/class="card-serial">([^<]*)</g)].map((m) => m[1]);
  return values.map((value, i) => ({ value, serial: serials[i] }));
}

async function tokenRow(token: string) {
  const { rows } = await db.query('SELECT consumed_at FROM delivery_tokens WHERE token_hash = $1', [
    hashToken(token),
  ]);
  return rows[0] as { consumed_at: Date | null };
}

const auditRows = (orderId: string) => auditOf(db, orderId);

/** The page without its per-response nonce, to compare refusals with each other. */
const withoutNonce = (html: string) => html.replace(/nonce="[^"]*"/g, 'nonce=""');

describe('landing page', () => {
  it('shows the order and never consumes the link: GET twice, then reveal works', async () => {
    const order = await seed({ cards: 3 });
    for (let i = 0; i < 2; i++) {
      const res = await landing(order.token);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      const html = await res.text();
      expect(html).toContain(order.orderId);
      expect(html).toContain('3 gift cards');
      expect(html).toContain(`action="/d/${order.token}/reveal"`);
      expect(html).toContain(`action="/d/${order.token}/download"`);
      for (const card of order.cards) {
        expect(html).not.toContain(card.value);
        expect(html).not.toContain(card.serial);
      }
    }
    expect((await tokenRow(order.token)).consumed_at).toBeNull();

    const reveal = await retrieve(order.token, 'reveal');
    expect(reveal.status).toBe(200);
    expect(shownCards(await reveal.text())).toEqual(order.cards);

    const views = (await auditRows(order.orderId)).filter((r) => r.event === 'LINK_VIEWED');
    expect(views).toHaveLength(2);
    expect(views[0]).toMatchObject({ actor: 'customer', ip: '127.0.0.1', user_agent: UA, count: 3 });
  });

  it('answers a used link with 410 on GET as well', async () => {
    const order = await seed();
    expect((await retrieve(order.token, 'reveal')).status).toBe(200);
    const res = await landing(order.token);
    expect(res.status).toBe(410);
    expect(await res.text()).toContain('already been used or has expired');
  });
});

describe('reveal', () => {
  it('shows exactly the seeded cards, once', async () => {
    const order = await seed({ cards: 4 });
    const res = await retrieve(order.token, 'reveal');
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(shownCards(html)).toEqual(order.cards);
    expect(html).toContain(order.orderId);
    expect(html).toMatch(/contact the merchant/i);
    expect((await tokenRow(order.token)).consumed_at).toBeInstanceOf(Date);

    const again = await retrieve(order.token, 'reveal');
    expect(again.status).toBe(410);
    const refusal = await again.text();
    expect(refusal).toContain('This link has already been used or has expired');
    for (const card of order.cards) expect(refusal).not.toContain(card.value);
  });

  it('carries the security headers, and its CSP nonce is the one on the page script', async () => {
    const order = await seed();
    const res = await retrieve(order.token, 'reveal');
    expect(res.status).toBe(200);
    const h = res.headers;
    expect(h.get('cache-control')).toBe('no-store');
    expect(h.get('pragma')).toBe('no-cache');
    expect(h.get('referrer-policy')).toBe('no-referrer');
    expect(h.get('x-robots-tag')).toBe('noindex, nofollow');
    expect(h.get('x-content-type-options')).toBe('nosniff');
    expect(h.get('x-frame-options')).toBe('DENY');
    const csp = h.get('content-security-policy') ?? '';
    const nonce = csp.match(/script-src 'nonce-([A-Za-z0-9_-]+)'/)?.[1];
    expect(nonce).toBeTruthy();
    expect(csp).toBe(
      // img-src data: only: the brand's logo is inline, no image is fetched (docs/customer-page.md).
      `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; img-src data:; ` +
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    );
    const html = await res.text();
    expect(html).toContain(`<script nonce="${nonce}">`);
    expect(html).toContain(`<style nonce="${nonce}">`);

    // A fresh nonce per response.
    const other = await landing(generateToken());
    expect(other.headers.get('content-security-policy')).not.toContain(nonce);
    expect(other.headers.get('cache-control')).toBe('no-store');
    expect(other.headers.get('x-frame-options')).toBe('DENY');
  });

  it('of two concurrent reveals, exactly one wins', async () => {
    for (let round = 0; round < 5; round++) {
      const order = await seed({ cards: 3 });
      const results = await Promise.all([retrieve(order.token, 'reveal'), retrieve(order.token, 'reveal')]);
      expect(results.map((r) => r.status).sort()).toEqual([200, 410]);
      const winner = results.find((r) => r.status === 200)!;
      expect(shownCards(await winner.text())).toEqual(order.cards);
      const reveals = (await auditRows(order.orderId)).filter((r) => r.event === 'REVEALED');
      expect(reveals).toHaveLength(1);
    }
  });

  it('a reveal racing a download: one of them, never both', async () => {
    const order = await seed();
    const results = await Promise.all([retrieve(order.token, 'reveal'), retrieve(order.token, 'download')]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 410]);
  });

  it('writes a REVEALED audit row with ip, user agent and count, and no secret', async () => {
    const order = await seed({ cards: 2 });
    expect((await landing(order.token)).status).toBe(200);
    expect((await retrieve(order.token, 'reveal')).status).toBe(200);
    const rows = await auditRows(order.orderId);
    const revealed = rows.filter((r) => r.event === 'REVEALED');
    expect(revealed).toHaveLength(1);
    expect(revealed[0]).toMatchObject({
      actor: 'customer',
      method: 'POST /d/:token/reveal',
      ip: '127.0.0.1',
      user_agent: UA,
      count: 2,
      detail: { deliveryId: order.deliveryId, via: 'reveal' },
    });
    const text = JSON.stringify(rows);
    expect(text).not.toContain(order.token);
    for (const card of order.cards) {
      expect(text).not.toContain(card.value);
      expect(text).not.toContain(card.serial);
    }
  });

  it('tells the workflow after commit, and a failing notification does not fail the reveal', async () => {
    const order = await seed();
    expect((await retrieve(order.token, 'reveal')).status).toBe(200);
    await expect
      .poll(() => retrieved.find((e) => e.orderId === order.orderId))
      .toEqual({ orderId: order.orderId, deliveryId: order.deliveryId, method: 'reveal' });

    const failing = await seed({ orderId: `test-api-notify-fails-${randomUUID()}` });
    const res = await retrieve(failing.token, 'reveal');
    expect(res.status).toBe(200);
    expect(shownCards(await res.text())).toEqual(failing.cards);
    await expect
      .poll(() =>
        logLines.some((l) => l.includes('retrieval notification failed') && l.includes(failing.orderId)),
      )
      .toBe(true);
  });

  it('answers 410 "no longer available" when the cards were purged after the link was sent', async () => {
    const order = await seed();
    expect((await landing(order.token)).status).toBe(200);
    await seeder.purgeCards(order.orderId);

    const res = await retrieve(order.token, 'reveal');
    expect(res.status).toBe(410);
    expect(await res.text()).toContain('no longer available');
    const dl = await retrieve(order.token, 'download');
    expect(dl.status).toBe(410);
    expect((await landing(order.token)).status).toBe(410);
  });

  it('waits for a purge that is deleting the cards, then answers 410, not 500', async () => {
    const order = await seed();
    const purge = await db.connect();
    try {
      await purge.query('BEGIN');
      await purge.query('DELETE FROM cards WHERE order_id = $1', [order.orderId]);
      const pending = retrieve(order.token, 'reveal');
      // The reveal's FOR SHARE read is now blocked behind the uncommitted purge.
      await expect
        .poll(async () => {
          const { rows } = await db.query(
            `SELECT count(*)::int AS n FROM pg_stat_activity
              WHERE wait_event_type = 'Lock' AND query LIKE '%FROM cards c%FOR SHARE OF c%'`,
          );
          return rows[0].n;
        })
        .toBeGreaterThan(0);
      await purge.query('COMMIT');
      const res = await pending;
      expect(res.status).toBe(410);
      expect(await res.text()).toContain('no longer available');
    } finally {
      purge.release();
    }
  });

  it('answers 503 and leaves the link usable when Vault cannot decrypt the cards', async () => {
    // Encrypted under another order's context: transit refuses to decrypt it for this order.
    const order = await seed({ encryptionContext: `another-order-${randomUUID()}` });
    for (let i = 0; i < 2; i++) {
      const res = await retrieve(order.token, 'reveal');
      expect(res.status).toBe(503);
      const html = await res.text();
      expect(html).toContain('Temporarily unavailable');
      expect(html).not.toMatch(/vault|cipher|transit|stack/i);
    }
    expect((await tokenRow(order.token)).consumed_at).toBeNull();
    expect((await auditRows(order.orderId)).filter((r) => r.event === 'REVEALED')).toHaveLength(0);
    expect((await landing(order.token)).status).toBe(200);
  });
});

describe('a Vault that stalls', () => {
  it('holds the link and its cards no longer than the Vault timeout: 503, nothing revealed, a waiting purge goes through', async () => {
    // A Vault that accepts the decrypt and never answers, behind an API with a 700 ms Vault timeout.
    const stalled = http.createServer(() => {});
    await new Promise<void>((r) => stalled.listen(0, '127.0.0.1', r));
    const endpoint = `http://127.0.0.1:${(stalled.address() as AddressInfo).port}`;
    const app = await buildApp({
      db,
      transit: new Transit(createVaultClient({ endpoint, token: 'stalled', timeoutMs: 700 }), 'transit'),
      logger: captureLogger,
      publicBaseUrl: config().PUBLIC_BASE_URL as string, // the stack's test.env sets it
      revealVisibleMs: 60_000,
      rateLimitPerMinute: 10_000,
      limitScope: `stalled-${Date.now()}`,
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    apps.push(app);
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    try {
      const order = await seed();
      const t0 = Date.now();
      const reveal = retrieve(order.token, 'reveal', base);
      // The reveal holds the token row (claimed, uncommitted) while it waits on Vault: a purge waits behind it.
      await expect
        .poll(
          async () =>
            (
              await db.query(
                "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%FOR SHARE OF c%' AND state = 'idle in transaction'",
              )
            ).rowCount,
        )
        .toBe(1);
      const purge = purgeOrder(db, order.orderId, 'operator', 'test').then((r) => ({
        r,
        at: Date.now() - t0,
      }));
      await expect
        .poll(
          async () =>
            (
              await db.query(
                "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%FROM purge_orders(%'",
              )
            ).rowCount,
        )
        .toBe(1);
      const res = await reveal;
      const revealMs = Date.now() - t0;
      expect(res.status).toBe(503);
      expect(revealMs).toBeLessThan(2_500);
      // Rolled back: the purge that waited for the rows now deletes the cards, well within the bound.
      const purged = await purge;
      expect(purged.r.cardsDeleted).toBe(order.cards.length);
      expect(purged.at).toBeLessThan(3_000);
      expect((await auditRows(order.orderId)).map((r) => r.event)).not.toContain('REVEALED');
    } finally {
      stalled.closeAllConnections();
      stalled.close();
    }
  });
});

describe('download', () => {
  it('returns the cards as a text attachment and consumes the link', async () => {
    const order = await seed({ cards: 3 });
    const res = await retrieve(order.token, 'download');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(res.headers.get('content-disposition')).toBe(
      `attachment; filename="giftcards-${order.orderId}.txt"`,
    );
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = await res.text();
    for (const card of order.cards) {
      expect(body).toContain(`Code: ${card.value}`);
      expect(body).toContain(`Serial: ${card.serial}`);
    }
    expect((await tokenRow(order.token)).consumed_at).toBeInstanceOf(Date);
    expect((await retrieve(order.token, 'download')).status).toBe(410);
    expect((await retrieve(order.token, 'reveal')).status).toBe(410);

    const downloaded = (await auditRows(order.orderId)).filter((r) => r.event === 'DOWNLOADED');
    expect(downloaded).toHaveLength(1);
    expect(downloaded[0]).toMatchObject({ ip: '127.0.0.1', user_agent: UA, count: 3 });
  });
});

describe('links that do not work', () => {
  it('404s an unknown or malformed token, with the same page', async () => {
    const pages: string[] = [];
    for (const token of [generateToken(), 'abc', 'x'.repeat(42), `${'A'.repeat(42)}%21`, 'A'.repeat(200)]) {
      for (const res of [
        await landing(token),
        await retrieve(token, 'reveal'),
        await retrieve(token, 'download'),
      ]) {
        expect(res.status).toBe(404);
        const html = await res.text();
        expect(html).toContain('This link is not valid');
        expect(html).not.toContain(token);
        pages.push(withoutNonce(html));
      }
    }
    expect(new Set(pages).size).toBe(1);
  });

  it('410s expired, expiry-marked, revoked and used links alike', async () => {
    const cases = await Promise.all([
      seed({ expiresAt: new Date(Date.now() - 60_000) }),
      seed({ expired: true }),
      seed({ revoked: true }),
      seed({ consumed: true }),
    ]);
    const pages: string[] = [];
    for (const order of cases) {
      for (const res of [
        await landing(order.token),
        await retrieve(order.token, 'reveal'),
        await retrieve(order.token, 'download'),
      ]) {
        expect(res.status).toBe(410);
        const html = await res.text();
        expect(html).toContain('This link has already been used or has expired');
        pages.push(withoutNonce(html));
      }
      // Not consumed by the refused attempts (only the seeded "used" one was).
      expect(Boolean((await tokenRow(order.token)).consumed_at)).toBe(order === cases[3]);
    }
    expect(new Set(pages).size).toBe(1);
  });
});

describe('rate limit', () => {
  it('answers 429 with Retry-After once an IP exceeds the limit on /d/*', async () => {
    const limited = await startApp({ rateLimitPerMinute: 3 });
    const token = generateToken();
    for (let i = 0; i < 3; i++) expect((await landing(token, limited)).status).toBe(404);
    const res = await retrieve(token, 'reveal', limited);
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(await res.text()).toContain('Too many requests');
    // The limit guards links, not the health check.
    expect((await fetch(`${limited}/healthz`)).status).toBe(200);
  });
});

describe('the rest of the surface', () => {
  it('GET /healthz checks the database', async () => {
    const res = await fetch(`${baseUrl}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
  });

  it('answers bad input with a 4xx and never echoes the request or an internal message', async () => {
    const token = generateToken();
    const unsupported = await fetch(`${baseUrl}/d/${token}/reveal`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"broken":',
    });
    expect(unsupported.status).toBe(400);
    const unsupportedBody = await unsupported.text();
    expect(unsupportedBody).not.toMatch(/json|unexpected|position/i);

    const tooLarge = await fetch(`${baseUrl}/d/${token}/reveal`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `x=${'a'.repeat(20_000)}`,
    });
    expect(tooLarge.status).toBe(413);

    const badUrl = await fetch(`${baseUrl}/d/${token}%zz`);
    expect(badUrl.status).toBe(404);
    expect(badUrl.headers.get('x-frame-options')).toBe('DENY');
    expect(await badUrl.text()).not.toContain(token);

    const nowhere = await fetch(`${baseUrl}/d/${token}/nowhere`);
    expect(nowhere.status).toBe(404);
    expect(await nowhere.text()).not.toContain(token);

    const api = await fetch(`${baseUrl}/no/such/${token}`);
    expect(api.status).toBe(404);
    expect(await api.json()).toEqual(problemOf(404));
  });
});

describe('logs', () => {
  it('the logger pattern masks a token in a link path', () => {
    const token = generateToken();
    expect(scrub(`POST /d/${token}/reveal`)).toBe('POST /d/[REDACTED:token]/reveal');
  });

  // Runs last in this file: everything above has logged by now.
  it('contain no token and no card value or serial', () => {
    expect(logLines.length).toBeGreaterThan(20);
    expect(logLines.some((l) => l.includes('"route":"/d/:token/reveal"'))).toBe(true);
    const output = logLines.join('');
    expect(secrets.length).toBeGreaterThan(50);
    const leaked = secrets.filter((s) => output.includes(s));
    expect(leaked).toEqual([]);
    expect(output).not.toMatch(/\/d\/[A-Za-z0-9_-]{16,}/);
  });
});
