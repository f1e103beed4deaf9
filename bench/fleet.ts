// npm run bench [-- SIZES...]: what a fleet costs on this machine, per size: one first round in replay time, then
// the fleet left idle. Prints a table and writes out/bench.json. Figures, never assertions: CI runs a smoke size.
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { ClockPollScheduler } from '../src/agent/poll-scheduler.js';
import { SiteConnection } from '../src/agent/site-connection.js';
import { silentLogger } from '../src/logging.js';
import { seededRandom } from '../src/random.js';
import { startSiteServer } from '../src/server/site-server.js';
import { SimulatedClock } from '../src/time/simulated-clock.js';
import { drawProfiles } from '../simulator/fleet-mix.js';
import { Fleet } from '../simulator/fleet.js';
import { loadScenario } from '../simulator/scenario.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc (npm run bench does)');

interface Figures {
  devices: number;
  roundWallSeconds: number;
  simulatedSecondsPerWallSecond: number;
  requests: number;
  requestsPerSecond: number;
  idleHeapBytesPerDevice: number;
  idleRssBytesPerDevice: number;
}

async function measure(devices: number): Promise<Figures> {
  const scenario = await loadScenario('config/scenarios/first-round.yaml');
  const clock = new SimulatedClock();
  const server = await startSiteServer({ site: scenario.site, contentRoot: scenario.contentRoot, now: () => clock.now() });
  let requests = 0;
  gc!();
  const before = process.memoryUsage();
  const wallStart = performance.now();
  const random = seededRandom(1);
  const fleet = new Fleet({
    profiles: drawProfiles(scenario.mix, devices, random.fork()),
    connection: new SiteConnection({ serverUrl: server.url, clock, onExchange: () => requests++ }),
    scheduler: new ClockPollScheduler(clock),
    random: random.fork(),
    logger: silentLogger(),
    staggerMs: scenario.staggerMs,
  });
  const start = clock.now();
  await clock.runUntilTrue(() => fleet.roundComplete, start + 24 * 3_600_000);
  const wallSeconds = (performance.now() - wallStart) / 1000;
  gc!();
  const idle = process.memoryUsage();
  fleet.stop();
  await server.close();
  return {
    devices,
    roundWallSeconds: round(wallSeconds),
    simulatedSecondsPerWallSecond: round((clock.now() - start) / 1000 / wallSeconds),
    requests,
    requestsPerSecond: Math.round(requests / wallSeconds),
    // Includes what the embedded site keeps per device (registration, status records), not only the handhelds.
    idleHeapBytesPerDevice: Math.round((idle.heapUsed - before.heapUsed) / devices),
    idleRssBytesPerDevice: Math.round((idle.rss - before.rss) / devices),
  };
}

const round = (n: number) => Math.round(n * 10) / 10;
const sizes = process.argv.slice(2).map(Number);
const results: Figures[] = [];
for (const devices of sizes.length > 0 ? sizes : [1000, 5000]) results.push(await measure(devices));
console.table(results);
const machine = { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version };
console.log(`machine: ${JSON.stringify(machine)}`);
await mkdir('out', { recursive: true });
await writeFile('out/bench.json', `${JSON.stringify({ machine, results }, null, 2)}\n`);
console.log('written to out/bench.json');
