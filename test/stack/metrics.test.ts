/**
 * Metrics from every process, read back from the stack's real Prometheus: an order run by the stack's own
 * worker and revealed through its own API moves each process's counters, the Temporal SDK's and server's
 * metrics are there, every process is ready on its ops port (and the public port serves no metrics), and no
 * label anywhere carries an order id, an address or a token.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOrderInput, defaultPolicy, startOrder } from '../../domain/orders';
import { config, durationMs, repoRoot } from '../../lib/config';
import { connectClient } from '../../lib/temporal';
import { linkIn, waitForMail } from '../helpers/mailbox';
import { uniqueOrderId, uniqueRecipient } from '../helpers/pipeline';
import { counterTotal, query, series, targets, total, waitForTotals } from '../helpers/prometheus';

const JOBS = ['api', 'worker', 'worker-sdk', 'retention-worker', 'retention-worker-sdk', 'temporal-server'];

let client: Client;
beforeAll(async () => {
  client = await connectClient({ component: 'api' });
});
afterAll(async () => {
  await client?.connection.close();
});

describe('metrics on the stack', () => {
  it('Prometheus scrapes every process of the stack', async () => {
    const seen = await targets();
    for (const job of JOBS) {
      expect(seen.find((t) => t.job === job)?.health, `target ${job}`).toBe('up');
    }
  });

  it('every panel of the Grafana dashboard is a query the real Prometheus runs', async () => {
    const dashboard = JSON.parse(
      readFileSync(path.join(repoRoot, 'deploy', 'grafana', 'giftcards.json'), 'utf8'),
    );
    const exprs: string[] = dashboard.panels.flatMap((p: { targets: Array<{ expr: string }> }) =>
      p.targets.map((t) => t.expr),
    );
    expect(exprs.length).toBeGreaterThan(10);
    for (const expr of exprs) await expect(query(expr), expr).resolves.toBeInstanceOf(Array);
  });

  it('every process is ready on its ops port, which the public API port does not expose', async () => {
    const ops = (await targets()).filter((t) => ['api', 'worker', 'retention-worker'].includes(t.job));
    expect(ops.length).toBeGreaterThanOrEqual(3); // every replica of the API and the worker, and the retention worker
    for (const t of ops) {
      const res = await fetch(t.scrapeUrl.replace(/\/metrics$/, '/readyz'));
      expect(res.status, t.job).toBe(200);
      expect(await res.json()).toEqual({
        status: 'ready',
        checks: { postgres: 'ok', vault: 'ok', temporal: 'ok' },
      });
    }
    const publicApi = await fetch(`${config().PUBLIC_BASE_URL}/metrics`);
    expect(publicApi.status).toBe(404);
  });

  it('an order and its reveal move the counters of the worker, the API, the decryptor and the SDK', async () => {
    const counters = {
      started: 'giftcards_orders_started_total{job="worker"}',
      delivered: 'giftcards_orders_finished_total{job="worker",outcome="DELIVERED"}',
      cards: 'giftcards_cards_stored_total{job="worker"}',
      sent: 'giftcards_links_total{job="worker",event="sent"}',
      timed: 'giftcards_order_start_to_link_seconds_count{job="worker"}',
      providerOk: 'giftcards_provider_responses_total{job="worker",class="ok"}',
      encrypt: 'giftcards_vault_requests_total{job="worker",operation="encrypt",result="ok"}',
      mail: 'giftcards_emails_total{job="worker",kind="link",result="sent"}',
      revealed: 'giftcards_links_total{job="api",event="revealed"}',
      // The decryptor decrypts: the API holds no card key.
      decrypt: 'giftcards_vault_requests_total{job="decryptor",operation="decrypt",result="ok"}',
      collectTasks:
        'temporal_activity_task_received{job="worker-sdk",activity_type="collect",task_queue="giftcards-provider"}',
      encoded: 'giftcards_codec_payloads_total{job="worker",operation="encode",result="ok"}',
      decoded: 'giftcards_codec_payloads_total{job="worker",operation="decode",result="ok"}',
    } as const;
    const before: Record<string, number> = {};
    for (const [k, e] of Object.entries(counters)) before[k] = await counterTotal(e);

    const cfg = config();
    const orderId = uniqueOrderId('instant');
    const email = uniqueRecipient();
    await startOrder(
      client,
      buildOrderInput({ orderId, userId: 'metrics-user', email }, defaultPolicy(cfg)),
      cfg.TEMPORAL_TASK_QUEUE,
    );
    const [mail] = await waitForMail(email);
    const revealed = await fetch(`${linkIn(mail!)}/reveal`, { method: 'POST', redirect: 'manual' });
    expect(revealed.status).toBe(200);

    const grew = (k: keyof typeof counters, by: number) => [counters[k], (n: number) => n >= before[k]! + by];
    const after = await waitForTotals(
      Object.fromEntries([
        grew('started', 1),
        grew('delivered', 1),
        grew('cards', 3),
        grew('sent', 1),
        grew('timed', 1),
        grew('providerOk', 1),
        grew('encrypt', 1),
        grew('mail', 1),
        grew('revealed', 1),
        grew('decrypt', 1),
        grew('collectTasks', 1),
        grew('encoded', 1),
        grew('decoded', 1),
      ]),
    );
    // The figures an order produced, for the record (counters only, no label values from the order).
    console.log(
      Object.entries(counters)
        .map(([k, e]) => `${k}: +${(after[e] as number) - (before[k] as number)}`)
        .join(', '),
    );
    // The server's own view and the retention worker's database gauges are there too.
    expect(await total('persistence_requests{job="temporal-server"}')).toBeGreaterThan(0);
    expect(await total('giftcards_retention_sweep_interval_seconds{job="retention-worker"}')).toBe(
      durationMs(cfg.RETENTION_SWEEP_INTERVAL) / 1000,
    );

    // No label value anywhere carries the order, the address or anything address-shaped.
    const all = await series('{__name__=~"giftcards_.+|temporal_.+"}');
    expect(all.length).toBeGreaterThan(50);
    for (const labels of all) {
      for (const value of Object.values(labels)) {
        expect(value).not.toContain(orderId);
        expect(value).not.toContain('@');
      }
    }
  });
});
