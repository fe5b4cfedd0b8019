/**
 * `npm run bench:reveal`: link reveals through the API and the decryptor, beside the bare operation they
 * cannot beat, measured in the same run: Vault batch decrypts of 3 ciphertexts with the decryptor's own
 * identity. The API runs in-process (buildApp, its limits raised, logging at info into /dev/null); the
 * decryptor runs as its own process (decryptor/main.ts), as in production, on a loopback port.
 *
 *   --links 200 --concurrency 20 --rounds 2
 *
 * Each round seeds its links first (3 real cards each, encrypted with the worker's identity, under the
 * current month's key), then alternates: the bare decrypts, then the reveals (POST /d/<token>/reveal, each
 * answered 200 with its cards). The seeded orders are deleted at the end.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { buildApp } from '../../api/app';
import { cardSymbols } from '../../api/delivery-links/barcodes';
import { cardKeyName } from '../../domain/cards';
import { decryptorClient } from '../../domain/decryptor-client';
import { config, databaseUrl, repoRoot } from '../../lib/config';
import { createPool, type Db } from '../../lib/db';
import { createLogger } from '../../lib/logger';
import { generateToken, hashToken } from '../../lib/tokens';
import { connectVault, type Transit } from '../../lib/vault';
import { deleteRevealRows, fixturePool, seedRevealLinks } from './fixtures';
import { drive, type Figures } from './shared';

const CARDS = 3;

const { values: args } = parseArgs({
  options: {
    links: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '20' },
    rounds: { type: 'string', default: '2' },
  },
});
const links = Number(args.links);
const concurrency = Number(args.concurrency);
const rounds = Number(args.rounds);

const fmt = (f: Figures) =>
  `${f.perSecond.toFixed(1)}/s, p50 ${f.p50.toFixed(0)} ms, p99 ${f.p99.toFixed(0)} ms`;

/** `n` delivered orders with a live link each; their tokens, and one stored ciphertext triple for the bare decrypts. */
async function seedLinks(db: Db, worker: Transit, prefix: string, n: number) {
  const cfg = config();
  const keyName = cardKeyName(cfg.VAULT_CARD_KEY_PREFIX, new Date());
  const orderIds = Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
  const ciphertexts: string[] = [];
  // One batch per order: the order id is each card's derivation context.
  for (let i = 0; i < n; i += 20) {
    const chunk = orderIds.slice(i, i + 20);
    const done = await Promise.all(
      chunk.map((orderId) =>
        worker.encryptBatch(
          keyName,
          Array.from({ length: CARDS * 2 }, () => ({
            plaintext: randomBytes(8).toString('hex'),
            context: orderId,
          })),
        ),
      ),
    );
    ciphertexts.push(...done.flat());
  }
  const tokens = orderIds.map(() => generateToken());
  await seedRevealLinks(db, {
    orderIds,
    ciphertexts,
    cards: CARDS,
    keyName,
    tokenHashes: tokens.map(hashToken),
  });
  return {
    tokens,
    keyName,
    triple: { orderId: orderIds[0]!, ciphertexts: ciphertexts.slice(0, CARDS) },
  };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function withoutOpsPort(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { OPS_PORT: _, ...rest } = env;
  return rest;
}

/** The decryptor as its own process, with the environment this one loaded; resolves once it listens. */
async function startDecryptorProcess(port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'decryptor/main.ts')], {
    cwd: repoRoot,
    // What this process loaded, less an ops port: the decryptor serves none here.
    env: {
      ...withoutOpsPort(process.env),
      DECRYPTOR_HOST: '127.0.0.1',
      DECRYPTOR_PORT: String(port),
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the decryptor exited (${child.exitCode})`);
    const up = await fetch(`http://127.0.0.1:${port}/`).then(
      () => true,
      () => false,
    );
    if (up) return child;
    if (Date.now() > deadline) throw new Error('the decryptor did not listen within 60 s');
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function main(): Promise<void> {
  const cfg = config();
  databaseUrl('decryptor', cfg); // the decryptor it starts needs its own role's URL
  // Seeding and tidying as the fixtures (no component may write a link); the decryptor as its own role.
  const db = fixturePool(20);
  const worker = await connectVault('worker');
  // The bare operation, with the decryptor's own identity.
  const decryptorVault = await connectVault('decryptor');
  const port = await freePort();
  const child = await startDecryptorProcess(port);
  const log = createLogger({ level: 'info', name: 'bench-reveal' }, pino.destination({ dest: '/dev/null' }));
  const apiDb = createPool(databaseUrl('api', cfg), 20);
  const app = await buildApp({
    db: apiDb,
    decryptor: decryptorClient(`http://127.0.0.1:${port}`),
    logger: log,
    publicBaseUrl: cfg.PUBLIC_BASE_URL ?? 'http://127.0.0.1:3000',
    revealVisibleMs: 60_000,
    // Raised: the benchmark is one client asking 20 at a time.
    rateLimitPerMinute: 1_000_000,
    limitScope: `bench-reveal-${randomUUID()}`,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  const prefix = `bench-reveal-${Date.now()}`;

  console.log(`bench:reveal: ${links} links of ${CARDS} cards, ${concurrency} in flight, ${rounds} round(s)`);
  const ratios: number[] = [];
  try {
    for (let round = 1; round <= rounds; round++) {
      const seeded = await seedLinks(db, worker.transit, `${prefix}-${round}`, links);
      const bare = await drive(links, concurrency, async () => {
        const t0 = performance.now();
        await decryptorVault.transit.decryptBatch(
          seeded.keyName,
          seeded.triple.ciphertexts.map((ciphertext) => ({ ciphertext, context: seeded.triple.orderId })),
        );
        return performance.now() - t0;
      });
      const reveals = await drive(links, concurrency, async (i) => {
        const t0 = performance.now();
        const res = await fetch(`${base}/d/${seeded.tokens[i]}/reveal`, { method: 'POST' });
        const page = await res.text();
        if (res.status !== 200 || !page.includes('class="card-value"'))
          throw new Error(`reveal answered ${res.status}`);
        return performance.now() - t0;
      });
      // Where the time goes: the same consumption asked of the decryptor directly, without the API.
      const direct = await seedLinks(db, worker.transit, `${prefix}-${round}-direct`, links);
      const hop = decryptorClient(`http://127.0.0.1:${port}`);
      const alone = await drive(links, concurrency, async (i) => {
        const t0 = performance.now();
        const r = await hop.consumeLink({
          token: direct.tokens[i]!,
          method: 'reveal',
          requester: { ip: '127.0.0.1' },
        });
        if (r.outcome !== 'retrieved') throw new Error(`the decryptor answered ${r.outcome}`);
        return performance.now() - t0;
      });
      // The page's share: each card's barcode and QR code, drawn on the API's one event loop per reveal.
      const t0 = performance.now();
      for (let i = 0; i < 20; i++)
        for (let c = 0; c < CARDS; c++) cardSymbols(randomBytes(8).toString('hex').toUpperCase(), undefined);
      const symbolsMs = (performance.now() - t0) / 20;
      const ratio = reveals.perSecond / bare.perSecond;
      ratios.push(ratio);
      console.log(
        `round ${round}: reveals ${fmt(reveals)} | bare decrypt of ${CARDS} ${fmt(bare)} | ratio ${ratio.toFixed(2)}× | ` +
          `the decryptor alone ${fmt(alone)} (${(alone.perSecond / bare.perSecond).toFixed(2)}×) | ` +
          `the page's ${CARDS * 2} symbols ${symbolsMs.toFixed(1)} ms of CPU per reveal (≤ ${(1000 / symbolsMs).toFixed(0)}/s on one event loop)`,
      );
    }
    const sorted = [...ratios].sort((a, b) => a - b);
    console.log(
      `median ratio ${sorted[Math.floor((sorted.length - 1) / 2)]!.toFixed(2)}× (target ≥ 0.5×, p99 < 400 ms)`,
    );
  } finally {
    await app.close();
    child.kill('SIGTERM');
    await deleteRevealRows(db, prefix);
    await db.end();
    await apiDb.end();
    worker.close();
    decryptorVault.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
