/**
 * Logs never carry a secret (DESIGN 3.1): known fields are censored by path, and anything secret-shaped that
 * reaches a line by another route (a message, an error, a URL, an unknown field) is masked by pattern.
 */
import { describe, expect, it } from 'vitest';
import { createLogger, scrub } from '../../lib/logger';

const CODE = 'ABCD-EFGH-JKMN-PQRS';
// A delivery token is 32 random bytes in base64url: 43 characters.
const TOKEN = 'q3Vx9_Lm2-Zt8YpR4sWn7Kc1Hb6Jd0Fg5Ea3Ui9Oo2P';

function capture() {
  const lines: string[] = [];
  const log = createLogger(
    { level: 'trace', name: 'logger-test' },
    { write: (line: string) => lines.push(line) },
  );
  return {
    log,
    text: () => lines.join(''),
    last: () => JSON.parse(lines.at(-1) ?? 'null'),
  };
}

type Log = ReturnType<typeof createLogger>;

describe('card codes are redacted wherever they appear', () => {
  it.each<[string, (log: Log) => void]>([
    ['a top-level field', (log) => log.info({ note: CODE }, 'x')],
    ['a nested field', (log) => log.info({ a: { b: { c: { d: [CODE] } } } }, 'x')],
    ['an error message', (log) => log.error({ err: new Error(`bad ${CODE}`) }, 'x')],
    ['the message', (log) => log.warn(`card ${CODE} failed`)],
    ['a formatted message', (log) => log.info('card %s failed', CODE)],
    ['a bare error', (log) => log.error(new Error(`code ${CODE}`))],
  ])('in %s', (_where, write) => {
    const out = capture();
    write(out.log);
    expect(out.text()).not.toContain(CODE);
    expect(out.text()).not.toContain('ABCD');
    expect(out.text()).toContain('[REDACTED:code]');
  });

  it('whole, when a four-letter word comes before it', () => {
    const out = capture();
    out.log.info({ a: `card ${CODE}`, b: 'gift ABCD EFGH JKMN PQRS' }, 'x');
    expect(out.last()).toMatchObject({ a: '[REDACTED:code]', b: '[REDACTED:code]' });
  });

  it('without separators, or with spaces', () => {
    const out = capture();
    out.log.info({ a: 'ABCDEFGHJKMNPQRS', b: 'ABCD EFGH JKMN PQRS' }, 'x');
    expect(out.last()).toMatchObject({ a: '[REDACTED:code]', b: '[REDACTED:code]' });
  });
});

describe('known secret fields are censored by name', () => {
  it('at the top level', () => {
    const out = capture();
    out.log.info({ value: 'v-123', serial: '123456789', token: 'tok-1', recipient: 'Alice' }, 'x');
    expect(out.last()).toMatchObject({
      value: '[REDACTED]',
      serial: '[REDACTED]',
      token: '[REDACTED]',
      recipient: '[REDACTED]',
    });
    expect(out.text()).not.toMatch(/v-123|123456789|tok-1|Alice/);
  });

  it('nested one and two levels down, and whole card lists', () => {
    const out = capture();
    out.log.info(
      {
        card: { value: 'v-123', serial: '123456789' },
        order: { delivery: { token: 'tok-1', recipient: 'Alice' } },
        cards: [{ value: 'v-456', serial: '987654321' }],
      },
      'x',
    );
    expect(out.last()).toMatchObject({
      card: { value: '[REDACTED]', serial: '[REDACTED]' },
      order: { delivery: { token: '[REDACTED]', recipient: '[REDACTED]' } },
      cards: '[REDACTED]',
    });
    expect(out.text()).not.toMatch(/v-123|v-456|123456789|987654321|tok-1|Alice/);
  });
});

