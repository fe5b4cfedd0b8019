/**
 * The decryptor as an attacker meets it (issue 20, DESIGN 3.7), each attack with the attacker's own means:
 * the API's Vault identity and database role against a stored card's ciphertext, and the decryptor's own
 * HTTP surface and database role against anything but a consumable link token or reveal key. Nothing may
 * come out in plaintext, and nothing may change.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../api/app';
import { issueRevealKey } from '../../api/in-app/reveal-keys';
import { clientNonce, DECRYPTOR_PATHS, decryptorClient } from '../../domain/decryptor-client';
import { config, databaseUrl } from '../../lib/config';
import { createPool, type Db } from '../../lib/db';
import { hashToken } from '../../lib/tokens';
import { connectVault, VaultError, type VaultSession } from '../../lib/vault';
import { auditRows } from '../helpers/audit';
import { type RunningDecryptor, startDecryptor } from '../helpers/decryptor';
import { fixturePool } from '../helpers/fixture-db';
import { createSeeder, type SeededOrder, type Seeder } from '../helpers/seed';

/** The fixtures' pool (seeding, and reading what no component may); the API's own role's. */
let db: Db;
let apiDb: Db;
let apiVault: VaultSession;
let decryptor: RunningDecryptor;
let seeder: Seeder;
let api: FastifyInstance;
let apiUrl: string;

beforeAll(async () => {
  db = fixturePool();
  apiDb = createPool(databaseUrl('api'), 4);
  apiVault = await connectVault('api');
  decryptor = await startDecryptor();
  seeder = await createSeeder(db);
  api = await buildApp({
    db: apiDb,
    decryptor: decryptor.client,
    publicBaseUrl: config().PUBLIC_BASE_URL!,
    revealVisibleMs: 60_000,
    rateLimitPerMinute: 10_000,
    limitScope: `test-${randomUUID()}`,
  });
  await api.listen({ host: '127.0.0.1', port: 0 });
  apiUrl = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await api?.close();
  await seeder?.cleanup();
  seeder?.close();
  apiVault?.close();
  await decryptor?.close();
  await apiDb?.end();
  await db?.end();
});

/**
 * A stored card's ciphertext and bucket, as someone who got hold of them another way would have them (a
 * backup, the schema owner's password: the API's own role reads no ciphertext, see db-roles.test.ts).
 */
async function storedCiphertexts(order: SeededOrder) {
  const { rows } = await db.query<{ id: string; value_ct: string; serial_ct: string; key_name: string }>(
    'SELECT id, value_ct, serial_ct, key_name FROM cards WHERE order_id = $1 ORDER BY id',
    [order.orderId],
  );
  return rows;
}

const raw = (path: string, body: unknown) =>
  fetch(`${decryptor.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

const requester = { ip: '203.0.113.9', userAgent: 'attacker' };

describe('the API alone reads no plaintext', () => {
  it("refuses a decrypt of a stored card's ciphertext with the API's own Vault identity (403)", async () => {
    const order = await seeder.seed({ cards: 2 });
    const rows = await storedCiphertexts(order);
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      const attempt = apiVault.transit.decryptBatch(row.key_name, [
        { ciphertext: row.value_ct, context: order.orderId },
        { ciphertext: row.serial_ct, context: order.orderId },
      ]);
      await expect(attempt).rejects.toBeInstanceOf(VaultError);
      await expect(attempt).rejects.toMatchObject({ status: 403 });
    }
    // Nor can it rewrap or ask for a datakey of a card key (other ways to a plaintext).
    await expect(
      apiVault.transit.rewrapBatch(rows[0]!.key_name, [
        { ciphertext: rows[0]!.value_ct, context: order.orderId },
      ]),
    ).rejects.toMatchObject({ status: 403 });
    await expect(apiVault.transit.dataKey(rows[0]!.key_name)).rejects.toMatchObject({ status: 403 });
    // The link still works for its holder: the attempts changed nothing.
    const res = await fetch(`${apiUrl}/d/${order.token}/reveal`, { method: 'POST' });
    expect(res.status).toBe(200);
  });

  it("answers nothing the decryptor could decrypt when the API's public edge is asked for the decryptor's routes", async () => {
    const order = await seeder.seed();
    for (const path of Object.values(DECRYPTOR_PATHS)) {
      const res = await fetch(`${apiUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token: order.token, method: 'reveal', requester }),
      });
      expect(res.status).toBe(404);
      const body = await res.text();
      for (const card of order.cards) expect(body).not.toContain(card.value);
    }
    expect((await tokenRow(order.token)).consumed_at).toBeNull();
  });
});

