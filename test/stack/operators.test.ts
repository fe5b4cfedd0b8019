/**
 * Operators by name (DESIGN 3.6) against the stack's real identity provider: tokens from a real sign-in
 * of the seeded operators, the API's internal listener (codec endpoint, ops API) as the API process runs
 * it, and the ops CLI as an operator runs it. Every refusal is an attack with the attacker's own means:
 * no token, a token of another identity provider, one signed with a key of the attacker's own, one for
 * another audience, an expired one, a role without the right, one operator approving their own request.
 * The audit trail names each operator by subject and name.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import { generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildInternalApp } from '../../api/internal';
import { DEFAULT_OPS_AUDIENCE } from '../../contracts/operators';
import { statusQuery, workflowIdFor } from '../../contracts/order';
import type { VaultPayloadCodec } from '../../lib/codec';
import { repoRoot } from '../../lib/config';
import { createCodec } from '../../lib/temporal';
import { connectVault, type VaultSession } from '../../lib/vault';
import { auditRows } from '../helpers/audit';
import { linkIn, waitForMail } from '../helpers/mailbox';
import { type OwnIdp, operatorToken, stackIdp, startOwnIdp } from '../helpers/operators';
import { settled, waitForStatus } from '../helpers/orders';
import { type Pipeline, startPipeline, uniqueOrderId, uniqueRecipient } from '../helpers/pipeline';

let p: Pipeline;
let vault: VaultSession;
let codec: VaultPayloadCodec;
const tokens: Record<string, string> = {};
const started = new Date();

beforeAll(async () => {
  p = await startPipeline();
  vault = await connectVault('api');
  codec = createCodec(vault.transit);
  for (const user of ['vera', 'sam', 'sofia', 'ada', 'alan']) tokens[user] = await operatorToken(user);
}, 120_000);

afterAll(async () => {
  await p?.stop();
  vault?.close();
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function encryptedBody(recipient = uniqueRecipient()) {
  const [payload] = await codec.encode([defaultPayloadConverter.toPayload({ recipient })]);
  const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
  return {
    recipient,
    body: JSON.stringify({
      payloads: [
        {
          metadata: Object.fromEntries(Object.entries(payload!.metadata!).map(([k, v]) => [k, b64(v)])),
          data: b64(payload!.data!),
        },
      ],
    }),
  };
}

const decode = (base: string, body: string, headers: Record<string, string> = {}) =>
  fetch(`${base}/codec/decode`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });

/** Audit rows written since the test file started, of these events. */
async function rowsSince(events: string[]) {
  const { rows } = await p.db.query<{
    order_id: string | null;
    event: string;
    actor: string;
    detail: Record<string, unknown>;
  }>('SELECT order_id, event, actor, detail FROM audit_log WHERE at >= $1 AND event = ANY($2) ORDER BY id', [
    started,
    events,
  ]);
  return rows;
}

async function deliveredOrder(): Promise<{ orderId: string; email: string }> {
  const orderId = uniqueOrderId('instant');
  const email = uniqueRecipient();
  await p.start({ orderId, userId: 'operators-test', email });
  await waitForStatus(p.client, orderId, settled);
  return { orderId, email };
}

