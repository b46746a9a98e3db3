// Shared settings for tests that drive Debian's Chromium through playwright-core.
import * as fs from 'fs';
import * as path from 'path';

export const ROOT = path.resolve(__dirname, '..', '..', '..');
/** Screenshots and logs a run keeps (git-ignored). */
export const ARTIFACTS = path.join(ROOT, '.test-output');

/** Offline, sandboxless, no background traffic: the flags this machine needs. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

export function chromiumPath(): string {
  const p = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!fs.existsSync(p)) throw new Error(`Chromium not found at ${p}: install Debian's chromium package (.ci/run does) or set CHROMIUM_PATH`);
  return p;
}

/** A model fetched by scripts/fetch-models.js, by file name. */
export function realModel(file: string): string {
  const dir = path.join(ROOT, '.models');
  if (!fs.existsSync(dir)) throw new Error('.models is missing: run `npm run fetch-models`');
  for (const sub of fs.readdirSync(dir)) {
    const p = path.join(dir, sub, file);
    if (fs.existsSync(p)) return p;
  }
  throw new Error(`${file} not found under .models: run \`npm run fetch-models\``);
}
