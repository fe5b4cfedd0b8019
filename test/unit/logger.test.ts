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

describe('known secret fields are censored by path', () => {
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