const ops = (path: string, token: string, body: object = {}) =>
  fetch(`${p.internalUrl}/ops${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...bearer(token) },
    body: JSON.stringify(body),
  });

/** `npm run ops` as an operator runs it, against this test's internal listener. */
function opsCli(args: string[], token: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [
        path.join(repoRoot, 'node_modules', 'tsx', 'dist', 'cli.mjs'),
        path.join(repoRoot, 'scripts', 'ops.ts'),
        ...args,
      ],
      {
        env: {
          PATH: process.env.PATH,
          STACK_ENV_FILE: '/dev/null',
          OPS_API_URL: p.internalUrl,
          OPERATOR_TOKEN: token,
        },
        timeout: 60_000,
      },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('the codec endpoint, on the internal listener only', () => {
  it("decodes for a viewer's token and audits the decode with the operator's subject and name", async () => {
    const { recipient, body } = await encryptedBody();
    const res = await decode(p.internalUrl, body, bearer(tokens.vera!));
    expect(res.status).toBe(200);
    const [payload] = ((await res.json()) as { payloads: Array<{ data: string }> }).payloads;
    expect(JSON.parse(Buffer.from(payload!.data, 'base64').toString())).toEqual({ recipient });
    const decodes = (await rowsSince(['CODEC_DECODE'])).filter((r) => r.actor === 'operator:vera');
    expect(decodes.at(-1)?.detail).toMatchObject({
      outcome: 'decoded',
      subject: 'vera',
      name: 'Vera Lind',
      role: 'viewer',
      issuer: stackIdp().issuer,
    });
  });

  it('is not served on the public port, token or not', async () => {
    const { body } = await encryptedBody();
    expect((await decode(p.apiUrl, body, bearer(tokens.ada!))).status).toBe(404);
    expect((await fetch(`${p.apiUrl}/ops/approvals`, { headers: bearer(tokens.ada!) })).status).toBe(404);
  });

  it('refuses no token and a token that is not one (401), decodes nothing, and audits each refusal', async () => {
    const { recipient, body } = await encryptedBody();
    const attempts: Record<string, string>[] = [
      {},
      { authorization: 'Bearer not.a.jwt' },
      { authorization: `Basic ${btoa('ops:ops')}` },
    ];
    for (const headers of attempts) {
      const res = await decode(p.internalUrl, body, headers);
      expect(res.status).toBe(401);
      expect(await res.text()).not.toContain(recipient);
    }
    const refused = (await rowsSince(['OPERATOR_REFUSED'])).filter((r) => r.detail.action === 'decode');
    expect(refused.map((r) => r.detail.reason)).toEqual(
      expect.arrayContaining(['no bearer token', 'not a JWT']),
    );
  });
});

describe('tokens the API refuses', () => {
  let other: OwnIdp;
  beforeAll(async () => {
    other = await startOwnIdp();
  });
  afterAll(() => other?.stop());

  it("another identity provider's real token for the same audience: 401, audited with the issuer it claimed", async () => {
    const token = await other.token('ada');
    const { body } = await encryptedBody();
    expect((await decode(p.internalUrl, body, bearer(token))).status).toBe(401);
    expect((await ops(`/orders/${uniqueOrderId('instant')}/cancel`, token)).status).toBe(401);
    const refused = (await rowsSince(['OPERATOR_REFUSED'])).filter(
      (r) => (r.detail.claimed as { iss?: string } | null)?.iss === other.issuer,
    );
    expect(refused.length).toBeGreaterThanOrEqual(2);
    // Its keys are not the trusted issuer's: refused at the signature, before any claim is believed.
    expect(refused[0]).toMatchObject({
      actor: 'unverified',
      detail: { status: 401, reason: 'signature not from the issuer' },
    });
  });

  it("a token that claims the stack's issuer, signed with the attacker's own key: 401", async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT({
      giftcards_role: 'admin',
      name: 'Ada Brandt',
      preferred_username: 'ada',
    })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'attacker' })
      .setIssuer(stackIdp().issuer)
      .setAudience(DEFAULT_OPS_AUDIENCE)
      .setSubject('ada')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
    const res = await ops(`/orders/${uniqueOrderId('instant')}/purge`, forged);
    expect(res.status).toBe(401);
    const last = (await rowsSince(['OPERATOR_REFUSED'])).at(-1);
    expect(last).toMatchObject({
      actor: 'unverified',
      detail: { reason: 'signature not from the issuer', action: 'purge' },
    });
    // And the classic: HS256 "signed" with nothing but public knowledge.
    const hs = await new SignJWT({ giftcards_role: 'admin' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(stackIdp().issuer)
      .setAudience(DEFAULT_OPS_AUDIENCE)
      .setSubject('ada')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode('x'.repeat(32)));
    expect((await ops(`/orders/${uniqueOrderId('instant')}/purge`, hs)).status).toBe(401);
  });

  it('a token of the trusted issuer for another audience (another resource server): 401', async () => {
    const idp = await startOwnIdp({ audience: 'urn:giftcards:reports' });
    try {
      const app = await buildInternalApp({
        db: p.db,
        operators: { issuer: idp.issuer, audience: DEFAULT_OPS_AUDIENCE },
        codec: { codec, corsOrigins: [] },
      });
      const { body } = await encryptedBody();
      const res = await app.inject({
        method: 'POST',
        url: '/codec/decode',
        headers: { 'content-type': 'application/json', ...bearer(await idp.token('vera')) },
        payload: body,
      });
      expect(res.statusCode).toBe(401);
      expect((await rowsSince(['OPERATOR_REFUSED'])).at(-1)?.detail).toMatchObject({
        reason: 'aud mismatch',
      });
      await app.close();
    } finally {
      await idp.stop();
    }
  });

  it("the issuer rotates its signing key: the new key's tokens pass without a restart, the old key's still do", async () => {
    const idp = await startOwnIdp();
    try {
      // No cooldown between key fetches here: the default 30 s would only make the test wait.
      const app = await buildInternalApp({
        db: p.db,
        operators: { issuer: idp.issuer, audience: DEFAULT_OPS_AUDIENCE, jwksCooldownMs: 0 },
        codec: { codec, corsOrigins: [] },
      });
      const { body } = await encryptedBody();
      const send = (token: string) =>
        app.inject({
          method: 'POST',
          url: '/codec/decode',
          headers: { 'content-type': 'application/json', ...bearer(token) },
          payload: body,
        });
      const kid = (token: string) =>
        JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()).kid;
      const before = await idp.token('vera');
      expect((await send(before)).statusCode).toBe(200);
      await idp.rotate();
      const after = await idp.token('vera');
      expect(kid(after)).not.toBe(kid(before));
      expect((await send(after)).statusCode).toBe(200);
      expect((await send(before)).statusCode).toBe(200);
      await app.close();
    } finally {
      await idp.stop();
    }
  });

  it('an expired token of the trusted issuer: accepted while valid, 401 once expired', async () => {
    const idp = await startOwnIdp({ accessTokenTtlS: 2 });
    try {
      const app = await buildInternalApp({
        db: p.db,
        operators: { issuer: idp.issuer, audience: DEFAULT_OPS_AUDIENCE },
        codec: { codec, corsOrigins: [] },
      });
      const token = await idp.token('vera');
      const { body } = await encryptedBody();
      const send = () =>
        app.inject({
          method: 'POST',
          url: '/codec/decode',
          headers: { 'content-type': 'application/json', ...bearer(token) },
          payload: body,
        });
      expect((await send()).statusCode).toBe(200);
      await new Promise((r) => setTimeout(r, 3_000));
      expect((await send()).statusCode).toBe(401);
      expect((await rowsSince(['OPERATOR_REFUSED'])).at(-1)?.detail).toMatchObject({ reason: 'expired' });
      await app.close();
    } finally {
      await idp.stop();
    }
  });
});

describe('the ops CLI acts as the signed-in operator, by role', () => {
  let orderId: string;
  beforeAll(async () => {
    ({ orderId } = await deliveredOrder());
  }, 60_000);

  it("a viewer's token is refused a resend (403): nothing sent, the refusal audited under the viewer's name", async () => {
    const before = await p.client.workflow.getHandle(workflowIdFor(orderId)).query(statusQuery);
    const run = await opsCli(['resend', '--order-id', orderId], tokens.vera!);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('refused (HTTP 403): the role viewer may not resend');
    const after = await p.client.workflow.getHandle(workflowIdFor(orderId)).query(statusQuery);
    expect(after.deliveries).toEqual(before.deliveries);
    expect((await auditRows(p.db, orderId)).at(-1)).toMatchObject({
      event: 'OPERATOR_REFUSED',
      actor: 'operator:vera',
      detail: { action: 'resend', status: 403, subject: 'vera', name: 'Vera Lind', role: 'viewer' },
    });
  });

  it('support extends retention as itself: the order records the verified name, not a typed one', async () => {
    const run = await opsCli(['extend-retention', '--order-id', orderId, '--by', '1h'], tokens.sam!);
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain(`Retention of ${orderId} extended by 1h.`);
    // The old free-text flag is gone: a name on the command line changes nothing.
    expect(
      (
        await opsCli(
          ['extend-retention', '--order-id', orderId, '--by', '1h', '--operator', 'ada'],
          tokens.sam!,
        )
      ).code,
    ).toBe(1);
    const deadline = Date.now() + 20_000;
    let rows = await auditRows(p.db, orderId);
    while (!rows.some((r) => r.event === 'RETENTION_EXTENDED') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      rows = await auditRows(p.db, orderId);
    }
    expect(rows.find((r) => r.event === 'RETENTION_EXTENDED')?.actor).toBe('operator:sam');
    expect(rows.find((r) => r.event === 'OPERATOR_ACTION')).toMatchObject({
      actor: 'operator:sam',
      detail: { action: 'extend-retention', name: 'Sam Okafor', subject: 'sam' },
    });
  });

  it('support may not cancel (admin only); an admin may', async () => {
    expect((await ops(`/orders/${orderId}/cancel`, tokens.sofia!)).status).toBe(403);
    const { orderId: other } = await deliveredOrder();
    const res = await ops(`/orders/${other}/cancel`, tokens.alan!, { reason: 'customer asked' });
    expect(res.status).toBe(200);
    expect((await auditRows(p.db, other)).find((r) => r.event === 'OPERATOR_ACTION')).toMatchObject({
      actor: 'operator:alan',
      detail: { action: 'cancel', name: 'Alan Reyes' },
    });
  }, 60_000);
});

describe('dual control', () => {
  it('re-delivering cards a link revealed: one operator files, the same one cannot approve, a second does', async () => {
    const { orderId, email } = await deliveredOrder();
    const [mail] = await waitForMail(email);
    expect((await fetch(`${linkIn(mail!)}/reveal`, { method: 'POST' })).status).toBe(200);
    await waitForStatus(p.client, orderId, (s) => s.deliveries.some((d) => d.retrieved));

    const filed = await opsCli(['resend', '--order-id', orderId], tokens.sam!);
    expect(filed.code).toBe(0);
    const approvalId = /request id: ([0-9a-f-]{36})/.exec(filed.stdout)?.[1];
    expect(approvalId).toBeDefined();
    const unchanged = await p.client.workflow.getHandle(workflowIdFor(orderId)).query(statusQuery);
    expect(unchanged.deliveries).toHaveLength(1);

    // The same person, with a fresh token of their own: still one person.
    const own = await opsCli(['approve', approvalId!], await operatorToken('sam'));
    expect(own.code).toBe(1);
    expect(own.stderr).toContain('you cannot approve your own');
    // A viewer may not approve at all.
    expect((await opsCli(['approve', approvalId!], tokens.vera!)).stderr).toContain('HTTP 403');
    expect((await opsCli(['approvals'], tokens.sofia!)).stdout).toContain(approvalId!);

    const second = await opsCli(['approve', approvalId!], tokens.sofia!);
    expect(second.stderr).toBe('');
    expect(second.stdout).toMatch(
      /A new link for 3 card\(s\) was sent \(re-delivered by operator:sam:approved-by:sofia\)/,
    );
    await waitForMail(email, 2);
    // Once: approving again does nothing.
    expect((await opsCli(['approve', approvalId!], tokens.ada!)).stderr).toContain('already approved');

    const trail = await auditRows(p.db, orderId);
    expect(trail.find((r) => r.event === 'APPROVAL_REQUESTED')).toMatchObject({
      actor: 'operator:sam',
      detail: { approvalId, name: 'Sam Okafor' },
    });
    expect(trail.find((r) => r.event === 'APPROVAL_GRANTED')).toMatchObject({
      actor: 'operator:sofia',
      detail: { approvalId, name: 'Sofia Marin', requestedBy: 'operator:sam', requestedByName: 'Sam Okafor' },
    });
    expect(trail.find((r) => r.event === 'RESEND_REQUESTED')).toMatchObject({
      actor: 'operator:sofia',
      detail: { outcome: 'sent', requestedBy: 'operator:sam', approvalId },
    });
    expect(trail.filter((r) => r.event === 'DELIVERED').at(-1)?.detail).toMatchObject({
      requestedBy: 'operator:sam:approved-by:sofia',
    });
  }, 90_000);

  it('purging cards the customer has not retrieved: an admin files, a support cannot approve, a second admin does', async () => {
    const { orderId } = await deliveredOrder();
    const filed = await ops(`/orders/${orderId}/purge`, tokens.ada!);
    expect(filed.status).toBe(202);
    const { approvalId } = (await filed.json()) as { approvalId: string };
    expect((await ops(`/approvals/${approvalId}/approve`, tokens.sofia!)).status).toBe(403);
    const approved = await ops(`/approvals/${approvalId}/approve`, tokens.alan!);
    expect(approved.status).toBe(200);
    await waitForStatus(p.client, orderId, (s) => s.phase === 'purged');
    const trail = await auditRows(p.db, orderId);
    expect(trail.find((r) => r.event === 'OPERATOR_ACTION')).toMatchObject({
      actor: 'operator:alan',
      detail: { action: 'purge', requestedBy: 'operator:ada', requestedByName: 'Ada Brandt', approvalId },
    });
    expect(trail.some((r) => r.event === 'PURGED')).toBe(true);
  }, 90_000);

  it('the database itself refuses an approval by the person who asked', async () => {
    const id = randomUUID();
    await p.db.query(
      `INSERT INTO operator_approvals (id, order_id, action, requested_subject, requested_username, requested_name, expires_at)
       VALUES ($1, 'o', 'purge', 'ada', 'ada', 'Ada Brandt', now() + interval '1 hour')`,
      [id],
    );
    await expect(
      p.db.query(
        `UPDATE operator_approvals SET approved_subject = 'ada', approved_username = 'ada', approved_name = 'x', approved_at = now() WHERE id = $1`,
        [id],
      ),
    ).rejects.toThrow(/operator_approvals_two_people/);
  });
});
