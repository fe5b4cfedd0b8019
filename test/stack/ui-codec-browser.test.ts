/**
 * DESIGN 3.6 in a real browser (the system's headless Chromium, never a downloaded one): an operator opens
 * an order in the Temporal UI, signs in at the stack's identity provider (the UI server's OIDC login), and
 * sees the decoded input: the UI passes the operator's own access token to the codec endpoint
 * (`codec.passAccessToken`), which verifies it and audits the decode under the operator's name.
 *
 * The dev server's built-in UI takes no OIDC settings, so the test runs the standalone Temporal UI server
 * (the cluster profile's, built by scripts/build-temporal.sh into .tools/) itself, on TEST_UI_PORT, in
 * front of the stack's Temporal, with this checkout's codec endpoint (the test pipeline's internal
 * listener). The identity provider lists that port's callback for the UI's client (scripts/stack.sh).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { workflowIdFor } from '../../contracts/order';
import { config, repoRoot, temporalTlsEnabled } from '../../lib/config';
import { localPassword } from '../../scripts/operator-token';
import { launchChromium } from '../helpers/browser';
import { stackIdp } from '../helpers/operators';
import { settled, waitForStatus } from '../helpers/orders';
import { type Pipeline, startPipeline, uniqueOrderId, uniqueRecipient } from '../helpers/pipeline';

const SHOTS = path.join(repoRoot, '.data', 'test');

let p: Pipeline;
let browser: Browser;
let ui: ChildProcess;
let uiHome: string;
let uiUrl: string;
const uiLog: string[] = [];

/** The UI server binary: TEMPORAL_UI_SERVER_BIN, else the one scripts/build-temporal.sh builds. */
function uiServerBinary(): string {
  const version = /TEMPORAL_UI_VERSION=(\S+)/.exec(
    readFileSync(path.join(repoRoot, 'scripts', 'temporal-versions.sh'), 'utf8'),
  )?.[1];
  const bin =
    process.env.TEMPORAL_UI_SERVER_BIN ??
    path.join(repoRoot, '.tools', 'temporal-ui', version ?? 'unknown', 'temporal-ui-server');
  if (!existsSync(bin)) {
    throw new Error(
      `${bin} is missing: the Temporal UI server (the only UI that takes OIDC settings) is built by \`bash scripts/build-temporal.sh\``,
    );
  }
  return bin;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port, timeout: 1000 });
    socket.once('connect', () => resolve(socket.end() && true));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => resolve(socket.destroy() && false));
  });
}

/** The UI server's configuration: the stack's Temporal, OIDC at the stack's identity provider. */
function uiConfig(port: number, codecEndpoint: string): string {
  const cfg = config();
  const { issuer } = stackIdp();
  const secret = process.env.IDP_UI_CLIENT_SECRET;
  if (!secret) throw new Error('IDP_UI_CLIENT_SECRET is not in the test env file (stack.sh up writes it)');
  const tls = temporalTlsEnabled(cfg)
    ? `tls:
  caFile: ${cfg.TEMPORAL_TLS_CA_FILE}
  certFile: ${cfg.TEMPORAL_TLS_CERT_FILE}
  keyFile: ${cfg.TEMPORAL_TLS_KEY_FILE}
  serverName: ${cfg.TEMPORAL_TLS_SERVER_NAME}
  enableHostVerification: true
`
    : '';
  return `temporalGrpcAddress: ${cfg.TEMPORAL_ADDRESS}
host: 127.0.0.1
port: ${port}
enableUi: true
defaultNamespace: ${cfg.TEMPORAL_NAMESPACE}
disableNewsFetch: true
cors:
  cookieInsecure: true
  allowOrigins: [http://127.0.0.1:${port}]
${tls}auth:
  enabled: true
  providers:
    - label: Operator sign-in
      type: oidc
      providerUrl: ${issuer}
      issuerUrl: ${issuer}
      clientId: temporal-ui
      clientSecret: ${secret}
      callbackUrl: http://127.0.0.1:${port}/auth/sso/callback
      scopes: [openid, profile, giftcards:ops]
codec:
  endpoint: ${codecEndpoint}
  passAccessToken: true
`;
}

