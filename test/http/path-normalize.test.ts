import { describe, it, expect } from '@jest/globals';
import fc from 'fast-check';
import { normalizeRequestPath, MAX_REQUEST_PATH_LENGTH } from '../../src/core/upstream/path-normalize.js';

describe('normalizeRequestPath: accepted', () => {
  it.each([
    ['/', '/'],
    ['/admin', '/admin'],
    ['/admin/', '/admin/'],
    ['/admin/x?y=1', '/admin/x'],
    ['/admin?x=/public', '/admin'],
    ['/admin#frag', '/admin'],
    ['/admin?x=%2F..%5C', '/admin'],
    ['//admin//x', '/admin/x'],
    ['/a/../admin/x', '/admin/x'],
    ['/a/./b', '/a/b'],
    ['/a/b/..', '/a/'],
    ['/a/b/.', '/a/b/'],
    ['/../../admin', '/admin'],
    ['/..', '/'],
    ['/caf%C3%A9/r%20x', '/café/r x'],
    ['/admin;x', '/admin;x'],
    ['/admin;jsessionid=1/x', '/admin;jsessionid=1/x'],
    ['/file.json', '/file.json'],
    ['/file%2ejson', '/file.json'],
    ['/.well-known/x', '/.well-known/x'],
    ['/%EF%BD%81dmin/x', '/ａdmin/x'],
    ['/a%3Fb', '/a?b'],
    ['/ADMIN/X', '/ADMIN/X'],
  ])('%s -> %s', (input, expected) => {
    expect(normalizeRequestPath(input)).toEqual({ ok: true, path: expected });
  });
});

describe('normalizeRequestPath: refused', () => {
  it.each([
    ['admin', 'not_origin_form'],
    ['', 'not_origin_form'],
    ['*', 'not_origin_form'],
    ['http://evil/admin', 'not_origin_form'],
    ['/admin%2Fx', 'encoded_separator'],
    ['/admin%2fx', 'encoded_separator'],
    ['/admin%5Cx', 'encoded_separator'],
    ['/admin\\x', 'backslash'],
    ['/a/%2e%2e/admin', 'encoded_dot_segment'],
    ['/a/%2E%2E/admin', 'encoded_dot_segment'],
    ['/a/.%2e/admin', 'encoded_dot_segment'],
    ['/a/%2e/admin', 'encoded_dot_segment'],
    ['/public/..;/admin/x', 'dot_segment_with_parameters'],
    ['/public/.;x/admin', 'dot_segment_with_parameters'],
    ['/public/%2e%2e;x/admin', 'dot_segment_with_parameters'],
    ['/a/%252e%252e/admin', 'double_encoding'],
    ['/admin%252Fx', 'double_encoding'],
    ['/admin%255cx', 'double_encoding'],
    ['/admin%2500', 'double_encoding'],
    ['/admin%00', 'encoded_control_character'],
    ['/admin%0a', 'encoded_control_character'],
    ['/admin%7F', 'encoded_control_character'],
    ['/admin%C2%85', 'control_character'],
    ['/admin\u0000', 'unsafe_character'],
    ['/admin\t', 'unsafe_character'],
    ['/ad min', 'unsafe_character'],
    ['/café', 'unsafe_character'],
    ['/admin%', 'invalid_percent_encoding'],
    ['/admin%zz', 'invalid_percent_encoding'],
    ['/admin%C3%28', 'invalid_percent_encoding'],
    ['/admin%ED%A0%80', 'invalid_percent_encoding'],
    ['/' + 'a'.repeat(MAX_REQUEST_PATH_LENGTH), 'too_long'],
    ['/admin./x', 'trailing_dot_or_space'],
    ['/admin../x', 'trailing_dot_or_space'],
    ['/admin.../x', 'trailing_dot_or_space'],
    ['/...', 'trailing_dot_or_space'],
    ['/reports.', 'trailing_dot_or_space'],
    ['/reports%2e', 'trailing_dot_or_space'],
    ['/reports%2E/', 'trailing_dot_or_space'],
    ['/admin%20/x', 'trailing_dot_or_space'],
    ['/reports%20', 'trailing_dot_or_space'],
    ['/admin%C2%A0/x', 'trailing_dot_or_space'],
    ['/admin%E3%80%80/x', 'trailing_dot_or_space'],
    ['/admin%EF%BC%8E/x', 'trailing_dot_or_space'],
    ['/admin%E3%80%82/x', 'trailing_dot_or_space'],
    ['/admin.;x/y', 'trailing_dot_or_space'],
    ['/admin%EF%BC%8Fx', 'lookalike_separator'],
    ['/admin%EF%BC%BCx', 'lookalike_separator'],
    ['/admin%E2%88%95x', 'lookalike_separator'],
    ['/admin%E2%81%84x', 'lookalike_separator'],
    ['/admin%E2%88%96x', 'lookalike_separator'],
    ['/admin%E2%A7%B8x', 'lookalike_separator'],
    ['/admin%EF%B9%A8x', 'lookalike_separator'],
  ])('%p (%s)', (input, reason) => {
    expect(normalizeRequestPath(input)).toEqual({ ok: false, reason });
  });

  it('refuses a non-string without throwing', () => {
    expect(normalizeRequestPath(undefined as unknown as string).ok).toBe(false);
  });
});

const piece = fc.constantFrom(
  '/', '//', '.', '..', '%2e', '%2E', '%2f', '%5c', '%25', '%00', '%0a', '%C3%A9', '%', '\\', ';', 'a', 'admin',
  '?', '#', ' ', '\t', '\u0000', 'é', '%3B', '%2e%2e', '..;', 'x=/public', '%252f',
);
const pathish = fc.oneof(
  fc.array(piece, { maxLength: 14 }).map((a) => '/' + a.join('')),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ maxLength: 40 }).map((s) => '/' + s),
);

describe('normalizeRequestPath: properties', () => {
  it('never throws; ok output is clean', () => {
    fc.assert(
      fc.property(pathish, (raw) => {
        const r = normalizeRequestPath(raw);
        if (!r.ok) return;
        const p = r.path;
        expect(p.startsWith('/')).toBe(true);
        expect(p.includes('//')).toBe(false);
        expect(p.includes('\\')).toBe(false);
        expect(/(^|\/)\.\.?(\/|$)/.test(p)).toBe(false); // no `/./`, `/../`, trailing `/.` or `/..`
        // eslint-disable-next-line no-control-regex
        expect(/[\u0000-\u001f\u007f]/.test(p)).toBe(false);
      }),
      { numRuns: 5000 },
    );
  });

  it('is idempotent on ASCII output (normalising an encoded result again changes nothing)', () => {
    fc.assert(
      fc.property(pathish, (raw) => {
        const r = normalizeRequestPath(raw);
        if (!r.ok) return;
        const again = normalizeRequestPath(r.path.split('/').map(encodeURIComponent).join('/'));
        if (again.ok) expect(again.path).toBe(r.path);
      }),
      { numRuns: 3000 },
    );
  });
});
