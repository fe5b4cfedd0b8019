/**
 * The codec endpoint over real HTTP with the API's Vault role: nothing is decoded without a credential;
 * the CLI's bearer token and the operator's login cookie both work; CORS answers the Temporal UI's exact
 * origin (with credentials) and nobody else. Log lines are captured and must hold no secret.
 */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { defaultPayloadConverter } from '@temporalio/common';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../api/app';
import { codecEndpointSettings } from '../../api/codec-endpoint/routes';
import type { VaultPayloadCodec } from '../../lib/codec';
import { type Config, ConfigError, config } from '../../lib/config';
import type { Db } from '../../lib/db';
import { createLogger } from '../../lib/logger';
import { createCodec } from '../../lib/temporal';
import { connectVault, type VaultSession } from '../../lib/vault';
import { fixturePool } from '../helpers/fixture-db';
import { uniqueRecipient } from '../helpers/pipeline';
import { problemOf } from '../helpers/problems';

const UI_ORIGIN = new URL(config().TEMPORAL_UI_URL).origin;
const FOREIGN_ORIGIN = 'http://evil.example';
const LOGIN_ATTEMPTS = 4;

let db: Db;
let vault: VaultSession;
let codec: VaultPayloadCodec;
let app: FastifyInstance;
let base: string;
const logLines: string[] = [];
const token = () => config().CODEC_AUTH_TOKEN!;
const password = () => config().OPERATOR_PASSWORD!;

/** A remote-codec request body holding one encrypted payload with PII in it. */
async function encryptedBody(recipient = uniqueRecipient()) {
  const [p] = await codec.encode([defaultPayloadConverter.toPayload({ recipient })]);
  const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
  const body = {
    payloads: [
      {
        metadata: Object.fromEntries(Object.entries(p!.metadata!).map(([k, v]) => [k, b64(v)])),
        data: b64(p!.data!),
      },
    ],
  };
  return { recipient, body: JSON.stringify(body) };
}

function post(path: string, body: string, headers: Record<string, string> = {}) {
  return fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-namespace': 'default', ...headers },
    body,
    redirect: 'manual',
  });
}

