// Where the benchmark's Artillery lives: its own folder (bench/artillery), outside the project's dependencies and
// lockfile, installed only when asked (`npm run bench -- --artillery`).
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const ARTILLERY_DIR = 'bench/artillery';
const PACKAGE = path.join(ARTILLERY_DIR, 'node_modules/artillery');

/** Artillery's command line script, run with this Node. */
export const ARTILLERY_BIN = path.join(PACKAGE, 'bin/run');

/** Artillery's version, when it is installed in bench/artillery; null when it is not. */
export function artilleryVersion(): string | null {
  const manifest = path.join(PACKAGE, 'package.json');
  return existsSync(manifest) ? (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version : null;
}

/**
 * Installs Artillery in bench/artillery without its install scripts: its postinstall fetches a browser for its
 * Playwright engine, which the poll scenario does not use (and which cannot be fetched from every network).
 */
export async function installArtillery(): Promise<void> {
  await promisify(execFile)('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: ARTILLERY_DIR });
}
