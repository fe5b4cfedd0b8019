/**
 * Vault (or OpenBao) transit through node-vault: batch encrypt/decrypt/hmac, AppRole login and token
 * renewal. Each component logs in with its own AppRole (DESIGN 3.7); the root token is only the stack
 * bootstrap's, and a process handed it refuses to start.
 */
import nodeVault from 'node-vault';
import type { Logger } from 'pino';
import {
  ConfigError,
  config,
  durationMs,
  readSettingFile,
  type VaultComponent,
  vaultCredentials,
} from './config';
import { logger } from './logger';
import { metrics, observed } from './metrics';

export class VaultError extends Error {
  override name = 'VaultError';
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** One or more items of a batch failed; `failures` holds their index and Vault's message (never the input). */
class VaultBatchError extends VaultError {
  override name = 'VaultBatchError';
  constructor(
    operation: string,
    readonly failures: Array<{ index: number; error: string }>,
  ) {
    super(
      `transit ${operation}: ${failures.length} item(s) failed (first: #${failures[0]?.index} ${failures[0]?.error})`,
    );
  }
}

type NodeVault = ReturnType<typeof nodeVault>;

interface BatchResult {
  ciphertext?: string;
  plaintext?: string;
  hmac?: string;
  error?: string;
}

const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');

export class Transit {
  constructor(
    private readonly vault: NodeVault,
    readonly mount: string,
  ) {}

  private async write<T>(operation: string, path: string, body: object): Promise<T> {
    try {
      return (await countVault(operation, () => this.vault.write(`${this.mount}/${path}`, body))) as T;
    } catch (err) {
      throw toVaultError(err, `transit ${operation}`);
    }
  }

  private async batch(operation: string, path: string, items: object[], extra: object = {}) {
    if (items.length === 0) return [];
    let results: BatchResult[];
    try {
      const res = (await countVault(operation, () =>
        this.vault.write(`${this.mount}/${path}`, { ...extra, batch_input: items }),
      )) as { data: { batch_results: BatchResult[] } };
      results = res.data.batch_results;
    } catch (err) {
      // When every item fails, Vault answers 400 with the per-item errors in the body, not in `errors`.
      const body = (err as { response?: { body?: { batch_results?: BatchResult[] } } }).response?.body;
      if (!body?.batch_results) throw toVaultError(err, `transit ${operation}`);
      results = body.batch_results;
    }
    const failures = results.flatMap((r, index) => (r.error ? [{ index, error: r.error }] : []));
    if (failures.length > 0 || results.length !== items.length) {
      throw new VaultBatchError(
        operation,
        failures.length ? failures : [{ index: -1, error: 'result count' }],
      );
    }
    return results;
  }

  /** Encrypts all items in one request; context (the order id) is required by derived keys. */
  async encryptBatch(key: string, items: Array<{ plaintext: string; context?: string }>): Promise<string[]> {
    const results = await this.batch(
      'encrypt',
      `encrypt/${key}`,
      items.map((i) => ({ plaintext: b64(i.plaintext), ...(i.context ? { context: b64(i.context) } : {}) })),
    );
    return results.map((r) => r.ciphertext as string);
  }

  async decryptBatch(key: string, items: Array<{ ciphertext: string; context?: string }>): Promise<string[]> {
    const results = await this.batch(
      'decrypt',
      `decrypt/${key}`,
      items.map((i) => ({ ciphertext: i.ciphertext, ...(i.context ? { context: b64(i.context) } : {}) })),
    );
    return results.map((r) => Buffer.from(r.plaintext as string, 'base64').toString('utf8'));
  }

  /** HMAC-SHA256 under a pinned key version, so the same input always yields the same index. */
  async hmacBatch(key: string, inputs: string[], keyVersion: number): Promise<string[]> {
    const results = await this.batch(
      'hmac',
      `hmac/${key}/sha2-256`,
      inputs.map((input) => ({ input: b64(input) })),
      { key_version: keyVersion },
    );
    return results.map((r) => r.hmac as string);
  }

