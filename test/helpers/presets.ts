import { runCli } from '../../src/app/cli/main.js';
import { parseConfigText } from '../../src/core/config/load.js';

/** The starter mapping `claimgate init --preset P` prints, with its placeholders filled in (`fill`, else a stand-in). */
export async function starterMapping(preset: string, fill: Record<string, string>): Promise<unknown> {
  const out: string[] = [];
  await runCli(['init', '--preset', preset], { out: (s) => out.push(s), err: () => undefined, env: {} });
  const values: Record<string, string> = { PUBLIC_URL: 'https://bi.example.com', APP_URL: 'http://127.0.0.1:9', ...fill };
  const text = out.join('\n').replace(/<([A-Z0-9_]+)>/g, (_m, n: string) => values[n] ?? `x-${n.toLowerCase()}`);
  return parseConfigText(text, { SESSION_SECRET: 's'.repeat(40), GRAPH_CLIENT_SECRET: 'x' }).mappings[preset];
}
