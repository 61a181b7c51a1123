import { it, expect } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
const read = (f: string) => readFileSync(resolve(ROOT, f), 'utf8');

/**
 * One Node line, said the same way in three places: the Docker image's default, the lowest version `engines`
 * accepts, and the docs page that explains the choice. A change to one of them alone fails here.
 */
it("the Docker image's Node line is the one engines starts at and docs/deployment-node.md names", () => {
  const image = /^ARG NODE_IMAGE=node:(\d+)-/m.exec(read('Dockerfile'))?.[1];
  const engines = (JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node;
  const lowest = /^>=(\d+)\.\d+/.exec(engines)?.[1];
  const docs = read('docs/deployment-node.md');
  expect(image).toBeDefined();
  expect(lowest).toBe(image);
  expect(docs).toContain(`## The Docker image: Node ${image}`);
  expect(docs).toContain(`default \`node:${image}-bookworm-slim\``);
  expect(docs).toContain(`\`"node": "${engines}"\``);
});
