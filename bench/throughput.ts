// Section: the fleet as fast as it can go against the stub site in another process, on loopback. Full lifecycles
// (register, poll, instructions, locate, download, run, report) per second for fresh devices; then policy polls per
// second from a back-to-back fleet (`fleet --back-to-back`) in 1 and 2 worker threads, between two runs of autocannon
// against the same poll with as many connections as the fleet has devices, to tell how close the fleet comes to the
// wire; and autocannon on package content: the site alone.
import autocannon from 'autocannon';
import { setTimeout as sleep } from 'node:timers/promises';
import { SiteConnection, type Credentials } from '../src/agent/site-connection.js';
import { silentLogger } from '../src/logging.js';
import { DEVICE_MANAGEMENT_PATH, HEADERS, pollRequest } from '../src/protocol/documents.js';
import { seededRandom } from '../src/random.js';
import { realClock } from '../src/time/clock.js';
import { EagerClock } from '../src/time/eager-clock.js';
import { drawProfiles, fleetMixSchema } from '../simulator/fleet-mix.js';
import { Fleet } from '../simulator/fleet.js';
import { LatencyRecorder } from '../simulator/latency.js';
import { runInWorkers } from '../simulator/workers.js';
import { round, section } from './section.js';
import { startSiteProcess, type SiteProcess } from './site-process.js';

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

/**
 * CPU per request, in microseconds: what explains a ratio. The client's is this whole process (the fleet's workers
 * and their garbage collection, or autocannon), and for the fleet it includes starting its workers (about a second
 * of CPU each), so it reads high for short runs. The site's is its process; null where it cannot be read.
 */
export interface CpuFigures {
  clientCpuMicrosPerRequest: number;
  siteCpuMicrosPerRequest: number | null;
}

export interface ThroughputFigures {
  connections: number;
  lifecycles: RateFigures & { devices: number; requestsPerSecond: number };
  /** Per worker count: the fleet's poll rate, and its ratio to autocannon's on the same poll in the same run. */
  fleetPolls: (RateFigures & CpuFigures & { workers: number; ratio: number })[];
  /** The mean of autocannon's runs before and after the fleet's: a machine's speed drifts over a minute. */
  autocannonPolls: RateFigures & CpuFigures & { before: number; after: number };
  autocannonContent: RateFigures & { megabytesPerSecond: number };
}

const MIX = fleetMixSchema.parse({
  platforms: [{ platform: 'Windows Mobile 6.5', osVersion: '5.2.21234', weight: 1 }],
  storage: [{ minMB: 64, maxMB: 64, weight: 1 }],
  connectivity: [{ kind: 'wlan', bandwidthKBps: 250, weight: 1 }],
});

/** Fresh devices on the eager clock, through `connections` sockets, every exchange counted and timed. */
function eagerFleet(serverUrl: string, devices: number, connections: number) {
  const latency = new LatencyRecorder();
  let requests = 0;
  const connection = new SiteConnection({
    serverUrl,
    clock: new EagerClock(),
    maxSockets: connections,
    onExchange: (_endpoint, ms, ok) => {
      requests++;
      latency.record('all', ms, ok);
    },
  });
  const random = seededRandom(1);
  const fleet = new Fleet({ profiles: drawProfiles(MIX, devices, random.fork()), connection, random, logger: silentLogger(), staggerMs: 0 });
  return { fleet, counts: () => ({ requests, latency: latency.summary() }) };
}

function rate(count: number, seconds: number, latency: { p50Ms: number; p99Ms: number } | undefined): RateFigures {
  return { perSecond: Math.round(count / seconds), p50Ms: latency?.p50Ms ?? 0, p99Ms: latency?.p99Ms ?? 0 };
}

/** Runs `work`, which makes `requests(result)` requests, and measures the CPU both sides spent per request. */
async function withCpu<T>(site: SiteProcess, work: () => Promise<T>, requests: (result: T) => number): Promise<[T, CpuFigures]> {
  const client = process.cpuUsage();
  const siteBefore = site.cpuSeconds();
  const result = await work();
  const { user, system } = process.cpuUsage(client);
  const siteAfter = site.cpuSeconds();
  const count = Math.max(1, requests(result));
  return [
    result,
    {
      clientCpuMicrosPerRequest: Math.round((user + system) / count),
      siteCpuMicrosPerRequest: siteBefore === null || siteAfter === null ? null : Math.round(((siteAfter - siteBefore) * 1e6) / count),
    },
  ];
}

