/**
 * Where webhooks may go: the screening of every address an endpoint resolves to (loopback, private,
 * link-local, unique-local, multicast, unspecified and reserved refused, IPv4 inside IPv6 screened as
 * IPv4), an endpoint's explicit allow-list, and a send to such an endpoint refused before any connection
 * (a listening server on 127.0.0.1 sees nothing), whether the URL names the address or a name resolves
 * to it.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebhookEvent } from '../../contracts/order';
import {
  addressAllowList,
  embeddedIPv4,
  refusedAddressClass,
  WebhookAddressRefused,
} from '../../domain/webhook-address';
import { postWebhookEvent } from '../../domain/webhooks';

describe('refusedAddressClass', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.1.2.3', 'loopback'],
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.254', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['192.0.2.10', 'reserved'],
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['::', 'unspecified'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456:789a::1', 'unique-local'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['[::ffff:127.0.0.1]', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:10.1.2.3', 'private'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['64:ff9b::a9fe:a9fe', 'link-local'], // NAT64 of 169.254.169.254
    ['2002:7f00:1::', 'loopback'], // 6to4 of 127.0.0.1
    ['::127.0.0.1', 'reserved'], // IPv4-compatible
    ['2001:db8::1', 'reserved'],
    ['not-an-address', 'reserved'],
  ])('%s is refused as %s', (address, cls) => {
    expect(refusedAddressClass(address)).toBe(cls);
  });

  it.each([
    '93.184.215.14',
    '8.8.8.8',
    '172.32.0.1',
    '192.169.0.1',
    '2606:4700:4700::1111',
    '::ffff:8.8.8.8',
    '2002:808:808::',
  ])('%s (public) is allowed', (address) => {
    expect(refusedAddressClass(address)).toBeUndefined();
  });

  it('an allow-list lets through what it names and nothing else', () => {
    const allow = addressAllowList(['127.0.0.1', '10.1.0.0/16', '::1']);
    expect(refusedAddressClass('127.0.0.1', allow)).toBeUndefined();
    expect(refusedAddressClass('::ffff:127.0.0.1', allow)).toBeUndefined();
    expect(refusedAddressClass('10.1.2.3', allow)).toBeUndefined();
    expect(refusedAddressClass('::1', allow)).toBeUndefined();
    expect(refusedAddressClass('127.0.0.2', allow)).toBe('loopback');
    expect(refusedAddressClass('10.2.0.1', allow)).toBe('private');
    expect(refusedAddressClass('169.254.169.254', allow)).toBe('link-local');
  });

  it('reads the IPv4 address inside an IPv6 one', () => {
    expect(embeddedIPv4('::ffff:192.168.0.1')).toBe('192.168.0.1');
    expect(embeddedIPv4('::FFFF:C0A8:1')).toBe('192.168.0.1');
    expect(embeddedIPv4('64:ff9b::808:808')).toBe('8.8.8.8');
    expect(embeddedIPv4('2001:db8::1')).toBeUndefined();
  });
});

describe('postWebhookEvent to an internal address', () => {
  let hits = 0;
  const server = createServer((_req, res) => {
    hits++;
    res.writeHead(200).end();
  });
  let port = 0;
  const event: WebhookEvent = {
    id: 'evt_0b7f6a3e-3c1e-4f7a-9c55-2f1d0e8a9b10',
    type: 'order.accepted',
    orderId: 'ord-42',
    sequence: 1,
    occurredAt: '2026-11-23T10:00:00.000Z',
    data: {},
  };
  const secrets = [`whsec_${Buffer.alloc(32, 7).toString('base64')}`];

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it.each([
    ['an address in the URL', (p: number) => `http://127.0.0.1:${p}/hooks`],
    ['an IPv4-mapped IPv6 address in the URL', (p: number) => `http://[::ffff:127.0.0.1]:${p}/hooks`],
    ['a name that resolves to it', (p: number) => `http://localhost:${p}/hooks`],
  ])('is refused before connecting: %s', async (_what, url) => {
    const refused = await postWebhookEvent({ url: url(port), secrets }, event).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(WebhookAddressRefused);
    expect((refused as WebhookAddressRefused).addressClass).toBe('loopback');
    expect(hits).toBe(0);
  });

  it.each([
    ['10.0.0.1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['[::1]', 'loopback'],
    ['[fc00::1]', 'unique-local'],
  ])('is refused before connecting: %s', async (host, cls) => {
    const refused = await postWebhookEvent({ url: `https://${host}/hooks`, secrets }, event).catch(
      (e: unknown) => e,
    );
    expect((refused as WebhookAddressRefused).addressClass).toBe(cls);
  });

  it('goes through when the endpoint allows the address (the local stack), and only then', async () => {
    const url = `http://localhost:${port}/hooks`;
    expect(await postWebhookEvent({ url, secrets, allowPrivate: ['127.0.0.1', '::1'] }, event)).toBe(200);
    expect(hits).toBe(1);
  });
});
