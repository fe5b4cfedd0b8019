/** Starting an order: the request is validated before anything starts, and errors name fields, never values. */
import { describe, expect, it } from 'vitest';
import { buildOrderInput, OrderValidationError } from '../../domain/orders';
import { DEFAULT_POLICY } from './helpers/stub-order';

const valid = { orderId: 'ord-1', userId: 'u-1', email: 'someone@example.test' };

describe('buildOrderInput', () => {
  it('fills the policy from the defaults and keeps the email only as the recipient', () => {
    const input = buildOrderInput({ ...valid, policy: { deliverPartial: true } }, DEFAULT_POLICY);
    expect(input).toEqual({
      orderId: 'ord-1',
      userId: 'u-1',
      recipient: 'someone@example.test',
      policy: { ...DEFAULT_POLICY, deliverPartial: true },
    });
  });

  it('names every bad field and never echoes a value', () => {
    const secret = 'not-an-email-but-private@@';
    let error: unknown;
    try {
      buildOrderInput(
        { orderId: '../x', email: secret, policy: { linkTtl: '90d', surprise: 1 } },
        DEFAULT_POLICY,
      );
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(OrderValidationError);
    const message = (error as Error).message;
    for (const field of ['orderId', 'userId', 'email', 'policy.linkTtl', 'policy'])
      expect(message).toContain(field);
    expect(message).toContain('must be between 1s and 30d');
    expect(message).not.toContain(secret);
    expect(message).not.toContain('../x');
  });

  it('refuses durations outside their bounds and accepts the bounds themselves', () => {
    expect(() => buildOrderInput({ ...valid, policy: { retention: '401d' } }, DEFAULT_POLICY)).toThrow(
      /policy\.retention: must be between 1s and 400d/,
    );
    expect(() =>
      buildOrderInput({ ...valid, policy: { pollInitialInterval: '50ms' } }, DEFAULT_POLICY),
    ).toThrow(/pollInitialInterval/);
    expect(
      buildOrderInput({ ...valid, policy: { retention: '400d', linkTtl: '1s' } }, DEFAULT_POLICY).policy,
    ).toMatchObject({ retention: '400d', linkTtl: '1s' });
  });

  it('carries the customer locale, canonicalised, and refuses a language without messages', () => {
    expect(buildOrderInput({ ...valid, locale: 'DE-ch' }, DEFAULT_POLICY).locale).toBe('de-CH');
    expect('locale' in buildOrderInput(valid, DEFAULT_POLICY)).toBe(false);
    expect(() => buildOrderInput({ ...valid, locale: 'pt-BR' }, DEFAULT_POLICY)).toThrow(/locale/);
    expect(() => buildOrderInput({ ...valid, locale: 42 }, DEFAULT_POLICY)).toThrow(/locale/);
  });
});
