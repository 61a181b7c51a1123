import { mkdirSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, has, startProc, waitForPort, type Proc } from './procs.js';

/** The small upstream every scenario talks to: nginx returning a short body, or a minimal Node server. */
export async function startUpstream(dir: string): Promise<{ url: string; proc: Proc; kind: string }> {
  const port = await freePort();
  if (has('nginx')) {
    const conf = nginxConf(dir, 'upstream', `server { listen 127.0.0.1:${port}; location / { return 200 "ok\\n"; } }`);
    const proc = startProc('upstream (nginx)', 'nginx', ['-p', dir, '-c', conf, '-g', 'daemon off;']);
    await waitForPort(port, 10_000, proc.child);
    return { url: `http://127.0.0.1:${port}`, proc, kind: 'nginx' };
  }
  const proc = startProc('upstream (node)', process.execPath, [
    '-e',
    `require('http').createServer((q,r)=>{r.writeHead(200,{'content-type':'text/plain','content-length':'3'});r.end('ok\\n')}).listen(${port},'127.0.0.1')`,
  ]);
  await waitForPort(port, 10_000, proc.child);
  return { url: `http://127.0.0.1:${port}`, proc, kind: 'node' };
}

/** nginx as a plain reverse proxy (keep-alive to the upstream), the fastest proxy on the machine. */
export async function startNginxProxy(dir: string, upstream: string, workers: number): Promise<{ url: string; proc: Proc } | null> {
  if (!has('nginx')) return null;
  const port = await freePort();
  const target = new URL(upstream);
  const conf = nginxConf(
    dir,
    'proxy',
    `upstream app { server ${target.host}; keepalive 64; }
     server { listen 127.0.0.1:${port};
       location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; } }`,
    workers,
  );
  const proc = startProc('nginx proxy', 'nginx', ['-p', dir, '-c', conf, '-g', 'daemon off;']);
  await waitForPort(port, 10_000, proc.child);
  return { url: `http://127.0.0.1:${port}`, proc };
}

function nginxConf(dir: string, name: string, server: string, workers = 1): string {
  const d = join(dir, `nginx-${name}`);
  mkdirSync(join(d, 'tmp'), { recursive: true });
  chmodSync(join(d, 'tmp'), 0o777);
  const file = join(d, 'nginx.conf');
  writeFileSync(
    file,
    `worker_processes ${workers};
pid ${d}/nginx.pid;
error_log ${d}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${d}/tmp; proxy_temp_path ${d}/tmp; fastcgi_temp_path ${d}/tmp; uwsgi_temp_path ${d}/tmp; scgi_temp_path ${d}/tmp;
  keepalive_requests 100000;
  ${server}
}
`,
  );
  return file;
}

/**
 * Apache httpd + mod_oauth2 verifying the same RS256 bearer token on every request, then proxying: the C gateway
 * claimgate is measured against. Null when the Debian packages (apache2, libapache2-mod-oauth2) are not installed.
 */
export async function startApacheOauth2(dir: string, upstream: string, publicJwk: object, issuer: string): Promise<{ url: string; proc: Proc } | null> {
  const modules = '/usr/lib/apache2/modules';
  if (!has('apache2')) return null;
  const { existsSync } = await import('node:fs');
  if (!existsSync(`${modules}/mod_oauth2.so`)) return null;
  const port = await freePort();
  const d = join(dir, 'apache');
  mkdirSync(d, { recursive: true });
  const conf = join(d, 'httpd.conf');
  writeFileSync(
    conf,
    `ServerRoot ${d}
ServerName 127.0.0.1
Listen 127.0.0.1:${port}
PidFile ${d}/httpd.pid
ErrorLog ${d}/error.log
LogLevel error
User nobody
Group nogroup
LoadModule mpm_event_module ${modules}/mod_mpm_event.so
LoadModule authz_core_module ${modules}/mod_authz_core.so
LoadModule authn_core_module ${modules}/mod_authn_core.so
LoadModule authz_user_module ${modules}/mod_authz_user.so
LoadModule proxy_module ${modules}/mod_proxy.so
LoadModule proxy_http_module ${modules}/mod_proxy_http.so
LoadModule oauth2_module ${modules}/mod_oauth2.so
StartServers 2
ServerLimit 4
ThreadsPerChild 64
MaxRequestWorkers 256
KeepAlive On
MaxKeepAliveRequests 0
<Location />
  AuthType oauth2
  OAuth2TokenVerify jwk "${JSON.stringify(publicJwk).replace(/"/g, '\\"')}" verify.iss=${encodeURIComponent(issuer)}&verify.exp=required
  Require valid-user
  ProxyPass ${upstream}/ keepalive=On
</Location>
`,
  );
  const proc = startProc('apache2 + mod_oauth2', 'apache2', ['-f', conf, '-D', 'FOREGROUND'], { ...process.env, APACHE_RUN_DIR: d, APACHE_LOG_DIR: d, APACHE_LOCK_DIR: d });
  try {
    await waitForPort(port, 10_000, proc.child);
  } catch (e) {
    await proc.stop();
    throw new Error(`apache2 did not start: ${(e as Error).message}\n${proc.output()}`);
  }
  return { url: `http://127.0.0.1:${port}`, proc };
}
