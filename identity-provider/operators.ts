/**
 * The local stack's operators: five people in the three roles, so that dual control has a second support
 * and a second admin to ask. Their passwords are generated once into the identity provider's state folder
 * (.data/secrets/identity-provider, never committed); a production deployment uses its own directory.
 */
import type { OperatorRole } from '../contracts/operators';

export interface SeededOperator {
  /** The login name, also the token's `sub` and `preferred_username`. */
  username: string;
  name: string;
  role: OperatorRole;
}

export const SEEDED_OPERATORS: readonly SeededOperator[] = [
  { username: 'vera', name: 'Vera Lind', role: 'viewer' },
  { username: 'sam', name: 'Sam Okafor', role: 'support' },
  { username: 'sofia', name: 'Sofia Marin', role: 'support' },
  { username: 'ada', name: 'Ada Brandt', role: 'admin' },
  { username: 'alan', name: 'Alan Reyes', role: 'admin' },
];

export function seededOperator(username: string): SeededOperator | undefined {
  return SEEDED_OPERATORS.find((o) => o.username === username);
}
