import { describe, it, expect } from '@jest/globals';
import { resolveClient, compileTrustedProxies } from '../../src/web/client-ip.js';

const FWD = {
  'x-forwarded-for': '6.6.6.6, 203.0.113.7',
  'x-forwarded-proto': 'https',
  'x-forwarded-host': 'bi.example.com',
  'x-original-uri': '/admin/x?y=1',
};

describe('resolveClient: untrusted peers', () => {
  it('believes nothing by default', () => {
    expect(resolveClient('198.51.100.9', FWD, [])).toEqual({ ip: '198.51.100.9', trusted: false });
  });
  it('believes nothing from a peer not listed', () => {
    expect(resolveClient('198.51.100.9', FWD, ['127.0.0.1', '10.0.0.0/8'])).toEqual({ ip: '198.51.100.9', trusted: false });
  });
  it('handles a missing remote address', () => {
    expect(resolveClient(undefined, FWD, ['127.0.0.1'])).toEqual({ ip: '', trusted: false });
  });
  it('reports a mapped IPv4 peer as IPv4', () => {
    expect(resolveClient('::ffff:198.51.100.9', FWD, []).ip).toBe('198.51.100.9');
  });
});

describe('resolveClient: trusted peers', () => {
  it.each([
    ['127.0.0.1', ['127.0.0.1']],
    ['::ffff:127.0.0.1', ['127.0.0.1']],
    ['127.0.0.1', ['::ffff:127.0.0.1']],
    ['10.1.2.3', ['10.0.0.0/8']],
    ['::ffff:10.1.2.3', ['::ffff:10.0.0.0/104']],
    ['::1', ['::1']],
    ['fd00::1234', ['fd00::/8']],
    ['FD00::1234', ['fd00::/8']],
    ['fe80::1%eth0', ['fe80::/10']],
  ])('%s trusted by %p', (peer, list) => {
    const r = resolveClient(peer, FWD, list);
    expect(r.trusted).toBe(true);
    expect(r).toEqual({ ip: '203.0.113.7', proto: 'https', host: 'bi.example.com', originalUri: '/admin/x?y=1', trusted: true });
  });

  it.each([
    ['11.0.0.1', ['10.0.0.0/8']],
    ['fe00::1', ['fd00::/8']],
    ['127.0.0.2', ['127.0.0.1']],
    ['::2', ['::1']],
  ])('%s not trusted by %p', (peer, list) => {
    expect(resolveClient(peer, FWD, list).trusted).toBe(false);
  });

  it('takes the rightmost untrusted X-Forwarded-For hop', () => {
    const h = { 'x-forwarded-for': '1.1.1.1, 6.6.6.6, 10.0.0.5, 10.0.0.6' };
    expect(resolveClient('10.0.0.7', h, ['10.0.0.0/8']).ip).toBe('6.6.6.6');
  });

  it('accepts repeated X-Forwarded-For headers and ports', () => {
    const h = { 'x-forwarded-for': ['1.1.1.1', '203.0.113.7:4711'] };
    expect(resolveClient('127.0.0.1', h, ['127.0.0.1']).ip).toBe('203.0.113.7');
    expect(resolveClient('127.0.0.1', { 'x-forwarded-for': '[2001:db8::1]:443' }, ['127.0.0.1']).ip).toBe('2001:db8::1');
  });

  it('stops at a malformed hop and keeps the last good address', () => {
    const h = { 'x-forwarded-for': '1.1.1.1, garbage' };
    expect(resolveClient('127.0.0.1', h, ['127.0.0.1']).ip).toBe('127.0.0.1');
  });

  it('falls back to the peer when all hops are trusted proxies or there is no header', () => {
    expect(resolveClient('127.0.0.1', {}, ['127.0.0.1']).ip).toBe('127.0.0.1');
    expect(resolveClient('10.0.0.2', { 'x-forwarded-for': '10.0.0.1' }, ['10.0.0.0/8']).ip).toBe('10.0.0.1');
  });

  it('validates proto, host and original URI', () => {
    const r = resolveClient(
      '127.0.0.1',
      { 'x-forwarded-proto': 'javascript', 'x-forwarded-host': 'evil.com/path', 'x-original-uri': 'http://evil/admin' },
      ['127.0.0.1'],
    );
    expect(r).toEqual({ ip: '127.0.0.1', trusted: true });
    const r2 = resolveClient('127.0.0.1', { 'x-original-uri': '/a\r\nb' }, ['127.0.0.1']);
    expect(r2.originalUri).toBeUndefined();
    const r3 = resolveClient('127.0.0.1', { 'x-original-uri': ['/a', '/b'] }, ['127.0.0.1']);
    expect(r3.originalUri).toBeUndefined();
  });

  it('uses the rightmost proto/host value and X-Forwarded-Uri as a fallback', () => {
    const r = resolveClient(
      '127.0.0.1',
      { 'x-forwarded-proto': 'HTTP, https', 'x-forwarded-host': 'a.example, bi.example.com:8443', 'x-forwarded-uri': '/reports' },
      ['127.0.0.1'],
    );
    expect(r).toEqual({ ip: '127.0.0.1', proto: 'https', host: 'bi.example.com:8443', originalUri: '/reports', trusted: true });
  });

  it('accepts a precompiled list', () => {
    const t = compileTrustedProxies(['127.0.0.1']);
    expect(resolveClient('127.0.0.1', FWD, t).trusted).toBe(true);
  });
});

describe('compileTrustedProxies', () => {
  it.each(['localhost', '10.0.0.0/33', '::1/129', '10.0.0.1/8/1', '10.0.0.0/x', '', '::ffff:10.0.0.0/8', '300.1.1.1'])(
    'refuses %p',
    (entry) => {
      expect(() => compileTrustedProxies([entry])).toThrow(/trustedProxies\[0\]/);
    },
  );
  it('an empty list trusts nobody', () => {
    expect(compileTrustedProxies([]).has('127.0.0.1')).toBe(false);
  });
});
