/**
 * Vault transit on the real OpenBao, each component through its own AppRole (DESIGN 3.2, 3.3, 3.7). The root
 * token only creates and removes the throwaway key of the rotation test.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import nodeVault from 'node-vault';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config, repoRoot } from '../../lib/config';
import { connectVault, VaultError, type VaultSession } from '../../lib/vault';

type RequestOptions = { path?: string; method?: string; json?: { batch_input?: unknown[] } };

/** Records every HTTP request a session's node-vault client makes from now on. */
function countRequests(session: VaultSession): RequestOptions[] {
  const seen: RequestOptions[] = [];
  const original = session.vault.request.bind(session.vault);
  session.vault.request = (options) => {
    seen.push(options as RequestOptions);
    return original(options);
  };
  return seen;
}

function rootVault() {
  const init = JSON.parse(readFileSync(path.join(repoRoot, '.data', 'bao', 'init.json'), 'utf8'));
  return nodeVault({ apiVersion: 'v1', endpoint: config().VAULT_ADDR, token: init.root_token });
}

const statusOf = (p: Promise<unknown>) =>
  p.then(
    () => 'succeeded',
    (err: { response?: { statusCode?: number }; status?: number }) => err.status ?? err.response?.statusCode,
  );

const cfg = config();
const mount = cfg.VAULT_TRANSIT_MOUNT;
// The bootstrap creates the current month's bucket ahead of time; encrypt cannot create keys.
const currentKey = `${cfg.VAULT_CARD_KEY_PREFIX}-${new Date().toISOString().slice(0, 7)}`;

let worker: VaultSession;
let api: VaultSession;
let retention: VaultSession;

beforeAll(async () => {
  [worker, api, retention] = await Promise.all([
    connectVault('worker'),
    connectVault('api'),
    connectVault('retention'),
  ]);
});

afterAll(() => {
  for (const s of [worker, api, retention]) s?.close();
});

describe('transit batches', () => {
  it('encrypts 1,000 values in one request and decrypts them back in one', async () => {
    const orderId = `test-vault-${randomUUID()}`;
    const values = Array.from({ length: 1000 }, (_, i) => `CARD-${i}-${randomUUID()}`);
    const encryptCalls = countRequests(worker);
    const ciphertexts = await worker.transit
      .encryptBatch(
        currentKey,
        values.map((plaintext) => ({ plaintext, context: orderId })),
      )
      .catch((err: Error) => {
        if (!/high complexity/.test(err.message)) throw err;
        // OpenBao >= 2.4.1 caps a request body at max_request_json_strings (default 1000, keys and values).
        throw new Error(
          `${err.message}: the stack's OpenBao listener must raise max_request_json_strings for one-call batches`,
        );
      });
    expect(encryptCalls).toHaveLength(1);
    expect(encryptCalls[0]?.path).toBe(`/${mount}/encrypt/${currentKey}`);
    expect(encryptCalls[0]?.json?.batch_input).toHaveLength(1000);
    expect(ciphertexts).toHaveLength(1000);
    expect(ciphertexts.every((c) => c.startsWith('vault:v'))).toBe(true);
    expect(ciphertexts.join()).not.toContain('CARD-');

    const decryptCalls = countRequests(api);
    const plaintexts = await api.transit.decryptBatch(
      currentKey,
      ciphertexts.map((ciphertext) => ({ ciphertext, context: orderId })),
    );
    expect(decryptCalls).toHaveLength(1);
    expect(plaintexts).toEqual(values);
  });

  it("refuses to decrypt a ciphertext under another order's context", async () => {
    const [ciphertext] = await worker.transit.encryptBatch(currentKey, [
      { plaintext: 'SECRET-VALUE-1', context: 'order-a' },
    ]);
    const attempt = api.transit.decryptBatch(currentKey, [{ ciphertext: ciphertext!, context: 'order-b' }]);
    await expect(attempt).rejects.toBeInstanceOf(VaultError);
    await expect(attempt).rejects.not.toThrow(/SECRET-VALUE-1/);
    // One moved card among good ones fails the whole batch: nothing is half-revealed.
    const [good] = await worker.transit.encryptBatch(currentKey, [{ plaintext: 'x', context: 'order-b' }]);
    const mixed = api.transit.decryptBatch(currentKey, [
      { ciphertext: good!, context: 'order-b' },
      { ciphertext: ciphertext!, context: 'order-b' },
    ]);
    await expect(mixed).rejects.toBeInstanceOf(VaultError);
  });
});

