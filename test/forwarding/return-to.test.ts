import { describe, it, expect } from '@jest/globals';
import fc from 'fast-check';
import { safeReturnTo, RETURN_TO_MAX_LENGTH } from '../../src/web/return-to.js';

const PUBLIC = 'https://bi.example.com';
const opts = { publicUrl: PUBLIC, allowedOrigins: ['https://portal.example.com', 'http://localhost:3000/ignored-path'], basePath: '/claimgate' };
const rt = (raw: unknown) => safeReturnTo(raw, opts);

describe('safeReturnTo: accepted targets', () => {
  it.each([
    ['/', '/'],
    ['/dashboards/42', '/dashboards/42'],
    ['/dashboards/42?tab=sales&x=1#chart', '/dashboards/42?tab=sales&x=1#chart'],
    ['/a/b/../c', '/a/c'],
    ['/reports/caf%C3%A9', '/reports/caf%C3%A9'],
    ['/reports/café', '/reports/caf%C3%A9'],
    // Kept, but encoded: Express's redirect would send %5C anyway, and no emitted target carries a backslash.
    ['/search?q=a\\b', '/search?q=a%5Cb'],
    ['/a%20b/%20c', '/a%20b/%20c'],
    ['/search?next=//evil.com', '/search?next=//evil.com'],
    ['/path%20with%20space', '/path%20with%20space'],
    ['https://bi.example.com/x?y=1#z', '/x?y=1#z'],
    ['HTTPS://BI.EXAMPLE.COM:443/x', '/x'],
    ['https://bi.example.com', '/'],
    ['https://portal.example.com/home?a=1', 'https://portal.example.com/home?a=1'],
    ['http://localhost:3000/app', 'http://localhost:3000/app'],
    ['/claimgatex/page', '/claimgatex/page'],
  ])('%s -> %s', (input, expected) => {
    expect(rt(input)).toBe(expected);
  });
});

describe('safeReturnTo: refused targets fall back to "/"', () => {
  it.each([
    // protocol-relative and backslash tricks (CVE-2020-11053)
    ['//evil.com'],
    ['///evil.com'],
    ['/\\evil.com'],
    ['\\/evil.com'],
    ['\\\\evil.com'],
    ['/\\/evil.com'],
    ['/foo\\bar'],
    ['/%5Cevil.com'],
    ['/%5cevil.com'],
    // control characters and whitespace, raw and encoded (CVE-2020-5233)
    ['/\t/evil.com'],
    ['/\n/evil.com'],
    ['/\r\n/evil.com'],
    [' /x'],
    ['/x '],
    ['/\u0000x'],
    ['/x\u007f'],
    ['\u00a0//evil.com'],
    ['/\u2028/evil.com'],
    ['/\ufeff/evil.com'],
    ['%09/evil.com'],
    ['%0a/evil.com'],
    ['%0d//evil.com'],
    ['%20//evil.com'],
    ['/%09/evil.com'],
    ['/%0a/evil.com'],
    ['/%00'],
    ['/a%1fb'],
    ['/a%7fb'],
    ['/a%250ab'],
    // schemes
    ['javascript:alert(1)'],
    ['JavaScript:alert(1)'],
    ['java\tscript:alert(1)'],
    ['data:text/html,<script>alert(1)</script>'],
    ['vbscript:msgbox(1)'],
    ['ftp://bi.example.com/x'],
    ['file:///etc/passwd'],
    // absolute URLs not listed, malformed authorities
    ['https://evil.com'],
    ['https://evil.com/x'],
    ['http://bi.example.com/x'],
    ['https://bi.example.com:8443/x'],
    ['https:evil.com'],
    ['https:/evil.com'],
    ['https:///evil.com'],
    ['https:\\\\evil.com'],
    ['https:bi.example.com'],
    ['https://bi.example.com@evil.com'],
    ['https://user:pass@bi.example.com/x'],
    ['https://evil.com\\@bi.example.com'],
    ['https://evil.com%40bi.example.com'],
    ['https://bi.example.com.evil.com'],
    ['https://bi.example.com.evil.com/x'],
    ['https://evilbi.example.com'],
    ['https://bi.example.com//evil.com'],
    ['https://bi.example.com/\\evil.com'],
    ['https://portal.example.com/\\evil'],
    ['https://portal.example.com/%2F%2Fevil.com'],
    // not a path
    ['evil.com'],
    ['evil.com/x'],
    ['?x=1'],
    ['#frag'],
    ['x/../../evil'],
    // encoded slashes that decode to // and dot tricks
    ['/%2F%2Fevil.com'],
    ['/%2f%2fevil.com'],
    ['/%2f/evil'],
    ['/%252F%252Fevil.com'],
    ['/.//evil'],
    ['/./%2F/evil'],
    ['/a/..//evil'],
    ['/a/%2e%2e/%2fevil'],
    ['/..//evil'],
    // invalid percent-encoding
    ['/100%'],
    ['/%zz'],
    // gateway loops
    ['/claimgate/sso?jwt=x'],
    ['/claimgate/login'],
    ['/claimgate/logout'],
    ['/claimgate'],
    ['/CLAIMGATE/login'],
    ['/claimgate/%6Cogin'],
    ['/x/../claimgate/sso'],
    ['https://bi.example.com/claimgate/callback'],
    // non-strings, arrays, overlong
    [undefined],
    [null],
    [42],
    [{ toString: () => '/x' }],
    [['/a', '/b']],
    [['/a']],
    [''],
    ['/' + 'a'.repeat(RETURN_TO_MAX_LENGTH)],
  ])('%p', (input) => {
    expect(rt(input)).toBe('/');
  });

  it('accepts exactly the maximum length', () => {
    const s = '/' + 'a'.repeat(RETURN_TO_MAX_LENGTH - 1);
    expect(rt(s)).toBe(s);
  });

  it('with basePath "/" refuses the sign-in endpoints only', () => {
    const o = { ...opts, basePath: '/' };
    expect(safeReturnTo('/sso?jwt=x', o)).toBe('/');
    expect(safeReturnTo('/login', o)).toBe('/');
    expect(safeReturnTo('/dashboards', o)).toBe('/dashboards');
  });
});

