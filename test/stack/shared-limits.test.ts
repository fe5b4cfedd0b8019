/**
 * Rate limits across API replicas: two API processes' worth of apps (two `buildApp` instances on two
 * ports, one database, one limit scope, behind a trusted proxy whose X-Forwarded-For names the client)
 * share every budget. A restart keeps them. (Operators no longer have sessions here: they sign in at the
 * identity provider, test/stack/operators.test.ts.) And a flood of failed
 * requests from hundreds of IPv4 addresses and IPv6 /64s spends the overall budgets without locking out a
 * fresh client that holds a valid link, a valid JWT or a valid intake signature.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../api/app';
import { OVERALL_CLIENTS } from '../../api/http/rate-limits';
import { defaultPolicy } from '../../domain/orders';
import { signatureHeader } from '../../domain/signing';
import { config } from '../../lib/config';
import type { Db } from '../../lib/db';
import { createLogger } from '../../lib/logger';
import { generateToken } from '../../lib/tokens';
import { connectVault, type VaultSession } from '../../lib/vault';
import { type AppIssuer, revealInApp, startAppIssuer } from '../helpers/app-issuer';
import { type RunningDecryptor, startDecryptor } from '../helpers/decryptor';
import { fixturePool } from '../helpers/fixture-db';
import { createSeeder, type Seeder } from '../helpers/seed';

const PER_CLIENT = 5;
const INTAKE_SECRET = randomBytes(32).toString('hex');

let db: Db;
let vault: VaultSession;
let decryptor: RunningDecryptor;
let issuer: AppIssuer;
let seeder: Seeder;
const apps: FastifyInstance[] = [];
const quiet = createLogger({ level: 'silent', name: 'shared-limits-test' });

/** One API process: every app started with the same scope on this database is a replica of the others. */
async function startApi(scope: string): Promise<string> {
  const cfg = config();
  const app = await buildApp({
    db,
    decryptor: decryptor.client,
    logger: quiet,
    publicBaseUrl: cfg.PUBLIC_BASE_URL as string, // the stack's test.env sets it
    revealVisibleMs: 60_000,
    rateLimitPerMinute: PER_CLIENT,
    limitScope: scope,
    // Behind a proxy on loopback: X-Forwarded-For names the client, as TRUST_PROXY=127.0.0.1 would.
    trustProxy: ['127.0.0.1'],
    inApp: {
      jwt: issuer.settings,
      revealKeyTtlMs: 60_000,
      rateLimitPerMinute: PER_CLIENT,
    },
    intake: {
      clients: `checkout:${INTAKE_SECRET}`,
      windowMs: 5 * 60_000,
      rateLimitPerMinute: PER_CLIENT,
      policyDefaults: defaultPolicy(cfg),
      requestKey: randomBytes(32).toString('hex'),
    },
    startOrder: async () => {
      throw new Error('no test here starts an order');
    },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  apps.push(app);
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

async function stopApi(url: string): Promise<void> {
  const app = apps.find((a) => url.endsWith(`:${(a.server.address() as AddressInfo).port}`))!;
  apps.splice(apps.indexOf(app), 1);
  await app.close();
}

beforeAll(async () => {
  db = fixturePool();
  vault = await connectVault('api');
  decryptor = await startDecryptor();
  issuer = await startAppIssuer({ issuer: 'shared-limits-app', audience: 'shared-limits-api' });
  seeder = await createSeeder(db);
});

afterAll(async () => {
  for (const app of apps) await app.close();
  await seeder?.cleanup();
  seeder?.close();
  vault?.close();
  await decryptor?.close();
  await issuer?.close();
  await db?.end();
});

const from = (ip: string) => ({ 'x-forwarded-for': ip });
const landing = (base: string, token: string, ip: string) =>
  fetch(`${base}/d/${token}`, { headers: from(ip) });
const reveal = (base: string, token: string, ip: string) =>
  fetch(`${base}/d/${token}/reveal`, { method: 'POST', headers: from(ip) });

describe('per-client limits across two API processes', () => {
  it('N requests split over both pass, the next is 429 on either, and a restart keeps the count', async () => {
    const scope = `test-${randomUUID()}`;
    const [a, b] = [await startApi(scope), await startApi(scope)];
    const order = await seeder.seed();
    const ip = '203.0.113.10';

    const statuses = [];
    for (let i = 0; i < PER_CLIENT; i++)
      statuses.push((await landing(i % 2 ? b! : a!, order.token, ip)).status);
    expect(statuses).toEqual(Array(PER_CLIENT).fill(200));
    for (const base of [a!, b!]) {
      const res = await landing(base, order.token, ip);
      expect(res.status).toBe(429);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    // Another client's budget is its own.
    expect((await landing(b!, order.token, '203.0.113.11')).status).toBe(200);

    // A restarted process (a new one on the same database) still sees the spent budget.
    await stopApi(a!);
    const restarted = await startApi(scope);
    expect((await landing(restarted, order.token, ip)).status).toBe(429);

    // A separate deployment (another scope) has budgets of its own.
    expect((await landing(await startApi(`test-${randomUUID()}`), order.token, ip)).status).toBe(200);
  });

  it('keys IPv6 clients by /64 on both processes, and IPv4-mapped addresses as IPv4', async () => {
    const scope = `test-${randomUUID()}`;
    const [a, b] = [await startApi(scope), await startApi(scope)];
    const order = await seeder.seed();
    // Rotating through one /64 gains nothing: five addresses of it, spread over both processes, spend it.
    for (let i = 0; i < PER_CLIENT; i++)
      expect((await landing(i % 2 ? b! : a!, order.token, `2001:db8:aa:bb::${i + 1}`)).status).toBe(200);
    expect((await landing(a!, order.token, '2001:db8:aa:bb:ffff:1:2:3')).status).toBe(429);
    expect((await landing(b!, order.token, '2001:db8:aa:bc::1')).status).toBe(200);

    for (let i = 0; i < PER_CLIENT; i++)
      expect((await landing(i % 2 ? b! : a!, order.token, '198.51.100.77')).status).toBe(200);
    expect((await landing(a!, order.token, '::ffff:198.51.100.77')).status).toBe(429);
  });
});

describe('a flood from many addresses', () => {
  it("spends the overall budgets, and a fresh client's valid link, JWT and signature still pass", async () => {
    const scope = `test-${randomUUID()}`;
    const [a, b] = [await startApi(scope), await startApi(scope)];
    const order = await seeder.seed({ cards: 2 });
    const user = `user-${randomUUID().slice(0, 12)}`;
    await db.query('UPDATE orders SET user_id = $2 WHERE order_id = $1', [order.orderId, user]);

    // 150 IPv4 addresses and 150 IPv6 /64s, each within its own budget, together far over the overall one.
    const addresses = Array.from({ length: 300 }, (_, i) =>
      i % 2 ? `198.18.${i >> 8}.${i & 255}` : `2001:db8:${(i + 1).toString(16)}::${i + 1}`,
    );
    const perAddress = PER_CLIENT - 1;
    const flood = async (send: (base: string, ip: string) => Promise<Response>) => {
      const counts: Record<number, number> = {};
      for (let round = 0; round < perAddress; round++) {
        for (let i = 0; i < addresses.length; i += 50) {
          const answers = await Promise.all(
            addresses.slice(i, i + 50).map((ip, j) => send((i + j) % 2 ? b! : a!, ip)),
          );
          for (const res of answers) {
            counts[res.status] = (counts[res.status] ?? 0) + 1;
            await res.arrayBuffer();
          }
        }
      }
      return counts;
    };
    const overall = OVERALL_CLIENTS * PER_CLIENT;
    const total = addresses.length * perAddress;

    // Guessed link tokens: the overall budget (shared by both processes) is spent, the rest get 429.
    expect(await flood((base, ip) => landing(base, generateToken(), ip))).toEqual({
      404: overall,
      429: total - overall,
    });
    // Forged JWTs and unsigned intake requests, likewise.
    const forged = await issuer.sign(user, { key: (await generateKeyPair('ES256')).privateKey });
    expect(
      await flood((base, ip) =>
        fetch(`${base}/api/orders/${order.orderId}/cards`, {
          headers: { ...from(ip), authorization: `Bearer ${forged}` },
        }),
      ),
    ).toEqual({ 401: overall, 429: total - overall });
    expect(
      await flood((base, ip) =>
        fetch(`${base}/v1/fulfillments/${order.orderId}`, {
          headers: { ...from(ip), 'x-intake-client': 'intruder', 'x-intake-timestamp': now() },
        }),
      ),
    ).toEqual({ 401: overall, 429: total - overall });

    // The overall budgets are spent for everyone: a fresh address's failure is refused as well.
    expect((await landing(a!, generateToken(), '192.0.2.200')).status).toBe(429);
    expect((await landing(b!, generateToken(), '2001:db8:ffff::1')).status).toBe(429);

    // A fresh client with a valid link: it lands on one process and reveals its cards on the other.
    const fresh = '192.0.2.100';
    expect((await landing(a!, order.token, fresh)).status).toBe(200);
    const revealed = await reveal(b!, order.token, fresh);
    expect(revealed.status).toBe(200);
    const page = await revealed.text();
    for (const card of order.cards) expect(page).toContain(card.value);

    // A fresh IPv6 client's valid JWT sees the order's cards (through a reveal key, as the app does).
    const cards = await revealInApp(a!, order.orderId, await issuer.sign(user), from('2001:db8:ffff:1::9'));
    expect(cards.status).toBe(200);
    expect((await cards.json()).cards).toHaveLength(order.cards.length);

    // A signed intake request passes authentication (the order is not one of this caller's: 404, not 429).
    const timestamp = now();
    const path = `/v1/fulfillments/${order.orderId}`;
    const status = await fetch(`${b}${path}`, {
      headers: {
        ...from('192.0.2.101'),
        'x-intake-client': 'checkout',
        'x-intake-timestamp': timestamp,
        'x-intake-signature': signatureHeader(INTAKE_SECRET, timestamp, `GET ${path}`),
      },
    });
    expect(status.status).toBe(404);
  });
});

describe('counter rows', () => {
  it('ended windows are swept; live ones stay', async () => {
    const scope = `test-${randomUUID()}`;
    await db.query(
      `INSERT INTO rate_limit_counters (bucket, key, count, window_ends) VALUES
         ($1 || '/delivery:ip', 'ip:192.0.2.1', 3, now() - interval '1 second'),
         ($1 || '/delivery:ip', 'ip:192.0.2.2', 3, now() + interval '1 minute')`,
      [scope],
    );
    // A new process sweeps on the first request it counts.
    const api = await startApi(scope);
    expect((await landing(api, generateToken(), '192.0.2.3')).status).toBe(404);
    let keys: string[] = [];
    for (let i = 0; i < 50; i++) {
      const { rows } = await db.query<{ key: string }>(
        'SELECT key FROM rate_limit_counters WHERE bucket = $1 ORDER BY key',
        [`${scope}/delivery:ip`],
      );
      keys = rows.map((r) => r.key);
      if (!keys.includes('ip:192.0.2.1')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(keys).toEqual(['ip:192.0.2.2', 'ip:192.0.2.3']);
  });
});

function now(): string {
  return String(Math.floor(Date.now() / 1000));
}