async function untilRoundComplete(fleet: Fleet): Promise<void> {
  while (!fleet.roundComplete) await sleep(5);
}

await section(async ({ lifecycleDevices, connections, seconds }: ThroughputParams): Promise<ThroughputFigures> => {
  const site = await startSiteProcess('bench/throughput-site.yaml');

  // Full lifecycles: fresh devices, one advertisement each, programs that finish at once.
  const lifecycle = eagerFleet(site.url, lifecycleDevices, connections);
  const started = performance.now();
  await untilRoundComplete(lifecycle.fleet);
  const lifecycleSeconds = (performance.now() - started) / 1000;
  lifecycle.fleet.stop();
  const lifecycleCounts = lifecycle.counts();
  const lifecycles = {
    devices: lifecycleDevices,
    ...rate(lifecycleDevices, lifecycleSeconds, lifecycleCounts.latency.all),
    requestsPerSecond: Math.round(lifecycleCounts.requests / lifecycleSeconds),
  };

  // The same poll from autocannon: one registered device's request, sent as fast as the connections allow.
  const device = new SiteConnection({ serverUrl: site.url, clock: realClock });
  const credentials: Credentials = { uuid: 'BENCH-AUTOCANNON', authToken: null };
  credentials.authToken = await device.register({ uuid: credentials.uuid, name: 'autocannon', platform: 'Windows Mobile 6.5', osVersion: '5.2.21234' });
  const { policyVersion, offers } = await device.poll(credentials, null);
  const cannonPolls = () =>
    withCpu(site, () => autocannon({
      url: `${site.url}${DEVICE_MANAGEMENT_PATH}`,
      method: 'POST',
      connections,
      duration: seconds,
      headers: {
        'content-type': 'application/xml; charset=utf-8',
        [HEADERS.uuid]: credentials.uuid,
        [HEADERS.auth]: credentials.authToken!,
        [HEADERS.timestamp]: new Date().toISOString(),
        [HEADERS.action]: 'Poll',
      },
      body: pollRequest.encode({ policyVersion }),
    }), (result) => result.requests.total);
  const [before, beforeCpu] = await cannonPolls();

  // Policy polls: a back-to-back live fleet, one device per connection, in 1 and then 2 worker threads. Its first
  // round (one lifecycle each) is a small part of the run.
  const pollRuns = [];
  for (const workers of [1, 2]) {
    const [report, cpu] = await withCpu(
      site,
      () =>
        runInWorkers(
          { kind: 'live', options: { serverUrl: site.url, mix: MIX, devices: connections, seed: workers, staggerMs: 0, durationMs: seconds * 1000, backToBack: true }, logLevel: 'error' },
          { workers },
        ),
      (result) => Object.values(result.latency).reduce((sum, endpoint) => sum + endpoint.count, 0),
    );
    pollRuns.push({ workers, ...rate(report.latency.Poll?.count ?? 0, seconds, report.latency.Poll), ...cpu });
  }

  const [after, afterCpu] = await cannonPolls();
  const mean = (a: number, b: number) => Math.round((a + b) / 2);
  const autocannonPolls = {
    perSecond: mean(before.requests.average, after.requests.average),
    before: Math.round(before.requests.average),
    after: Math.round(after.requests.average),
    p50Ms: mean(before.latency.p50, after.latency.p50),
    p99Ms: mean(before.latency.p99, after.latency.p99),
    clientCpuMicrosPerRequest: mean(beforeCpu.clientCpuMicrosPerRequest, afterCpu.clientCpuMicrosPerRequest),
    siteCpuMicrosPerRequest:
      beforeCpu.siteCpuMicrosPerRequest === null || afterCpu.siteCpuMicrosPerRequest === null ? null : mean(beforeCpu.siteCpuMicrosPerRequest, afterCpu.siteCpuMicrosPerRequest),
  };

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
    fleetPolls: pollRuns.map((run) => ({ ...run, ratio: round(run.perSecond / autocannonPolls.perSecond, 2) })),
    autocannonPolls,
    autocannonContent: {
      perSecond: Math.round(cannonContent.requests.average),
      p50Ms: cannonContent.latency.p50,
      p99Ms: cannonContent.latency.p99,
      megabytesPerSecond: round(cannonContent.throughput.average / 1e6),
    },
  };
});
