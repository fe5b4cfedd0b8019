// npm run bench:flood [-- --probes 100 --senders 8 --path-kb 12 --flood-seconds 30 --max-flood 200000 --rounds 3
//                        --shape unknown|malformed|long-param]
// One unauthenticated client against the API's event loop. Starts the API in-process (buildApp with the
// stack's database and Vault, logging at info through the real redaction to /dev/null) on an ephemeral
// loopback port, measures the /healthz median with nothing else going on, then again while `senders`
// parallel keep-alive connections from 127.0.0.1 send GET requests for unknown paths of `path-kb` KB
// (`/a.a.a.…`) as fast as they are answered, from a worker thread. Prints both medians and their ratio
// for each of --rounds rounds (quiet and flood alternate, so a noisy minute of the shared machine falls on
// both) and the median ratio (the target: within 10×), and what the flood got (404s, then 429s once its
// budget is spent; from the second round on, 429s only). The
// health probes come from other loopback addresses (127.0.0.2–9, a load balancer's few), never the
// flooding one. Each round's flood is bounded: it stops after the probes, after --flood-seconds, or after
// --max-flood requests, whichever comes first. Needs the stack up (PostgreSQL, Vault).
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import pino from 'pino';
import { buildApp } from '../../api/app';
import { decryptorClient } from '../../domain/decryptor-client';
import { configFor, databaseUrl, durationMs } from '../../lib/config';
import { createPool } from '../../lib/db';
import { createLogger } from '../../lib/logger';
import { connectVault } from '../../lib/vault';

interface Probes {
  samples: number[];
  statuses: Record<number, number>;
}

const agent = new http.Agent({ keepAlive: false });

/** One GET from `localAddress`; resolves with its status and latency in ms (timeout: a failed probe). */
function get(port: number, path: string, localAddress: string, timeoutMs: number) {
  return new Promise<{ status: number; ms: number }>((resolve) => {
    const t0 = performance.now();
    const req = http.get(
      { host: '127.0.0.1', port, path, localAddress, agent, timeout: timeoutMs },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0 }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: 0, ms: performance.now() - t0 }));
  });
}

/** `count` sequential health checks (or fewer, if `budgetMs` runs out), round-robin over 127.0.0.2–9. */
async function probe(port: number, count: number, budgetMs: number): Promise<Probes> {
  const samples: number[] = [];
  const statuses: Record<number, number> = {};
  const deadline = performance.now() + budgetMs;
  for (let i = 0; i < count && performance.now() < deadline; i++) {
    const { status, ms } = await get(port, '/healthz', `127.0.0.${2 + (i % 8)}`, 10_000);
    samples.push(ms);
    statuses[status] = (statuses[status] ?? 0) + 1;
    // A load balancer's pace, compressed: a short pause between probes.
    await new Promise((r) => setTimeout(r, 5));
  }
  return { samples, statuses };
}

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)]! : Number.NaN;
};

// The senders, in plain JavaScript on their own thread: keep-alive connections from 127.0.0.1, each
// sending its next request when the last is answered, until told to stop or out of budget.
const SENDERS = `
const http = require('node:http');
const { parentPort, workerData } = require('node:worker_threads');
const { port, senders, path, maxRequests, seconds } = workerData;
const agent = new http.Agent({ keepAlive: true, maxSockets: senders });
const statuses = {};
let sent = 0;
let stop = false;
const deadline = Date.now() + seconds * 1000;
parentPort.on('message', () => { stop = true; });
function one() {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, localAddress: '127.0.0.1', agent }, (res) => {
      res.resume();
      res.on('end', () => { statuses[res.statusCode] = (statuses[res.statusCode] || 0) + 1; resolve(); });
    });
    req.on('error', () => { statuses.error = (statuses.error || 0) + 1; resolve(); });
  });
}
async function sender() {
  while (!stop && sent < maxRequests && Date.now() < deadline) { sent++; await one(); }
}
const t0 = Date.now();
parentPort.postMessage({ started: true });
Promise.all(Array.from({ length: senders }, sender)).then(() => {
  agent.destroy();
  parentPort.postMessage({ done: true, sent, statuses, seconds: (Date.now() - t0) / 1000 });
});
`;

