// npm run bench:open-orders [-- --open 20000 --orders 200 --concurrency 50 --rounds 3 --fill-concurrency 50
//                              --due 1000 --retention 30d --link-ttl 24h --mail sink|stack --fill-minutes 0]
// The cost of time: what N open orders parked in aftercare (each with its link-expiry and purge timers
// armed, as weeks of real orders are) do to the figures that should stay flat. Two private Temporal dev
// servers (started here with stack.sh's flags, on free loopback ports and temporary SQLite files, so the
// shared one is not filled): the subject, which gets filled, and a reference, which stays empty. Each has an
// in-process fulfillment worker on the real activities (the stack's Vault, PostgreSQL and provider sandbox);
// a retention worker runs on the subject's. On the empty subject it measures
//   - new instant orders' throughput and p50/p99, start -> link sent (R rounds of M, C in flight), each
//     round followed by the same on the reference, so a noisy minute falls on both (bench:throughput's
//     rounds): the medians, and the median of the subject/reference ratios;
//   - the retention sweep's time over D seeded due orders (R sweeps, median);
//   - this process's memory (rss, heap used after a GC) and the subject's dev server's rss, at rest;
// then fills the subject with N orders (C' in flight, instant scenario, retention 30d; --fill-minutes T:
// as many as start within T minutes, at most N), waits until all are parked in aftercare, measures the same
// again and prints both side by side with their ratios. SIGINT or SIGTERM: it stops starting orders and
// cleans up (rows, servers, files); a second signal exits at once.
// The link emails go to a discarding SMTP listener of this process (--mail sink, the default), not to the
// stack's MailDev, whose inbox every test reads; --mail stack sends them there. Every order id starts with
// bench-open-<run>-: their rows (orders, cards, deliveries, tokens) are deleted at the end (the audit trail
// is append-only and keeps its rows); the sandbox forgets each order once its link is sent, so N orders do
// not evict other processes' orders from it. The sweep purges every due order of the shared database, as
// bench:sweep's does. Needs the stack's services up (scripts/stack.sh up --services); fails if one is not.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { type Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Runtime } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { RETENTION_SWEEP_WORKFLOW_TYPE, type RetentionSweepWorkflow } from '../../contracts/retention';
import { createMailer } from '../../domain/mail/mailer';
import { buildOrderInput, defaultPolicy, startOrder } from '../../domain/orders';
import { configFor, repoRoot } from '../../lib/config';
import { createLogger, TemporalPinoLogger } from '../../lib/logger';
import { connectClient, connectionOptions, createCodec, type TemporalTarget } from '../../lib/temporal';
import {
  createOrderWorkers,
  createRetentionWorker,
  WORKER_GUARDS,
  type WorkerGroup,
} from '../../workers/create';
import { fulfillmentDeps, retentionDeps } from '../../workers/deps';
import { deleteRunRows, fixturePool, seedDueOrders } from './fixtures';
import { completions, drive as driveJobs, type Figures, linkSentActivities, median } from './shared';

interface Phase {
  orders: Figures;
  /** The subject's figures over the reference's, round by round (medians). */
  againstReference: Figures;
  sweepMs: number;
  sweepPurged: number;
  rssMb: number;
  heapMb: number;
  serverRssMb: number;
  openOrders: number;
}

const HOST = '127.0.0.1';

/** Set by SIGINT or SIGTERM: no new order starts, and the run cleans up after those in flight. */
let interrupted = false;

/** shared.ts's drive, stopping at an interrupt too (and then failing, so nothing is reported). */
async function drive(...[n, concurrency, job, opts = {}]: Parameters<typeof driveJobs>) {
  const figures = await driveJobs(n, concurrency, job, {
    ...opts,
    stop: (ms) => interrupted || (opts.stop?.(ms) ?? false),
  });
  if (interrupted) throw new Error('interrupted');
  return figures;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, HOST, resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (!address || typeof address !== 'object') throw new Error('no free port');
  return address.port;
}

