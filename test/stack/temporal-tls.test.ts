/**
 * Temporal over mTLS, for real (issue 10, item 5): nginx from the OS packages terminates TLS in front of
 * the stack's Temporal dev server (which speaks plain gRPC) and lets in only clients with a certificate of
 * the local CA, with the same configuration as `stack.sh up --profile tls` (deploy/temporal-grpc-proxy.conf)
 * on a port of the test's own, with certificates made by scripts/tls-ca.sh. A worker and the API connect
 * through it with certificates of their own and run an order end to end; a client without a certificate,
 * with one of another CA, in plain text, or expecting another server name gets nothing.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config, parseConfig, repoRoot, temporalTlsEnabled } from '../../lib/config';
import { connectionOptions, type TemporalTarget, temporalTarget } from '../../lib/temporal';
import { linkIn, waitForMail } from '../helpers/mailbox';
import { settled, waitForStatus } from '../helpers/orders';
import { type Pipeline, startPipeline, uniqueOrderId, uniqueRecipient } from '../helpers/pipeline';

const SERVER_NAME = 'temporal.giftcards.local';

/** nginx from the OS packages: missing, the test fails (scripts/install.sh installs it), never skips. */
function nginxBinary(): string {
  for (const candidate of ['/usr/sbin/nginx', '/usr/bin/nginx', '/usr/local/sbin/nginx']) {
    if (existsSync(candidate)) return candidate;
  }
  try {
    return execFileSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('nginx is not installed (it proxies Temporal over mTLS): run `bash scripts/install.sh`');
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function waitForPort(port: number, proxy: ChildProcess, log: () => string): Promise<void> {
  const until = Date.now() + 15_000;
  for (;;) {
    if (proxy.exitCode !== null) throw new Error(`nginx exited (${proxy.exitCode}): ${log()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => resolve(socket.end() && true));
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > until) throw new Error(`nginx did not listen on ${port}: ${log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The stack's plain dev server: in the tls profile the tests' own address is already the stack's proxy. The
 * cluster profile has no plain frontend to put nginx before (its server's own frontend does the mTLS, which
 * test/stack/temporal-cluster.test.ts proves): there this test fails, saying so.
 */
function plainUpstream(): string {
  const dev = process.env.TEMPORAL_DEV_SERVER_ADDRESS;
  if (!dev && temporalTlsEnabled(config())) {
    throw new Error(
      `the stack's Temporal (${config().TEMPORAL_ADDRESS}) speaks only TLS (the cluster profile): this test puts ` +
        'nginx before a plain-text frontend, the dev server of the plain and tls profiles; run it on one of those',
    );
  }
  return dev ?? config().TEMPORAL_ADDRESS;
}

let upstream: string;

let dir: string;
let proxy: ChildProcess;
let proxyLog = '';
let address: string;
let pipeline: Pipeline | undefined;

/** A component's settings as its env file would give them, validated and read by the project's own code. */
function targetFor(settings: Record<string, string>): TemporalTarget {
  return temporalTarget(parseConfig({ ...process.env, TEMPORAL_ADDRESS: address, ...settings }));
}

const ca = () => ({ TEMPORAL_TLS_CA_FILE: path.join(dir, 'ca.crt'), TEMPORAL_TLS_SERVER_NAME: SERVER_NAME });
const clientCert = (name: string, from = dir) => ({
  TEMPORAL_TLS_CERT_FILE: path.join(from, `${name}.crt`),
  TEMPORAL_TLS_KEY_FILE: path.join(from, `${name}.key`),
});

beforeAll(async () => {
  upstream = plainUpstream();
  const nginx = nginxBinary();
  dir = mkdtempSync(path.join(os.tmpdir(), 'giftcards-tls-'));
  const script = path.join(repoRoot, 'scripts', 'tls-ca.sh');
  execFileSync('bash', [script, dir, 'worker', 'api', 'cli']);
  // Another CA, and a client certificate it signed: an intruder's.
  execFileSync('bash', [script, path.join(dir, 'rogue'), 'intruder']);

  const port = await freePort();
  address = `127.0.0.1:${port}`;
  const prefix = path.join(dir, 'nginx');
  execFileSync('mkdir', ['-p', path.join(prefix, 'tmp')]);
  const conf = readFileSync(path.join(repoRoot, 'deploy', 'temporal-grpc-proxy.conf'), 'utf8')
    .replaceAll('@PREFIX@', prefix)
    .replaceAll('@LISTEN@', address)
    .replaceAll('@UPSTREAM@', upstream)
    .replaceAll('@CERT@', path.join(dir, 'server.crt'))
    .replaceAll('@KEY@', path.join(dir, 'server.key'))
    .replaceAll('@CA@', path.join(dir, 'ca.crt'));
  writeFileSync(path.join(prefix, 'nginx.conf'), conf);
  proxy = spawn(nginx, ['-p', prefix, '-c', path.join(prefix, 'nginx.conf'), '-e', 'stderr'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  proxy.stderr?.on('data', (d) => {
    proxyLog += d;
  });
  await waitForPort(port, proxy, () => proxyLog);
});

afterAll(async () => {
  await pipeline?.stop();
  proxy?.kill('SIGTERM');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('Temporal behind a TLS-terminating proxy that requires client certificates', () => {
  it('a worker and the API, each with its own certificate, run an order through it', async () => {
    pipeline = await startPipeline({
      temporal: {
        api: targetFor({ ...ca(), ...clientCert('api') }),
        worker: targetFor({ ...ca(), ...clientCert('worker') }),
      },
    });
    const orderId = uniqueOrderId('instant');
    const email = uniqueRecipient();
    await pipeline.start({ orderId, userId: 'user-tls', email });
    const status = await waitForStatus(pipeline.client, orderId, settled);
    expect(status).toMatchObject({ outcome: 'DELIVERED', deliveredCards: 3 });
    // The customer's reveal goes through the API, whose retrieval signal travels over the same mTLS client.
    const [mail] = await waitForMail(email);
    const res = await fetch(`${linkIn(mail!)}/reveal`, { method: 'POST' });
    expect(res.status).toBe(200);
    await waitForStatus(
      pipeline.client,
      orderId,
      (s) => s.deliveries.length > 0 && s.deliveries.every((d) => d.retrieved),
    );
    // It all went through the proxy: the client's connection is to the proxy's port, not the dev server's.
    expect((pipeline.client.connection as Connection).options.address).toBe(address);
    expect(address).not.toBe(upstream);
  });

  it('refuses a client without a certificate, with one of another CA, or in plain text', async () => {
    // As the worker's core reports them: nginx answers 400 to any call without a verified certificate.
    const attempts: Record<string, [TemporalTarget, RegExp]> = {
      'no client certificate': [targetFor(ca()), /status: 400/],
      'a certificate of another CA': [
        targetFor({ ...ca(), ...clientCert('intruder', path.join(dir, 'rogue')) }),
        /status: 400/,
      ],
      // nginx's TLS port closes a plain HTTP/2 connection (how the core reports it varies).
      'plain text': [{ address, namespace: 'default' }, /Failed to call GetSystemInfo/],
    };
    for (const [what, [target, refusal]] of Object.entries(attempts)) {
      const client = Connection.connect({ ...connectionOptions(target), connectTimeout: '5s' }).then(
        async (c) => {
          // A lazy channel may connect on the first call: make one.
          try {
            await c.workflowService.getSystemInfo({});
          } finally {
            await c.close();
          }
        },
      );
      await expect(client, `a client with ${what}`).rejects.toThrow();
      await expect(
        NativeConnection.connect(connectionOptions(target)),
        `a worker with ${what}`,
      ).rejects.toThrow(refusal);
    }
    // The same connection with the CLIs' certificate is let in: the refusals above are the certificate's.
    const cli = await Connection.connect({
      ...connectionOptions(targetFor({ ...ca(), ...clientCert('cli') })),
    });
    await expect(cli.workflowService.getSystemInfo({})).resolves.toBeDefined();
    await cli.close();
  });

  it('a client refuses a server whose certificate does not carry the expected name', async () => {
    const wrongName = targetFor({
      ...ca(),
      ...clientCert('cli'),
      TEMPORAL_TLS_SERVER_NAME: 'temporal.elsewhere.test',
    });
    await expect(
      Connection.connect({ ...connectionOptions(wrongName), connectTimeout: '5s' }).then((c) =>
        c.workflowService.getSystemInfo({}).finally(() => c.close()),
      ),
    ).rejects.toThrow();
    await expect(NativeConnection.connect(connectionOptions(wrongName))).rejects.toThrow(/NotValidForName/);
  });
});