beforeAll(async () => {
  const port = Number(process.env.TEST_UI_PORT ?? 8234);
  uiUrl = `http://127.0.0.1:${port}`;
  const bin = uiServerBinary();
  if (await portOpen(port))
    throw new Error(`port ${port} (TEST_UI_PORT) is taken: another run of this test?`);
  uiHome = mkdtempSync(path.join(tmpdir(), 'temporal-ui-'));
  mkdirSync(path.join(uiHome, 'config'));
  // The UI passes the operator's token to an https codec endpoint only (over http it does not call it at
  // all): the test's internal listener gets a certificate of its own, which this test's browser accepts.
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      path.join(uiHome, 'internal.key'),
      '-out',
      path.join(uiHome, 'internal.crt'),
    ],
    { stdio: 'ignore' },
  );
  p = await startPipeline({
    codecCorsOrigins: [uiUrl],
    internalTls: {
      key: readFileSync(path.join(uiHome, 'internal.key')),
      cert: readFileSync(path.join(uiHome, 'internal.crt')),
    },
  });
  writeFileSync(path.join(uiHome, 'config', 'test.yaml'), uiConfig(port, `${p.internalUrl}/codec`), {
    mode: 0o600,
  });
  ui = spawn(bin, ['--root', uiHome, '--config', 'config', '--env', 'test', 'start'], {
    env: { PATH: process.env.PATH },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const s of [ui.stdout!, ui.stderr!]) s.on('data', (d: Buffer) => uiLog.push(d.toString()));
  const until = Date.now() + 30_000;
  while (!(await portOpen(port))) {
    if (ui.exitCode !== null || Date.now() > until)
      throw new Error(`the Temporal UI server did not start:\n${uiLog.join('')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  browser = await launchChromium();
  mkdirSync(SHOTS, { recursive: true });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  ui?.kill('SIGTERM');
  await p?.stop();
  if (uiHome) rmSync(uiHome, { recursive: true, force: true });
});

/** What the operator sees (rendered text, not hidden DOM nodes). */
function visibleText(page: Page): Promise<string> {
  // biome-ignore lint/performance/useDomNodeTextContent: the rendered text is the point, hidden nodes are not
  return page.evaluate(() => document.body.innerText);
}

it('an operator signs in at the identity provider, opens an order in the UI and sees its decoded input', async () => {
  const orderId = uniqueOrderId('instant');
  const email = uniqueRecipient();
  await p.start({ orderId, userId: 'ui-operator-test', email });
  await waitForStatus(p.client, orderId, settled);
  const workflowId = workflowIdFor(orderId);
  const workflowPage = `${uiUrl}/namespaces/${config().TEMPORAL_NAMESPACE}/workflows/${workflowId}`;

  const context = await browser.newContext({
    viewport: { width: 1400, height: 1000 },
    ignoreHTTPSErrors: true,
  });
  const page = await context.newPage();
  // The UI's sign-in: to the identity provider, and back to the order's page.
  await page.goto(`${uiUrl}/auth/sso?returnUrl=${encodeURIComponent(workflowPage)}`);
  await page.locator('#username').waitFor();
  expect(page.url().startsWith(stackIdp().issuer)).toBe(true);
  await page.screenshot({ path: path.join(SHOTS, 'ui-oidc-1-sign-in.png'), fullPage: true });

  // A wrong password first: the identity provider says no and the UI gets nothing.
  await page.fill('#username', 'vera');
  await page.fill('#password', 'not-veras-password');
  await page.click('#sign-in');
  await page.locator('#error').waitFor();
  expect(await visibleText(page)).toContain('Wrong user name or password');

  const decoded = page.waitForResponse((r) => r.url().startsWith(`${p.internalUrl}/codec/decode`), {
    timeout: 60_000,
  });
  await page.fill('#username', 'vera');
  await page.fill('#password', localPassword(stackIdp().stateDir, 'vera'));
  await page.click('#sign-in');
  const codecCall = await decoded.catch(async (err: Error) => {
    await page.screenshot({ path: path.join(SHOTS, 'ui-oidc-failed.png'), fullPage: true });
    throw new Error(`the UI never called the codec endpoint (at ${page.url()}): ${err.message}`);
  });
  expect(codecCall.status()).toBe(200);
  // The operator's own token, from the identity provider, not a shared secret.
  const auth = await codecCall.request().headerValue('authorization');
  expect(auth).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
  await page.waitForFunction(
    // biome-ignore lint/performance/useDomNodeTextContent: as above
    (text) => document.body.innerText.includes(text),
    email,
    { timeout: 30_000 },
  );
  await page.screenshot({ path: path.join(SHOTS, 'ui-oidc-2-decoded.png'), fullPage: true });
  const shown = await visibleText(page);
  expect(shown).toContain(workflowId);
  expect(shown).toMatch(new RegExp(`"orderId":\\s*"${orderId}"`));

  // The decode is audited under the operator's name, from the browser.
  const { rows } = await p.db.query<{ actor: string; detail: Record<string, unknown>; user_agent: string }>(
    `SELECT actor, detail, user_agent FROM audit_log WHERE event = 'CODEC_DECODE' AND at > now() - interval '2 minutes'
      AND actor = 'operator:vera' ORDER BY id DESC LIMIT 1`,
  );
  expect(rows[0]).toMatchObject({ detail: { name: 'Vera Lind', subject: 'vera', outcome: 'decoded' } });
  expect(rows[0]!.user_agent).toMatch(/Chrom/);
  await context.close();
}, 180_000);

it('without signing in, the UI does not reach the codec endpoint with any credential', async () => {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  const calls: Array<string | null> = [];
  page.on('request', (r) => {
    if (r.url().startsWith(`${p.internalUrl}/codec`)) calls.push(r.headers().authorization ?? null);
  });
  await page.goto(`${uiUrl}/namespaces/${config().TEMPORAL_NAMESPACE}/workflows`);
  await page.waitForLoadState('networkidle');
  expect(calls.filter((c) => c !== null)).toEqual([]);
  // And the endpoint itself refuses a request without a token (what a browser without a sign-in sends).
  const res = await context.request.post(`${p.internalUrl}/codec/decode`, {
    headers: { 'content-type': 'application/json', origin: uiUrl },
    data: '{"payloads":[]}',
  });
  expect(res.status()).toBe(401);
  expect(res.headers()['access-control-allow-origin']).toBe(uiUrl);
  await context.close();
}, 60_000);
