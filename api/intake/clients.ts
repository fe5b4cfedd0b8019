/**
 * Intake callers and their secrets. Requests are signed with the scheme of domain/signing.ts; a caller may
 * be listed more than once in INTAKE_CLIENTS: each of its secrets is accepted, so a secret can be rotated
 * without a moment where the caller's requests fail.
 */
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
