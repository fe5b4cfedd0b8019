/**
 * A worker's connection to Temporal, through a Temporal restart or upgrade: a frontend that does not answer
 * (connection refused, reset, timed out) or cannot describe the worker's namespace yet (Unavailable while
 * the server's other services come up, NotFound while the namespace is being registered) is waited for
 * with capped exponential backoff, saying so at each attempt, for up to TEMPORAL_STARTUP_WAIT, so that a
 * fleet rolling through an upgrade does not crash-loop. A refusal (bad credentials, not allowed, a
 * malformed request) fails at once: waiting would not change it. Vault start-up waits the same way
 * (lib/vault.ts untilVaultAnswers).
 */
import { isGrpcServiceError } from '@temporalio/client';
import { NativeConnection, TransportError } from '@temporalio/worker';
import type { Logger } from 'pino';
import { type Config, durationMs } from '../lib/config';
import { logger } from '../lib/logger';
import { connectionOptions, type TemporalTarget, temporalTarget } from '../lib/temporal';

export interface TemporalWaitOptions {
  /** How long to keep trying (default TEMPORAL_STARTUP_WAIT). */
  waitMs: number;
  log?: Logger;
  /** Each step's bound (connect; describe the namespace); default 10 s. */
  attemptTimeoutMs?: number;
  /** First delay between attempts (doubles up to maxDelayMs). */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Stops the wait (a SIGTERM while Temporal is down): resolves undefined instead of connecting. */
  signal?: AbortSignal;
}

// gRPC status codes worth waiting out at start-up: CANCELLED, UNKNOWN, DEADLINE_EXCEEDED, NOT_FOUND (the
// namespace, not registered yet), RESOURCE_EXHAUSTED, ABORTED, INTERNAL, UNAVAILABLE.
const TRANSIENT_CODES = new Set([1, 2, 4, 5, 8, 10, 13, 14]);
const CODE_NAMES: Record<number, string> = {
  1: 'CANCELLED',
  2: 'UNKNOWN',
  3: 'INVALID_ARGUMENT',
  4: 'DEADLINE_EXCEEDED',
  5: 'NOT_FOUND',
  7: 'PERMISSION_DENIED',
  8: 'RESOURCE_EXHAUSTED',
  10: 'ABORTED',
  12: 'UNIMPLEMENTED',
  13: 'INTERNAL',
  14: 'UNAVAILABLE',
  16: 'UNAUTHENTICATED',
};

/** The gRPC status code of a failed call, when it is one. */
function grpcCode(err: unknown): number | undefined {
  if (isGrpcServiceError(err)) return err.code;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'number') return code;
  const cause = (err as { cause?: unknown } | null)?.cause;
  return cause && cause !== err ? grpcCode(cause) : undefined;
}

/** A connection attempt that got no answer in time (a frontend that accepts but does not speak). */
class ConnectTimeout extends Error {
  override name = 'ConnectTimeout';
}

/** Whether start-up should wait and try again: Temporal not (yet) answering, as opposed to refusing. */
export function temporalNotReady(err: unknown): boolean {
  if (err instanceof TransportError || err instanceof ConnectTimeout) return true;
  const code = grpcCode(err);
  return code !== undefined && TRANSIENT_CODES.has(code);
}

/** A short, content-free description of why an attempt failed (the error's class and gRPC status). */
function reasonOf(err: unknown): string {
  const name = err instanceof Error ? err.name : typeof err;
  const code = grpcCode(err);
  return code === undefined ? name : `${name} ${CODE_NAMES[code] ?? code}`;
}

/** Sleeps `ms`, or less when `signal` aborts. */
const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

/** NativeConnection.connect, bounded: a connection that comes after the bound is closed. */
async function connectWithin(target: TemporalTarget, ms: number): Promise<NativeConnection> {
  const pending = NativeConnection.connect(connectionOptions(target));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ConnectTimeout(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([pending, timeout]);
  } catch (err) {
    if (err instanceof ConnectTimeout) pending.then((c) => c.close()).catch(() => {});
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Connects to Temporal and checks that the namespace can be described (what Worker.create checks first,
 * and fails on), waiting while Temporal is not ready. Each failed attempt logs what is waited for, the
 * attempt, why (the error's class and gRPC status, nothing more) and the next delay; the connection is
 * returned once both steps pass, undefined when `opts.signal` stopped the wait.
 */
export async function connectWhenTemporalAnswers(
  target: TemporalTarget,
  opts: TemporalWaitOptions,
): Promise<NativeConnection | undefined> {
  const log = opts.log ?? logger().child({ component: 'temporal-connect' });
  const attemptTimeoutMs = opts.attemptTimeoutMs ?? 10_000;
  const maxDelayMs = opts.maxDelayMs ?? 15_000;
  const started = Date.now();
  const deadline = started + opts.waitMs;
  let delay = opts.initialDelayMs ?? 500;
  for (let attempt = 1; ; attempt++) {
    if (opts.signal?.aborted) return undefined;
    let connection: NativeConnection | undefined;
    let step = 'connect';
    try {
      connection = await connectWithin(target, attemptTimeoutMs);
      step = 'describe namespace';
      const conn = connection;
      await conn.withDeadline(Date.now() + attemptTimeoutMs, () =>
        conn.workflowService.describeNamespace({ namespace: target.namespace }),
      );
      if (opts.signal?.aborted) {
        await connection.close();
        return undefined;
      }
      if (attempt > 1) {
        log.info(
          { temporal: target.address, namespace: target.namespace, attempt, waitedMs: Date.now() - started },
          'Temporal answers; the worker starts',
        );
      }
      return connection;
    } catch (err) {
      await connection?.close().catch(() => {});
      if (!temporalNotReady(err) || Date.now() + delay > deadline) throw err;
      log.warn(
        {
          temporal: target.address,
          namespace: target.namespace,
          step,
          attempt,
          reason: reasonOf(err),
          retryInMs: delay,
        },
        'Temporal is not answering yet; waiting before the next attempt',
      );
      await sleep(delay, opts.signal);
      delay = Math.min(delay * 2, maxDelayMs);
    }
  }
}

const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/**
 * A worker process's Temporal connection, from its configuration (target, TEMPORAL_STARTUP_WAIT); undefined
 * when the process was told to stop (SIGINT, SIGTERM) while it waited. The SDK's Runtime takes those
 * signals too but only stops running workers, and there are none yet: without this a SIGTERM would be
 * ignored until Temporal answered.
 */
export async function connectWorker(
  cfg: Config,
  target: TemporalTarget = temporalTarget(cfg),
): Promise<NativeConnection | undefined> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  for (const s of STOP_SIGNALS) process.once(s, onSignal);
  try {
    return await connectWhenTemporalAnswers(target, {
      waitMs: durationMs(cfg.TEMPORAL_STARTUP_WAIT),
      signal: stop.signal,
    });
  } finally {
    for (const s of STOP_SIGNALS) process.off(s, onSignal);
  }
}