describe('least privilege', () => {
  it('the worker may encrypt but not decrypt a card', async () => {
    const [ciphertext] = await worker.transit.encryptBatch(currentKey, [{ plaintext: 'v', context: 'o' }]);
    const attempt = worker.transit.decryptBatch(currentKey, [{ ciphertext: ciphertext!, context: 'o' }]);
    await expect(attempt).rejects.toBeInstanceOf(VaultError);
    await expect(attempt).rejects.toMatchObject({ status: 403 });
  });

  it('the API may decrypt but not delete, configure or rotate keys, nor encrypt cards', async () => {
    expect(await statusOf(api.vault.delete(`${mount}/keys/${currentKey}`))).toBe(403);
    expect(
      await statusOf(api.vault.write(`${mount}/keys/${currentKey}/config`, { deletion_allowed: true })),
    ).toBe(403);
    expect(await statusOf(api.vault.write(`${mount}/keys/${currentKey}/rotate`, {}))).toBe(403);
    expect(
      await statusOf(api.vault.write(`${mount}/keys/cards-test-${randomUUID()}`, { derived: true })),
    ).toBe(403);
    await expect(
      api.transit.encryptBatch(currentKey, [{ plaintext: 'v', context: 'o' }]),
    ).rejects.toMatchObject({
      status: 403,
    });
  });
});

describe('key rotation', () => {
  const root = rootVault();
  const key = `cards-test-${randomUUID()}`;

  beforeAll(async () => {
    await root.write(`${mount}/keys/${key}`, { type: 'aes256-gcm96', derived: true });
  });

  afterAll(async () => {
    await root.write(`${mount}/keys/${key}/config`, { deletion_allowed: true });
    await root.delete(`${mount}/keys/${key}`);
  });

  it('old ciphertext still decrypts after a rotation, and rewrap upgrades it', async () => {
    const orderId = `test-rotate-${randomUUID()}`;
    const items = ['ABCD-0000', 'EFGH-1111'].map((plaintext) => ({ plaintext, context: orderId }));
    const v1 = await worker.transit.encryptBatch(key, items);
    expect(v1.every((c) => c.startsWith('vault:v1:'))).toBe(true);

    // Retention manages the card buckets; its policy allows rotating cards-* keys.
    await retention.vault.write(`${mount}/keys/${key}/rotate`, {});

    const withContext = (ciphertexts: string[]) =>
      ciphertexts.map((ciphertext) => ({ ciphertext, context: orderId }));
    expect(await api.transit.decryptBatch(key, withContext(v1))).toEqual(['ABCD-0000', 'EFGH-1111']);
    const v2 = await retention.transit.rewrapBatch(key, withContext(v1));
    expect(v2.every((c) => c.startsWith('vault:v2:'))).toBe(true);
    expect(await api.transit.decryptBatch(key, withContext(v2))).toEqual(['ABCD-0000', 'EFGH-1111']);
    // New encryptions use the new version.
    expect((await worker.transit.encryptBatch(key, items.slice(0, 1)))[0]).toMatch(/^vault:v2:/);
  });
});

describe('blind index', () => {
  it('the hmac of the same input is stable under the pinned version', async () => {
    const input = `SERIAL-${randomUUID()}`;
    const version = cfg.VAULT_INDEX_KEY_VERSION;
    const [a, b] = await worker.transit.hmacBatch(cfg.VAULT_INDEX_KEY, [input, input], version);
    const [c, other] = await worker.transit.hmacBatch(cfg.VAULT_INDEX_KEY, [input, `${input}x`], version);
    expect(a).toMatch(new RegExp(`^vault:v${version}:`));
    expect(b).toBe(a);
    expect(c).toBe(a);
    expect(other).not.toBe(a);
    expect(a).not.toContain(input);
  });
});
