/**
 * Workers that start while Temporal does not answer wait for it (saying so) instead of exiting, so a fleet
 * rolling through a Temporal upgrade does not crash-loop. Nothing of the shared stack is stopped: the
 * worker is pointed at a free loopback port where, in turn, nothing listens; then a frontend that is up
 * but cannot describe the namespace yet (a bare HTTP/2 gRPC server answering Unavailable, as a server whose
 * other services are still coming up does); then a TCP forwarder to the stack's real dev server.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import http2 from 'node:http2';
import net from 'node:net';
import { TransportError } from '@temporalio/worker';
import { afterAll, describe, expect, it } from 'vitest';
import { buildOrderInput, defaultPolicy, startOrder } from '../../domain/orders';
import { config, repoRoot } from '../../lib/config';
import { createLogger } from '../../lib/logger';
import { connectClient } from '../../lib/temporal';
import { connectWhenTemporalAnswers, temporalNotReady } from '../../workers/connect';
import { settled, waitForStatus } from '../helpers/orders';
import { FAST_POLLING, FAST_POLLING_BOUNDS, uniqueOrderId, uniqueRecipient } from '../helpers/pipeline';

const GRPC_UNAVAILABLE = 14;
const GRPC_NOT_FOUND = 5;
const GRPC_PERMISSION_DENIED = 7;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (probe.address() as net.AddressInfo).port;
      probe.close(() => resolve(p));
    });
    probe.on('error', reject);
  });
}

const listening = (server: net.Server | http2.Http2Server, port: number) =>
  new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });

/** Everything the test opened, closed at the end whatever happened. */
const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

/**
 * A Temporal frontend that is up but not ready: GetSystemInfo answers (empty), DescribeNamespace fails
 * with `describeStatus`, anything else Unavailable. gRPC over cleartext HTTP/2, no dependency.
 */
