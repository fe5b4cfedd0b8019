/** Starting an order: the request is validated before anything starts, and errors name fields, never values. */
import { describe, expect, it } from 'vitest';
import { POLL_BOUNDS, pollsOverDeadline } from '../../domain/order-fences';
import { buildOrderInput, checkOrderRequest, OrderValidationError } from '../../domain/orders';
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
      buildOrderInput({ ...valid, policy: { pollInitialInterval: '50ms' } }, DEFAULT_POLICY, {
        pollBounds: { floor: '10ms', maxPolls: 1e9 },
      }),
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

  it("bounds a caller's polling: a floor under each interval, a budget of polls over the deadline", () => {
    // The issue's attack: 100 ms polls for 30 days.
    expect(() =>
      buildOrderInput(
        { ...valid, policy: { pollInitialInterval: '100ms', pollMaxInterval: '100ms', deadline: '30d' } },
        DEFAULT_POLICY,
      ),
    ).toThrow(
      /policy\.pollInitialInterval: must be at least 5s; policy\.pollMaxInterval: must be at least 5s/,
    );
    // At the floor but for 30 days: ~540,000 polls, far over the budget; the error says what would fit.
    const check = checkOrderRequest(
      { ...valid, policy: { pollInitialInterval: '5s', pollMaxInterval: '5s', deadline: '30d' } },
      DEFAULT_POLICY,
    );
    expect(check).toMatchObject({ ok: false, fenced: true, invalid: ['policy.pollMaxInterval'] });
    expect(check.ok || check.problems[0]).toMatch(
      /allows about 648001 provider polls over the order's deadline of 30d, more than the 2000 an order may make: raise it to at least 28m/,
    );
    // What the error said fits does fit, and the defaults (24 h deadline, 5 s to 5 min) are well within.
    expect(
      buildOrderInput({ ...valid, policy: { pollMaxInterval: '28m', deadline: '30d' } }, DEFAULT_POLICY)
        .policy,
    ).toMatchObject({ pollMaxInterval: '28m', deadline: '30d' });
    expect(pollsOverDeadline(DEFAULT_POLICY)).toBeLessThan(POLL_BOUNDS.maxPolls / 4);
    // A deadline from the defaults counts too: a caller cannot shorten its interval against a long default.
    expect(() =>
      buildOrderInput(
        { ...valid, policy: { pollMaxInterval: '5s' } },
        { ...DEFAULT_POLICY, deadline: '30d' },
      ),
    ).toThrow(/policy\.pollMaxInterval: allows about/);
  });

  it("counts the polls of a backoff that doubles up to its maximum, at the jitter's low end", () => {
    // 1 s doubling to 8 s (0.8×: 0.8, 1.6, 3.2, then 6.4 s steps) over 20 s: polls at 0, 0.8, 2.4, 5.6, 12, 18.4.
    expect(pollsOverDeadline({ pollInitialInterval: '1s', pollMaxInterval: '8s', deadline: '20s' })).toBe(6);
    expect(pollsOverDeadline({ pollInitialInterval: '1h', pollMaxInterval: '1h', deadline: '1s' })).toBe(1);
  });

  it('keeps a caller to its order-id prefix, saying which, and never echoing the order id', () => {
    const opts = { caller: 'shop', orderIdPrefix: 'shop-' };
    expect(buildOrderInput({ ...valid, orderId: 'shop-42' }, DEFAULT_POLICY, opts)).toMatchObject({
      orderId: 'shop-42',
      caller: 'shop',
    });
    const check = checkOrderRequest({ ...valid, orderId: 'checkout-42' }, DEFAULT_POLICY, opts);
    expect(check).toEqual({
      ok: false,
      fenced: true,
      invalid: ['orderId'],
      problems: ['orderId: must start with this caller\'s order-id prefix "shop-"'],
    });
    // A caller without a prefix (a single caller, the CLI) is not fenced by one.
    expect(buildOrderInput({ ...valid, orderId: 'checkout-42' }, DEFAULT_POLICY).orderId).toBe('checkout-42');
  });
});
