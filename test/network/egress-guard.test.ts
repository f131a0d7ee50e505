import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EgressGuard } from '../../src/network/egress-guard.js';
import { egressRules, publicOnly } from '../../src/network/egress-rules.js';
import { postJson } from '../../src/pipeline/events-out/http-post.js';
import { httpVendorAdapter } from '../../src/vendors/http/http-adapter.js';
import { SmtpVendor } from '../../src/vendors/smtp/smtp-vendor.js';
import { loopbackEgress } from '../support/egress.js';
import { outgoing, startFakeVendorServer, type FakeVendorServer } from '../support/fake-vendor-server.js';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.js';

/** Every port allowed, no address: what reaches a name on loopback is refused by address alone. */
const anyPortPublicOnly = egressRules('', '1-65535');

describe('egress guard: addresses and ports', () => {
  const guard = EgressGuard.of(publicOnly);

  it.each([
    ['127.0.0.1', 'loopback', '127.0.0.0/8'],
    ['10.1.2.3', 'private', '10.0.0.0/8'],
    ['172.16.5.4', 'private', '172.16.0.0/12'],
    ['192.168.1.1', 'private', '192.168.0.0/16'],
    ['169.254.169.254', 'link-local', '169.254.0.0/16'],
    ['100.64.0.1', 'carrier-grade NAT', '100.64.0.0/10'],
    ['0.0.0.0', 'unspecified', '0.0.0.0/8'],
    ['224.0.0.1', 'multicast', '224.0.0.0/4'],
    ['[::1]', 'loopback', '::1/128'],
    ['[::]', 'unspecified', '::/128'],
    ['[fd12:3456::1]', 'unique local', 'fc00::/7'],
    ['[fe80::1]', 'link-local', 'fe80::/10'],
    ['[ff02::1]', 'multicast', 'ff00::/8'],
    ['[::ffff:127.0.0.1]', 'IPv4-mapped', '::ffff:0:0/96'],
  ])('refuses %s as %s (%s), naming the setting that allows it', (host, what, cidr) => {
    const refusal = guard.refusalOf(host, 443, 'http');
    expect(refusal).toContain(what);
    expect(refusal).toContain(cidr);
    expect(refusal).toContain('HERALD_EGRESS_ALLOW');
  });

  it('lets public addresses and names through on the standard ports', () => {
    expect(guard.refusalOf('93.184.216.34', 443, 'http')).toBeUndefined();
    expect(guard.refusalOf('[2606:2800:220:1::1]', 80, 'http')).toBeUndefined();
    expect(guard.refusalOf('api.vendor.example', 443, 'http')).toBeUndefined();
    expect(guard.refusalOf('smtp.vendor.example', 587, 'smtp')).toBeUndefined();
  });

  it('refuses other ports unless allowed, per purpose', () => {
    expect(guard.refusalOf('api.vendor.example', 8443, 'http')).toContain('HERALD_EGRESS_ALLOW_PORTS');
    expect(guard.refusalOf('api.vendor.example', 587, 'http')).toContain('port 587');
    expect(guard.refusalOf('smtp.vendor.example', 443, 'smtp')).toContain('port 443');
    expect(EgressGuard.of(egressRules('', '8443, 2525-2530')).refusalOf('a.example', 8443, 'http')).toBeUndefined();
    expect(EgressGuard.of(egressRules('', '8443, 2525-2530')).refusalOf('a.example', 2527, 'smtp')).toBeUndefined();
  });

  it('lets an operator allow ranges and names', () => {
    const allowing = EgressGuard.of(egressRules('10.20.0.0/16, gateway.internal, *.corp.example', ''));
    expect(allowing.refusalOf('10.20.3.4', 443, 'http')).toBeUndefined();
    expect(allowing.refusalOf('10.21.3.4', 443, 'http')).toContain('private');
    expect(allowing.refusalOf('127.0.0.1', 443, 'http')).toContain('loopback');
  });
});

