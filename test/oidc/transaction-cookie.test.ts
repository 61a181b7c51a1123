import { describe, expect, it } from '@jest/globals';
import { MAX_RETURN_TO_CHARS, MAX_TRANSACTIONS, TransactionCookie, type Transaction } from '../../src/features/oidc/transaction-cookie.js';

const SECRET = 'x'.repeat(40);

/** A browser's cookie store for the two paths involved, as far as these tests need one. */
class Browser {
  readonly cookies = new Map<string, { value: string; path: string }>();
  take(lines: string[]) {
    for (const line of lines) {
      const [pair, ...attrs] = line.split(';');
      const name = pair!.slice(0, pair!.indexOf('='));
      const value = pair!.slice(pair!.indexOf('=') + 1);
      const path = attrs.map((a) => a.trim()).find((a) => a.startsWith('Path='))!.slice(5);
      if (value === '' || attrs.some((a) => /Expires=Thu, 01 Jan 1970/.test(a))) this.cookies.delete(name);
      else this.cookies.set(name, { value, path });
    }
  }
  header(path: string) {
    return [...this.cookies].filter(([, c]) => path.startsWith(c.path)).map(([n, c]) => `${n}=${c.value}`).join('; ') || undefined;
  }
}

const tx = (state: string, returnTo = '/'): Omit<Transaction, 'expiresAt'> => ({
  issuerId: 'idp',
  state,
  nonce: `n-${state}`,
  codeVerifier: `v-${state}`.padEnd(43, 'v'),
  returnTo,
  responseMode: 'query',
});

describe('transaction cookies', () => {
  let now = 1_700_000_000_000;
  const cookies = new TransactionCookie([SECRET], { baseName: 'cg', path: '/claimgate/callback', loginPath: '/claimgate/login', secure: false, now: () => now });

  it(`a browser keeps at most ${MAX_TRANSACTIONS}: each new sign-in replaces the oldest`, () => {
    const b = new Browser();
    for (let i = 0; i < 14; i++) {
      b.take(cookies.start(tx(`s${i}`, `/r?${'q'.repeat(1500)}`), b.header('/claimgate/login')));
      now += 1000;
    }
    const txNames = [...b.cookies.keys()].filter((n) => n.startsWith('cg_tx_'));
    expect(txNames.sort()).toEqual(['cg_tx_0', 'cg_tx_1', 'cg_tx_2']);
    const callback = b.header('/claimgate/callback')!;
    expect(callback.length).toBeLessThan(MAX_TRANSACTIONS * 2600);
    // The newest three are there; the older ones were replaced.
    for (const s of ['s11', 's12', 's13']) expect(cookies.read(callback, s)?.nonce).toBe(`n-${s}`);
    for (const s of ['s0', 's5', 's10']) expect(cookies.read(callback, s)).toBeNull();
    // The index travels to /login only; the transactions to the callback only.
    expect(b.header('/claimgate/login')).toMatch(/^cg_txi=\d+\.\d+\.\d+$/);
  });

  it('a slot whose transaction expired is used before a live one is replaced', () => {
    const b = new Browser();
    b.take(cookies.start(tx('a'), undefined));
    now += 700_000; // past the 600 s lifetime of a
    b.take(cookies.start(tx('b'), b.header('/claimgate/login')));
    b.take(cookies.start(tx('c'), b.header('/claimgate/login')));
    b.take(cookies.start(tx('d'), b.header('/claimgate/login')));
    const callback = b.header('/claimgate/callback');
    expect(['b', 'c', 'd'].map((s) => cookies.find(callback, s)?.slot).sort()).toEqual([0, 1, 2]);
  });

  it('clearing removes only the slot that held the transaction', () => {
    const b = new Browser();
    b.take(cookies.start(tx('one'), undefined));
    b.take(cookies.start(tx('two'), b.header('/claimgate/login')));
    const found = cookies.find(b.header('/claimgate/callback'), 'one')!;
    b.take([cookies.clear(found.slot)]);
    expect(cookies.read(b.header('/claimgate/callback'), 'one')).toBeNull();
    expect(cookies.read(b.header('/claimgate/callback'), 'two')?.state).toBe('two');
  });

  it.each(['garbage', '1.2.3.4.5.6', '99999999999999999', '-1.-1', ''])('an unreadable index (%p) counts as free slots', (index) => {
    const lines = cookies.start(tx('x'), `cg_txi=${index}`);
    expect(lines[0]).toMatch(/^cg_tx_\d=/);
    expect(cookies.read(lines[0]!.split(';')[0], 'x')?.state).toBe('x');
  });

  it(`a return_to longer than ${MAX_RETURN_TO_CHARS} characters is not kept (the sign-in lands on /)`, () => {
    const long = `/r?${'q'.repeat(MAX_RETURN_TO_CHARS)}`;
    const [cookie] = cookies.start(tx('long', long), undefined);
    expect(cookie!.length).toBeLessThan(1000);
    expect(cookies.read(cookie!.split(';')[0], 'long')?.returnTo).toBe('/');
    const [fits] = cookies.start(tx('fits', long.slice(0, MAX_RETURN_TO_CHARS)), undefined);
    expect(cookies.read(fits!.split(';')[0], 'fits')?.returnTo).toBe(long.slice(0, MAX_RETURN_TO_CHARS));
  });
});
