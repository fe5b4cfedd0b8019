/**
 * Where a webhook may go: never to our own network. Every address a caller's endpoint resolves to is
 * screened at every send, and the connection goes to the screened address itself (the HTTP request's
 * `lookup` is the screening one), so a name that resolves to a public address for the check and to an
 * internal one for the connection (DNS rebinding) gets nowhere. Refused: loopback, private (RFC 1918,
 * shared 100.64/10, benchmarking 198.18/15, IPv6 unique-local fc00::/7 and site-local fec0::/10),
 * link-local (169.254/16 — cloud metadata — and fe80::/10), multicast, unspecified, reserved and
 * documentation ranges; an IPv4 address inside IPv6 (::ffff:a.b.c.d, NAT64 64:ff9b::/96, 6to4 2002::/16)
 * is screened as the IPv4 address it carries. An endpoint may allow some of those (`allowPrivate`, the
 * local stack's receivers on 127.0.0.1); production refuses such a configuration (lib/config.ts).
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, isIPv4, type LookupFunction } from 'node:net';

export type AddressClass =
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'unique-local'
  | 'multicast'
  | 'unspecified'
  | 'reserved';

const IPV4_RANGES: Array<[string, number, AddressClass]> = [
  ['0.0.0.0', 8, 'unspecified'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'private'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'reserved'],
  ['192.0.2.0', 24, 'reserved'],
  ['192.88.99.0', 24, 'reserved'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'private'],
  ['198.51.100.0', 24, 'reserved'],
  ['203.0.113.0', 24, 'reserved'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'],
];

const IPV6_RANGES: Array<[string, number, AddressClass]> = [
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['::', 96, 'reserved'], // IPv4-compatible (deprecated)
  ['100::', 64, 'reserved'], // discard-only
  ['2001::', 23, 'reserved'], // IETF protocol assignments, Teredo
  ['2001:db8::', 32, 'reserved'], // documentation
  ['fc00::', 7, 'unique-local'],
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'private'], // site-local (deprecated)
  ['ff00::', 8, 'multicast'],
];

function blockList(family: 'ipv4' | 'ipv6', ranges: Array<[string, number, AddressClass]>) {
  return ranges.map(([net, prefix, cls]) => {
    const list = new BlockList();
    list.addSubnet(net, prefix, family);
    return [list, cls] as const;
  });
}
const IPV4 = blockList('ipv4', IPV4_RANGES);
const IPV6 = blockList('ipv6', IPV6_RANGES);

/** The eight 16-bit groups of an IPv6 address (a dotted IPv4 tail included), or undefined. */
function ipv6Groups(address: string): number[] | undefined {
  let text = address.toLowerCase().replace(/%.*$/, '');
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted?.[1]) {
    if (!isIPv4(dotted[1])) return undefined;
    const [a, b, c, d] = dotted[1].split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, -dotted[1].length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  const groups = [...head, ...Array(fill).fill('0'), ...tail].map((g) => Number.parseInt(g, 16));
  return groups.length === 8 && groups.every((g) => g >= 0 && g <= 0xffff) ? groups : undefined;
}

/** The IPv4 address an IPv6 one carries (IPv4-mapped, NAT64 well-known prefix, 6to4), if any. */
export function embeddedIPv4(address: string): string | undefined {
  const g = ipv6Groups(address);
  if (!g) return undefined;
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  const zeros = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  if (zeros(0, 5) && g[5] === 0xffff) return v4(g[6]!, g[7]!); // ::ffff:a.b.c.d
  if (g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6)) return v4(g[6]!, g[7]!); // 64:ff9b::a.b.c.d
  if (g[0] === 0x2002) return v4(g[1]!, g[2]!); // 6to4
  return undefined;
}

/**
 * Why an address may not receive webhooks (its class), or undefined when it may: a public unicast
 * address, or one the endpoint's own allow-list names.
 */
export function refusedAddressClass(address: string, allow?: BlockList): AddressClass | undefined {
  const bare = address.replace(/^\[|\]$/g, '');
  const family = isIP(bare);
  if (family === 0) return 'reserved'; // not an address at all: nothing to connect to
  const inner = family === 6 ? embeddedIPv4(bare) : undefined;
  const candidates: Array<[string, 'ipv4' | 'ipv6']> = inner
    ? [
        [inner, 'ipv4'],
        [bare, 'ipv6'],
      ]
    : [[bare, family === 4 ? 'ipv4' : 'ipv6']];
  if (allow && candidates.some(([a, f]) => allow.check(a, f))) return undefined;
  if (inner) return refusedAddressClass(inner);
  const table = family === 4 ? IPV4 : IPV6;
  for (const [list, cls] of table) if (list.check(bare, family === 4 ? 'ipv4' : 'ipv6')) return cls;
  return undefined;
}

/** An allow-list from addresses and CIDR ranges ("127.0.0.1", "10.1.0.0/16", "::1"). */
export function addressAllowList(entries: readonly string[] | undefined): BlockList | undefined {
  if (!entries?.length) return undefined;
  const list = new BlockList();
  for (const entry of entries) {
    const [net = '', prefix] = entry.split('/');
    const family = isIP(net) === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(net, family);
    else list.addSubnet(net, Number(prefix), family);
  }
  return list;
}

/** A send refused before any connection: the endpoint resolves to an address webhooks may not reach. */
export class WebhookAddressRefused extends Error {
  override readonly name = 'WebhookAddressRefused';
  constructor(
    readonly addressClass: AddressClass,
    readonly address: string,
  ) {
    super(`webhook endpoint resolves to a ${addressClass} address: refused`);
  }
}

/**
 * The `lookup` for the endpoint's connection: resolves the name (every address), refuses the connection
 * when any address is refused, and hands the screened addresses to the socket, which connects to one of
 * them and to nothing else.
 */
export function screenedLookup(allow?: BlockList): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { all: true, family: options.family ?? 0, hints: options.hints }, (err, found) => {
      if (err) return callback(err, '', 0);
      const addresses = found as LookupAddress[];
      for (const a of addresses) {
        const cls = refusedAddressClass(a.address, allow);
        if (cls) return callback(new WebhookAddressRefused(cls, a.address), '', 0);
      }
      const first = addresses[0];
      if (!first) return callback(Object.assign(new Error('no address'), { code: 'ENOTFOUND' }), '', 0);
      if (options.all) return (callback as (e: null, a: LookupAddress[]) => void)(null, addresses);
      return callback(null, first.address, first.family);
    });
  };
}
