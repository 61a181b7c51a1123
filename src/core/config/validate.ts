import { BlockList, isIP } from 'node:net';
import type { Config, IssuerConfig } from './schema.js';
import { HMAC_ALGORITHMS } from './schema.js';
import type { Problem } from './problems.js';
import { compileMapping, MappingConfigError } from '../mapping/index.js';
import { validateIssuerProvider } from './validate-idp.js';

/**
 * Cross-field rules the schema cannot express. Pure: no I/O, no side effects; returns every problem.
 */
export function validateConfig(config: Config): Problem[] {
  const problems: Problem[] = [];
  const add = (path: string, message: string, hint?: string) => problems.push({ path, message, hint });
  const publicUrl = new URL(config.publicUrl);
  const https = publicUrl.protocol === 'https:';

  if (publicUrl.protocol !== 'https:' && publicUrl.protocol !== 'http:') {
    add('publicUrl', 'must be an http or https URL');
  }
  if (publicUrl.search || publicUrl.hash) add('publicUrl', 'must not have a query or fragment');
  if (config.basePath !== '/' && config.basePath.endsWith('/')) {
    add('basePath', 'must not end with "/"', `write ${config.basePath.replace(/\/+$/, '')}`);
  }
  if (config.basePath === '/') add('basePath', 'must not be "/": the app owns the other paths', 'use /claimgate');

  if (config.session.sameSite === 'none' && !https) {
    add('session.sameSite', '"none" requires an https publicUrl (browsers drop SameSite=None cookies without Secure)');
  }
  if (config.session.idleTimeoutSeconds > config.session.absoluteTimeoutSeconds) {
    add('session.idleTimeoutSeconds', 'must not exceed session.absoluteTimeoutSeconds');
  }

  config.returnTo.allowedOrigins.forEach((o, i) => {
    const u = new URL(o);
    if (u.origin !== o.replace(/\/$/, '')) {
      add(`returnTo.allowedOrigins[${i}]`, 'must be an origin (scheme://host[:port]) without a path', `write ${u.origin}`);
    }
  });

  validateUpstream(config, add);

  const ids = new Map<string, number>();
  const isses = new Map<string, number>();
  config.issuers.forEach((iss, i) => {
    const p = `issuers[${i}]`;
    if (ids.has(iss.id)) add(`${p}.id`, `duplicate issuer id "${iss.id}" (also issuers[${ids.get(iss.id)}])`);
    ids.set(iss.id, i);
    if (isses.has(iss.issuer)) {
      add(`${p}.issuer`, `duplicate issuer "${iss.issuer}" (also issuers[${isses.get(iss.issuer)}])`, 'one entry per iss value');
    }
    isses.set(iss.issuer, i);
    validateIssuer(iss, p, config, https, add);
  });

  for (const [name, mapping] of Object.entries(config.mappings)) {
    try {
      compileMapping(mapping, `mappings.${name}`);
    } catch (e) {
      if (e instanceof MappingConfigError) problems.push(...e.problems);
      else throw e;
    }
  }

  config.trustedProxies.forEach((p, i) => {
    if (!isIpOrCidr(p)) add(`trustedProxies[${i}]`, `"${p}" is not an IP address or CIDR range`, 'e.g. 127.0.0.1 or 10.0.0.0/8');
  });

  config.routes.forEach((r, i) => {
    const star = r.path.indexOf('*');
    if (star !== -1 && (star !== r.path.length - 1 || !r.path.endsWith('/*'))) {
      add(`routes[${i}].path`, '"*" is only allowed as the last segment ("/prefix/*")');
    }
    if (r.public && (r.anyRole || r.allRoles || r.anyPermission)) {
      add(`routes[${i}]`, 'a public route cannot also require roles or permissions', 'remove public: true or the role lists');
    }
  });

  if (config.metrics.listen !== null && !/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(config.metrics.listen)) {
    add('metrics.listen', 'must be host:port', 'e.g. 127.0.0.1:9464');
  }
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: config.jobs.deletion.timeZone });
  } catch {
    add('jobs.deletion.timeZone', `unknown time zone "${config.jobs.deletion.timeZone}"`, 'use an IANA name such as UTC or Europe/Paris');
  }
  return problems;
}

type Add = (path: string, message: string, hint?: string) => void;

function validateUpstream(config: Config, add: Add): void {
  const up = config.upstream;
  if (up.mode === 'redirect' && !up.redirect) {
    add('upstream.redirect', 'is required when upstream.mode is "redirect"', 'give url, claims and a sharedSecret or privateKey');
  }
  const r = up.redirect;
  if (!r) return;
  if (r.alg.startsWith('HS')) {
    if (!r.sharedSecret) add('upstream.redirect.sharedSecret', `is required for ${r.alg}`);
    else if (Buffer.byteLength(r.sharedSecret, 'utf8') < 32) add('upstream.redirect.sharedSecret', 'must be at least 32 bytes');
    if (r.privateKey) add('upstream.redirect.privateKey', `is not used with ${r.alg}`, 'remove it or pick RS256/ES256');
  } else if (!r.privateKey) {
    add('upstream.redirect.privateKey', `is required for ${r.alg} (a private JWK)`);
  }
}