function notReadyFrontend(describeStatus: number) {
  const sessions = new Set<http2.ServerHttp2Session>();
  const server = http2.createServer();
  server.on('session', (s) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  const calls: string[] = [];
  server.on('stream', (stream, headers) => {
    const method =
      String(headers[':path'] ?? '')
        .split('/')
        .pop() ?? '';
    calls.push(method);
    stream.resume();
    if (method === 'GetSystemInfo') {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(Buffer.alloc(5)); // one message: uncompressed, zero bytes long
      return;
    }
    const status = method === 'DescribeNamespace' ? describeStatus : GRPC_UNAVAILABLE;
    stream.respond(
      {
        ':status': 200,
        'content-type': 'application/grpc',
        'grpc-status': String(status),
        'grpc-message': 'not ready',
      },
      { endStream: true },
    );
  });
  return {
    calls,
    listen: (port: number) => listening(server, port),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sessions) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A TCP forwarder to the stack's real Temporal frontend. */
function forwarderToTemporal() {
  const [host, port] = config().TEMPORAL_ADDRESS.split(':') as [string, string];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    const upstream = net.connect(Number(port), host);
    sockets.add(socket).add(upstream);
    socket.pipe(upstream).pipe(socket);
    const close = () => {
      socket.destroy();
      upstream.destroy();
    };
    socket.on('error', close);
    upstream.on('error', close);
    socket.on('close', close);
    upstream.on('close', close);
  });
  return {
    listen: (p: number) => listening(server, p),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Log lines as JSON objects, from a captured stream. */
function capture() {
  const lines: Array<Record<string, unknown>> = [];
  let partial = '';
  const write = (chunk: string) => {
    partial += chunk;
    const parts = partial.split('\n');
    partial = parts.pop()!;
    for (const line of parts) {
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // not a log line
      }
    }
  };
  return { lines, write };
}

/** Polls `predicate` every 100 ms for up to `timeoutMs`; rejects naming `what`. */
async function until(what: string, predicate: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A worker entry point as its own process (waiting up to 2 minutes), its log lines parsed as they come. */
function startWorkerProcess(entry: string, env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: repoRoot,
    env: { ...process.env, ...env, TEMPORAL_STARTUP_WAIT: '2m', LOG_FILE: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  const out = capture();
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', out.write);
  child.stderr?.setEncoding('utf8').on('data', (c: string) => {
    stderr += c;
  });
  const alive = () => {
    if (child.exitCode !== null)
      throw new Error(`the worker exited (${child.exitCode}): ${stderr.slice(-2000)}`);
    return true;
  };
  return { child, exited, out, alive };
}

const waits = (lines: Array<Record<string, unknown>>) =>
  lines.filter((l) => l.msg === 'Temporal is not answering yet; waiting before the next attempt');

describe('connectWhenTemporalAnswers', () => {
  it('waits with capped exponential backoff, logging each attempt, and gives up after the wait', async () => {
    const port = await freePort();
    const log = capture();
    const t0 = Date.now();
    const attempt = connectWhenTemporalAnswers(
      { address: `127.0.0.1:${port}`, namespace: 'default' },
      {
        waitMs: 2_500,
        initialDelayMs: 200,
        maxDelayMs: 600,
        log: createLogger({ name: 'startup-test' }, { write: log.write }),
      },
    );
    const err = await attempt.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1_500);
    expect(Date.now() - t0).toBeLessThan(6_000);
    const lines = waits(log.lines);
    expect(lines.map((l) => l.retryInMs)).toEqual(lines.map((_, i) => Math.min(200 * 2 ** i, 600)));
    expect(lines.length).toBeGreaterThanOrEqual(3);
    expect(lines[0]).toMatchObject({
      level: 40,
      temporal: `127.0.0.1:${port}`,
      namespace: 'default',
      step: 'connect',
      attempt: 1,
      reason: 'TransportError',
    });
    expect(lines.map((l) => l.attempt)).toEqual(lines.map((_, i) => i + 1));
  });

  it('waits for a namespace that cannot be described yet (NotFound), then connects', async () => {
    const port = await freePort();
    const frontend = notReadyFrontend(GRPC_NOT_FOUND);
    cleanups.push(frontend.close);
    await frontend.listen(port);
    const log = capture();
    const attempt = connectWhenTemporalAnswers(
      { address: `127.0.0.1:${port}`, namespace: config().TEMPORAL_NAMESPACE },
      {
        waitMs: 30_000,
        initialDelayMs: 200,
        log: createLogger({ name: 'startup-test' }, { write: log.write }),
      },
    );
    await until('a NotFound wait', () => waits(log.lines).length >= 2, 10_000);
    expect(waits(log.lines)[0]).toMatchObject({
      step: 'describe namespace',
      reason: 'ServiceError NOT_FOUND',
    });
    await frontend.close();
    const forwarder = forwarderToTemporal();
    cleanups.push(forwarder.close);
    await forwarder.listen(port);
    const connection = (await attempt)!;
    expect(connection).toBeDefined();
    try {
      const { namespaceInfo } = await connection.workflowService.describeNamespace({
        namespace: config().TEMPORAL_NAMESPACE,
      });
      expect(namespaceInfo?.name).toBe(config().TEMPORAL_NAMESPACE);
      expect(log.lines.at(-1)).toMatchObject({ msg: 'Temporal answers; the worker starts' });
    } finally {
      await connection.close();
      await forwarder.close();
    }
  });

  it('a frontend that accepts connections but never answers: each attempt is bounded in time', async () => {
    const port = await freePort();
    const silent = new Set<net.Socket>();
    const server = net.createServer((socket) => {
      silent.add(socket);
      socket.on('error', () => {});
    });
    const closeServer = () =>
      new Promise<void>((resolve) => {
        for (const s of silent) s.destroy();
        server.close(() => resolve());
      });
    cleanups.push(closeServer);
    await listening(server, port);
    const log = capture();
    const t0 = Date.now();
    const err = await connectWhenTemporalAnswers(
      { address: `127.0.0.1:${port}`, namespace: 'default' },
      {
        waitMs: 2_000,
        attemptTimeoutMs: 800,
        initialDelayMs: 200,
        log: createLogger({ name: 'startup-test' }, { write: log.write }),
      },
    ).catch((e: unknown) => e);
    expect(temporalNotReady(err)).toBe(true);
    expect(Date.now() - t0).toBeLessThan(8_000);
    expect(waits(log.lines).length).toBeGreaterThanOrEqual(1);
    await closeServer();
  });

  it('a refusal (PermissionDenied) fails at once: waiting would not change it', async () => {
    const port = await freePort();
    const frontend = notReadyFrontend(GRPC_PERMISSION_DENIED);
    cleanups.push(frontend.close);
    await frontend.listen(port);
    const log = capture();
    const t0 = Date.now();
    const err = await connectWhenTemporalAnswers(
      { address: `127.0.0.1:${port}`, namespace: 'default' },
      { waitMs: 30_000, log: createLogger({ name: 'startup-test' }, { write: log.write }) },
    ).catch((e: unknown) => e);
    expect(temporalNotReady(err)).toBe(false);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(waits(log.lines)).toEqual([]);
    expect(frontend.calls).toContain('DescribeNamespace');
    await frontend.close();
  });
});

describe('the fulfillment worker process', () => {
  it('started while Temporal is down waits (saying so), then polls and runs an order once Temporal answers', async () => {
    const cfg = config();
    const port = await freePort();
    const taskQueue = `test-startup-${randomUUID()}`;
    const { child, exited, out, alive } = startWorkerProcess('workers/run-fulfillment.ts', {
      TEMPORAL_ADDRESS: `127.0.0.1:${port}`,
      TEMPORAL_TASK_QUEUE: taskQueue,
    });

    // 1. Nothing listens: the worker says it waits, and stays up.
    await until('the worker to wait for Temporal', () => alive() && waits(out.lines).length >= 2, 60_000);
    expect(waits(out.lines)[0]).toMatchObject({ step: 'connect', reason: 'TransportError', attempt: 1 });

    // 2. A frontend that cannot describe the namespace yet (Unavailable): still waiting, still up.
    const frontend = notReadyFrontend(GRPC_UNAVAILABLE);
    cleanups.push(frontend.close);
    await frontend.listen(port);
    await until(
      'a wait on the namespace',
      () => alive() && waits(out.lines).some((l) => l.step === 'describe namespace'),
      30_000,
    );
    expect(waits(out.lines).find((l) => l.step === 'describe namespace')).toMatchObject({
      reason: 'ServiceError UNAVAILABLE',
      namespace: cfg.TEMPORAL_NAMESPACE,
    });
    await frontend.close();

    // 3. The real server answers there: the worker starts and runs an order to the end.
    const forwarder = forwarderToTemporal();
    cleanups.push(forwarder.close);
    await forwarder.listen(port);
    await until(
      '"worker started"',
      () => alive() && out.lines.some((l) => l.msg === 'worker started'),
      90_000,
    );
    const lines = waits(out.lines);
    expect(lines.map((l) => l.attempt)).toEqual(lines.map((_, i) => i + 1));
    const delays = lines.map((l) => l.retryInMs as number);
    expect(delays[0]).toBe(500);
    for (let i = 1; i < delays.length; i++) expect(delays[i]).toBe(Math.min(delays[i - 1]! * 2, 15_000));
    expect(out.lines.find((l) => l.msg === 'Temporal answers; the worker starts')).toMatchObject({
      attempt: lines.length + 1,
    });

    const client = await connectClient({ component: 'api' });
    try {
      const orderId = uniqueOrderId('instant');
      await startOrder(
        client,
        buildOrderInput(
          { orderId, userId: 'u', email: uniqueRecipient(), policy: FAST_POLLING },
          defaultPolicy(cfg),
          { pollBounds: FAST_POLLING_BOUNDS },
        ),
        taskQueue,
      );
      expect(await waitForStatus(client, orderId, settled)).toMatchObject({ outcome: 'DELIVERED' });
    } finally {
      await client.connection.close();
    }

    child.kill('SIGTERM');
    const code = await Promise.race([
      exited,
      new Promise((r) => setTimeout(() => r('still running'), 30_000)),
    ]);
    expect(code).toBe(0);
    await forwarder.close();

    // What the waits said: where, which attempt, why, when next; no secret of the process.
    const said = JSON.stringify(lines);
    for (const [name, value] of Object.entries(process.env)) {
      if (value && value.length >= 8 && /SECRET|TOKEN|PASSWORD|KEY/.test(name))
        expect(said).not.toContain(value);
    }
  });
});

describe('the retention worker process', () => {
  it('started while Temporal is down waits (saying so) and stops on SIGTERM without ever answering', async () => {
    // It never reaches Temporal here, so the shared stack's retention Schedule and queue stay untouched.
    const port = await freePort();
    const { child, exited, out, alive } = startWorkerProcess('workers/run-retention.ts', {
      TEMPORAL_ADDRESS: `127.0.0.1:${port}`,
    });
    await until(
      'the retention worker to wait for Temporal',
      () => alive() && waits(out.lines).length >= 3,
      60_000,
    );
    expect(
      waits(out.lines)
        .slice(0, 3)
        .map((l) => [l.component, l.step, l.attempt, l.retryInMs]),
    ).toEqual([
      ['temporal-connect', 'connect', 1, 500],
      ['temporal-connect', 'connect', 2, 1000],
      ['temporal-connect', 'connect', 3, 2000],
    ]);
    const stoppedAt = Date.now();
    child.kill('SIGTERM');
    const code = await Promise.race([
      exited,
      new Promise((r) => setTimeout(() => r('still running'), 15_000)),
    ]);
    expect(code).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(10_000);
    expect(out.lines.some((l) => l.msg === 'retention worker stopped while waiting for Temporal')).toBe(true);
  });
});