/** Strings built from the pieces open-redirect tricks are made of. */
const trickPiece = fc.constantFrom(
  '/', '//', '\\', '%2f', '%2F', '%5c', '%252f', '%09', '%0a', '%0d', '%20', '%00', '%2e', '.', '..', '@', ':',
  'https:', 'http:', 'javascript:', '//evil.com', 'evil.com', 'bi.example.com', 'https://bi.example.com',
  '\t', '\n', '\r', ' ', '\u00a0', '\u3002', '?', '#', ';', '%', 'ａ', '\u2028', '\ufeff', 'claimgate', 'x',
);
const trickString = fc.array(trickPiece, { maxLength: 12 }).map((a) => a.join(''));
const anyString = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 60 }), fc.string({ unit: 'binary', maxLength: 60 }), trickString);

describe('safeReturnTo: properties', () => {
  const allowed = new Set([new URL(PUBLIC).origin, ...opts.allowedOrigins.map((o) => new URL(o).origin)]);

  it('never throws and never yields a foreign origin', () => {
    fc.assert(
      fc.property(anyString, (raw) => {
        const out = rt(raw);
        expect(typeof out).toBe('string');
        expect(allowed.has(new URL(out, PUBLIC).origin)).toBe(true);
        if (out.startsWith('/')) {
          expect(out[1] === '/' || out[1] === '\\').toBe(false);
        }
        // eslint-disable-next-line no-control-regex
        expect(/[\u0000-\u0020\u007f]/.test(out)).toBe(false);
      }),
      { numRuns: 3000 },
    );
  });

  it('never throws for arbitrary non-string input', () => {
    fc.assert(
      fc.property(fc.anything(), (raw) => {
        const out = rt(raw);
        expect(typeof raw === 'string' || out === '/').toBe(true);
      }),
    );
  });

  it('is idempotent: an accepted target is accepted again unchanged', () => {
    fc.assert(
      fc.property(anyString, (raw) => {
        const out = rt(raw);
        expect(rt(out)).toBe(out);
      }),
      { numRuns: 2000 },
    );
  });
});