async function tokenRow(token: string) {
  const { rows } = await db.query('SELECT consumed_at FROM delivery_tokens WHERE token_hash = $1', [
    hashToken(token),
  ]);
  return rows[0] as { consumed_at: Date | null };
}

describe('the decryptor decrypts a consumable capability and nothing else', () => {
  it('listens on loopback, on a port that is not the public one', () => {
    const address = decryptor.app.server.address() as AddressInfo;
    expect(address.address).toBe('127.0.0.1');
    expect(new URL(decryptor.url).port).not.toBe(new URL(apiUrl).port);
    expect(config().DECRYPTOR_HOST).toBe('127.0.0.1');
  });

  it('hands out a link once: the same token again, a made-up one, a card id, a ciphertext or an order id get no card', async () => {
    const order = await seeder.seed({ cards: 2 });
    const first = await decryptor.client.consumeLink({ token: order.token, method: 'reveal', requester });
    expect(first.outcome).toBe('retrieved');

    const [card] = await storedCiphertexts(order);
    const attempts: unknown[] = [
      { token: order.token, method: 'reveal', requester },
      { token: order.token, method: 'download', requester },
      { token: randomBytes(32).toString('base64url'), method: 'reveal', requester },
      { token: card!.id, method: 'reveal', requester },
      { token: card!.value_ct, method: 'reveal', requester },
      { token: order.orderId, method: 'reveal', requester },
    ];
    for (const body of attempts) {
      const res = await raw(DECRYPTOR_PATHS.consumeLink, body);
      const text = await res.text();
      expect([200, 400]).toContain(res.status);
      if (res.status === 200) expect(['gone', 'unknown']).toContain(JSON.parse(text).outcome);
      for (const c of order.cards) {
        expect(text).not.toContain(c.value);
        expect(text).not.toContain(c.serial);
      }
    }
    // Asking by card or by order, beside a token or instead of one, is not a request it knows.
    for (const body of [
      { cardId: card!.id, method: 'reveal', requester },
      { token: order.token, cardId: card!.id, method: 'reveal', requester },
      { orderId: order.orderId, deliveryId: order.deliveryId, method: 'reveal', requester },
    ]) {
      const res = await raw(DECRYPTOR_PATHS.consumeLink, body);
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: 'Bad Request' });
    }
    for (const path of ['/v1/cards/decrypt', `/v1/cards/${card!.id}`, '/v1/decrypt', '/']) {
      const res = await fetch(`${decryptor.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ciphertext: card!.value_ct, context: order.orderId }),
      });
      expect(res.status).toBe(404);
    }
    // One retrieval, audited once.
    expect((await auditRows(db, order.orderId)).filter((r) => r.event === 'REVEALED')).toHaveLength(1);
  });

  it('redeems a reveal key once, for its own order, user and device secret only', async () => {
    const order = await seeder.seed({ cards: 2 });
    const user = `user-${randomUUID().slice(0, 8)}`;
    await db.query('UPDATE orders SET user_id = $2 WHERE order_id = $1', [order.orderId, user]);
    const clientSecret = randomBytes(32).toString('hex');
    const timestamp = Math.floor(Date.now() / 1000);
    const { revealKey } = await issueRevealKey(apiDb, {
      orderId: order.orderId,
      userId: user,
      nonce: clientNonce(clientSecret, timestamp),
      ttlMs: 60_000,
      requester,
      method: 'test',
    });
    const redeem = (over: Record<string, unknown> = {}) =>
      decryptor.client.redeemRevealKey({
        orderId: order.orderId,
        userId: user,
        revealKey,
        clientSecret,
        timestamp,
        requester,
        method: 'test',
        ...over,
      });
    // Another user, another order: refused, and the key is not spent by them.
    expect(await redeem({ userId: 'someone-else' })).toEqual({ outcome: 'refused' });
    expect(await redeem({ orderId: `test-api-${randomUUID()}` })).toEqual({ outcome: 'refused' });
    // A made-up key.
    expect(await redeem({ revealKey: randomBytes(32).toString('base64url') })).toEqual({
      outcome: 'refused',
    });
    const shown = await redeem();
    expect(shown.outcome).toBe('revealed');
    // Spent.
    expect(await redeem()).toEqual({ outcome: 'refused' });
  });
});

describe("the decryptor's own database role", () => {
  it('cannot mint, extend or revive a link, or touch a card, with one SQL statement each', async () => {
    const order = await seeder.seed();
    await decryptor.client.consumeLink({ token: order.token, method: 'reveal', requester });
    const forged = randomBytes(32).toString('base64url');
    const statements: Array<[string, string, unknown[]]> = [
      [
        'mint a link',
        `INSERT INTO delivery_tokens (token_hash, delivery_id, order_id, expires_at)
         VALUES ($1, $2, $3, now() + interval '1 day')`,
        [hashToken(forged), order.deliveryId, order.orderId],
      ],
      [
        'extend a link',
        `UPDATE delivery_tokens SET expires_at = now() + interval '30 days' WHERE order_id = $1`,
        [order.orderId],
      ],
      [
        'revive a used link',
        'UPDATE delivery_tokens SET consumed_at = NULL WHERE order_id = $1',
        [order.orderId],
      ],
      [
        'mint a reveal key',
        `INSERT INTO reveal_keys (key_hash, order_id, user_id, nonce_hash, expires_at)
         VALUES ($1, $2, 'u', $1, now() + interval '1 hour')`,
        [hashToken(forged), order.orderId],
      ],
      [
        "overwrite a card's ciphertext",
        "UPDATE cards SET value_ct = 'vault:v1:x' WHERE order_id = $1",
        [order.orderId],
      ],
      ['delete a card', 'DELETE FROM cards WHERE order_id = $1', [order.orderId]],
      ['re-route an order', "UPDATE orders SET user_id = 'thief' WHERE order_id = $1", [order.orderId]],
      ['rewrite the audit trail', 'DELETE FROM audit_log WHERE order_id = $1', [order.orderId]],
    ];
    for (const [what, sql, params] of statements) {
      await expect(decryptor.db.query(sql, params), what).rejects.toThrow(
        /permission denied|is set once|never re-armed/,
      );
    }
    expect((await tokenRow(order.token)).consumed_at).toBeInstanceOf(Date);
    expect(await decryptor.client.consumeLink({ token: forged, method: 'reveal', requester })).toEqual({
      outcome: 'unknown',
    });
  });
});

describe('an API whose decryptor does not answer', () => {
  it('answers 503 and leaves the link usable', async () => {
    const order = await seeder.seed();
    // A port where nothing listens: connection refused at once.
    const gone = await buildApp({
      db: apiDb,
      decryptor: decryptorClient('http://127.0.0.1:9', { timeoutMs: 2000 }),
      publicBaseUrl: config().PUBLIC_BASE_URL!,
      revealVisibleMs: 60_000,
      rateLimitPerMinute: 10_000,
      limitScope: `test-${randomUUID()}`,
    });
    try {
      const res = await gone.inject({ method: 'POST', url: `/d/${order.token}/reveal` });
      expect(res.statusCode).toBe(503);
      for (const card of order.cards) expect(res.body).not.toContain(card.value);
    } finally {
      await gone.close();
    }
    expect((await tokenRow(order.token)).consumed_at).toBeNull();
    const res = await fetch(`${apiUrl}/d/${order.token}/reveal`, { method: 'POST' });
    expect(res.status).toBe(200);
  });
});
