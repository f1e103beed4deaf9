import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/**
 * Writes a scenario on the default site and fleet mix to a temporary file and returns its path. `fields` are
 * top-level YAML lines (devices, duration, ...); `timeline` the YAML lines of its timeline entries.
 */
export async function writeScenario(name: string, fields: string[], timeline: string[] = []): Promise<string> {
  const file = path.join(await mkdtemp(path.join(os.tmpdir(), 'mlc-sim-scenario-')), 'scenario.yaml');
  const lines = [
    `name: ${name}`,
    `site: ${path.resolve('config/site.yaml')}`,
    `fleet: ${path.resolve('config/fleet.yaml')}`,
    ...fields,
    ...(timeline.length > 0 ? ['timeline:', ...timeline] : []),
  ];
  await writeFile(file, lines.join('\n'));
  return file;
}
