/**
 * One unauthenticated client cannot take the API's event loop: the attack from the issue, eight parallel
 * keep-alive senders of 12 KB unknown paths (`/a.a.a.…`) from one address, runs into that address's
 * budget for unmatched routes (404, then 429 with Retry-After), while /healthz from another address keeps
 * answering 200 throughout. Paths that Fastify refuses before routing (a bad percent-encoding, a token over
 * the parameter limit) spend the same budget. A flood of /healthz from one address meets its own. The
 * 404 is a clear error that echoes nothing of the path, the log names the path cut short, and the
 * refusals are not written to the log at info one by one. The API is
 * buildApp with its production limits, on the stack's database and Vault, over real sockets; the clients
 * are loopback addresses of their own (127.0.0.2, 127.0.0.3, …).
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, UNMATCHED_PER_MINUTE } from '../../api/app';
import { HEALTH_PER_MINUTE } from '../../api/http/health';
import { config } from '../../lib/config';
import type { Db } from '../../lib/db';
import { createLogger } from '../../lib/logger';
import { connectVault, type VaultSession } from '../../lib/vault';
import { fixturePool } from '../helpers/fixture-db';
import { problemOf } from '../helpers/problems';

const PATH = `/${'a.'.repeat(6 * 1024)}`;
const SENDERS = 8;

let db: Db;
let vault: VaultSession;
const apps: FastifyInstance[] = [];
const logLines: string[] = [];
const log = createLogger({ level: 'debug', name: 'flood-test' }, { write: (l) => logLines.push(l) });

async function startApi(): Promise<number> {
  const app = await buildApp({
    db,
    transit: vault.transit,
    logger: log,
    publicBaseUrl: config().PUBLIC_BASE_URL!,
    revealVisibleMs: 60_000,
    rateLimitPerMinute: 30,
    limitScope: `test-${randomUUID()}`,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  apps.push(app);
  return (app.server.address() as AddressInfo).port;
}

interface Answer {
  status: number;
  body: string;
  retryAfter?: string;
}

function get(port: number, path: string, from: string, agent?: http.Agent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, localAddress: from, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body, retryAfter: res.headers['retry-after'] as string }),
      );
    });
    req.on('error', reject);
  });
}

/** `senders` keep-alive connections from `from`, each sending `perSender` requests one after another. */
async function flood(port: number, path: string, from: string, perSender: number): Promise<Answer[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: SENDERS });
  const answers: Answer[] = [];
  await Promise.all(
    Array.from({ length: SENDERS }, async () => {
      for (let i = 0; i < perSender; i++) answers.push(await get(port, path, from, agent));
    }),
  );
  agent.destroy();
  return answers;
}

const count = (answers: Answer[], status: number) => answers.filter((a) => a.status === status).length;

beforeAll(async () => {
  db = fixturePool();
  vault = await connectVault('api');
});

afterAll(async () => {
  for (const app of apps) await app.close();
  vault?.close();
  await db?.end();
});

describe('a flood from one address', () => {
  it('of 12 KB unknown paths gets 429 once its budget is spent, and the health check of another still answers', async () => {
    const port = await startApi();
    const attacking = flood(port, PATH, '127.0.0.2', 40);
    // While the flood runs: a load balancer's health checks from its own address.
    const checks: Answer[] = [];
    let done = false;
    void attacking.finally(() => {
      done = true;
    });
    while (!done) checks.push(await get(port, '/healthz', '127.0.0.3'));
    const answers = await attacking;

    expect(answers).toHaveLength(SENDERS * 40);
    expect(count(answers, 404)).toBe(UNMATCHED_PER_MINUTE);
    expect(count(answers, 429)).toBe(SENDERS * 40 - UNMATCHED_PER_MINUTE);
    for (const refused of answers.filter((a) => a.status === 429)) {
      expect(Number(refused.retryAfter)).toBeGreaterThan(0);
      expect(JSON.parse(refused.body)).toEqual(problemOf(429));
    }
    // A clear 404 that echoes nothing of what was asked.
    for (const notFound of answers.filter((a) => a.status === 404)) {
      expect(JSON.parse(notFound.body)).toEqual(problemOf(404));
    }

    expect(checks.length).toBeGreaterThan(0);
    expect(checks.every((c) => c.status === 200 && JSON.parse(c.body).ok === true)).toBe(true);
    // The flooding address's budget is its own: another address's unknown path is still a 404.
    expect((await get(port, '/nowhere', '127.0.0.4')).status).toBe(404);
    expect((await get(port, '/nowhere', '127.0.0.2')).status).toBe(429);

    // The log names each path cut short, never 12 KB of it; at info, only the 404s: the refusals are
    // counted by the metric and logged at debug, so the flood is not copied into the log line by line.
    const lines = logLines
      .map((l) => JSON.parse(l) as { level: number; req?: { route?: string; remoteAddress?: string } })
      .filter((l) => l.req?.remoteAddress === '127.0.0.2');
    expect(lines.length).toBeGreaterThanOrEqual(SENDERS * 40);
    for (const line of lines) expect(line.req!.route!.length).toBeLessThanOrEqual(201);
    expect(lines.filter((l) => l.level >= 30)).toHaveLength(UNMATCHED_PER_MINUTE);
  });

  it.each([
    ['a bad percent-encoding', `/%zz${PATH}`, 400],
    ['a link token over the parameter limit', `/d/${'b'.repeat(12 * 1024)}`, 404],
  ])('of paths Fastify refuses before routing (%s) spends the same budget', async (_shape, path, status) => {
    const port = await startApi();
    const answers = await flood(port, path, '127.0.0.7', 10);
    expect(count(answers, status)).toBe(UNMATCHED_PER_MINUTE);
    expect(count(answers, 429)).toBe(SENDERS * 10 - UNMATCHED_PER_MINUTE);
    // Nothing of the path comes back.
    for (const a of answers) expect(a.body).not.toContain(path.slice(-16));
    expect((await get(port, '/healthz', '127.0.0.8')).status).toBe(200);
    expect((await get(port, '/nowhere', '127.0.0.8')).status).toBe(404);
  });

  it('of health checks gets 429 once its budget is spent, and the health check of another still answers', async () => {
    const port = await startApi();
    const answers = await flood(port, '/healthz', '127.0.0.5', 20);
    expect(count(answers, 200)).toBe(HEALTH_PER_MINUTE);
    expect(count(answers, 429)).toBe(SENDERS * 20 - HEALTH_PER_MINUTE);
    const other = await get(port, '/healthz', '127.0.0.6');
    expect(other.status).toBe(200);
    expect(JSON.parse(other.body)).toEqual({ ok: true });
  });
});