function validateIssuer(iss: IssuerConfig, p: string, config: Config, https: boolean, add: Add): void {
  const sources = [
    iss.jwksUri !== undefined && 'jwksUri',
    iss.discovery === true && 'discovery',
    iss.keys !== undefined && 'keys',
    iss.sharedSecret !== undefined && 'sharedSecret',
  ].filter(Boolean);
  if (sources.length === 0) {
    add(p, 'has no key source', 'set exactly one of jwksUri, discovery: true, keys or sharedSecret');
  } else if (sources.length > 1) {
    add(p, `has several key sources (${sources.join(', ')})`, 'keep exactly one');
  }

  const hs = iss.algorithms.filter((a) => (HMAC_ALGORITHMS as readonly string[]).includes(a));
  if (hs.length > 0 && hs.length < iss.algorithms.length) {
    add(`${p}.algorithms`, 'mixes HMAC (HS*) with asymmetric algorithms', 'an HS issuer must list only HS algorithms (else a public key could be used as an HMAC secret)');
  }
  if (iss.sharedSecret !== undefined) {
    if (hs.length === 0) add(`${p}.algorithms`, 'a sharedSecret needs HS256, HS384 or HS512');
    if (Buffer.byteLength(iss.sharedSecret, 'utf8') < 32) add(`${p}.sharedSecret`, 'must be at least 32 bytes');
  } else if (hs.length > 0) {
    add(`${p}.algorithms`, `${hs.join(', ')} needs a sharedSecret`, 'use sharedSecret, or asymmetric algorithms with jwksUri/discovery/keys');
  }
  iss.keys?.forEach((k, j) => {
    if ('d' in k || 'k' in k) add(`${p}.keys[${j}]`, 'contains private or symmetric key material', 'give the public JWK only (no "d"/"k")');
  });

  if (sameUrl(iss.issuer, config.publicUrl)) {
    add(`${p}.issuer`, 'is the gateway\'s own publicUrl', 'the gateway never trusts tokens it would issue itself');
  }
  if (iss.allowInsecureHttp && https) {
    add(`${p}.allowInsecureHttp`, 'is refused when publicUrl is https');
  }
  const checkHttps = (field: string, value: string | undefined, mustBeUrl: boolean) => {
    if (value === undefined) return;
    let u: URL;
    try {
      u = new URL(value);
    } catch {
      if (mustBeUrl) add(`${p}.${field}`, 'must be an absolute URL');
      return;
    }
    if (u.protocol === 'https:') return;
    if (u.protocol !== 'http:') {
      if (mustBeUrl) add(`${p}.${field}`, 'must be an https URL');
      return;
    }
    if (!isLoopback(u.hostname) && !iss.allowInsecureHttp) {
      add(`${p}.${field}`, 'must be https (http only for 127.0.0.1, ::1 or localhost)', 'use https, or set allowInsecureHttp: true on a non-https deployment');
    }
  };
  checkHttps('jwksUri', iss.jwksUri, true);
  checkHttps('issuer', iss.issuer, iss.discovery === true || iss.oidc !== undefined);

  if (iss.oidc) {
    const o = iss.oidc;
    if ((o.authMethod === 'client_secret_basic' || o.authMethod === 'client_secret_post') && !o.clientSecret) {
      add(`${p}.oidc.clientSecret`, `is required with authMethod ${o.authMethod}`, 'or use authMethod: private_key_jwt with privateKey');
    }
    if (o.authMethod === 'private_key_jwt' && !o.privateKey) add(`${p}.oidc.privateKey`, 'is required with authMethod private_key_jwt');
    if (o.responseMode === 'form_post' && !https) {
      add(`${p}.oidc.responseMode`, 'form_post requires an https publicUrl (its transaction cookie is SameSite=None; Secure)');
    }
    if (!o.scopes.includes('openid')) add(`${p}.oidc.scopes`, 'must include "openid"');
    if (!iss.audiences.includes(o.clientId)) {
      // The code flow verifies the ID token through the trust map as well, whose audiences are these.
      add(`${p}.audiences`, `must include oidc.clientId "${o.clientId}" (an ID token's aud is the client id)`, `add "${o.clientId}" to audiences`);
    }
  }
  if (iss.ssoLink.enabled && iss.maxTokenAgeSeconds !== undefined && iss.maxTokenAgeSeconds < 1) {
    add(`${p}.maxTokenAgeSeconds`, 'must be positive');
  }
  validateIssuerProvider(iss, p, add);
}

function sameUrl(a: string, b: string): boolean {
  return a.replace(/\/+$/, '') === b.replace(/\/+$/, '');
}

export function isLoopback(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

function isIpOrCidr(value: string): boolean {
  const [addr, bits, extra] = value.split('/');
  if (extra !== undefined || !addr) return false;
  const family = isIP(addr);
  if (!family) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  if (!/^\d+$/.test(bits) || n > (family === 4 ? 32 : 128)) return false;
  try {
    new BlockList().addSubnet(addr, n, family === 4 ? 'ipv4' : 'ipv6');
    return true;
  } catch {
    return false;
  }
}