/**
 * A private Temporal dev server with the stack's flags (scripts/stack.sh temporal_dev_up): headless, on
 * loopback, a SQLite file in WAL mode (here a temporary one), the order's search attributes, one partition
 * per task queue.
 */
async function startDevServer(dir: string): Promise<{ target: TemporalTarget; process: ChildProcess }> {
  const local = path.join(repoRoot, '.tools', 'venv', 'bin', 'temporal');
  const binary = existsSync(local) ? local : 'temporal';
  const port = await freePort();
  const metricsPort = await freePort();
  const httpPort = await freePort();
  const log = openSync(path.join(dir, 'temporal.log'), 'a');
  const child = spawn(
    binary,
    [
      'server',
      'start-dev',
      '--ip',
      HOST,
      '--port',
      String(port),
      '--http-port',
      String(httpPort),
      '--metrics-port',
      String(metricsPort),
      '--headless',
      '--db-filename',
      path.join(dir, 'temporal.db'),
      '--sqlite-pragma',
      'journal_mode=wal',
      '--search-attribute',
      'OrderStatus=Keyword',
      '--search-attribute',
      'OrderOutcome=Keyword',
      '--search-attribute',
      'CardCount=Int',
      '--log-level',
      'warn',
      '--dynamic-config-value',
      'matching.numTaskqueueReadPartitions=1',
      '--dynamic-config-value',
      'matching.numTaskqueueWritePartitions=1',
    ],
    { stdio: ['ignore', log, log] },
  );
  let exited: string | undefined;
  child.once('exit', (code, signal) => {
    exited = `exited (${signal ?? code})`;
  });
  child.once('error', (err) => {
    exited = `could not start (${err.message}); run scripts/install.sh`;
  });
  const target = { address: `${HOST}:${port}`, namespace: 'default' };
  const t0 = Date.now();
  for (;;) {
    if (exited) throw new Error(`the private Temporal dev server ${exited}: see ${dir}/temporal.log`);
    try {
      const connection = await Connection.connect({ address: target.address, connectTimeout: 1000 });
      try {
        const { customAttributes } = await connection.operatorService.listSearchAttributes({
          namespace: 'default',
        });
        if (customAttributes && 'OrderStatus' in customAttributes) return { target, process: child };
      } finally {
        await connection.close();
      }
    } catch {
      // not up yet
    }
    if (Date.now() - t0 > 60_000) {
      child.kill('SIGKILL');
      throw new Error(`the private Temporal dev server did not answer within 60 s: see ${dir}/temporal.log`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** An SMTP listener that takes every message and keeps none (the link emails of N orders). */
async function startMailSink(): Promise<{ url: string; server: Server; received: () => number }> {
  let received = 0;
  const server = createServer((socket) => {
    socket.setEncoding('utf8');
    let buffer = '';
    let inData = false;
    socket.on('error', () => {});
    socket.write('220 bench-sink ESMTP\r\n');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      for (let eol = buffer.indexOf('\r\n'); eol >= 0; eol = buffer.indexOf('\r\n')) {
        const line = buffer.slice(0, eol);
        buffer = buffer.slice(eol + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            received++;
            socket.write('250 OK: discarded\r\n');
          }
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO' || verb === 'HELO') socket.write('250 bench-sink\r\n');
        else if (verb === 'DATA') {
          inData = true;
          socket.write('354 go ahead\r\n');
        } else if (verb === 'QUIT') socket.end('221 bye\r\n');
        else socket.write('250 OK\r\n');
      }
    });
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, HOST, resolve));
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error('the mail sink has no port');
  return { url: `smtp://${HOST}:${address.port}`, server, received: () => received };
}

/** This process's memory after a full GC (MB), and the dev server's resident set from /proc. */
const gc = (() => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

function memory(serverPid: number | undefined): { rssMb: number; heapMb: number; serverRssMb: number } {
  gc();
  const m = process.memoryUsage();
  let serverRssMb = Number.NaN;
  try {
    const kb = readFileSync(`/proc/${serverPid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
    if (kb) serverRssMb = Number(kb[1]) / 1024;
  } catch {
    // not Linux: left out
  }
  return { rssMb: m.rss / 2 ** 20, heapMb: m.heapUsed / 2 ** 20, serverRssMb };
}

/** A private dev server with its client and an in-process fulfillment worker on it. */
interface Side {
  name: string;
  target: TemporalTarget;
  server: ChildProcess;
  client: Client;
  orders: WorkerGroup;
  taskQueue: string;
  /** Orders started on it so far. */
  started: number;
}

async function main() {
  const { values } = parseArgs({
    options: {
      open: { type: 'string', default: '20000' },
      orders: { type: 'string', default: '200' },
      concurrency: { type: 'string', default: '50' },
      rounds: { type: 'string', default: '3' },
      'fill-concurrency': { type: 'string', default: '50' },
      due: { type: 'string', default: '1000' },
      retention: { type: 'string', default: '30d' },
      'link-ttl': { type: 'string', default: '24h' },
      mail: { type: 'string', default: 'sink' },
      'fill-minutes': { type: 'string', default: '0' },
    },
  });
  const open = Number(values.open);
  const m = Number(values.orders);
  const concurrency = Number(values.concurrency);
  const rounds = Number(values.rounds);
  const fillConcurrency = Number(values['fill-concurrency']);
  const due = Number(values.due);
  // A time budget for the fill (0: none): it stops starting orders then, and the run goes on with those.
  const fillMs = Number(values['fill-minutes']) * 60_000;
  if (!(fillMs >= 0)) throw new Error(`--fill-minutes: a number of minutes, not ${values['fill-minutes']}`);
  for (const [name, v] of Object.entries({ open, orders: m, concurrency, rounds, due, fillConcurrency }))
    if (!Number.isInteger(v) || v < 0) throw new Error(`--${name}: a whole number, not ${v}`);
  if (m < 1 || rounds < 1 || concurrency < 1 || fillConcurrency < 1)
    throw new Error('--orders, --rounds, --concurrency and --fill-concurrency: at least 1');
  if (values.mail !== 'sink' && values.mail !== 'stack') throw new Error('--mail: sink or stack');
  process.env.LOG_LEVEL ??= 'warn';
  // No shutdown signals of the SDK's own: on a signal, the workers finish the orders in flight (below).
  Runtime.install({ logger: new TemporalPinoLogger(createLogger({ level: 'error' })), shutdownSignals: [] });

  // A worker and a client in one process: the test processes' union of identities. Vault and PostgreSQL
  // are reached here, the provider sandbox just below: a missing service fails the run before anything.
  const cfg = configFor('test');
  const deps = await fulfillmentDeps(cfg);
  deps.log = createLogger({ level: 'warn' });
  const retention = await retentionDeps(cfg);
  // Seeding due orders and removing the run's rows are fixtures (the schema owner's), no component's work.
  const fixtures = fixturePool(2);
  retention.log = createLogger({ level: 'warn' });
  await deps.db.query('SELECT 1');
  const sandboxUrl = cfg.PROVIDER_BASE_URL!;
  const health = await fetch(`${sandboxUrl}/healthz`).catch((err) => {
    throw new Error(`the provider sandbox at ${sandboxUrl} does not answer (${err.cause?.code ?? err})`);
  });
  if (!health.ok) throw new Error(`the provider sandbox at ${sandboxUrl} answered ${health.status}`);
  const sink = values.mail === 'sink' ? await startMailSink() : undefined;
  if (sink) {
    deps.mailer.close();
    deps.mailer = createMailer({ smtpUrl: sink.url, from: cfg.MAIL_FROM, requireTls: false });
  }

  const dir = mkdtempSync(path.join(tmpdir(), 'bench-open-orders-'));
  const servers: ChildProcess[] = [];
  const run = `bench-open-${randomUUID().slice(0, 8)}`;
  const cleanups: Array<() => Promise<unknown>> = [];
  const stopServers = () => {
    for (const s of servers) if (s.exitCode === null && s.signalCode === null) s.kill('SIGTERM');
  };
  process.once('exit', () => {
    stopServers();
    rmSync(dir, { recursive: true, force: true });
  });
  // The first signal stops new orders and lets the run clean up (rows, servers, files); a second one exits.
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.on(signal, () => {
      if (interrupted) process.exit(130);
      interrupted = true;
      console.error(`${signal}: no new orders; cleaning up after those in flight (again to exit at once)`);
    });
  console.log(`run ${run}: its order ids start with ${run}-`);

  try {
    const codec = createCodec(deps.transit);
    await codec.ready();
    let t = Date.now();
    // One bundle for every worker, with the guard's interceptors built in (as createWorker's would be).
    const workflowBundle = await bundleWorkflowCode({
      workflowsPath: require.resolve('../../workflows'),
      workflowInterceptorModules: WORKER_GUARDS.workflowModules ?? [],
      logger: new TemporalPinoLogger(createLogger({ level: 'error' })),
    });
    console.log(`workflows bundled in ${Date.now() - t} ms`);

    // The order, on the real activities; "link sent" is when the step that sent its link returns (the poll
    // that found it complete, or the deliver step), as in bench:throughput.
    const sent = completions();
    const activities = linkSentActivities(createActivities(deps), sent);

    /** A private dev server, a client and the order's workers on it. */
    async function side(name: string): Promise<Side & { connection: NativeConnection }> {
      const sideDir = path.join(dir, name);
      mkdirSync(sideDir);
      const t0 = Date.now();
      const dev = await startDevServer(sideDir);
      servers.push(dev.process);
      console.log(
        `${name}: private Temporal dev server on ${dev.target.address} (pid ${dev.process.pid}), up in ${Date.now() - t0} ms`,
      );
      const client = await connectClient({ component: 'api', target: dev.target });
      cleanups.push(() => client.connection.close());
      const connection = await NativeConnection.connect(connectionOptions(dev.target));
      cleanups.push(() => connection.close());
      const taskQueue = `${run}-orders`;
      const orders = await createOrderWorkers(
        {
          connection,
          namespace: dev.target.namespace,
          taskQueue,
          providerMaxRps: cfg.PROVIDER_MAX_RPS,
          codec,
          workflowBundle,
        },
        activities,
      );
      const running = orders.run();
      cleanups.push(async () => {
        orders.shutdown();
        await running;
      });
      return { name, ...dev, server: dev.process, client, connection, orders, taskQueue, started: 0 };
    }
    // The subject is filled; the reference stays empty. Each round runs on one, then on the other, so a
    // noisy minute of this shared machine falls on both (bench:throughput's rounds).
    const subject = await side('subject');
    const reference = await side('reference');

    // The sweep runs on the subject's server (its time is the database's: the open orders' rows).
    const retentionQueue = `${run}-retention`;
    const retentionWorker = await createRetentionWorker({
      connection: subject.connection,
      namespace: subject.target.namespace,
      taskQueue: retentionQueue,
      deps: retention,
      codec: createCodec(retention.vault.transit),
      workflowBundle,
    });
    const retentionRunning = retentionWorker.run();
    cleanups.push(async () => {
      retentionWorker.shutdown();
      await retentionRunning;
    });
    const maxCached = subject.orders.workers[0]!.options.maxCachedWorkflows;

    const policy = { ...defaultPolicy(cfg), retention: values.retention, linkTtl: values['link-ttl'] };
    async function startOne(on: Side, kind: string): Promise<number> {
      const orderId = `${run}-${kind}-${randomUUID().slice(0, 8)}`;
      const input = buildOrderInput(
        { orderId, userId: 'bench', email: `bench-${randomUUID().slice(0, 8)}@example.test` },
        policy,
      );
      const t0 = performance.now();
      const done = sent.wait(orderId);
      await startOrder(on.client, input, on.taskQueue);
      on.started++;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        done,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`${orderId}: no link sent within 120 s`)), 120_000);
        }),
      ]).finally(() => clearTimeout(timer));
      const ms = performance.now() - t0;
      // The sandbox keeps its last 10,000 orders: forgotten once collected, N orders evict no one else's.
      await fetch(`${sandboxUrl}/sandbox/orders/${orderId}`, {
        method: 'DELETE',
        headers: { 'x-api-key': cfg.PROVIDER_API_KEY! },
      });
      return ms;
    }

    /** Every order started on `on` parked in aftercare (its last workflow task comes after the link). */
    async function settled(on: Side): Promise<void> {
      const t0 = Date.now();
      for (;;) {
        const { count } = await on.client.workflow.count(
          `TaskQueue = "${on.taskQueue}" AND ExecutionStatus = "Running" AND OrderStatus = "delivered"`,
        );
        if (count >= on.started) return;
        if (Date.now() - t0 > 300_000)
          throw new Error(
            `${on.name}: only ${count} of ${on.started} orders reached aftercare within 5 minutes`,
          );
        await new Promise((r) => setTimeout(r, 1000));
      }
    }

    let sweeps = 0;
    /** Seeds `due` orders past retention (as bench:sweep does), then times one sweep workflow. */
    async function sweepOnce(phase: string): Promise<{ ms: number; purged: number }> {
      const prefix = `${run}-due-${phase}-${++sweeps}`;
      await seedDueOrders(fixtures, prefix, due);
      const t0 = performance.now();
      const counts = await subject.client.workflow.execute<RetentionSweepWorkflow>(
        RETENTION_SWEEP_WORKFLOW_TYPE,
        {
          taskQueue: retentionQueue,
          workflowId: `${prefix}-sweep`,
          args: [{ batchSize: 500, maxBatches: Math.ceil(due / 500) + 50 }],
        },
      );
      return { ms: performance.now() - t0, purged: counts.ordersPurged };
    }

    const fmt = (f: Figures) =>
      `${f.perSecond.toFixed(1).padStart(5)} orders/s, p50 ${Math.round(f.p50).toString().padStart(5)} ms, p99 ${Math.round(f.p99).toString().padStart(5)} ms`;
    async function measure(name: string): Promise<Phase> {
      const openOrders = subject.started;
      const own: Figures[] = [];
      const ratios: Figures[] = [];
      for (let round = 1; round <= rounds; round++) {
        const s = await drive(m, concurrency, () => startOne(subject, `new-${name}`));
        const r = await drive(m, concurrency, () => startOne(reference, `ref-${name}`));
        own.push(s);
        ratios.push({ perSecond: s.perSecond / r.perSecond, p50: s.p50 / r.p50, p99: s.p99 / r.p99 });
        console.log(`  ${name}, round ${round}: subject ${fmt(s)}  |  reference ${fmt(r)}`);
      }
      await settled(subject);
      await settled(reference);
      const sweepRuns: Array<{ ms: number; purged: number }> = [];
      for (let round = 1; round <= rounds; round++) {
        const s = await sweepOnce(name);
        sweepRuns.push(s);
        console.log(`  ${name}, sweep ${round}: ${s.purged} due orders purged in ${Math.round(s.ms)} ms`);
      }
      await new Promise((r) => setTimeout(r, 3000)); // at rest
      const pick = (xs: Figures[]) => ({
        perSecond: median(xs.map((x) => x.perSecond)),
        p50: median(xs.map((x) => x.p50)),
        p99: median(xs.map((x) => x.p99)),
      });
      return {
        orders: pick(own),
        againstReference: pick(ratios),
        sweepMs: median(sweepRuns.map((s) => s.ms)),
        sweepPurged: median(sweepRuns.map((s) => s.purged)),
        ...memory(subject.server.pid),
        openOrders,
      };
    }

    // Warm: both workers, the codec's keys, the sandbox, the retention worker.
    await Promise.all(Array.from({ length: 5 }, () => startOne(subject, 'warm')));
    await Promise.all(Array.from({ length: 5 }, () => startOne(reference, 'warm')));
    await sweepOnce('warm');
    console.log(
      `${rounds} round(s) of ${m} new instant orders on each server, ${concurrency} in flight, start -> link sent; ${rounds} sweep(s) of ${due} seeded due orders; retention ${values.retention}, link TTL ${values['link-ttl']}; mail: ${values.mail}`,
    );
    await settled(subject);
    const empty = await measure('empty');

    console.log(
      `filling the subject: ${open} orders, ${fillConcurrency} in flight${fillMs ? `, for ${values['fill-minutes']} minutes at most` : ''}`,
    );
    let lastReport = 0;
    const fill = await drive(open, fillConcurrency, () => startOne(subject, 'open'), {
      progress(done, ms) {
        if (done === open || ms - lastReport >= 60_000) {
          lastReport = ms;
          console.log(`  ${done}/${open} in ${Math.round(ms / 1000)} s`);
        }
      },
      stop: (ms) => fillMs > 0 && ms >= fillMs,
    });
    if (fill.done < open)
      console.log(`  the fill's ${values['fill-minutes']} minutes are up: ${fill.done} of ${open} orders`);
    t = Date.now();
    await settled(subject);
    console.log(
      `filled: ${fill.done} orders in ${(fill.ms / 1000).toFixed(0)} s (${fill.perSecond.toFixed(1)} orders/s, p50 ${Math.round(fill.p50)} ms, p99 ${Math.round(fill.p99)} ms); all ${subject.started} of the subject's orders parked in aftercare ${((Date.now() - t) / 1000).toFixed(0)} s later`,
    );
    const loaded = await measure('loaded');

    const line = (label: string, a: number, b: number, digits = 0) =>
      console.log(
        `${label.padEnd(44)}${a.toFixed(digits).padStart(16)}${b.toFixed(digits).padStart(18)}${`${(b / a).toFixed(2)}x`.padStart(9)}`,
      );
    console.log('');
    console.log(
      `${'subject server'.padEnd(44)}${`${empty.openOrders} open`.padStart(16)}${`${loaded.openOrders} open`.padStart(18)}${'ratio'.padStart(9)}`,
    );
    line('new orders/s (median of rounds)', empty.orders.perSecond, loaded.orders.perSecond, 1);
    line('  p50 start -> link sent, ms', empty.orders.p50, loaded.orders.p50);
    line('  p99 start -> link sent, ms', empty.orders.p99, loaded.orders.p99);
    line(
      'new orders/s, subject/reference (median)',
      empty.againstReference.perSecond,
      loaded.againstReference.perSecond,
      2,
    );
    line('  p50, subject/reference (median)', empty.againstReference.p50, loaded.againstReference.p50, 2);
    line('  p99, subject/reference (median)', empty.againstReference.p99, loaded.againstReference.p99, 2);
    line(`sweep of ${due} due orders, ms (median)`, empty.sweepMs, loaded.sweepMs);
    line('bench process rss, MB (both workers)', empty.rssMb, loaded.rssMb);
    line('bench process heap used, MB', empty.heapMb, loaded.heapMb);
    line("subject's dev server rss, MB", empty.serverRssMb, loaded.serverRssMb);
    console.log(
      `(workflow cache per worker: maxCachedWorkflows ${maxCached}; memory after a full GC, at rest; the sweeps purged a median ${empty.sweepPurged} and ${loaded.sweepPurged} orders, the shared database's other due orders included)`,
    );
    if (sink) console.log(`(${sink.received()} link emails taken and discarded by the mail sink)`);
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((err) => console.error(err));
    stopServers();
    const removed = await deleteRunRows(fixtures, run).catch((err) => {
      console.error(err);
      return undefined;
    });
    if (removed !== undefined) console.log(`deleted the rows of ${removed} ${run}-* orders`);
    sink?.server.close();
    await deps.close();
    await retention.close();
    await fixtures.end();
    await Promise.all(
      servers.map((s) =>
        s.exitCode === null && s.signalCode === null ? new Promise((r) => s.once('exit', r)) : undefined,
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
