/**
 * Signed intake requests: `X-Intake-Signature: v1=<hex HMAC-SHA256(secret, timestamp + "." + rawBody)>`.
 * The signature covers the exact bytes received (never a re-serialised body) and the timestamp, which must
 * fall inside the window; within the window the replay log refuses a signature seen before.
 *
 * A caller may be listed more than once in INTAKE_CLIENTS: each of its secrets is accepted, so a secret can
 * be rotated without a moment where the caller's requests fail.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export type IntakeClients = ReadonlyMap<string, readonly string[]>;

/** "caller:secret,caller2:secret2" (the format config.ts validates) → caller → its secrets. */
export function parseIntakeClients(spec: string): IntakeClients {
  const clients = new Map<string, string[]>();
  for (const entry of spec.split(',')) {
    const at = entry.indexOf(':');
    const caller = entry.slice(0, at).trim();
    const secret = entry.slice(at + 1).trim();
    if (at <= 0 || secret.length < 32)
      throw new Error('INTAKE_CLIENTS: expected "caller:secret" with 32+ character secrets');
    clients.set(caller, [...(clients.get(caller) ?? []), secret]);
  }
  return clients;
}

export function intakeSignature(secret: string, timestamp: string, rawBody: Buffer | string): Buffer {
  return createHmac('sha256', secret).update(`${timestamp}.`, 'utf8').update(rawBody).digest();
}

/** The header value a caller sends; the reference for callers and for tests. */
export function signIntakeRequest(secret: string, timestamp: string, rawBody: Buffer | string): string {
  return `v1=${intakeSignature(secret, timestamp, rawBody).toString('hex')}`;
}

const SIGNATURE_HEADER = /^v1=([0-9a-fA-F]{64})$/;
const TIMESTAMP_HEADER = /^[0-9]{1,12}$/;

/** Unix seconds from the header, or undefined when malformed or outside the window (either way). */
export function freshTimestamp(
  header: string | undefined,
  windowMs: number,
  nowMs = Date.now(),
): string | undefined {
  if (!header || !TIMESTAMP_HEADER.test(header)) return undefined;
  return Math.abs(nowMs - Number(header) * 1000) <= windowMs ? header : undefined;
}

/**
 * The presented signature's bytes when it matches one of the caller's secrets, else undefined. Every secret
 * is tried (no early exit), and the comparison is constant-time.
 */
export function verifyIntakeSignature(
  secrets: readonly string[],
  timestamp: string,
  rawBody: Buffer,
  header: string | undefined,
): Buffer | undefined {
  const hex = header ? SIGNATURE_HEADER.exec(header.trim())?.[1] : undefined;
  if (!hex) return undefined;
  const presented = Buffer.from(hex, 'hex');
  let valid = false;
  for (const secret of secrets) {
    if (timingSafeEqual(intakeSignature(secret, timestamp, rawBody), presented)) valid = true;
  }
  return valid ? presented : undefined;
}
