import { GatewayError, TokenError } from '../errors/errors.js';
import type { LoginRefusal } from './ports.js';

export const identityConflict = () =>
  new GatewayError('identity_conflict', 'This account is already bound to another sign-in identity.');
const notProvisioned = () =>
  new GatewayError('user_not_provisioned', 'There is no account for you here yet. Ask an administrator to create one.');
const suspended = () => new GatewayError('user_suspended', 'This account is suspended.');
/** A sign-in link whose id was already spent. */
export const linkReplayed = () => new TokenError('jti_replayed', 'This sign-in link has already been used.');

/** The error a refused sign-in is reported as. */
export function refusalError(code: LoginRefusal): Error {
  switch (code) {
    case 'jti_replayed':
      return linkReplayed();
    case 'identity_conflict':
      return identityConflict();
    case 'user_suspended':
      return suspended();
    case 'user_not_provisioned':
      return notProvisioned();
  }
}