describe('secret fields are censored by name at any depth', () => {
  /** `leaf` wrapped `depth` levels down: { l1: { l2: … { leaf } } }. */
  const nested = (depth: number, leaf: Record<string, unknown>): Record<string, unknown> => {
    let obj: Record<string, unknown> = leaf;
    for (let i = depth; i >= 1; i--) obj = { [`l${i}`]: obj };
    return obj;
  };
  const at = (line: Record<string, unknown>, depth: number) => {
    let obj = line;
    for (let i = 1; i <= depth; i++) obj = obj[`l${i}`] as Record<string, unknown>;
    return obj;
  };

  it.each([4, 8, 12, 25])(
    '%i levels down, in objects and arrays, whatever the case or separator',
    (depth) => {
      const out = capture();
      const leaf = {
        serial: '762207904822',
        Value: 'abcd efgh jkmn pqrs',
        card_code: 'zzzz',
        token: 'tok-secret-1',
        'X-Api-Key': 'key-secret-2',
        recipient: 'Alice Doe',
        cards: [{ value: 'v-1', serial: '111' }],
        list: [{ secretId: 'sid-secret-3' }, { pin: '4321' }],
        keep: 'ordinary',
        count: 3,
      };
      out.log.info(nested(depth, leaf), 'deep');
      const got = at(out.last(), depth);
      expect(got).toEqual({
        serial: '[REDACTED]',
        Value: '[REDACTED]',
        card_code: '[REDACTED]',
        token: '[REDACTED]',
        'X-Api-Key': '[REDACTED]',
        recipient: '[REDACTED]',
        cards: '[REDACTED]',
        list: [{ secretId: '[REDACTED]' }, { pin: '[REDACTED]' }],
        keep: 'ordinary',
        count: 3,
      });
      expect(out.text()).not.toMatch(/762207904822|abcd efgh|tok-secret|key-secret|Alice|sid-secret|4321/);
    },
  );

  it("in a child logger's bindings and in an error's own fields, deep down", () => {
    const out = capture();
    const err = Object.assign(new Error('provider answered 500'), {
      response: nested(9, { body: { cards: [{ value: 'v-9', serial: '999999999' }], code: 'c0de-1' } }),
    });
    out.log.child({ ctx: nested(10, { email: 'bob@example.test', secret: 's-10' }) }).error({ err }, 'x');
    expect(out.text()).not.toMatch(/v-9|999999999|c0de-1|bob@|s-10/);
    const line = out.last();
    expect(at(line.ctx, 10)).toEqual({ email: '[REDACTED]', secret: '[REDACTED]' });
    expect(at(line.err.response, 9)).toEqual({ body: { cards: '[REDACTED]', code: '[REDACTED]' } });
    expect(line.err.message).toBe('provider answered 500');
  });
});

describe('card-ish fields quoted in text are masked by pattern', () => {
  it.each([
    ['a JSON body in a message', 'bad body {"value":"abcdefghjkmnpqrs","serial":"762207904822"}'],
    [
      'the same, JSON-escaped inside a log line',
      'bad body {\\"value\\":\\"abcdefghjkmnpqrs\\",\\"serial\\":\\"762207904822\\"}',
    ],
    ['key=value text', 'retry serial=762207904822 code=abcdefghjkmnpqrs'],
    ['other spellings', 'Serial_Number: 762207904822, cardCode: abcdefghjkmnpqrs, PIN: 4321'],
  ])('%s', (_where, text) => {
    const out = capture();
    out.log.warn({ detail: text }, text);
    expect(out.text()).not.toMatch(/762207904822|abcdefghjkmnpqrs|4321/);
    expect(out.last().msg).toContain('[REDACTED]');
  });

  it('leaves counts, status codes, error names and ids readable', () => {
    const text =
      'code: NotFound statusCode: 500 cardCount: 3 errorCode=57P01 keyId: "0123456789abcdef" value: 3 cards';
    expect(scrub(text)).toBe(text);
  });
});

describe('delivery links and emails are masked', () => {
  it('masks the token of a /d/<token> path', () => {
    expect(TOKEN).toHaveLength(43);
    const out = capture();
    out.log.info({ url: `http://127.0.0.1:3000/d/${TOKEN}/reveal` }, `GET /d/${TOKEN}`);
    expect(out.text()).not.toContain(TOKEN);
    expect(out.last()).toMatchObject({
      url: 'http://127.0.0.1:3000/d/[REDACTED:token]/reveal',
      msg: 'GET /d/[REDACTED:token]',
    });
  });

  it('masks the mailbox of an email address, keeping the domain', () => {
    const out = capture();
    out.log.info({ to: 'alice.smith+gifts@example.com' }, 'sent to alice.smith+gifts@example.com');
    expect(out.text()).not.toContain('alice.smith');
    expect(out.last()).toMatchObject({ to: '***@example.com', msg: 'sent to ***@example.com' });
  });

  it('scrub masks the same patterns in any text, e.g. an error message', () => {
    const text = scrub(`failed for bob@mail.example: /d/${TOKEN} ${CODE}`);
    expect(text).toBe('failed for ***@mail.example: /d/[REDACTED:token] [REDACTED:code]');
  });
});
