#!/usr/bin/env node
// Builds the console (console/ → console/dist) with Vite when its sources are newer than the last
// build; `--force` always builds. Run by `npm start` and `npm test`, so a fresh clone needs
// nothing by hand.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../console/', import.meta.url));
const built = join(root, 'dist', 'index.html');

function newest(path) {
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  let max = s.mtimeMs;
  for (const name of readdirSync(path)) if (name !== 'dist' && name !== 'test') max = Math.max(max, newest(join(path, name)));
  return max;
}

const lock = fileURLToPath(new URL('../package-lock.json', import.meta.url));
const stale = process.argv.includes('--force') || !existsSync(built) || Math.max(newest(root), statSync(lock).mtimeMs) > statSync(built).mtimeMs;
if (!stale) process.exit(0);

const { build } = await import('vite');
process.stdout.write('构建控制台 / building the console (console/dist)…\n');
await build({ configFile: join(root, 'vite.config.ts'), logLevel: 'warn' });
