// npm run bench [-- --smoke] [-- --only idle,round,throughput,replay,peer,codecs] [-- --artillery]: what a fleet costs on
// this machine and how fast it goes, and (peer) how it compares with Artillery on the same work. Each measurement runs in a child process of its own (a fresh heap); the figures are printed as
// tables and written to out/bench.json. Figures, never assertions: CI runs the smoke sizes so the benchmark never
// rots, and asserts nothing about time.
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { promisify } from 'node:util';
import { Command } from 'commander';
import { artilleryVersion, installArtillery } from './artillery-peer.js';
import type { IdleFleetFigures } from './idle-fleet.js';
import { RESULT_PREFIX } from './section.js';
import type { CodecParams } from './codecs.js';
import type { SideBySideParams } from './side-by-side.js';
import { marginalCosts } from './slope.js';

interface Sizes {
  idle: { devices: number; settleSeconds: number; idleSeconds: number }[];
  round: { devices: number }[];
  throughput: { lifecycleDevices: number; connections: number; seconds: number; rounds: number }[];
  replay: { devices: number; hours: number; workers: number }[];
  dashboard: { devices: number; seconds: number; rounds: number; idleDevices: number }[];
  peer: SideBySideParams[];
  codecs: CodecParams[];
}

const FULL: Sizes = {
  idle: [1_000, 10_000, 100_000, 1_000_000].map((devices) => ({ devices, settleSeconds: 20, idleSeconds: 20 })),
  round: [{ devices: 1_000 }, { devices: 10_000 }],
  throughput: [{ lifecycleDevices: 2_000, connections: 64, seconds: 5, rounds: 5 }],
  replay: [...[1, 2].map((workers) => ({ devices: 10_000, hours: 24, workers })), { devices: 100_000, hours: 24, workers: 2 }],
  dashboard: [{ devices: 64, seconds: 5, rounds: 5, idleDevices: 100_000 }],
  peer: [{ connections: 64, seconds: 5, polls: [50, 250], virtualDevices: [500, 5_000], thinkSeconds: 20 }],
  codecs: [{ rounds: 5, perRound: 5_000 }],
};

const SMOKE: Sizes = {
  idle: [1_000, 10_000].map((devices) => ({ devices, settleSeconds: 0, idleSeconds: 1 })),
  round: [{ devices: 50 }],
  throughput: [{ lifecycleDevices: 50, connections: 8, seconds: 1, rounds: 1 }],
  replay: [1, 2].map((workers) => ({ devices: 20, hours: 2, workers })),
  dashboard: [{ devices: 8, seconds: 1, rounds: 1, idleDevices: 1_000 }],
  peer: [{ connections: 8, seconds: 1, polls: [5, 20], virtualDevices: [10, 50], thinkSeconds: 2 }],
  codecs: [{ rounds: 1, perRound: 100 }],
};

const SECTIONS = {
  idle: 'bench/idle-fleet.ts',
  round: 'bench/first-round.ts',
  throughput: 'bench/throughput.ts',
  replay: 'bench/replay-day.ts',
  dashboard: 'bench/dashboard.ts',
  peer: 'bench/side-by-side.ts',
  codecs: 'bench/codecs.ts',
} as const;
type Section = keyof typeof SECTIONS;

const options = new Command('bench')
  .option('--smoke', 'small sizes, to check that every section still runs (what CI does)')
  .option('--only <sections>', `comma-separated sections: ${Object.keys(SECTIONS).join(', ')}`)
  .option('--artillery', 'install Artillery in bench/artillery first (npm install --ignore-scripts), for the peer section')
  .parse()
  .opts<{ smoke?: boolean; only?: string; artillery?: boolean }>();
const only = (options.only?.split(',') ?? Object.keys(SECTIONS)) as Section[];
for (const name of only) if (!(name in SECTIONS)) throw new Error(`--only: unknown section "${name}" (sections: ${Object.keys(SECTIONS).join(', ')})`);
const sizes = options.smoke ? SMOKE : FULL;

/** Runs one measurement in a fresh Node process and returns the result it printed. */
async function measure(section: Section, params: object): Promise<Record<string, unknown>> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', '--import', 'tsx', SECTIONS[section], JSON.stringify(params)], {
    maxBuffer: 64 * 1024 * 1024,
  });
  const line = stdout.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
  if (!line) throw new Error(`${SECTIONS[section]} printed no result`);
  return JSON.parse(line.slice(RESULT_PREFIX.length)) as Record<string, unknown>;
}

/** Nested figures (e.g. throughput's) as one flat row: `fleetPolls.perSecond`; a list of numbers as one cell. */
function flatten(row: Record<string, unknown>, prefix = ''): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(row).flatMap(([key, value]) => {
      if (Array.isArray(value) && value.every((item) => typeof item === 'number')) return [[`${prefix}${key}`, value.join(' ')]];
      return value !== null && typeof value === 'object'
        ? Object.entries(flatten(value as Record<string, unknown>, `${prefix}${key}.`))
        : [[`${prefix}${key}`, value]];
    }),
  );
}

const machine = {
  cpus: os.cpus().length,
  cpu: os.cpus()[0]?.model,
  memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  node: process.version,
  platform: `${os.platform()} ${os.release()}`,
};
console.log(`machine: ${JSON.stringify(machine)}${options.smoke ? ' (smoke sizes)' : ''}`);
/** Each section's rows, and figures derived from them (the idle fleet's marginal costs). */
const results: Record<string, unknown[]> = {};
if (only.includes('peer')) {
  if (options.artillery && artilleryVersion() === null) {
    console.error('peer: installing Artillery in bench/artillery (npm install --ignore-scripts) …');
    await installArtillery();
  }
  if (artilleryVersion() === null) console.log('peer: Artillery is not installed, so the peer section measures the fleet alone (--artillery installs it)');
}
for (const section of only) {
  const rows: Record<string, unknown>[] = [];
  for (const params of sizes[section]) {
    console.error(`${section}: ${JSON.stringify(params)} …`);
    rows.push(await measure(section, params));
  }
  results[section] = rows;
  console.log(`\n${section}`);
  // Throughput has many figures: one column per run reads better than one very wide row.
  if (section === 'throughput') console.table(Object.fromEntries(Object.entries(flatten(rows[0]!)).map(([k, v]) => [k, { value: v }])));
  // Side by side: one row per client; codecs: one row per document.
  else if (section === 'peer' || section === 'codecs') console.table(rows[0]);
  else console.table(rows.map((row) => flatten(row)));
  if (section === 'idle' && rows.length > 1) {
    const costs = marginalCosts(rows as unknown as IdleFleetFigures[]);
    console.log('\nidle: what each added device costs (flat: the same on every row)');
    console.table(costs);
    results.idleMarginalCosts = costs;
  }
}
await mkdir('out', { recursive: true });
await writeFile('out/bench.json', `${JSON.stringify({ machine, smoke: options.smoke ?? false, results }, null, 2)}\n`);
console.log('\nwritten to out/bench.json');
