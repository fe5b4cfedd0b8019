/**
 * The codec endpoint's body, a Payloads message in proto3 JSON, read as any Temporal client writes it: the
 * Go CLI's empty message `{}`, absent or null fields, unknown fields, either base64 alphabet with or
 * without padding; anything else refused with a reason that names the field and never the value.
 */
import { describe, expect, it } from 'vitest';
import { bytesFromJson, payloadsFromJson, payloadsToJson } from '../../api/codec-endpoint/wire';

const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | null | undefined) => new TextDecoder().decode(b ?? new Uint8Array());

describe('payloadsFromJson', () => {
  it('reads an empty message however it is written: {}, null or an empty list', () => {
    for (const body of [{}, { payloads: null }, { payloads: [] }]) {
      expect(payloadsFromJson(body)).toEqual({ ok: true, payloads: [] });
    }
  });

  it('gives a payload without metadata or data empty ones', () => {
    const parsed = payloadsFromJson({ payloads: [{}, { metadata: null, data: null }, { data: '' }] });
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    for (const p of parsed.payloads) {
      expect(p.metadata).toEqual({});
      expect(p.data).toEqual(new Uint8Array());
    }
  });

  it('ignores unknown fields, at the top and in a payload', () => {
    const parsed = payloadsFromJson({
      payloads: [{ metadata: { encoding: 'anNvbi9wbGFpbg==' }, data: 'e30=', externalPayloads: [{}] }],
      nextPageToken: 'x',
    });
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(text(parsed.payloads[0]!.metadata!.encoding)).toBe('json/plain');
    expect(text(parsed.payloads[0]!.data)).toBe('{}');
  });

  it('reads standard and URL-safe base64, padded or not', () => {
    // 0xfb 0xff 0xbf: "+/+/" in the standard alphabet, "-_-_" in the URL-safe one.
    const bytes = new Uint8Array([0xfb, 0xff, 0xbf]);
    for (const b64 of ['+/+/', '-_-_']) expect(bytesFromJson(b64)).toEqual(bytes);
    for (const b64 of ['+/8=', '-_8=', '+/8', '-_8']) expect(bytesFromJson(b64)).toEqual(bytes.slice(0, 2));
    for (const b64 of ['+w==', '-w==', '+w', '-w']) expect(bytesFromJson(b64)).toEqual(bytes.slice(0, 1));
    expect(bytesFromJson('')).toEqual(new Uint8Array());
    const parsed = payloadsFromJson({
      payloads: [{ metadata: { encoding: 'anNvbi9wbGFpbg' }, data: 'e30' }],
    });
    expect(parsed.ok && text(parsed.payloads[0]!.metadata!.encoding)).toBe('json/plain');
  });

  it('refuses what is not base64', () => {
    for (const bad of [
      'a',
      'ab=',
      'abc==',
      '=',
      '==',
      'ab===',
      'a=bc',
      '+-ab',
      'ab cd',
      'ab\ncd',
      'é',
      'YWJj*',
    ]) {
      expect(bytesFromJson(bad), bad).toBeUndefined();
    }
  });

  it('refuses malformed bodies with a reason that names the field, never the value', () => {
    const secret = 'c2VjcmV0LWNhcmQtY29kZQ';
    const cases: Array<[unknown, string]> = [
      [null, 'the body is not a JSON object'],
      [[], 'the body is not a JSON object'],
      ['payloads', 'the body is not a JSON object'],
      [{ payloads: {} }, 'payloads: not a list'],
      [{ payloads: secret }, 'payloads: not a list'],
      [{ payloads: [null] }, 'payloads[0]: not an object'],
      [{ payloads: [{}, 7] }, 'payloads[1]: not an object'],
      [{ payloads: [{ metadata: [] }] }, 'payloads[0].metadata: not an object'],
      [{ payloads: [{ metadata: { encoding: null } }] }, 'payloads[0].metadata: a value is not base64'],
      [
        { payloads: [{ metadata: { encoding: `${secret}!` } }] },
        'payloads[0].metadata: a value is not base64',
      ],
      [{ payloads: [{ data: 12 }] }, 'payloads[0].data: not base64'],
      [{ payloads: [{ data: `${secret}!` }] }, 'payloads[0].data: not base64'],
    ];
    for (const [body, reason] of cases) {
      const parsed = payloadsFromJson(body);
      expect(parsed).toEqual({ ok: false, reason });
      expect(JSON.stringify(parsed)).not.toContain(secret);
    }
  });

  it('round-trips through payloadsToJson', () => {
    const payloads = [{ metadata: { encoding: utf8('binary/plain') }, data: new Uint8Array([0, 255, 128]) }];
    const json = payloadsToJson(payloads);
    expect(json).toEqual({ payloads: [{ metadata: { encoding: 'YmluYXJ5L3BsYWlu' }, data: 'AP+A' }] });
    expect(payloadsFromJson(JSON.parse(JSON.stringify(json)))).toEqual({ ok: true, payloads });
    expect(payloadsToJson([])).toEqual({ payloads: [] });
  });
});
