/**
 * Vault transit on the real OpenBao, each component through its own AppRole (DESIGN 3.2, 3.3, 3.7). The root
 * token only creates and removes the throwaway key of the rotation test.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import nodeVault from 'node-vault';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, config, repoRoot } from '../../lib/config';
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

/** The CA of Vault's certificate, when the stack runs over TLS. */
function caOf(): Buffer | undefined {
  const file = config().VAULT_CACERT;
  return file ? readFileSync(file) : undefined;
}

function rootVault() {
  const init = JSON.parse(readFileSync(path.join(repoRoot, '.data', 'bao', 'init.json'), 'utf8'));
  const ca = caOf();
  return nodeVault({
    apiVersion: 'v1',
    endpoint: config().VAULT_ADDR,
    token: init.root_token,
    ...(ca ? { requestOptions: { ca } } : {}),
  });
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
let decryptor: VaultSession;
let retention: VaultSession;

beforeAll(async () => {
  [worker, api, decryptor, retention] = await Promise.all([
    connectVault('worker'),
    connectVault('api'),
    connectVault('decryptor'),
    connectVault('retention'),
  ]);
});

afterAll(() => {
  for (const s of [worker, api, decryptor, retention]) s?.close();
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

    const decryptCalls = countRequests(decryptor);
    const plaintexts = await decryptor.transit.decryptBatch(
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
    const attempt = decryptor.transit.decryptBatch(currentKey, [
      { ciphertext: ciphertext!, context: 'order-b' },
    ]);
    await expect(attempt).rejects.toBeInstanceOf(VaultError);
    await expect(attempt).rejects.not.toThrow(/SECRET-VALUE-1/);
    // One moved card among good ones fails the whole batch: nothing is half-revealed.
    const [good] = await worker.transit.encryptBatch(currentKey, [{ plaintext: 'x', context: 'order-b' }]);
    const mixed = decryptor.transit.decryptBatch(currentKey, [
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

  it('the API may neither decrypt nor encrypt a card, nor delete, configure or rotate keys', async () => {
    const [ciphertext] = await worker.transit.encryptBatch(currentKey, [{ plaintext: 'v', context: 'o' }]);
    await expect(
      api.transit.decryptBatch(currentKey, [{ ciphertext: ciphertext!, context: 'o' }]),
    ).rejects.toMatchObject({ status: 403 });
    await expect(
      api.transit.encryptBatch(currentKey, [{ plaintext: 'v', context: 'o' }]),
    ).rejects.toMatchObject({ status: 403 });
    for (const s of [api, decryptor]) {
      expect(await statusOf(s.vault.delete(`${mount}/keys/${currentKey}`))).toBe(403);
      expect(
        await statusOf(s.vault.write(`${mount}/keys/${currentKey}/config`, { deletion_allowed: true })),
      ).toBe(403);
      expect(await statusOf(s.vault.write(`${mount}/keys/${currentKey}/rotate`, {}))).toBe(403);
      expect(
        await statusOf(s.vault.write(`${mount}/keys/cards-test-${randomUUID()}`, { derived: true })),
      ).toBe(403);
    }
  });

  it('the decryptor may decrypt a card and nothing else: no encrypt, rewrap, hmac or payload codec key', async () => {
    const [ciphertext] = await worker.transit.encryptBatch(currentKey, [{ plaintext: 'v', context: 'o' }]);
    expect(
      await decryptor.transit.decryptBatch(currentKey, [{ ciphertext: ciphertext!, context: 'o' }]),
    ).toEqual(['v']);
    await expect(
      decryptor.transit.encryptBatch(currentKey, [{ plaintext: 'v', context: 'o' }]),
    ).rejects.toMatchObject({ status: 403 });
    await expect(
      decryptor.transit.rewrapBatch(currentKey, [{ ciphertext: ciphertext!, context: 'o' }]),
    ).rejects.toMatchObject({ status: 403 });
    await expect(
      decryptor.transit.hmacBatch(cfg.VAULT_INDEX_KEY, ['v'], cfg.VAULT_INDEX_KEY_VERSION),
    ).rejects.toMatchObject({ status: 403 });
    await expect(decryptor.transit.dataKey(cfg.VAULT_CODEC_KEY)).rejects.toMatchObject({ status: 403 });
  });
});

describe('the CLIs and the root token', () => {
  it("the CLIs' identity gets the payload codec's key and nothing of a card", async () => {
    const cli = await connectVault('cli');
    try {
      const key = await cli.transit.dataKey(cfg.VAULT_CODEC_KEY);
      expect(await cli.transit.unwrapDataKey(cfg.VAULT_CODEC_KEY, key.ciphertext)).toEqual(key.plaintext);
      const [ciphertext] = await worker.transit.encryptBatch(currentKey, [{ plaintext: 'v', context: 'o' }]);
      await expect(
        cli.transit.decryptBatch(currentKey, [{ ciphertext: ciphertext!, context: 'o' }]),
      ).rejects.toMatchObject({ status: 403 });
      await expect(
        cli.transit.encryptBatch(currentKey, [{ plaintext: 'v', context: 'o' }]),
      ).rejects.toMatchObject({
        status: 403,
      });
      expect(
        await statusOf(cli.vault.write(`${mount}/keys/cards-test-${randomUUID()}`, { derived: true })),
      ).toBe(403);
    } finally {
      cli.close();
    }
  });

  it('a process handed the root token refuses to start; a token of its own policy works', async () => {
    const root = rootVault();
    const attempt = connectVault('worker', { env: { VAULT_TOKEN: root.token }, startupWaitMs: 1000 });
    await expect(attempt).rejects.toBeInstanceOf(ConfigError);
    await expect(attempt).rejects.toThrow(/VAULT_TOKEN is a root token: refused/);
    await expect(attempt).rejects.not.toThrow(root.token);
    const own = await connectVault('worker', {
      env: { VAULT_TOKEN: worker.vault.token },
      startupWaitMs: 1000,
    });
    expect(await own.transit.hmacBatch(cfg.VAULT_INDEX_KEY, ['x'], cfg.VAULT_INDEX_KEY_VERSION)).toHaveLength(
      1,
    );
    own.close();
  });
});

describe('AppRole secret ids', () => {
  const root = rootVault();
  const lookup = (component: string) =>
    root
      .write(`auth/approle/role/giftcards-${component}/secret-id/lookup`, {
        secret_id: process.env[`${component.toUpperCase()}_VAULT_SECRET_ID`],
      })
      .then((r: { data: { expiration_time: string; secret_id_num_uses: number } }) => r.data);

  it.each([
    ['worker', 30, 0],
    ['api', 30, 0],
    ['retention', 30, 0],
    ['decryptor', 30, 0],
    ['cli', 7, 1000],
  ])('%s: expires within %i days, %i uses at most (0: unlimited)', async (component, days, uses) => {
    const role = (await root.read(`auth/approle/role/giftcards-${component}`)).data;
    expect(role.secret_id_ttl).toBe(days * 86400);
    expect(role.secret_id_num_uses).toBe(uses);
    expect(role.secret_id_bound_cidrs).toEqual(['127.0.0.1/32']);
    const secretId = await lookup(component);
    const left = Date.parse(secretId.expiration_time) - Date.now();
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThanOrEqual(days * 86_400_000);
    if (uses) expect(secretId.secret_id_num_uses).toBeLessThanOrEqual(uses);
  });

  it('a secret id used from another address than this machine is refused', async () => {
    // Vault sees the client's address: 127.0.0.2 is this host's loopback too, but outside 127.0.0.1/32.
    const login = (localAddress: string) =>
      new Promise<number>((resolve, reject) => {
        const body = JSON.stringify({
          role_id: process.env.WORKER_VAULT_ROLE_ID,
          secret_id: process.env.WORKER_VAULT_SECRET_ID,
        });
        const request = cfg.VAULT_ADDR.startsWith('https:') ? https.request : http.request;
        const req = request(
          `${cfg.VAULT_ADDR}/v1/auth/approle/login`,
          { method: 'POST', localAddress, headers: { 'content-type': 'application/json' }, ca: caOf() },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    expect(await login('127.0.0.2')).toBe(400);
    expect(await login('127.0.0.1')).toBe(200);
  });
});

describe('retention creates card keys only with the expected parameters', () => {
  const key = `cards-test-${randomUUID()}`;

  afterAll(async () => {
    // Destroying a bucket is retention's own path: it must still work under the parameter rules.
    await retention.vault.write(`${mount}/keys/${key}/config`, { deletion_allowed: true });
    await retention.vault.delete(`${mount}/keys/${key}`);
    expect(await statusOf(retention.vault.read(`${mount}/keys/${key}`))).toBe(404);
  });

  it('creates a derived aes256-gcm96 bucket, and nothing else', async () => {
    const other = () => `cards-test-${randomUUID()}`;
    for (const forbidden of [
      { type: 'aes256-gcm96', derived: true, exportable: true },
      { type: 'aes256-gcm96', derived: true, allow_plaintext_backup: true },
      { type: 'chacha20-poly1305', derived: true },
      { type: 'aes256-gcm96', derived: true, convergent_encryption: true },
      { type: 'aes256-gcm96', derived: true, auto_rotate_period: '1h' },
    ]) {
      expect(
        await statusOf(retention.vault.write(`${mount}/keys/${other()}`, forbidden)),
        JSON.stringify(forbidden),
      ).toBe(403);
    }
    expect(
      await statusOf(retention.vault.write(`${mount}/keys/${key}`, { type: 'aes256-gcm96', derived: true })),
    ).toBe('succeeded');
    // Nor may it loosen an existing bucket afterwards. (It may set min_decryption_version: the end of a
    // rotation, npm run keys:rotate; lowering it again re-enables only versions an admin has not trimmed,
    // docs/operations/key-compromise.md.)
    for (const forbidden of [
      { exportable: true },
      { allow_plaintext_backup: true },
      { min_encryption_version: 1 },
      { auto_rotate_period: '1h' },
    ]) {
      expect(
        await statusOf(retention.vault.write(`${mount}/keys/${key}/config`, forbidden)),
        JSON.stringify(forbidden),
      ).toBe(403);
    }
    const created = (await retention.vault.read(`${mount}/keys/${key}`)).data;
    expect(created).toMatchObject({ type: 'aes256-gcm96', derived: true, exportable: false });
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
    expect(await decryptor.transit.decryptBatch(key, withContext(v1))).toEqual(['ABCD-0000', 'EFGH-1111']);
    const v2 = await retention.transit.rewrapBatch(key, withContext(v1));
    expect(v2.every((c) => c.startsWith('vault:v2:'))).toBe(true);
    expect(await decryptor.transit.decryptBatch(key, withContext(v2))).toEqual(['ABCD-0000', 'EFGH-1111']);
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
