/**
 * The in-app API over real HTTP against the stack's PostgreSQL and Vault (the API's own AppRole; the seed
 * encrypts with the worker's): JWT authentication, ownership, the audit trail, and the reveal-key flow
 * bound to a client secret. Every card, token and secret used here is collected, and the last test checks
 * that none reached the captured log output.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../api/app';
import { clientNonce, issueRevealKey } from '../../api/in-app/reveal-keys';
import type { InAppSettings } from '../../api/in-app/routes';
import { config } from '../../lib/config';
import type { Db } from '../../lib/db';
import { createLogger } from '../../lib/logger';
import { hashToken } from '../../lib/tokens';
import { connectVault, type VaultSession } from '../../lib/vault';
import { auditRows as auditOf } from '../helpers/audit';
import { fixturePool } from '../helpers/fixture-db';
import { problemOf } from '../helpers/problems';
import { createSeeder, type SeededOrder, type Seeder, type SeedOptions } from '../helpers/seed';

const UA = 'in-app-api-test/1.0 (vitest)';
const JWT_SECRET = randomBytes(32).toString('base64url');
const ISSUER = 'giftcards-app-test';
const AUDIENCE = 'giftcards-api-test';

let db: Db;
let vault: VaultSession;
let seeder: Seeder;
let baseUrl: string;
const apps: FastifyInstance[] = [];
const logLines: string[] = [];
/** Card values and serials, JWTs, reveal keys and client secrets: none may appear in a log line. */
const secrets: string[] = [JWT_SECRET];

const captureLogger = createLogger(
  { level: 'debug', name: 'in-app-test' },
  { write: (l) => logLines.push(l) },
);