  async rewrapBatch(key: string, items: Array<{ ciphertext: string; context?: string }>): Promise<string[]> {
    const results = await this.batch(
      'rewrap',
      `rewrap/${key}`,
      items.map((i) => ({ ciphertext: i.ciphertext, ...(i.context ? { context: b64(i.context) } : {}) })),
    );
    return results.map((r) => r.ciphertext as string);
  }

  /** A fresh data key: its plaintext (for local AES) and its ciphertext wrapped by `key`. */
  async dataKey(key: string): Promise<{ plaintext: Buffer; ciphertext: string }> {
    const res = await this.write<{ data: { plaintext: string; ciphertext: string } }>(
      'datakey',
      `datakey/plaintext/${key}`,
      { bits: 256 },
    );
    return { plaintext: Buffer.from(res.data.plaintext, 'base64'), ciphertext: res.data.ciphertext };
  }

  async unwrapDataKey(key: string, ciphertext: string): Promise<Buffer> {
    // Counted apart from card decryption: every process unwraps the codec's data keys.
    const res = await this.write<{ data: { plaintext: string } }>('unwrap-datakey', `decrypt/${key}`, {
      ciphertext,
    });
    return Buffer.from(res.data.plaintext, 'base64');
  }
}

/** Vault's latency and errors by operation (encrypt, decrypt, hmac, rewrap, datakey, key management…). */
export function countVault<T>(operation: string, call: () => Promise<T>): Promise<T> {
  return observed(
    metrics.vaultLatency,
    metrics.vaultRequests,
    (o) => ({ operation, result: 'error' in o ? 'error' : 'ok' }),
    call,
  );
}

export function toVaultError(err: unknown, what: string): VaultError {
  if (err instanceof VaultError) return err;
  const e = err as { message?: string; response?: { statusCode?: number; body?: { errors?: string[] } } };
  const status = e.response?.statusCode;
  const detail = e.response?.body?.errors?.join('; ') || e.message || 'unknown error';
  return new VaultError(`${what} failed${status ? ` (HTTP ${status})` : ''}: ${detail}`, status);
}

/**
 * A node-vault client with the project's two guarantees.
 *
 * Every request (transit, login, renewal, key management) fails after `timeoutMs`, wall-clock: the HTTP
 * timeout only fires on a silent socket, so node-vault's one funnel, `request`, is raced against a deadline
 * too (a Vault that trickles bytes cannot hold a caller either). The decryptor's reveal paths depend on
 * it: they decrypt inside the transaction that holds the link's and the cards' rows (see
 * decryptor/reveal.ts for why), and the rows are held no longer than this.
 *
 * node-vault's own debug output is off whatever DEBUG says: its `node-vault` namespace prints every request
 * body, which on encrypt is the plaintext card and on a login the secret id. (The HTTP layer's namespace,
 * `follow-redirects`, prints request headers, the token among them: lib/config.ts refuses a DEBUG that
 * enables either.)
 */
export function createVaultClient(opts: {
  endpoint: string;
  token?: string;
  timeoutMs: number;
  /** The CA that signed Vault's certificate (VAULT_CACERT), when it is not a public one. */
  ca?: Buffer;
}): NodeVault {
  const client = nodeVault({
    apiVersion: 'v1',
    endpoint: opts.endpoint,
    ...(opts.token ? { token: opts.token } : {}),
    debug: () => {},
    requestOptions: { timeout: opts.timeoutMs, ...(opts.ca ? { ca: opts.ca } : {}) },
  });
  const request = client.request.bind(client);
  client.request = (options) => {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`Vault did not answer within ${opts.timeoutMs} ms`)),
        opts.timeoutMs,
      );
      timer.unref();
    });
    return Promise.race([request(options), deadline]).finally(() => clearTimeout(timer));
  };
  return client;
}

export interface VaultSession {
  vault: NodeVault;
  transit: Transit;
  close(): void;
}