describe('egress guard: names are checked at each connection', () => {
  let fake: FakeVendorServer;
  let sink: SmtpSink;
  let port: number;
  beforeAll(async () => {
    fake = await startFakeVendorServer(() => ({ status: 200, body: { id: 'm-1' } }));
    port = Number(new URL(fake.url).port);
    sink = await startSmtpSink();
  });
  afterAll(async () => {
    await fake?.close();
    await sink?.close();
  });

  it('resolves a name and refuses when every address it has is not public', async () => {
    const lookup = (rules = publicOnly) =>
      new Promise<unknown>((resolve) =>
        EgressGuard.of(rules).lookup('localhost', { all: true }, (error, addresses) => resolve(error ?? addresses)),
      );
    expect(await lookup()).toMatchObject({
      code: 'EGRESS_REFUSED',
      message: expect.stringContaining('localhost resolves to') as unknown,
    });
    expect(await lookup(egressRules('localhost', ''))).toEqual(
      expect.arrayContaining([expect.objectContaining({ address: expect.any(String) as unknown })]),
    );
  });

  it('an HTTP vendor does not reach a name that resolves to loopback, and says why', async () => {
    const vendor = httpVendorAdapter.create(
      { channel: 'sms', url: `http://localhost:${port}/send`, bodyTemplate: { to: '{{to}}' }, messageIdPath: 'id' },
      {},
      anyPortPublicOnly,
    );
    if (vendor.delivery !== 'single') throw new Error('single-send expected');
    const outcome = await vendor.send(outgoing());
    await vendor.close();
    expect(outcome).toMatchObject({ ok: false, category: 'auth_or_config', retryable: false, code: 'EGRESS_REFUSED' });
    expect(!outcome.ok && outcome.detail).toContain('loopback');
    expect(fake.received).toHaveLength(0);
  });

  it('an HTTP vendor does not reach a literal loopback address either', async () => {
    const vendor = httpVendorAdapter.create(
      { channel: 'sms', url: `${fake.url}/send`, bodyTemplate: { to: '{{to}}' } },
      {},
      anyPortPublicOnly,
    );
    if (vendor.delivery !== 'single') throw new Error('single-send expected');
    const outcome = await vendor.send(outgoing());
    await vendor.close();
    expect(outcome).toMatchObject({ ok: false, category: 'auth_or_config', code: 'EGRESS_REFUSED' });
    expect(fake.received).toHaveLength(0);
  });

  it('webhook and reporter posts do not reach a name that resolves to loopback', async () => {
    const result = await postJson(
      `http://localhost:${port}/hook`,
      '{}',
      {},
      2000,
      new AbortController().signal,
      anyPortPublicOnly,
    );
    expect(result).toMatchObject({ kind: 'failed', error: expect.stringContaining('refused by Herald') as unknown });
    expect(fake.received).toHaveLength(0);
    const literal = await postJson(`${fake.url}/hook`, '{}', {}, 2000, new AbortController().signal, anyPortPublicOnly);
    expect(literal).toMatchObject({ kind: 'failed', error: expect.stringContaining('loopback') as unknown });
    expect(fake.received).toHaveLength(0);
  });

  it('an SMTP vendor does not connect to a name that resolves to loopback', async () => {
    const vendor = new SmtpVendor(
      {
        host: 'localhost',
        port: sink.port,
        security: 'none',
        fromAddress: 'surveys@herald.test',
        rejectUnauthorized: true,
      },
      {},
      anyPortPublicOnly,
    );
    const outcome = await vendor.send(outgoing({ to: 'someone@example.com' }));
    await vendor.close();
    expect(outcome).toMatchObject({ ok: false, category: 'auth_or_config', retryable: false });
    expect(!outcome.ok && outcome.detail).toContain('loopback');
    expect(sink.messages).toHaveLength(0);
  });

  it('reaches the same servers when the operator allows loopback', async () => {
    const vendor = httpVendorAdapter.create(
      { channel: 'sms', url: `http://localhost:${port}/send`, bodyTemplate: { to: '{{to}}' }, messageIdPath: 'id' },
      {},
      loopbackEgress,
    );
    if (vendor.delivery !== 'single') throw new Error('single-send expected');
    expect(await vendor.send(outgoing())).toEqual({ ok: true, vendorMessageId: 'm-1' });
    await vendor.close();
  });
});

describe('vendor answers', () => {
  let server: http.Server;
  let url: string;
  beforeAll(async () => {
    // What a metadata service or an internal page would answer: it must not come back through Herald.
    server = http.createServer((_req, res) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`AccessKeyId=AKIASECRET ${'x'.repeat(4 * 1024 * 1024)}`);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/send`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('are read up to a size limit and summarised, never echoed', async () => {
    const vendor = httpVendorAdapter.create(
      { channel: 'sms', url, bodyTemplate: { to: '{{to}}' } },
      {},
      loopbackEgress,
    );
    if (vendor.delivery !== 'single') throw new Error('single-send expected');
    const outcome = await vendor.send(outgoing());
    await vendor.close();
    expect(outcome).toMatchObject({ ok: false, category: 'vendor_unavailable' });
    const detail = !outcome.ok ? outcome.detail : '';
    expect(detail).not.toContain('AKIASECRET');
    // Only the first 256 KiB were read of the 4 MiB answer.
    expect(detail).toBe('The endpoint answered HTTP 500 (text/plain, 262144 bytes)');
  });
});
