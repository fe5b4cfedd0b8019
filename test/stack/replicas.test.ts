/**
 * The fleet's shape on one machine (`stack.sh up --replicas 2`, the default): 200 orders started through
 * the signed intake of both API processes, run by both fulfillment workers, one of which gets SIGTERM in
 * the middle of the load. It drains (its running activities finish or are retried on the other worker and
 * it exits by itself), every order completes, and every card the provider issued is revealed once, through
 * either API, with none lost and none in two batches.
 *
 * It stops one of the stack's own workers, so it runs through vitest.restart.config.ts (never beside the
 * main suite) and brings the stack back as it found it.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { signatureHeader } from '../../domain/signing';
import { config, repoRoot } from '../../lib/config';
import { fixtureUrl } from '../helpers/fixture-db';
import { linkIn, waitForMail } from '../helpers/mailbox';
import { internalRequest, operatorToken } from '../helpers/operators';
import { uniqueOrderId, uniqueRecipient } from '../helpers/pipeline';
import { targets } from '../helpers/prometheus';
import { registerScenario, sandboxOrder } from '../helpers/sandbox';

const ORDERS = 200;
const run = path.join(repoRoot, '.data', 'run');
const baseEnv = { ...process.env };

function stackUp(): Promise<number> {
  return new Promise((resolve, reject) => {
    spawn('bash', [path.join(repoRoot, 'scripts', 'stack.sh'), 'up'], {
      cwd: repoRoot,
      env: baseEnv,
      stdio: 'inherit',
    })
      .once('error', reject)
      .once('exit', (code) => resolve(code ?? 1));
  });
}

/** The second worker's own process (not the npx/tsx around it), from its ops port. */
async function secondWorkerPid(): Promise<number> {
  const workers = (await targets()).filter((t) => t.job === 'worker');
  expect(workers.length, 'two worker replicas scraped').toBe(2);
  const res = await fetch(workers[1]!.scrapeUrl.replace(/\/metrics$/, '/livez'));
  return ((await res.json()) as { pid: number }).pid;
}
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * A customer's POST from their own address (127.0.0.0/8 is all loopback): 200 customers are 200 clients to
 * the per-address limits, as they would be in production, not one client over its budget.
 */
function postFrom(ip: string, url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', localAddress: ip }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.once('error', reject);
    req.end();
  });
}

function intake(apiUrl: string, request: object) {
  const cfg = config();
  const [caller, secret] = (cfg.INTAKE_CLIENTS ?? '').split(',')[0]!.split(':') as [string, string];
  const body = JSON.stringify(request);
  const timestamp = String(Math.floor(Date.now() / 1000));
  return fetch(`${apiUrl}/v1/fulfillments`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-intake-client': caller,
      'x-intake-timestamp': timestamp,
      'x-intake-signature': signatureHeader(secret, timestamp, body),
    },
    body,
  });
}