async function startApp(
  overrides: Partial<InAppSettings> = {},
): Promise<{ app: FastifyInstance; url: string }> {
  const app = await buildApp({
    db,
    transit: vault.transit,
    logger: captureLogger,
    publicBaseUrl: config().PUBLIC_BASE_URL!,
    revealVisibleMs: 60_000,
    rateLimitPerMinute: 10_000,
    // Counters of their own: each app's limits start empty, whatever other tests spent.
    limitScope: `test-${randomUUID()}`,
    inApp: {
      jwt: { secret: JWT_SECRET, issuer: ISSUER, audience: AUDIENCE },
      revealKeyTtlMs: 5 * 60_000,
      rateLimitPerMinute: 10_000,
      ...overrides,
    },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  apps.push(app);
  return { app, url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` };
}

beforeAll(async () => {
  db = fixturePool();
  vault = await connectVault('api');
  seeder = await createSeeder(db);
  baseUrl = (await startApp()).url;
});

afterAll(async () => {
  for (const app of apps) await app.close();
  await seeder?.cleanup();
  seeder?.close();
  vault?.close();
  await db?.end();
});

const newUser = () => `user-${randomUUID().slice(0, 12)}`;

/** A delivered order owned by `userId` (the seed stores a placeholder owner; the app's user replaces it). */
async function seedFor(userId: string, options?: SeedOptions): Promise<SeededOrder> {
  const order = await seeder.seed(options);
  await db.query('UPDATE orders SET user_id = $2 WHERE order_id = $1', [order.orderId, userId]);
  secrets.push(order.token, ...order.cards.flatMap((c) => [c.value, c.serial]));
  return order;
}

async function jwtFor(
  userId: string | undefined,
  claims: { iss?: string; aud?: string; exp?: number | string; secret?: string; alg?: string } = {},
): Promise<string> {
  let jwt = new SignJWT({})
    .setProtectedHeader({ alg: claims.alg ?? 'HS256', typ: 'JWT' })
    .setIssuer(claims.iss ?? ISSUER)
    .setAudience(claims.aud ?? AUDIENCE)
    .setIssuedAt();
  if (userId !== undefined) jwt = jwt.setSubject(userId);
  if (claims.exp !== undefined) jwt = jwt.setExpirationTime(claims.exp);
  else jwt = jwt.setExpirationTime('5m');
  const token = await jwt.sign(new TextEncoder().encode(claims.secret ?? JWT_SECRET));
  secrets.push(token);
  return token;
}

/** An unsigned token (`alg: none`) with otherwise perfect claims. */
function unsignedJwt(userId: string): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: userId, iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + 300 })}.`;
}

const api = (path: string, init: { token?: string; method?: string; body?: unknown; base?: string } = {}) =>
  fetch(`${init.base ?? baseUrl}${path}`, {
    method: init.method ?? 'GET',
    headers: {
      'user-agent': UA,
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
      ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
  });

const cardsOf = (orderId: string, token: string, base?: string) =>
  api(`/api/orders/${encodeURIComponent(orderId)}/cards`, { token, base });

const auditRows = (orderId: string) => auditOf(db, orderId);

/** A client secret and its nonce, as the app computes them on the device. */
function deviceProof(timestamp = Math.floor(Date.now() / 1000)) {
  const clientSecret = randomBytes(32).toString('hex');
  secrets.push(clientSecret);
  return { clientSecret, timestamp, nonce: clientNonce(clientSecret, timestamp).toString('hex') };
}

async function revealKey(
  orderId: string,
  token: string,
  proof: { nonce: string; timestamp: number },
  base?: string,
) {
  const res = await api(`/api/orders/${encodeURIComponent(orderId)}/reveal-keys`, {
    method: 'POST',
    token,
    base,
    body: { nonce: proof.nonce, timestamp: proof.timestamp },
  });
  expect(res.status).toBe(201);
  const body = (await res.json()) as { revealKey: string; expiresAt: string };
  secrets.push(body.revealKey);
  return body;
}

const reveal = (
  orderId: string,
  token: string,
  body: { revealKey: string; clientSecret: string; timestamp: number },
  base?: string,
) => api(`/api/orders/${encodeURIComponent(orderId)}/cards/reveal`, { method: 'POST', token, body, base });

async function keyConsumed(key: string): Promise<boolean> {
  const { rows } = await db.query('SELECT consumed_at FROM reveal_keys WHERE key_hash = $1', [
    hashToken(key),
  ]);
  return rows[0]?.consumed_at instanceof Date;
}

describe('GET /api/orders/:orderId/cards', () => {
  it('shows the owner exactly the seeded cards, with the no-store headers', async () => {
    const user = newUser();
    const order = await seedFor(user, { cards: 3 });
    const res = await cardsOf(order.orderId, await jwtFor(user));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('pragma')).toBe('no-cache');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(await res.json()).toEqual({ orderId: order.orderId, cards: order.cards });
  });

  it("answers another user's order exactly like a missing one", async () => {
    const owner = newUser();
    const order = await seedFor(owner);
    const intruder = await jwtFor(newUser());

    const answers: Array<{ status: number; type: string | null; body: string }> = [];
    for (const [path, method, body] of [
      ['cards', 'GET', undefined],
      ['reveal-keys', 'POST', { nonce: deviceProof().nonce, timestamp: Math.floor(Date.now() / 1000) }],
      ['cards/reveal', 'POST', { revealKey: 'A'.repeat(43), clientSecret: 'x'.repeat(64), timestamp: 1 }],
    ] as const) {
      for (const orderId of [order.orderId, `test-api-missing-${randomUUID()}`, 'not a valid id!']) {
        const res = await api(`/api/orders/${encodeURIComponent(orderId)}/${path}`, {
          method,
          token: intruder,
          body,
        });
        answers.push({ status: res.status, type: res.headers.get('content-type'), body: await res.text() });
      }
    }
    expect(answers[0]).toEqual({
      status: 404,
      type: 'application/problem+json; charset=utf-8',
      body: '{"type":"about:blank","title":"Not Found","status":404}',
    });
    expect(answers.every((a) => JSON.stringify(a) === JSON.stringify(answers[0]))).toBe(true);
    // Nothing was revealed to the intruder, and the owner still sees the cards.
    expect((await auditRows(order.orderId)).filter((r) => r.event === 'REVEALED')).toHaveLength(0);
    expect((await cardsOf(order.orderId, await jwtFor(owner))).status).toBe(200);
  });

  it('writes a REVEALED audit row with the user, ip, user agent and count, and no card', async () => {
    const user = newUser();
    const order = await seedFor(user, { cards: 2 });
    expect((await cardsOf(order.orderId, await jwtFor(user))).status).toBe(200);
    const rows = await auditRows(order.orderId);
    const revealed = rows.filter((r) => r.event === 'REVEALED');
    expect(revealed).toEqual([
      {
        event: 'REVEALED',
        actor: `user:${user}`,
        method: 'GET /api/orders/:orderId/cards',
        ip: '127.0.0.1',
        user_agent: UA,
        count: 2,
        detail: { via: 'in-app' },
      },
    ]);
    const text = JSON.stringify(rows);
    for (const card of order.cards) {
      expect(text).not.toContain(card.value);
      expect(text).not.toContain(card.serial);
    }
  });

  it('answers 503 without a card when Vault refuses to decrypt (ciphertext of another order)', async () => {
    const user = newUser();
    const order = await seedFor(user, { encryptionContext: `another-order-${randomUUID()}` });
    const res = await cardsOf(order.orderId, await jwtFor(user));
    expect(res.status).toBe(503);
    expect(await res.text()).not.toMatch(/vault|cipher|transit/i);
    expect((await auditRows(order.orderId)).filter((r) => r.event === 'REVEALED')).toHaveLength(0);
  });
});

describe('authentication', () => {
  it('refuses a missing, malformed, expired, foreign or unsigned JWT with 401 and a challenge', async () => {
    const user = newUser();
    const order = await seedFor(user);
    const path = `/api/orders/${order.orderId}/cards`;
    const now = Math.floor(Date.now() / 1000);

    const missing = await fetch(`${baseUrl}${path}`);
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer realm="giftcards"');
    expect(await missing.json()).toEqual(problemOf(401));

    const bad: Array<[string, string]> = [
      ['expired', await jwtFor(user, { exp: now - 60 })],
      ['wrong audience', await jwtFor(user, { aud: 'another-api' })],
      ['wrong issuer', await jwtFor(user, { iss: 'someone-else' })],
      ['wrong secret', await jwtFor(user, { secret: randomBytes(32).toString('hex') })],
      ['HS512 with the right secret', await jwtFor(user, { alg: 'HS512' })],
      ['no subject', await jwtFor(undefined)],
      ['alg none', unsignedJwt(user)],
      ['garbage', 'not.a.jwt'],
    ];
    for (const [why, token] of bad) {
      const res = await fetch(`${baseUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status, why).toBe(401);
      expect(res.headers.get('www-authenticate'), why).toBe(
        'Bearer realm="giftcards", error="invalid_token"',
      );
      expect(await res.json(), why).toEqual(problemOf(401));
    }
    for (const header of ['Basic dXNlcjpwYXNz', `Bearer ${'a'.repeat(5000)}.b.c`, 'Bearer']) {
      const res = await fetch(`${baseUrl}${path}`, { headers: { authorization: header } });
      expect(res.status).toBe(401);
    }
    // Every route of the group is behind the same check.
    for (const p of ['reveal-keys', 'cards/reveal']) {
      const res = await fetch(`${baseUrl}/api/orders/${order.orderId}/${p}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      expect(res.status).toBe(401);
    }
    expect((await auditRows(order.orderId)).filter((r) => r.event === 'REVEALED')).toHaveLength(0);
  });
});

describe('reveal keys bound to a client secret', () => {
  it('reveals the cards once, audits it, and stores neither the key nor the nonce', async () => {
    const user = newUser();
    const token = await jwtFor(user);
    const order = await seedFor(user, { cards: 3 });
    const proof = deviceProof();
    const issued = await revealKey(order.orderId, token, proof);
    expect(issued.revealKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const ttl = Date.parse(issued.expiresAt) - Date.now();
    expect(ttl).toBeGreaterThan(4 * 60_000);
    expect(ttl).toBeLessThanOrEqual(5 * 60_000 + 1000);

    const { rows } = await db.query('SELECT * FROM reveal_keys WHERE order_id = $1', [order.orderId]);
    expect(rows).toHaveLength(1);
    const stored = JSON.stringify(rows);
    expect(stored).not.toContain(issued.revealKey);
    expect(Buffer.from(rows[0].nonce_hash).toString('hex')).not.toBe(proof.nonce);
    expect(Buffer.compare(rows[0].key_hash, hashToken(issued.revealKey))).toBe(0);

    const body = {
      revealKey: issued.revealKey,
      clientSecret: proof.clientSecret,
      timestamp: proof.timestamp,
    };
    const res = await reveal(order.orderId, token, body);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.json()).toEqual({ orderId: order.orderId, cards: order.cards });

    const again = await reveal(order.orderId, token, body);
    expect(again.status).toBe(403);
    expect(await again.json()).toEqual(problemOf(403));

    const trail = await auditRows(order.orderId);
    const revealed = trail.filter((r) => r.event === 'REVEALED');
    expect(revealed).toEqual([
      {
        event: 'REVEALED',
        actor: `user:${user}`,
        method: 'POST /api/orders/:orderId/cards/reveal',
        ip: '127.0.0.1',
        user_agent: UA,
        count: 3,
        detail: { via: 'reveal-key' },
      },
    ]);
    // The issuance too: who, from where, which key (a prefix of its stored hash, never the key) and until when.
    expect(trail.filter((r) => r.event === 'REVEAL_KEY_ISSUED')).toEqual([
      {
        event: 'REVEAL_KEY_ISSUED',
        actor: `user:${user}`,
        method: 'POST /api/orders/:orderId/reveal-keys',
        ip: '127.0.0.1',
        user_agent: UA,
        count: null,
        detail: {
          key: hashToken(issued.revealKey).toString('hex').slice(0, 12),
          expiresAt: new Date(issued.expiresAt).toISOString(),
        },
      },
    ]);
    expect(JSON.stringify(trail)).not.toContain(issued.revealKey);
    expect(JSON.stringify(trail)).not.toContain(proof.nonce);
    expect(trail.map((r) => r.event)).not.toContain('REVEAL_KEY_BURNED');
  });

  it('refuses the wrong client secret alike, and burns the key', async () => {
    const user = newUser();
    const token = await jwtFor(user);
    const order = await seedFor(user);
    const proof = deviceProof();
    const { revealKey: key } = await revealKey(order.orderId, token, proof);

    const wrong = await reveal(order.orderId, token, {
      revealKey: key,
      clientSecret: deviceProof().clientSecret,
      timestamp: proof.timestamp,
    });
    expect(wrong.status).toBe(403);
    expect(await wrong.json()).toEqual(problemOf(403));
    expect(await keyConsumed(key)).toBe(true);

    const right = await reveal(order.orderId, token, {
      revealKey: key,
      clientSecret: proof.clientSecret,
      timestamp: proof.timestamp,
    });
    expect(right.status).toBe(403);
    // The secret with another timestamp is another nonce.
    const other = deviceProof();
    const { revealKey: key2 } = await revealKey(order.orderId, token, other);
    const shifted = await reveal(order.orderId, token, {
      revealKey: key2,
      clientSecret: other.clientSecret,
      timestamp: other.timestamp - 1,
    });
    expect(shifted.status).toBe(403);
    const trail = await auditRows(order.orderId);
    expect(trail.filter((r) => r.event === 'REVEALED')).toHaveLength(0);
    // Both keys were burnt by a presentation without their secret; the second presentation of the first
    // key found it spent already and burnt nothing.
    const ref = (k: string) => hashToken(k).toString('hex').slice(0, 12);
    expect(trail.filter((r) => r.event === 'REVEAL_KEY_BURNED')).toEqual(
      [key, key2].map((k) => ({
        event: 'REVEAL_KEY_BURNED',
        actor: `user:${user}`,
        method: 'POST /api/orders/:orderId/cards/reveal',
        ip: '127.0.0.1',
        user_agent: UA,
        count: null,
        detail: { key: ref(k), reason: 'presented without its client secret' },
      })),
    );
    expect(trail.filter((r) => r.event === 'REVEAL_KEY_ISSUED').map((r) => r.detail.key)).toEqual([
      ref(key),
      ref(key2),
    ]);
    expect(JSON.stringify(trail)).not.toContain(key);
  });

  it('refuses an expired key', async () => {
    const { url } = await startApp({ revealKeyTtlMs: 1000 });
    const user = newUser();
    const token = await jwtFor(user);
    const order = await seedFor(user);
    const proof = deviceProof();
    const { revealKey: key, expiresAt } = await revealKey(order.orderId, token, proof, url);
    expect(Date.parse(expiresAt) - Date.now()).toBeLessThanOrEqual(1000);
    await new Promise((r) => setTimeout(r, 1500));
    const res = await reveal(
      order.orderId,
      token,
      { revealKey: key, clientSecret: proof.clientSecret, timestamp: proof.timestamp },
      url,
    );
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual(problemOf(403));
  });

  it('refuses a stale client timestamp, when issuing and when revealing', async () => {
    const user = newUser();
    const token = await jwtFor(user);
    const order = await seedFor(user);
    const stale = deviceProof(Math.floor(Date.now() / 1000) - 10 * 60);
    const issue = await api(`/api/orders/${order.orderId}/reveal-keys`, {
      method: 'POST',
      token,
      body: { nonce: stale.nonce, timestamp: stale.timestamp },
    });
    expect(issue.status).toBe(400);
    expect(await issue.json()).toEqual(problemOf(400, ['timestamp']));

    // A key bound to a nonce of that stale timestamp (issued while it was fresh) is refused too, untouched.
    const { revealKey: key } = await issueRevealKey(db, {
      orderId: order.orderId,
      userId: user,
      nonce: Buffer.from(stale.nonce, 'hex'),
      ttlMs: 60_000,
      requester: { ip: '127.0.0.1' },
      method: 'test',
    });
    secrets.push(key);
    const res = await reveal(order.orderId, token, {
      revealKey: key,
      clientSecret: stale.clientSecret,
      timestamp: stale.timestamp,
    });
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual(problemOf(403));
    expect(await keyConsumed(key)).toBe(false);
  });

  it("refuses a key for another of the user's orders (and it still works for its own)", async () => {
    const user = newUser();
    const token = await jwtFor(user);
    const [a, b] = [await seedFor(user), await seedFor(user)];
    const proof = deviceProof();
    const { revealKey: key } = await revealKey(a.orderId, token, proof);
    const body = { revealKey: key, clientSecret: proof.clientSecret, timestamp: proof.timestamp };

    const wrongOrder = await reveal(b.orderId, token, body);
    expect(wrongOrder.status).toBe(403);
    expect(await wrongOrder.json()).toEqual(problemOf(403));

    // Another user with the key and the secret: not their order, so it does not exist for them.
    const thief = await reveal(a.orderId, await jwtFor(newUser()), body);
    expect(thief.status).toBe(404);

    const own = await reveal(a.orderId, token, body);
    expect(own.status).toBe(200);
    expect(await own.json()).toEqual({ orderId: a.orderId, cards: a.cards });
  });

  it('of two concurrent reveals with one key, exactly one wins', async () => {
    const user = newUser();
    const token = await jwtFor(user);
    const order = await seedFor(user);
    const proof = deviceProof();
    const { revealKey: key } = await revealKey(order.orderId, token, proof);
    const body = { revealKey: key, clientSecret: proof.clientSecret, timestamp: proof.timestamp };
    const results = await Promise.all([
      reveal(order.orderId, token, body),
      reveal(order.orderId, token, body),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 403]);
    expect((await auditRows(order.orderId)).filter((r) => r.event === 'REVEALED')).toHaveLength(1);
  });

  it('answers malformed requests with 400 and no detail from the request', async () => {
    const user = newUser();
    const token = await jwtFor(user);
    const order = await seedFor(user);
    const badKey = await api(`/api/orders/${order.orderId}/reveal-keys`, {
      method: 'POST',
      token,
      body: { nonce: 'zz-not-hex', timestamp: 'soon' },
    });
    expect(badKey.status).toBe(400);
    expect(await badKey.json()).toEqual(problemOf(400, ['nonce', 'timestamp']));

    const badReveal = await api(`/api/orders/${order.orderId}/cards/reveal`, {
      method: 'POST',
      token,
      body: { revealKey: 'short', clientSecret: 'x' },
    });
    expect(badReveal.status).toBe(400);
    expect(await badReveal.json()).toEqual(problemOf(400));

    const notJson = await fetch(`${baseUrl}/api/orders/${order.orderId}/cards/reveal`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{"revealKey":',
    });
    expect(notJson.status).toBe(400);
    expect(await notJson.text()).not.toContain('revealKey');
  });
});

describe('rate limits', () => {
  it('limits per address before authentication, per user after it, and answers 429 with Retry-After', async () => {
    const { app } = await startApp({ rateLimitPerMinute: 3 });
    const user = newUser();
    const token = await jwtFor(user);
    const order = await seedFor(user);
    const get = (remoteAddress: string, authorization?: string) =>
      app.inject({
        method: 'GET',
        url: `/api/orders/${order.orderId}/cards`,
        remoteAddress,
        headers: authorization ? { authorization } : {},
      });

    // Unauthenticated guesses from one address.
    for (let i = 0; i < 3; i++) expect((await get('10.1.0.1', 'Bearer x.y.z')).statusCode).toBe(401);
    const limited = await get('10.1.0.1', `Bearer ${token}`);
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.headers['cache-control']).toBe('no-store');
    expect(limited.json()).toEqual(problemOf(429));

    // One user's token from many addresses.
    for (let i = 0; i < 3; i++)
      expect((await get(`10.2.0.${i + 1}`, `Bearer ${token}`)).statusCode).toBe(200);
    const perUser = await get('10.2.0.99', `Bearer ${token}`);
    expect(perUser.statusCode).toBe(429);
    expect(Number(perUser.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('has an overall budget that unauthenticated requests from many addresses run into, and nobody else', async () => {
    const { app } = await startApp({ rateLimitPerMinute: 1 });
    // OVERALL_CLIENTS (100) addresses with one unauthenticated request each spend it; the next is refused.
    const statuses: number[] = [];
    for (let i = 0; i < 101; i++) {
      const res = await app.inject({
        method: 'GET',
        url: '/api/orders/x/cards',
        remoteAddress: `10.3.${i >> 8}.${i & 255}`,
      });
      statuses.push(res.statusCode);
    }
    expect(statuses.slice(0, 100).every((s) => s === 401)).toBe(true);
    expect(statuses[100]).toBe(429);
    // A valid JWT never meets the overall budget: a user on a fresh address still gets their cards.
    const user = newUser();
    const order = await seedFor(user);
    const res = await app.inject({
      method: 'GET',
      url: `/api/orders/${order.orderId}/cards`,
      remoteAddress: '10.3.9.9',
      headers: { authorization: `Bearer ${await jwtFor(user)}` },
    });
    expect(res.statusCode).toBe(200);
  });
});

describe('logs', () => {
  // Runs last in this file: everything above has logged by now.
  it('contain no card, JWT, reveal key or client secret', () => {
    expect(logLines.length).toBeGreaterThan(20);
    const output = logLines.join('');
    expect(secrets.length).toBeGreaterThan(40);
    expect(secrets.filter((s) => output.includes(s))).toEqual([]);
  });
});
