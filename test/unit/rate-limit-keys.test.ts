/**
 * Whose budget a request spends (api/http/rate-limits.ts): IPv4 by address, IPv6 by its /64 so a host
 * cannot rotate through its subnet for fresh budgets, IPv4-mapped IPv6 as the IPv4 address it is.
 */
import { describe, expect, it } from 'vitest';
import { clientIp } from '../../api/http/rate-limits';

const key = (ip: string) => clientIp({ ip });

describe('clientIp', () => {
  it('keys IPv4 by address', () => {
    expect(key('203.0.113.7')).toBe('ip:203.0.113.7');
    expect(key('203.0.113.8')).not.toBe(key('203.0.113.7'));
  });

  it('keys IPv6 by /64: every address of one /64 alike, the next /64 apart', () => {
    const one = key('2001:db8:aa:bb::1');
    expect(one).toBe('ip:2001:db8:aa:bb::/64');
    for (const ip of [
      '2001:db8:aa:bb:ffff:ffff:ffff:ffff',
      '2001:0DB8:00AA:00BB:1:2:3:4',
      '2001:db8:aa:bb::',
    ])
      expect(key(ip)).toBe(one);
    expect(key('2001:db8:aa:bc::1')).not.toBe(one);
    expect(key('2001:db8:ab:bb::1')).not.toBe(one);
  });

  it('keys an IPv4-mapped IPv6 address as its IPv4 address', () => {
    expect(key('::ffff:203.0.113.7')).toBe(key('203.0.113.7'));
  });
});
