/**
 * Operators by name (DESIGN 3.6): the roles the identity provider puts in an operator's access token and
 * what each lets its holder do through the codec endpoint and the ops API. One table, read by the identity
 * provider (which role a seeded operator has), the API (what a verified token may do) and the docs.
 */
const OPERATOR_ROLES = ['viewer', 'support', 'admin'] as const;
export type OperatorRole = (typeof OPERATOR_ROLES)[number];

export type OperatorAction =
  /** Read decoded payloads (the Temporal UI, `temporal workflow show` through the codec endpoint). */
  | 'decode'
  /** List an order's webhook events. */
  | 'webhooks'
  | 'resend'
  | 'extend-retention'
  | 'replay-webhook'
  /** Second operator on a request that needs two (re-delivering revealed cards, purging undelivered ones). */
  | 'approve'
  | 'cancel'
  | 'purge';

const VIEWER: readonly OperatorAction[] = ['decode', 'webhooks'];
const SUPPORT: readonly OperatorAction[] = [
  ...VIEWER,
  'resend',
  'extend-retention',
  'replay-webhook',
  'approve',
];
const ADMIN: readonly OperatorAction[] = [...SUPPORT, 'cancel', 'purge'];

const ROLE_ACTIONS: Readonly<Record<OperatorRole, readonly OperatorAction[]>> = {
  viewer: VIEWER,
  support: SUPPORT,
  admin: ADMIN,
};

export function isOperatorRole(value: unknown): value is OperatorRole {
  return typeof value === 'string' && (OPERATOR_ROLES as readonly string[]).includes(value);
}

export function mayAct(role: OperatorRole, action: OperatorAction): boolean {
  return ROLE_ACTIONS[role].includes(action);
}

/** The access token's claim that carries the role (the name is OIDC's `name`, the login `preferred_username`). */
export const ROLE_CLAIM = 'giftcards_role';

/** The scope the ops API's tokens are asked for; the audience is the resource (OPERATOR_TOKEN_AUDIENCE). */
export const OPS_SCOPE = 'giftcards:ops';

/** The local stack's audience for operators' tokens: the internal codec endpoint and ops API. */
export const DEFAULT_OPS_AUDIENCE = 'urn:giftcards:ops';

/** A verified operator: who acts, as the audit trail and the order's workflow see it. */
export interface OperatorIdentity {
  /** The token's `iss` and `sub`: stable, unique per person. */
  issuer: string;
  subject: string;
  /** The login name (`preferred_username`, else the subject): the actor `operator:<username>`. */
  username: string;
  /** The person's display name (`name`). */
  name: string;
  role: OperatorRole;
}

/** The audit trail's and the workflow's actor for an operator: never a free-text name, always a verified one. */
export function operatorActor(op: Pick<OperatorIdentity, 'username'>): string {
  return `operator:${op.username}`;
}
