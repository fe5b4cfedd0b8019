/**
 * The stack's cluster profile (`stack.sh up --profile cluster`), for real: its Temporal is the server built
 * from go.temporal.io/server, not the dev server, keeping its state in PostgreSQL with the shard count it was
 * created with; its frontend lets in only clients with a certificate of the stack's local CA (mTLS, no
 * proxy in front); the search attributes the order workflow upserts are registered; the UI server talks to
 * it over mTLS with a certificate of its own.
 *
 * It runs through vitest.cluster.config.ts with the replica load run, on that profile only: on another it
 * fails, saying so.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config, parseConfig, repoRoot } from '../../lib/config';
import { connectionOptions, type TemporalTarget, temporalTarget } from '../../lib/temporal';
import { internalRequest, operatorToken } from '../helpers/operators';

const DATA = path.join(repoRoot, '.data');
const TLS = path.join(DATA, 'tls');
const SERVER_NAME = 'temporal.giftcards.local';

/** The stack's profile as `stack.sh up` recorded it. */
function stackProfile(): string {
  const file = path.join(DATA, 'run', 'profile');
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : 'plain';
}

/** The server version scripts/temporal-versions.sh pins, without its v. */
function pinnedServerVersion(): string {
  const pins = readFileSync(path.join(repoRoot, 'scripts', 'temporal-versions.sh'), 'utf8');
  const version = /^TEMPORAL_SERVER_VERSION=v(\S+)$/m.exec(pins)?.[1];
  if (!version) throw new Error('scripts/temporal-versions.sh pins no TEMPORAL_SERVER_VERSION');
  return version;
}

/**
 * A client's settings as an env file would give them, validated and read by the project's own code: the
 * tests' own TEMPORAL_TLS_* (from their env file) left out, so that only what is given here is presented.
 */
function targetFor(settings: Record<string, string>): TemporalTarget {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('TEMPORAL_TLS_')),
  );
  return temporalTarget(parseConfig({ ...base, ...settings }));
}
const withCa = { TEMPORAL_TLS_CA_FILE: path.join(TLS, 'ca.crt'), TEMPORAL_TLS_SERVER_NAME: SERVER_NAME };
const cert = (name: string, dir = TLS) => ({
  TEMPORAL_TLS_CERT_FILE: path.join(dir, `${name}.crt`),
  TEMPORAL_TLS_KEY_FILE: path.join(dir, `${name}.key`),
});

/** A call that must not get through: the connection or its first call fails. */
async function refused(target: TemporalTarget): Promise<void> {
  const connection = await Connection.connect({ ...connectionOptions(target), connectTimeout: '5s' });
  try {
    await connection.workflowService.getSystemInfo({});
  } finally {
    await connection.close();
  }
}

let rogue: string;
let connection: Connection;

beforeAll(async () => {
  const profile = stackProfile();
  if (profile !== 'cluster') {
    throw new Error(
      `the stack runs the ${profile} profile: these tests are the cluster profile's (bash scripts/stack.sh down && ` +
        'bash scripts/stack.sh up --profile cluster)',
    );
  }
  // Another CA, and a client certificate it signed: an intruder's.
  rogue = mkdtempSync(path.join(os.tmpdir(), 'giftcards-rogue-'));
  execFileSync('bash', [path.join(repoRoot, 'scripts', 'tls-ca.sh'), rogue, 'intruder']);
  connection = await Connection.connect(connectionOptions(temporalTarget()));
});

afterAll(async () => {
  await connection?.close();
  if (rogue) rmSync(rogue, { recursive: true, force: true });
});

describe('the cluster profile', () => {
  it("is Temporal's own server, keeping its state in PostgreSQL with the shards it was created with", async () => {
    const info = await connection.workflowService.getClusterInfo({});
    expect(info.serverVersion).toBe(pinnedServerVersion());
    // The dev server says sqlite here.
    expect(info.persistenceStore).toBe('postgres12');
    expect(info.visibilityStore).toBe('postgres12');
    const shards = Number(readFileSync(path.join(DATA, 'temporal-cluster', 'history-shards'), 'utf8'));
    expect(info.historyShardCount).toBe(shards);
  });

  it('registered the search attributes the order workflow upserts', async () => {
    const { customAttributes } = await connection.operatorService.listSearchAttributes({
      namespace: config().TEMPORAL_NAMESPACE,
    });
    const types = temporal.api.enums.v1.IndexedValueType;
    expect(customAttributes).toMatchObject({
      OrderStatus: types.INDEXED_VALUE_TYPE_KEYWORD,
      OrderOutcome: types.INDEXED_VALUE_TYPE_KEYWORD,
      CardCount: types.INDEXED_VALUE_TYPE_INT,
    });
  });

  it('its frontend lets in a certificate of the local CA and nothing else', async () => {
    // The stack's CLI certificate gets in: the refusals below are the certificates'.
    const cli = await Connection.connect(connectionOptions(targetFor({ ...withCa, ...cert('cli') })));
    await expect(cli.workflowService.getSystemInfo({})).resolves.toBeDefined();
    await cli.close();

    const address = config().TEMPORAL_ADDRESS;
    const attempts: Record<string, TemporalTarget> = {
      'no client certificate': targetFor(withCa),
      'a certificate of another CA': targetFor({ ...withCa, ...cert('intruder', rogue) }),
      'plain text': { address, namespace: config().TEMPORAL_NAMESPACE },
    };
    for (const [what, target] of Object.entries(attempts)) {
      await expect(refused(target), `a client with ${what}`).rejects.toThrow();
      await expect(
        NativeConnection.connect(connectionOptions(target)),
        `a worker with ${what}`,
      ).rejects.toThrow();
    }
  });

  it('a client refuses the frontend when its certificate does not carry the expected name', async () => {
    const wrongName = targetFor({
      ...withCa,
      ...cert('cli'),
      TEMPORAL_TLS_SERVER_NAME: 'temporal.elsewhere.test',
    });
    await expect(refused(wrongName)).rejects.toThrow();
    await expect(NativeConnection.connect(connectionOptions(wrongName))).rejects.toThrow(/NotValidForName/);
  });

  it('the UI server talks to it over mTLS, signs operators in, and decodes through the internal listener', async () => {
    const ui = config().TEMPORAL_UI_URL;
    // Nobody reads the cluster through the UI without signing in at the identity provider.
    expect((await fetch(`${ui}/api/v1/cluster-info`)).status).toBe(401);
    const settings = (await (await fetch(`${ui}/api/v1/settings`)).json()) as {
      Auth: { Enabled: boolean };
      Codec: { Endpoint: string; PassAccessToken: boolean };
    };
    expect(settings.Auth.Enabled).toBe(true);
    // The operator's own token goes to the codec endpoint, which is https on the internal listener only.
    expect(settings.Codec).toMatchObject({
      Endpoint: `https://127.0.0.1:${config().INTERNAL_PORT}/codec`,
      PassAccessToken: true,
    });
    const decode = (headers: Record<string, string>) =>
      internalRequest(`${settings.Codec.Endpoint}/decode`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-namespace': 'default', ...headers },
        body: '{"payloads":[]}',
      });
    expect((await decode({ authorization: `Bearer ${await operatorToken('vera')}` })).status).toBe(200);
    expect((await decode({})).status).toBe(401);
  });
});
