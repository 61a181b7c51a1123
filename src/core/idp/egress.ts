import { BlockList, isIP } from 'node:net';
import { fetch as undiciFetch, ProxyAgent, type Dispatcher } from 'undici';
import type { EgressConfig } from '../config/idp-schema.js';
import { isLoopback } from '../config/validate.js';

/**
 * The fetch used by every identity-side outbound call (key sets, discovery, the provider's token, userinfo and
 * logout endpoints, Microsoft Graph, the profile directory): through the egress proxy unless the host is exempt.
 * Calls to the analytics app never use it.
 */
export interface EgressSettings {
  proxy: string | null;
  /** Proxy named in the configuration (not the environment): then loopback hosts go through it too. */
  explicit: boolean;
  noProxy: string[];
}

export function egressSettings(config: EgressConfig, env: NodeJS.ProcessEnv = process.env): EgressSettings {
  const fromEnv = env.HTTPS_PROXY || env.https_proxy || env.HTTP_PROXY || env.http_proxy || undefined;
  const proxy = config.proxy ?? fromEnv ?? null;
  const noProxy = config.noProxy ?? (env.NO_PROXY ?? env.no_proxy ?? '').split(/[,\s]+/).filter(Boolean);
  return { proxy, explicit: config.proxy !== undefined, noProxy };
}

/** Whether `host` is reached without the proxy. */
export function bypassesProxy(host: string, settings: EgressSettings): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (!settings.explicit && isLoopback(h)) return true;
  for (const raw of settings.noProxy) {
    const entry = raw.trim().toLowerCase();
    if (entry === '*') return true;
    if (entry.includes('/')) {
      if (inCidr(h, entry)) return true;
      continue;
    }
    const bare = entry.replace(/^\*?\./, '').replace(/:\d+$/, '');
    if (bare && (h === bare || h.endsWith(`.${bare}`))) return true;
  }
  return false;
}

function inCidr(host: string, cidr: string): boolean {
  const [addr, bits] = cidr.split('/');
  const family = isIP(addr ?? '');
  const hostFamily = isIP(host);
  if (!family || hostFamily !== family) return false;
  try {
    const list = new BlockList();
    list.addSubnet(addr!, Number(bits), family === 4 ? 'ipv4' : 'ipv6');
    return list.check(host, family === 4 ? 'ipv4' : 'ipv6');
  } catch {
    return false;
  }
}

/** A fetch that goes through the configured proxy (or straight out when none applies). */
export function egressFetch(config: EgressConfig, env: NodeJS.ProcessEnv = process.env): typeof fetch {
  const settings = egressSettings(config, env);
  if (settings.proxy === null) return fetch;
  // Plain http targets go as absolute-form requests (what a forward proxy logs and filters); https tunnels.
  const agent: Dispatcher = new ProxyAgent({ uri: settings.proxy, proxyTunnel: false });
  const proxied = (async (input: string | URL | Request, init?: RequestInit) => {
    const href = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (bypassesProxy(new URL(href).hostname, settings)) return fetch(input, init);
    return undiciFetch(input as never, { ...(init as object), dispatcher: agent } as never);
  }) as unknown as typeof fetch;
  return proxied;
}