function login(pw: string, ip = '10.0.0.1') {
  return fetch(`${base}/codec/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': ip },
    body: new URLSearchParams({ password: pw }).toString(),
    redirect: 'manual',
  });
}

/** Every session id handed out: none may reach a log line. */
const issued: string[] = [];
const cookieOf = (res: Response) => {
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
  issued.push(cookie.split('=')[1]!);
  return cookie;
};

beforeAll(async () => {
  db = fixturePool();
  vault = await connectVault('api');
  codec = createCodec(vault.transit);
  app = await buildApp({
    db,
    transit: vault.transit,
    logger: createLogger({ level: 'debug', name: 'codec-endpoint-test' }, { write: (l) => logLines.push(l) }),
    publicBaseUrl: config().PUBLIC_BASE_URL!,
    revealVisibleMs: 60_000,
    rateLimitPerMinute: 10_000,
    limitScope: `test-${randomUUID()}`,
    // The login limit is keyed by client address: tests pick theirs through the proxy header.
    trustProxy: ['127.0.0.1'],
    codec: { ...codecEndpointSettings(config()), codec, loginAttemptsPerMinute: LOGIN_ATTEMPTS },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await app?.close();
  vault?.close();
  await db?.end();
});

describe('authentication', () => {
  it('refuses requests without credentials, or with wrong ones, and decodes nothing', async () => {
    const { recipient, body } = await encryptedBody();
    const attempts: Array<Record<string, string>> = [
      {},
      { authorization: 'Bearer wrong-token-wrong-token-wrong-token' },
      { authorization: `Basic ${Buffer.from(`operator:${password()}`).toString('base64')}` },
      { cookie: 'giftcards_codec_session=forged-session-id' },
    ];
    for (const headers of attempts) {
      const res = await post('/codec/decode', body, headers);
      expect(res.status).toBe(401);
      const text = await res.text();
      expect(text).not.toContain(recipient);
      expect(text).not.toContain('payloads');
    }
    expect((await post('/codec/encode', body)).status).toBe(401);
  });

  it('decodes and encodes with the bearer token (the CLI)', async () => {
    const { recipient, body } = await encryptedBody();
    const res = await post('/codec/decode?preserveStorageRefs=true', body, {
      authorization: `Bearer ${token()}`,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toContain('no-store');
    const decoded = (await res.json()) as {
      payloads: Array<{ metadata: Record<string, string>; data: string }>;
    };
    expect(Buffer.from(decoded.payloads[0]!.metadata.encoding!, 'base64').toString()).toBe('json/plain');
    expect(JSON.parse(Buffer.from(decoded.payloads[0]!.data, 'base64').toString())).toEqual({ recipient });

    const encoded = await post('/codec/encode', JSON.stringify(decoded), {
      authorization: `Bearer ${token()}`,
    });
    expect(encoded.status).toBe(200);
    const again = (await encoded.json()) as typeof decoded;
    expect(Buffer.from(again.payloads[0]!.metadata.encoding!, 'base64').toString()).toBe('binary/encrypted');
    expect(Buffer.from(again.payloads[0]!.data, 'base64').toString('latin1')).not.toContain(recipient);
  });

  it('answers a tampered payload with 400 and no content', async () => {
    const { body } = await encryptedBody();
    const parsed = JSON.parse(body);
    const data = Buffer.from(parsed.payloads[0].data, 'base64');
    data[15]! ^= 1;
    parsed.payloads[0].data = data.toString('base64');
    const res = await post('/codec/decode', JSON.stringify(parsed), { authorization: `Bearer ${token()}` });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual(problemOf(400, undefined, 'a payload could not be decoded'));
    // Only JSON is decoded: a form post (no CORS preflight in a browser) is refused even when authenticated.
    const form = await post('/codec/decode', 'payloads=x', {
      authorization: `Bearer ${token()}`,
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(form.status).toBe(415);
  });

  it('operator login: a wrong password gets 401 and no cookie; the right one a session cookie that decodes', async () => {
    const page = await fetch(`${base}/codec/login`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('name="password"');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");

    const wrong = await login('not-the-operator-password', '10.0.0.2');
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();
    expect(await wrong.text()).toContain('Wrong password');

    const right = await login(password(), '10.0.0.2');
    expect(right.status).toBe(303);
    expect(right.headers.get('location')).toBe('/codec/login');
    const setCookie = right.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/^giftcards_codec_session=[A-Za-z0-9_-]{43};/);
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Strict');
    expect(setCookie).toContain('Path=/codec');
    expect(setCookie).toMatch(/Max-Age=\d+/);
    expect(setCookie).not.toContain('Secure'); // PUBLIC_BASE_URL is http on the local stack
    const cookie = cookieOf(right);

    const { recipient, body } = await encryptedBody();
    const res = await post('/codec/decode', body, { cookie });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain(Buffer.from(JSON.stringify({ recipient })).toString('base64'));
    const signedIn = await fetch(`${base}/codec/login`, { headers: { cookie } });
    expect(await signedIn.text()).toContain('id="signed-in"');

    const out = await fetch(`${base}/codec/logout`, { method: 'POST', headers: { cookie } });
    expect(out.status).toBe(200);
    expect(out.headers.get('set-cookie')).toContain('Max-Age=0');
    expect((await post('/codec/decode', body, { cookie })).status).toBe(401);
  });

  it('rate-limits login attempts per client', async () => {
    const statuses = [];
    for (let i = 0; i < LOGIN_ATTEMPTS + 2; i++)
      statuses.push((await login('guess-guess-guess', '10.0.0.3')).status);
    expect(statuses.slice(0, LOGIN_ATTEMPTS)).toEqual(Array(LOGIN_ATTEMPTS).fill(401));
    expect(statuses.slice(LOGIN_ATTEMPTS)).toEqual([429, 429]);
    // Even the right password waits out the window: the limit counts attempts, not failures.
    expect((await login(password(), '10.0.0.3')).status).toBe(429);
    expect((await login(password(), '10.0.0.4')).status).toBe(303);
  });
});

describe('the body: a Payloads message in proto3 JSON, as any Temporal client writes it', () => {
  const bearer = () => ({ authorization: `Bearer ${token()}` });

  it('an empty message, `{}` (the Go CLI: a query or signal without arguments), is an empty list', async () => {
    for (const op of ['encode', 'decode']) {
      for (const body of ['{}', '{"payloads":null}', '{"payloads":[]}']) {
        const res = await post(`/codec/${op}`, body, bearer());
        expect(res.status, `${op} ${body}`).toBe(200);
        expect(await res.json()).toEqual({ payloads: [] });
      }
    }
  });

  it('reads URL-safe and unpadded base64, ignores unknown fields, and gives absent fields their defaults', async () => {
    const { recipient, body } = await encryptedBody();
    const parsed = JSON.parse(body);
    const urlSafe = (b64: string) => b64.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    const p = parsed.payloads[0];
    const rewritten = {
      payloads: [
        {
          metadata: Object.fromEntries(Object.entries(p.metadata).map(([k, v]) => [k, urlSafe(v as string)])),
          data: urlSafe(p.data),
          externalPayloads: [],
        },
      ],
      someFutureField: { nested: true },
    };
    const res = await post('/codec/decode', JSON.stringify(rewritten), bearer());
    expect(res.status).toBe(200);
    const { payloads } = (await res.json()) as { payloads: Array<{ data: string }> };
    expect(JSON.parse(Buffer.from(payloads[0]!.data, 'base64').toString())).toEqual({ recipient });

    // A payload with neither metadata nor data: encoded like any other (empty) payload.
    const empty = await post('/codec/encode', '{"payloads":[{}]}', bearer());
    expect(empty.status).toBe(200);
    const encoded = (await empty.json()) as { payloads: Array<{ metadata: Record<string, string> }> };
    expect(Buffer.from(encoded.payloads[0]!.metadata.encoding!, 'base64').toString()).toBe(
      'binary/encrypted',
    );
  });

  it('refuses a malformed body with a 400 that names what is wrong and echoes nothing', async () => {
    const secret = `secret-${uniqueRecipient()}`;
    const b64 = Buffer.from(secret).toString('base64');
    const bodies = [
      `{"payloads": ${JSON.stringify(b64)}}`,
      `{"payloads": [${JSON.stringify(secret)}]}`,
      `{"payloads": [{"data": ${JSON.stringify(`${secret}!`)}}]}`,
      `{"payloads": [{"metadata": {"encoding": ${JSON.stringify(secret)}}}]}`,
      `[${JSON.stringify(b64)}]`,
      `{"payloads": [${JSON.stringify(secret)}`, // not JSON at all
      '',
    ];
    for (const op of ['encode', 'decode']) {
      for (const body of bodies) {
        const res = await post(`/codec/${op}`, body, bearer());
        expect(res.status, body).toBe(400);
        const answer = await res.text();
        expect(JSON.parse(answer)).toMatchObject({ status: 400, title: 'Bad Request' });
        expect(answer).not.toContain(secret);
        expect(answer).not.toContain(b64);
      }
    }
    const res = await post('/codec/encode', '{"payloads":[{"data":7}]}', bearer());
    expect(await res.json()).toEqual(
      problemOf(400, undefined, 'not a Payloads message: payloads[0].data: not base64'),
    );
    expect(logLines.join('\n')).not.toContain(secret);
  });
});

describe('every decode is audited; payloads the codec did not encrypt come back as they are', () => {
  const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
  const wire = (p: { metadata?: Record<string, Uint8Array> | null; data?: Uint8Array | null }) => ({
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, b64(v)])),
    data: b64(p.data ?? new Uint8Array()),
  });
  const rowsFrom = async (userAgent: string) =>
    (
      await db.query(
        `SELECT event, actor, method, ip, count, detail FROM audit_log
         WHERE event = 'CODEC_DECODE' AND user_agent = $1 ORDER BY id`,
        [userAgent],
      )
    ).rows;

  it('records who decoded how many payloads, never what they held', async () => {
    const recipients = [uniqueRecipient(), uniqueRecipient()];
    const encrypted = await codec.encode(
      recipients.map((r) => defaultPayloadConverter.toPayload({ recipient: r })),
    );
    // As a client without the codec wrote it (a refused start, say): the UI still shows the history.
    const plain = defaultPayloadConverter.toPayload({ note: 'sent without the codec' });
    const userAgent = `codec-audit-${uniqueRecipient()}`;
    const res = await post(
      '/codec/decode',
      JSON.stringify({ payloads: [wire(encrypted[0]!), wire(plain), wire(encrypted[1]!)] }),
      { authorization: `Bearer ${token()}`, 'user-agent': userAgent },
    );
    expect(res.status).toBe(200);
    const { payloads } = (await res.json()) as { payloads: ReturnType<typeof wire>[] };
    const values = payloads.map((p) => JSON.parse(Buffer.from(p.data, 'base64').toString()));
    expect(values).toEqual([
      { recipient: recipients[0] },
      { note: 'sent without the codec' },
      { recipient: recipients[1] },
    ]);
    expect(payloads[1]).toEqual(wire(plain));

    const rows = await rowsFrom(userAgent);
    expect(rows).toEqual([
      {
        event: 'CODEC_DECODE',
        actor: 'codec-token',
        method: 'POST /codec/decode',
        ip: '127.0.0.1',
        count: 2,
        detail: { outcome: 'decoded', payloads: 3, notEncrypted: 1 },
      },
    ]);
    expect(JSON.stringify(rows)).not.toContain('example.test');
  });

  it("names the operator's session (its log reference, not the cookie), and records refusals", async () => {
    const cookie = cookieOf(await login(password(), '10.0.0.4'));
    const userAgent = `codec-audit-${uniqueRecipient()}`;
    const { body } = await encryptedBody();
    const from = { cookie, 'user-agent': userAgent, 'x-forwarded-for': '10.0.0.4' };
    expect((await post('/codec/decode', body, from)).status).toBe(200);
    const tampered = JSON.parse(body);
    tampered.payloads[0].data = Buffer.from('too short').toString('base64');
    const refused = await post('/codec/decode', JSON.stringify(tampered), from);
    expect(refused.status).toBe(400);
    // Unauthenticated: refused before anything is read, and not a decode.
    expect((await post('/codec/decode', body, { 'user-agent': userAgent })).status).toBe(401);
    // Encoding hands out no plaintext: not audited.
    expect((await post('/codec/encode', body, from)).status).toBe(200);

    const rows = await rowsFrom(userAgent);
    expect(rows.map((r) => [r.actor, r.count, r.detail.outcome])).toEqual([
      [expect.stringMatching(/^operator-session:[0-9a-f]{8}$/), 1, 'decoded'],
      [rows[0]!.actor, 0, 'refused'],
    ]);
    const sessionId = cookie.split('=')[1]!;
    expect(JSON.stringify(rows)).not.toContain(sessionId);
    expect(rows[0]!.ip).toBe('10.0.0.4');
  });
});

describe('CORS', () => {
  const preflight = (origin: string) =>
    fetch(`${base}/codec/decode`, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,x-namespace',
      },
    });

  it('answers the Temporal UI origin exactly, with credentials', async () => {
    const res = await preflight(UI_ORIGIN);
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
    expect(res.headers.get('access-control-allow-credentials')).toBe('true');
    expect(res.headers.get('access-control-allow-methods')).toBe('POST');
    expect(res.headers.get('access-control-allow-headers')).toBe('content-type, x-namespace, authorization');

    const { body } = await encryptedBody();
    const actual = await post('/codec/decode', body, {
      origin: UI_ORIGIN,
      authorization: `Bearer ${token()}`,
    });
    expect(actual.status).toBe(200);
    expect(actual.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
    expect(actual.headers.get('access-control-allow-credentials')).toBe('true');
    // A 401 is readable by the UI too, so it can say "not signed in" instead of a network error.
    const refused = await post('/codec/decode', body, { origin: UI_ORIGIN });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
  });

  it('gives a foreign origin no CORS header at all', async () => {
    const res = await preflight(FOREIGN_ORIGIN);
    expect(res.status).not.toBe(204);
    const { body } = await encryptedBody();
    const actual = await post('/codec/decode', body, {
      origin: FOREIGN_ORIGIN,
      authorization: `Bearer ${token()}`,
    });
    for (const r of [res, actual]) {
      const cors = [...r.headers.keys()].filter((h) => h.startsWith('access-control-'));
      expect(cors).toEqual([]);
    }
    // Another port of the UI's host is another origin.
    const otherPort = await preflight(UI_ORIGIN.replace(/:\d+$/, ':9999'));
    expect(otherPort.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('CORS stays on the codec routes: the delivery pages answer no origin', async () => {
    const res = await fetch(`${base}/healthz`, { headers: { origin: UI_ORIGIN } });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('configuration', () => {
  it('the API refuses to start without the codec secrets, naming the variable', () => {
    const cfg = config();
    const without = (name: keyof Config) => () => codecEndpointSettings({ ...cfg, [name]: undefined });
    expect(without('CODEC_AUTH_TOKEN')).toThrow(ConfigError);
    expect(without('CODEC_AUTH_TOKEN')).toThrow(/CODEC_AUTH_TOKEN: is required/);
    expect(without('OPERATOR_PASSWORD')).toThrow(/OPERATOR_PASSWORD: is required/);
    expect(() => codecEndpointSettings({ ...cfg, CODEC_CORS_ORIGINS: 'not a url' })).toThrow(
      /CODEC_CORS_ORIGINS/,
    );
    expect(
      codecEndpointSettings({ ...cfg, CODEC_CORS_ORIGINS: 'http://a.test:8233/, https://b.test' })
        .corsOrigins,
    ).toEqual(['http://a.test:8233', 'https://b.test']);
    expect(codecEndpointSettings({ ...cfg, CODEC_CORS_ORIGINS: undefined }).corsOrigins).toEqual([UI_ORIGIN]);
  });
});

describe('logs', () => {
  it('hold the login events but no password, token, cookie or payload', () => {
    const all = logLines.join('\n');
    expect(all).toContain('"event":"operator_login"');
    expect(all).toContain('"event":"operator_login_failed"');
    expect(all).toContain('"event":"operator_logout"');
    expect(all).not.toContain(password());
    expect(all).not.toContain(token());
    expect(issued.length).toBeGreaterThan(0);
    for (const id of issued) expect(all).not.toContain(id);
    expect(all).not.toContain('example.test');
  });
});
