// Section: the fleet as fast as it can go against the stub site in another process, on loopback. Full lifecycles
// (register, poll, instructions, locate, download, run, report) per second for fresh devices; then policy polls per
// second for devices with nothing left to do; then autocannon against the same poll, with the same number of
// connections, to tell how close the fleet comes to the wire; and autocannon on package content, the site alone.
import autocannon from 'autocannon';
import { setTimeout as sleep } from 'node:timers/promises';
import { SiteConnection, type Credentials } from '../src/agent/site-connection.js';
import { silentLogger } from '../src/logging.js';
import { DEVICE_MANAGEMENT_PATH, HEADERS, pollRequest } from '../src/protocol/documents.js';
import { seededRandom } from '../src/random.js';
import { realClock } from '../src/time/clock.js';
import { drawProfiles, fleetMixSchema } from '../simulator/fleet-mix.js';
import { Fleet } from '../simulator/fleet.js';
import { LatencyRecorder } from '../simulator/latency.js';
import { eagerClock } from './eager-clock.js';
import { round, section } from './section.js';
import { startSiteProcess } from './site-process.js';

export interface ThroughputParams {
  /** Fresh devices in the lifecycle phase. */
  lifecycleDevices: number;
  /** Devices polling, and autocannon's connections. */
  connections: number;
  seconds: number;
}

export interface RateFigures {
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

export interface ThroughputFigures {
  connections: number;
  lifecycles: RateFigures & { devices: number; requestsPerSecond: number };
  fleetPolls: RateFigures;
  autocannonPolls: RateFigures;
  /** Fleet poll rate ÷ autocannon poll rate, same endpoint, same connections, same run. */
  ratio: number;
  autocannonContent: RateFigures & { megabytesPerSecond: number };
}

const MIX = fleetMixSchema.parse({
  platforms: [{ platform: 'Windows Mobile 6.5', osVersion: '5.2.21234', weight: 1 }],
  storage: [{ minMB: 64, maxMB: 64, weight: 1 }],
  connectivity: [{ kind: 'wlan', bandwidthKBps: 250, weight: 1 }],
});

/** A fleet on the eager clock, one socket per device, its exchanges counted and timed from the last `recount()`. */
function eagerFleet(serverUrl: string, devices: number, firstId: number) {
  let latency = new LatencyRecorder();
  let requests = 0;
  let polls = 0;
  const connection = new SiteConnection({
    serverUrl,
    clock: eagerClock,
    maxSockets: devices,
    onExchange: (endpoint, ms, ok) => {
      requests++;
      if (endpoint === 'Poll') polls++;
      latency.record(endpoint === 'Poll' ? 'Poll' : 'other', ms, ok);
      latency.record('all', ms, ok);
    },
  });
  const random = seededRandom(firstId);
  const profiles = drawProfiles(MIX, devices, random.fork()).map((p, i) => ({ ...p, id: `BENCH-${firstId + i}` }));
  const fleet = new Fleet({ profiles, connection, random, logger: silentLogger(), staggerMs: 0 });
  return {
    fleet,
    counts: () => ({ requests, polls, latency: latency.summary() }),
    recount: () => {
      [requests, polls, latency] = [0, 0, new LatencyRecorder()];
    },
  };
}

function rate(count: number, seconds: number, latency: { p50Ms: number; p99Ms: number } | undefined): RateFigures {
  return { perSecond: Math.round(count / seconds), p50Ms: latency?.p50Ms ?? 0, p99Ms: latency?.p99Ms ?? 0 };
}

async function untilRoundComplete(fleet: Fleet): Promise<void> {
  while (!fleet.roundComplete) await sleep(5);
}

await section(async ({ lifecycleDevices, connections, seconds }: ThroughputParams): Promise<ThroughputFigures> => {
  const site = await startSiteProcess('bench/throughput-site.yaml');

  // Full lifecycles: fresh devices, one advertisement each, programs that finish at once.
  const lifecycle = eagerFleet(site.url, lifecycleDevices, 1);
  let started = performance.now();
  await untilRoundComplete(lifecycle.fleet);
  const lifecycleSeconds = (performance.now() - started) / 1000;
  lifecycle.fleet.stop();
  const lifecycleCounts = lifecycle.counts();
  const lifecycles = {
    devices: lifecycleDevices,
    ...rate(lifecycleDevices, lifecycleSeconds, lifecycleCounts.latency.all),
    requestsPerSecond: Math.round(lifecycleCounts.requests / lifecycleSeconds),
  };

  // Policy polls: devices with everything done poll back to back; counted once all are through their first round.
  const polling = eagerFleet(site.url, connections, 1_000_000);
  await untilRoundComplete(polling.fleet);
  polling.recount();
  started = performance.now();
  await sleep(seconds * 1000);
  const pollCounts = polling.counts();
  const fleetPolls = rate(pollCounts.polls, (performance.now() - started) / 1000, pollCounts.latency.Poll);
  polling.fleet.stop();

  // The same poll from autocannon: one registered device's request, sent as fast as the connections allow.
  const device = new SiteConnection({ serverUrl: site.url, clock: realClock });
  const credentials: Credentials = { uuid: 'BENCH-AUTOCANNON', authToken: null };
  credentials.authToken = await device.register({ uuid: credentials.uuid, name: 'autocannon', platform: 'Windows Mobile 6.5', osVersion: '5.2.21234' });
  const { policyVersion, offers } = await device.poll(credentials, null);
  const cannonPolls = await autocannon({
    url: `${site.url}${DEVICE_MANAGEMENT_PATH}`,
    method: 'POST',
    connections,
    duration: seconds,
    headers: {
      'content-type': 'application/xml; charset=utf-8',
      [HEADERS.uuid]: credentials.uuid,
      [HEADERS.auth]: credentials.authToken,
      [HEADERS.timestamp]: new Date().toISOString(),
      [HEADERS.action]: 'Poll',
    },
    body: pollRequest.encode({ policyVersion }),
  });
  const autocannonPolls = { perSecond: Math.round(cannonPolls.requests.average), p50Ms: cannonPolls.latency.p50, p99Ms: cannonPolls.latency.p99 };

  // Package content, the site alone: what one distribution point serves.
  const instruction = await device.instructions(credentials, offers[0]!.advertisementId);
  const location = await device.locate(credentials, offers[0]!.packageId, instruction.package.version);
  const http = location.sources.find((source) => source.type === 'HTTP');
  if (!http) throw new Error('the site offered no HTTP source for the package');
  const cannonContent = await autocannon({ url: http.location, connections, duration: seconds });
  await site.stop();
  return {
    connections,
    lifecycles,
    fleetPolls,
    autocannonPolls,
    ratio: round(fleetPolls.perSecond / autocannonPolls.perSecond, 2),
    autocannonContent: {
      perSecond: Math.round(cannonContent.requests.average),
      p50Ms: cannonContent.latency.p50,
      p99Ms: cannonContent.latency.p99,
      megabytesPerSecond: round(cannonContent.throughput.average / 1e6),
    },
  };
});
