/**
 * A real nginx (the Debian package) as a child process with a generated configuration in a temp dir, in front
 * of the gateway (forward-auth mode) and a test app. `nginxBinary()` finds it; tests skip without it, except
 * in CI (CI=true) where a missing nginx is a failure.
 */
import { skipUnless } from './skip.js';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function nginxBinary(): string | null {
  for (const p of ['/usr/sbin/nginx', '/usr/bin/nginx', '/usr/local/sbin/nginx']) if (existsSync(p)) return p;
  const which = spawnSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' });
  return which.status === 0 && which.stdout.trim() ? which.stdout.trim() : null;
}

export interface NginxOptions {
  port: number;
  gatewayPort: number;
  appPort: number;
  /** Source address nginx uses towards the gateway (so the gateway can trust exactly it). */
  bindAddress: string;
}

export interface RunningNginx {
  url: string;
  config: string;
  close(): Promise<void>;
}

const IDENTITY = ['User', 'User-Id', 'Email', 'Name', 'Roles', 'Permissions', 'Assertion'];

/** The configuration docs/deployment.md documents, with test paths and ports. */
export function nginxConfig(dir: string, o: NginxOptions, asRoot: boolean): string {
  const v = (h: string) => `$cg_${h.toLowerCase().replace(/-/g, '_')}`;
  const authSet = IDENTITY.map((h) => `      auth_request_set ${v(h)} $upstream_http_x_claimgate_${h.toLowerCase().replace(/-/g, '_')};`).join('\n');
  // proxy_set_header replaces a client's header of the same name (any case); an empty value sends none.
  const setHeaders = IDENTITY.map((h) => `      proxy_set_header X-Claimgate-${h} ${v(h)};`).join('\n');
  return `${asRoot ? 'user root root;\n' : ''}worker_processes 1;
daemon off;
error_log ${dir}/error.log warn;
pid ${dir}/nginx.pid;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  # underscores_in_headers stays off (the default): X_Claimgate_User never gets past nginx.
  upstream claimgate { server 127.0.0.1:${o.gatewayPort}; }
  upstream app { server 127.0.0.1:${o.appPort}; }
  server {
    listen 127.0.0.1:${o.port};
    proxy_bind ${o.bindAddress};

    location /claimgate/ {
      proxy_pass http://claimgate;
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
    }

    location = /_claimgate_auth {
      internal;
      proxy_pass http://claimgate/claimgate/auth;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header Host $host;
      proxy_set_header X-Original-URI $request_uri;
      proxy_set_header X-Original-Method $request_method;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }

    location / {
      auth_request /_claimgate_auth;
${authSet}
      auth_request_set $cg_login $upstream_http_x_claimgate_login;
${setHeaders}
      proxy_pass http://app;
      error_page 401 = @claimgate_signin;
    }

    location @claimgate_signin {
      if ($http_accept ~* "text/html") { return 302 $cg_login; }
      # auth_request already passes the gateway's WWW-Authenticate on.
      return 401;
    }
  }
}
`;
}

export async function startNginx(o: NginxOptions): Promise<RunningNginx> {
  const bin = nginxBinary();
  if (!bin) throw new Error('nginx is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'claimgate-nginx-'));
  mkdirSync(join(dir, 'tmp'));
  const asRoot = process.getuid?.() === 0;
  const config = nginxConfig(dir, o, asRoot);
  writeFileSync(join(dir, 'nginx.conf'), config);
  const child: ChildProcess = spawn(bin, ['-p', dir, '-e', `${dir}/error.log`, '-c', join(dir, 'nginx.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += String(c)));
  const url = `http://127.0.0.1:${o.port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited: ${stderr} ${safeRead(join(dir, 'error.log'))}`);
    try {
      await fetch(`${url}/claimgate/health/live`);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`nginx did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    url,
    config,
    close: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGQUIT');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/**
 * `describe` for suites that need a binary: skipped with a message when it is missing, failing in CI
 * (CI=true installs everything, so a missing binary there is a broken pipeline, not a reason to skip).
 */
export function requireBinary(name: string, found: boolean): 'run' | 'skip' {
  const mode = skipUnless(found, `${name} is not installed; install it (apt-get install -y ${name}) to run these tests`);
  if (mode === 'fail') throw new Error(`${name} is required in CI (CI=true) but was not found`);
  return mode;
}
