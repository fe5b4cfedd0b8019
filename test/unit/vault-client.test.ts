/**
 * Vault hygiene of the client every process uses (lib/vault.ts createVaultClient): no request waits on
 * Vault without bound, even a Vault that accepts the connection and then stalls or trickles; and DEBUG
 * settings that make node-vault print request bodies (plaintext cards on encrypt) print nothing of them.
 * Vault here is an in-process HTTP server that misbehaves on purpose; the stack tier runs the real one.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';

// Before node-vault and its `debug` load: as if the process were started with DEBUG=node-vault (lib/config.ts
// refuses that at start-up; this is the defence behind the refusal).
vi.hoisted(() => {
  process.env.DEBUG = 'node-vault';
});

const { default: nodeVault } = await import('node-vault');
const { createVaultClient, Transit, VaultError } = await import('../../lib/vault');

const CARD = 'WXYZ-2345-KLMN-7890';
const servers: http.Server[] = [];

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

async function vaultThat(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function timed(p: Promise<unknown>): Promise<{ ms: number; err: unknown }> {
  const t0 = Date.now();
  const err = await p.then(
    () => expect.fail('the request succeeded'),
    (e: unknown) => e,
  );
  return { ms: Date.now() - t0, err };
}

describe('every Vault request is bounded', () => {
  it('gives up on a Vault that accepts the request and never answers', async () => {
    const endpoint = await vaultThat(() => {});
    const transit = new Transit(createVaultClient({ endpoint, token: 't', timeoutMs: 400 }), 'transit');
    const { ms, err } = await timed(transit.decryptBatch('cards-2026-01', [{ ciphertext: 'vault:v1:x' }]));
    expect(err).toBeInstanceOf(VaultError);
    // An outage, not a refusal: callers roll back and say "try again" (status undefined).
    expect((err as InstanceType<typeof VaultError>).status).toBeUndefined();
    expect((err as Error).message).toMatch(
      /^transit decrypt failed: (timeout of 400ms exceeded|Vault did not answer within 400 ms)/,
    );
    expect(ms).toBeLessThan(2_000);
  });

  it('gives up on a Vault that trickles its answer (the bound is wall-clock, not idle time)', async () => {
    const endpoint = await vaultThat((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"data": {"batch_results": [');
      const drip = setInterval(() => res.write(' '), 50);
      res.on('close', () => clearInterval(drip));
    });
    const transit = new Transit(createVaultClient({ endpoint, token: 't', timeoutMs: 400 }), 'transit');
    const { ms, err } = await timed(transit.decryptBatch('cards-2026-01', [{ ciphertext: 'vault:v1:x' }]));
    expect(err).toBeInstanceOf(VaultError);
    expect((err as Error).message).toBe('transit decrypt failed: Vault did not answer within 400 ms');
    expect(ms).toBeLessThan(2_000);
  });

  it('bounds the AppRole login too', async () => {
    const endpoint = await vaultThat(() => {});
    const vault = createVaultClient({ endpoint, timeoutMs: 300 });
    const { ms } = await timed(vault.approleLogin({ role_id: 'r', secret_id: 's' }));
    expect(ms).toBeLessThan(2_000);
  });
});

describe('DEBUG=node-vault prints no request body', () => {
  async function stderrDuring(fn: () => Promise<unknown>): Promise<string> {
    const chunks: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
      chunks.push(String(chunk));
      return write(chunk, ...rest);
    }) as typeof process.stderr.write;
    try {
      await fn().catch(() => undefined);
    } finally {
      process.stderr.write = write;
    }
    return chunks.join('');
  }

  it("the project's client prints nothing of a card it encrypts; node-vault's default would", async () => {
    const endpoint = await vaultThat((_req, res) => {
      res.writeHead(503).end();
    });
    const encrypt = (client: ReturnType<typeof nodeVault>) =>
      new Transit(client, 'transit').encryptBatch('cards-2026-01', [{ plaintext: CARD, context: 'ord-1' }]);
    const b64 = Buffer.from(CARD).toString('base64');

    // The control: node-vault as it comes, with the same DEBUG, prints the body (the card, base64).
    const leaked = await stderrDuring(() => encrypt(nodeVault({ apiVersion: 'v1', endpoint, token: 't' })));
    expect(leaked).toContain(b64);

    const ours = await stderrDuring(() =>
      encrypt(createVaultClient({ endpoint, token: 't', timeoutMs: 1_000 })),
    );
    expect(ours).not.toContain(b64);
    expect(ours).not.toContain(CARD);
    expect(ours).not.toMatch(/node-vault/);
  });
});
