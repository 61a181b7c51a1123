#!/usr/bin/env node
// The command-line entry point: runs the compiled dist/app/cli/main.js when it exists (the Docker image, a package built
// with `npm run build`), otherwise src/app/cli/main.ts through tsx, so `npx claimgate` works right after `npm ci`.
import { existsSync } from 'node:fs';
import { URL } from 'node:url';

const built = new URL('../dist/app/cli/main.js', import.meta.url);
let cli;
if (existsSync(built)) {
  cli = await import(built.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import(new URL('../src/app/cli/main.ts', import.meta.url).href);
}
cli.main();
