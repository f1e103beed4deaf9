// The lifecycle benchmark's fleet, in a worker thread made as every fleet thread is (simulator/workers.ts
// fleetThread): asked for a fleet of fresh devices, it takes each through one lifecycle on the eager clock and
// answers with how long they took and what their exchanges were. The thread stays up between fleets, as a fleet's
// runtime does in a run of minutes.
import { parentPort, workerData } from 'node:worker_threads';
import { setTimeout as sleep } from 'node:timers/promises';
import { SiteConnection } from '../src/agent/site-connection.js';
import { sitePortOf } from '../src/agent/site-line.js';
import { HttpTransport } from '../src/agent/site-transport.js';
import { silentLogger } from '../src/logging.js';
import { seededRandom } from '../src/random.js';
import { EagerClock } from '../src/time/eager-clock.js';
import { drawProfiles } from '../simulator/fleet-mix.js';
import { Fleet } from '../simulator/fleet.js';
import { LatencyRecorder, type LatencySummary } from '../simulator/latency.js';
import { newToTheSite, POLL_MIX } from './poll-mix.js';

/** What the thread is started with: the site, and the connections its fleets share. */
export interface LifecycleFleetSetup {
  serverUrl: string;
  connections: number;
}

/** One fleet: this many fresh devices, their ids starting with `prefix` (new to the site). */
export interface LifecycleFleetRequest {
  devices: number;
  prefix: string;
}

export interface LifecycleFleetAnswer {
  seconds: number;
  requests: number;
  latency: LatencySummary | undefined;
}

/**
 * The eager clock's horizon: the site's poll interval is an hour (bench/throughput-site.yaml), so each device makes
 * the one lifecycle autocannon's turns make, and does not poll again while the others finish theirs; its program's
 * run time (15 minutes at most) still passes at once.
 */
const ONE_LIFECYCLE_HORIZON_MS = 30 * 60_000;

if (parentPort === null) throw new Error('lifecycle-fleet.ts runs only as a worker thread (see bench/throughput.ts)');
const port = parentPort;
const { serverUrl, connections } = workerData as LifecycleFleetSetup;
const latency = new LatencyRecorder();
let requests = 0;
const connection = new SiteConnection({
  serverUrl,
  clock: new EagerClock({ horizonMs: ONE_LIFECYCLE_HORIZON_MS }),
  transport: new HttpTransport({ maxSockets: connections }),
  onExchange: (_endpoint, ms, ok) => {
    requests++;
    latency.record('all', ms, ok);
  },
});
const site = sitePortOf(connection);

port.on('message', ({ devices, prefix }: LifecycleFleetRequest) => {
  void lifecycles(devices, prefix).then((answer) => {
    port.postMessage(answer);
  });
});

async function lifecycles(devices: number, prefix: string): Promise<LifecycleFleetAnswer> {
  latency.reset();
  const before = requests;
  const random = seededRandom(1);
  const profiles = newToTheSite(drawProfiles(POLL_MIX, devices, random.fork()), prefix);
  // From the devices' start: each one's statechart starting is the first step of its lifecycle.
  const started = performance.now();
  const fleet = new Fleet({
    profiles,
    site,
    random,
    logger: silentLogger(),
    staggerMs: 0,
    dormancy: false,
  });
  while (!fleet.roundComplete) await sleep(5);
  const seconds = (performance.now() - started) / 1000;
  fleet.stop();
  return { seconds, requests: requests - before, latency: latency.summary().all };
}
