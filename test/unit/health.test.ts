/**
 * GET /healthz answers from a cached probe: however many requests arrive, the database sees at most one
 * probe per interval and never two at once; a database that starts failing shows as 503 within one
 * interval, and one that hangs shows as 503 after the probe's timeout. The database here is a stand-in
 * that counts its queries and fails or hangs on demand (the stack test runs the real one).
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { afterEach, describe, expect, it } from 'vitest';
import { errorHandler } from '../../api/http/errors';
import { healthRoutes } from '../../api/http/health';
import { registerRateLimits } from '../../api/http/rate-limits';
import type { Db } from '../../lib/db';

const INTERVAL_MS = 150;
const TIMEOUT_MS = 100;

/** A database whose `SELECT 1` is counted, and answers, fails or never answers as told. */
function fakeDb() {
  const state = { probes: 0, inFlight: 0, maxInFlight: 0, mode: 'up' as 'up' | 'down' | 'hang' };
  const query = async (text: string) => {
    expect(text).toBe('SELECT 1');
    state.probes++;
    state.inFlight++;
    state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
    try {
      if (state.mode === 'hang') await new Promise((r) => setTimeout(r, 5 * TIMEOUT_MS));
      else await new Promise((r) => setTimeout(r, 2));
      if (state.mode !== 'up') throw new Error('connect ECONNREFUSED 127.0.0.1:55432');
      return { rows: [{ '?column?': 1 }] };
    } finally {
      state.inFlight--;
    }
  };
  return { state, db: { query } as unknown as Db };
}

const apps: FastifyInstance[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

async function healthApp(db: Db): Promise<FastifyInstance> {
  const app = Fastify();
  app.setErrorHandler(errorHandler);
  // Route schemas are zod, as the API sets them up (api/http/openapi.ts registerOpenApi).
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // Health's budget is per process: its limiter never touches the shared (PostgreSQL) counters.
  await registerRateLimits(app, db, 'health-unit');
  await app.register(healthRoutes, {
    db,
    probeIntervalMs: INTERVAL_MS,
    probeTimeoutMs: TIMEOUT_MS,
    perClientPerMinute: 1_000_000,
  });
  await app.ready();
  apps.push(app);
  return app;
}

const health = (app: FastifyInstance, remoteAddress = '10.0.0.1') =>
  app.inject({ method: 'GET', url: '/healthz', remoteAddress });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('GET /healthz answers from a cached probe', () => {
  it('a burst of 200 concurrent requests costs one probe', async () => {
    const { state, db } = fakeDb();
    const app = await healthApp(db);
    const answers = await Promise.all(Array.from({ length: 200 }, () => health(app)));
    expect(answers.every((a) => a.statusCode === 200 && a.json().ok === true)).toBe(true);
    expect(state.probes).toBe(1);
  });

  it('a steady stream costs at most one probe per interval', async () => {
    const { state, db } = fakeDb();
    const app = await healthApp(db);
    const t0 = performance.now();
    let requests = 0;
    while (performance.now() - t0 < 4 * INTERVAL_MS) {
      await Promise.all(Array.from({ length: 10 }, () => health(app)));
      requests += 10;
      await sleep(5);
    }
    // Probes start at least an interval apart: in E ms, at most floor(E / interval) + 1 of them.
    const allowed = Math.floor((performance.now() - t0) / INTERVAL_MS) + 1;
    expect(requests).toBeGreaterThan(100);
    expect(state.probes).toBeGreaterThanOrEqual(2);
    expect(state.probes).toBeLessThanOrEqual(allowed);
    expect(state.maxInFlight).toBe(1);
  });

  it('a database that fails shows as 503 within one interval, and recovers as fast', async () => {
    const { state, db } = fakeDb();
    const app = await healthApp(db);
    expect((await health(app)).statusCode).toBe(200);

    state.mode = 'down';
    const failedAt = performance.now();
    let res = await health(app);
    while (res.statusCode === 200 && performance.now() - failedAt < 10 * INTERVAL_MS) {
      await sleep(10);
      res = await health(app);
    }
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ ok: false });
    // Within the interval, plus the probe itself and a timer's slack.
    expect(performance.now() - failedAt).toBeLessThan(INTERVAL_MS + 100);

    state.mode = 'up';
    const upAt = performance.now();
    while ((await health(app)).statusCode === 503 && performance.now() - upAt < 10 * INTERVAL_MS)
      await sleep(10);
    expect(performance.now() - upAt).toBeLessThan(INTERVAL_MS + 100);
  });

  it('a database that never answers shows as 503 after the timeout, with one query in flight', async () => {
    const { state, db } = fakeDb();
    const app = await healthApp(db);
    state.mode = 'hang';
    const t0 = performance.now();
    const answers = await Promise.all(Array.from({ length: 20 }, () => health(app)));
    expect(answers.every((a) => a.statusCode === 503)).toBe(true);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
    expect(performance.now() - t0).toBeLessThan(TIMEOUT_MS + 200);
    // The next interval's probe waits on the hung query rather than adding another.
    await sleep(INTERVAL_MS);
    expect((await health(app)).statusCode).toBe(503);
    expect(state.probes).toBe(1);
    expect(state.maxInFlight).toBe(1);
  });
});