async function main() {
  const { values } = parseArgs({
    options: {
      probes: { type: 'string', default: '100' },
      senders: { type: 'string', default: '8' },
      'path-kb': { type: 'string', default: '12' },
      'flood-seconds': { type: 'string', default: '30' },
      'max-flood': { type: 'string', default: '200000' },
      rounds: { type: 'string', default: '3' },
      shape: { type: 'string', default: 'unknown' },
    },
  });
  const probes = Number(values.probes);
  const senders = Number(values.senders);
  const floodSeconds = Number(values['flood-seconds']);
  const rounds = Number(values.rounds);
  const filler = 'a.'.repeat(Math.round((Number(values['path-kb']) * 1024) / 2));
  // unknown: a route that does not exist (the issue's); malformed: a bad percent-encoding, which Fastify
  // refuses before routing; long-param: a link path whose token is over the router's parameter limit.
  const shapes: Record<string, string> = {
    unknown: `/${filler}`,
    malformed: `/%zz${filler}`,
    'long-param': `/d/${filler.replace(/\./g, 'b')}`,
  };
  const path = shapes[values.shape] ?? shapes.unknown!;

  const cfg = configFor('api');
  const db = createPool(databaseUrl('api', cfg), cfg.DATABASE_POOL_MAX);
  const vault = await connectVault('api');
  // The production logger's redaction at the production level, written nowhere.
  const log = createLogger({ level: 'info', name: 'bench-flood' }, pino.destination({ dest: '/dev/null' }));
  const app = await buildApp({
    db,
    // Never called: the flood asks for unknown paths only.
    decryptor: decryptorClient(cfg.DECRYPTOR_URL ?? 'http://127.0.0.1:3110'),
    logger: log,
    publicBaseUrl: cfg.PUBLIC_BASE_URL ?? 'http://127.0.0.1:3000',
    revealVisibleMs: durationMs(cfg.REVEAL_VISIBLE),
    rateLimitPerMinute: cfg.RATE_LIMIT_PER_MINUTE,
    // Counters of its own: the run starts with every budget unspent.
    limitScope: `bench-flood-${randomUUID()}`,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  console.log(
    `API on 127.0.0.1:${port}; ${probes} sequential /healthz probes from 127.0.0.2-9, each phase; flood: ${senders} keep-alive senders from 127.0.0.1, GET ${path.length}-byte unknown paths (/a.a.a.…)`,
  );

  await probe(port, 20, 5_000); // warm-up

  const fmt = (p: Probes) => {
    const sorted = [...p.samples].sort((a, b) => a - b);
    const p90 = sorted[Math.floor(0.9 * (sorted.length - 1))] ?? Number.NaN;
    return `median ${median(p.samples).toFixed(2).padStart(8)} ms   p90 ${p90.toFixed(2).padStart(8)} ms   (${p.samples.length} probes, statuses ${JSON.stringify(p.statuses)})`;
  };
  const ratios: number[] = [];
  for (let round = 1; round <= rounds; round++) {
    const quiet = await probe(port, probes, 60_000);
    const flood = new Worker(SENDERS, {
      eval: true,
      workerData: { port, senders, path, maxRequests: Number(values['max-flood']), seconds: floodSeconds },
    });
    const floodDone = new Promise<{ sent: number; statuses: Record<string, number>; seconds: number }>(
      (resolve, reject) => {
        flood.on('message', (m) => m.done && resolve(m));
        flood.on('error', reject);
      },
    );
    await new Promise((r) => flood.once('message', r));
    // Let the flood fill its connections (and, the first time, spend its budget) before measuring.
    await new Promise((r) => setTimeout(r, 1_000));
    const loaded = await probe(port, probes, Math.max(1_000, (floodSeconds - 2) * 1000));
    flood.postMessage('stop');
    const sent = await floodDone;
    await flood.terminate();

    const ratio = median(loaded.samples) / median(quiet.samples);
    ratios.push(ratio);
    console.log(`round ${round}`);
    console.log(`  /healthz quiet          ${fmt(quiet)}`);
    console.log(`  /healthz under flood    ${fmt(loaded)}`);
    console.log(
      `  flood                   ${sent.sent} requests in ${sent.seconds.toFixed(1)} s (${Math.round(sent.sent / sent.seconds)}/s), statuses ${JSON.stringify(sent.statuses)}`,
    );
    console.log(`  ratio flood/quiet       ${ratio.toFixed(2)}x`);
  }
  console.log(
    `median ratio of ${rounds} round(s): ${median(ratios).toFixed(2)}x (target: within 10x; rounds ${ratios.map((r) => r.toFixed(2)).join(', ')})`,
  );

  await app.close();
  vault.close();
  await db.end();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
