/**
 * Who asked, as a signal or update says it, reaches the append-only audit trail only when it is a plain
 * name: free text (an address, a code-shaped "name") is recorded as "operator".
 */
import { describe, expect, it } from 'vitest';
import { auditActor } from '../../activities/lifecycle';

describe('auditActor', () => {
  it('keeps the names the ops CLI and the intake send', () => {
    expect(auditActor('operator:ann')).toBe('operator:ann');
    expect(auditActor('caller:checkout')).toBe('caller:checkout');
    expect(auditActor(undefined)).toBe('operator');
  });

  it.each([
    'ABCD-EFGH-JKMN-PQRS',
    'operator:ABCD-EFGH-JKMN-PQRS',
    'operator:ABCDEFGHJKMNPQRS',
    'customer@example.test',
    'operator ann',
  ])('records %j as "operator"', (text) => {
    expect(auditActor(text)).toBe('operator');
  });
});
