/** Reads the stack's Prometheus (PROMETHEUS_URL in stack.env) over its HTTP API. */
import { config } from '../../lib/config';

function baseUrl(): string {
  config(); // loads stack.env
  const url = process.env.PROMETHEUS_URL;
  if (!url) throw new Error('PROMETHEUS_URL is not set: start the stack with `bash scripts/stack.sh up`');
  return url;
}

async function api<T>(path: string): Promise<T> {
  const res = await fetch(`${baseUrl()}${path}`);
  if (!res.ok) throw new Error(`Prometheus ${path}: HTTP ${res.status}`);
  const body = (await res.json()) as { status: string; data: T };
  return body.data;
}

export interface Sample {
  metric: Record<string, string>;
  value: number;
}

export async function query(expr: string): Promise<Sample[]> {
  const data = await api<{ result: Array<{ metric: Record<string, string>; value: [number, string] }> }>(
    `/api/v1/query?query=${encodeURIComponent(expr)}`,
  );
  return data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
}

/** The sum of an expression's samples (0 when there are none). */
export async function total(expr: string): Promise<number> {
  return (await query(expr)).reduce((sum, s) => sum + s.value, 0);
}

/**
 * A counter's total over every process, as of its latest sample: a scrape that a busy process missed leaves
 * its series stale for a moment, which a plain sum would read as the counter going down.
 */
export function counterTotal(selector: string): Promise<number> {
  return total(`sum(max_over_time(${selector}[5m]))`);
}

/** Polls until every counter's total passes its check (scrapes run every 2 s); the last totals. */
export async function waitForTotals(
  checks: Record<string, (n: number) => boolean>,
  timeoutMs = 60_000,
): Promise<Record<string, number>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const totals = Object.fromEntries(
      await Promise.all(Object.keys(checks).map(async (e) => [e, await counterTotal(e)] as const)),
    );
    const pending = Object.entries(checks).filter(([e, ok]) => !ok(totals[e] as number));
    if (pending.length === 0) return totals;
    if (Date.now() > deadline) {
      throw new Error(
        `Prometheus never showed: ${pending.map(([e]) => `${e} (now ${totals[e]})`).join('; ')}`,
      );
    }
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

export async function series(match: string): Promise<Array<Record<string, string>>> {
  return api(`/api/v1/series?match[]=${encodeURIComponent(match)}`);
}

export async function targets(): Promise<Array<{ job: string; health: string; scrapeUrl: string }>> {
  const data = await api<{
    activeTargets: Array<{ labels: { job: string }; health: string; scrapeUrl: string }>;
  }>('/api/v1/targets');
  return data.activeTargets.map((t) => ({ job: t.labels.job, health: t.health, scrapeUrl: t.scrapeUrl }));
}