describe('replicas', () => {
  it("an operator's token is good on every API process's internal listener, and nothing without one", async () => {
    // The CLI's address of the first one: http, or https where the profile gives the listener a certificate.
    const internal = config().OPS_API_URL as string;
    const [a, b] = [internal, internal.replace(/:(\d+)$/, (_, p) => `:${Number(p) + 1}`)] as const;
    const token = await operatorToken('vera');
    for (const base of [a, b]) {
      const url = `${base}/ops/orders/replicas-${randomUUID()}/webhooks`;
      expect((await internalRequest(url, { headers: { authorization: `Bearer ${token}` } })).status).toBe(
        200,
      );
      expect((await internalRequest(url)).status).toBe(401);
    }
  });

  afterAll(async () => {
    await stackUp(); // the stopped worker back, for whoever runs next
  });

  it(`${ORDERS} orders through two APIs and two workers, one worker stopped with SIGTERM mid-load`, async () => {
    for (const name of ['api', 'api-2', 'worker', 'worker-2']) {
      expect(
        existsSync(path.join(run, `${name}.pid`)),
        `${name} runs (bash scripts/stack.sh up --replicas 2)`,
      ).toBe(true);
    }
    const cfg = config();
    const publicUrl = cfg.PUBLIC_BASE_URL as string; // the stack's test.env sets it
    const apis = [publicUrl, publicUrl.replace(/:(\d+)$/, (_, p) => `:${Number(p) + 1}`)];
    const db = new pg.Pool({ connectionString: fixtureUrl(), max: 4 });
    const t0 = Date.now();
    try {
      // Most orders are instant; every fifth waits 3 s on the provider, so calls are in flight at SIGTERM.
      const orders = Array.from({ length: ORDERS }, (_, i) => ({
        orderId: uniqueOrderId(i % 5 === 0 ? 'slow-response' : 'instant'),
        userId: 'replica-user',
        email: uniqueRecipient(),
      }));
      let stopped: { pid: number; exited: Promise<number> } | undefined;
      // The caller's budget is one, shared by both API processes (PostgreSQL counters): the request after
      // INTAKE_RATE_LIMIT_PER_MINUTE is refused whichever process it reaches, and the caller, as a
      // well-behaved client, waits as long as Retry-After says.
      let firstRefusal: number | undefined;
      for (const [i, order] of orders.entries()) {
        if (order.orderId.startsWith('slow-response'))
          await registerScenario(order.orderId, 'slow-response', { delayMs: 3_000 });
        let res = await intake(apis[i % 2]!, order);
        while (res.status === 429) {
          firstRefusal ??= i;
          await new Promise((r) => setTimeout(r, Number(res.headers.get('retry-after')) * 1000));
          res = await intake(apis[i % 2]!, order);
        }
        expect(res.status, `intake of order ${i}`).toBe(202);
        if (i === ORDERS / 2) {
          // The worker gets what an orchestrator sends its process; it must drain and exit on its own.
          const pid = await secondWorkerPid();
          process.kill(pid, 'SIGTERM');
          stopped = {
            pid,
            exited: new Promise((resolve) => {
              const started = Date.now();
              const timer = setInterval(() => {
                if (!alive(pid)) resolve(Date.now() - started);
                if (Date.now() - started > 30_000) resolve(-1);
                if (!alive(pid) || Date.now() - started > 30_000) clearInterval(timer);
              }, 100);
            }),
          };
        }
      }
      expect(firstRefusal, 'the per-caller intake limit, across both API processes').toBe(
        cfg.INTAKE_RATE_LIMIT_PER_MINUTE,
      );
      const drainedInMs = await stopped!.exited;
      expect(drainedInMs, 'the stopped worker exits by itself within 30 s').toBeGreaterThanOrEqual(0);
      const logs = ['worker', 'worker-2'].map((n) =>
        readFileSync(path.join(repoRoot, '.data', 'logs', `${n}.log`), 'utf8'),
      );
      const stoppedLine = new RegExp(`"pid":${stopped!.pid},.*"msg":"worker stopped"`);
      expect(
        logs.some((l) => stoppedLine.test(l)),
        'the stopped worker logged its clean stop',
      ).toBe(true);

      // Every order completes.
      const ids = orders.map((o) => o.orderId);
      for (;;) {
        const { rows } = await db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM orders WHERE order_id = ANY($1) AND outcome = 'DELIVERED'`,
          [ids],
        );
        if (rows[0]!.n === ORDERS) break;
        if (Date.now() - t0 > 300_000)
          throw new Error(`${rows[0]!.n} of ${ORDERS} orders delivered in 5 minutes`);
        await new Promise((r) => setTimeout(r, 1_000));
      }
      const elapsed = (Date.now() - t0) / 1000;

      // No card in two batches, and each order has as many stored cards as the provider issued.
      const twice = await db.query(
        `SELECT dc.card_id FROM delivery_cards dc JOIN deliveries d ON d.id = dc.delivery_id
          WHERE d.order_id = ANY($1) AND d.kind = 'batch' GROUP BY dc.card_id HAVING count(*) > 1`,
        [ids],
      );
      // Every card revealed once through either API: the latest email of each order holds the live link.
      let lost = 0;
      let revealedCards = 0;
      for (const [i, order] of orders.entries()) {
        const mails = await waitForMail(order.email);
        const link = linkIn(mails.at(-1)!).replace(publicUrl, apis[i % 2]!);
        const page = await postFrom(`127.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`, `${link}/reveal`);
        expect(page.status, `reveal of order ${i}`).toBe(200);
        const html = page.body;
        const issued = (await sandboxOrder(order.orderId)).issued;
        for (const card of issued) if (!html.includes(card.value)) lost++;
        revealedCards += issued.length;
      }
      console.log(
        `${ORDERS} orders in ${elapsed.toFixed(1)} s through 2 APIs and 2 workers (one stopped mid-load, drained in ` +
          `${drainedInMs} ms): ${ORDERS} completed, ${revealedCards} cards revealed, ${lost} lost, ` +
          `${twice.rowCount} duplicated`,
      );
      expect(lost).toBe(0);
      expect(twice.rowCount).toBe(0);
      expect(revealedCards).toBe(ORDERS * 3);
    } finally {
      await db.end();
    }
  });
});