/**
 * Logs a component in (AppRole, or a token where one is configured) and keeps its token alive: renews it
 * before it expires and logs in again when it can no longer be renewed (max TTL reached).
 */
export async function connectVault(
  component: VaultComponent,
  opts: {
    addr?: string;
    mount?: string;
    env?: NodeJS.ProcessEnv;
    startupWaitMs?: number;
    caFile?: string;
    requestTimeoutMs?: number;
  } = {},
): Promise<VaultSession> {
  const addr = opts.addr ?? config().VAULT_ADDR;
  const mount = opts.mount ?? config().VAULT_TRANSIT_MOUNT;
  const creds = vaultCredentials(component, opts.env);
  const caFile = opts.caFile ?? config().VAULT_CACERT;
  const vault = createVaultClient({
    endpoint: addr,
    ...('token' in creds ? { token: creds.token } : {}),
    timeoutMs: opts.requestTimeoutMs ?? durationMs(config().VAULT_REQUEST_TIMEOUT),
    ...(caFile ? { ca: readSettingFile('VAULT_CACERT', caFile) } : {}),
  });
  const log = logger().child({ component, vault: addr });
  let closed = false;
  let retry: NodeJS.Timeout | undefined;

  const login = async () => {
    if ('token' in creds) return refuseRootToken(vault);
    try {
      const res = await vault.approleLogin({ role_id: creds.roleId, secret_id: creds.secretId });
      vault.token = res.auth.client_token;
      await vault.startTokenRenewal({ ttl: res.auth.lease_duration, renewFraction: 0.6 });
    } catch (err) {
      throw toVaultError(err, `Vault AppRole login for the ${component}`);
    }
  };
  const relogin = () => {
    if (closed) return;
    login().catch((err) => {
      log.error({ err }, 'Vault re-login failed; retrying in 10 s');
      retry = setTimeout(relogin, 10_000);
      retry.unref();
    });
  };
  vault.on('token:expired', relogin);
  vault.on('token:error:renew', relogin);
  await untilVaultAnswers(login, log, opts.startupWaitMs ?? durationMs(config().VAULT_STARTUP_WAIT));

  return {
    vault,
    transit: new Transit(vault, mount),
    close() {
      closed = true;
      if (retry) clearTimeout(retry);
      vault.stopTokenRenewal();
    },
  };
}

/**
 * A token whose policies include `root` can do anything to every key: a process that is handed one (in
 * VAULT_TOKEN) refuses to start rather than run with it.
 */
async function refuseRootToken(vault: NodeVault): Promise<void> {
  let policies: string[];
  try {
    const self = (await vault.tokenLookupSelf()) as { data?: { policies?: string[] } };
    policies = self.data?.policies ?? [];
  } catch (err) {
    throw toVaultError(err, 'Vault token lookup (VAULT_TOKEN)');
  }
  if (policies.includes('root')) {
    throw new ConfigError(
      'VAULT_TOKEN is a root token: refused. Give the process its own AppRole (<COMPONENT>_VAULT_ROLE_ID and ' +
        '_SECRET_ID) or a token with its policy only',
    );
  }
}

/**
 * Start-up through a Vault restart: an unreachable, sealed or standby Vault (no answer, or 5xx) is waited
 * for with backoff, saying so, for up to `waitMs`, so that a fleet does not crash-loop through the
 * restart. A refusal (4xx: wrong role or secret id) fails at once: waiting would not change it.
 */
async function untilVaultAnswers(login: () => Promise<void>, log: Logger, waitMs: number): Promise<void> {
  const deadline = Date.now() + waitMs;
  let delay = 500;
  for (;;) {
    try {
      return await login();
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      const status = err instanceof VaultError ? err.status : undefined;
      const transient = status === undefined || status >= 500;
      if (!transient || Date.now() + delay > deadline) throw err;
      log.warn({ status, retryInMs: delay }, 'Vault is not answering yet; retrying the login');
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 15_000);
    }
  }
}
