/**
 * Gauges read from the database when Prometheus scrapes, for what no single process sees happen: orders
 * past their deadline with no outcome (their workflow is stuck or gone), and when the retention sweep last
 * ran. The retention worker serves them: one process, so a fleet of N workers does not report them N times.
 */
import { Gauge } from 'prom-client';
import type { Db } from '../lib/db';
import { registry } from '../lib/metrics';
import { lastSweepAt } from '../store/audit';
import { overdueOrders } from '../store/orders';

export function registerFleetGauges(db: Db, sweepIntervalMs: number): void {
  new Gauge({
    name: 'giftcards_orders_overdue',
    help: 'Orders past their deadline without an outcome.',
    registers: [registry],
    async collect() {
      this.set(await overdueOrders(db));
    },
  });
  new Gauge({
    name: 'giftcards_retention_last_sweep_timestamp_seconds',
    help: 'When the retention sweep last recorded a run (Unix time; 0: never).',
    registers: [registry],
    async collect() {
      this.set((await lastSweepAt(db)) ?? 0);
    },
  });
  new Gauge({
    name: 'giftcards_retention_sweep_interval_seconds',
    help: 'How often the retention sweep is scheduled to run.',
    registers: [registry],
  }).set(sweepIntervalMs / 1000);
}
