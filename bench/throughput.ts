// Section: the fleet as fast as it can go against the stub site in another process, on loopback. Full lifecycles
// (poll, instructions, locate, download, run, status, inventory) per second for fresh devices, from a fleet in a
// worker thread as `fleet --workers N` runs each of its N (bench/lifecycle-fleet.ts), against autocannon sending one captured lifecycle's
// requests again for as many known devices as it has connections; then policy polls per
// second from a back-to-back fleet (`fleet --back-to-back`) in 1 and 2 worker threads, against autocannon on the same
// poll with as many connections as the fleet has devices, to tell how close the fleet comes to the wire; and
// autocannon on package content: the site alone.
//
// A machine's speed drifts, on a shared VM by as much as 2× within a minute, so the runs are short and interleaved:
// rounds of autocannon then the fleet on the lifecycle, and of autocannon, fleet in 1 worker, fleet in 2 workers on
// the poll, each closed by one more autocannon run. Each fleet run is compared with the autocannon runs either side
// of it, and the figures are medians over the rounds. Every run is measured after a warm-up (autocannon's `warmup`,
// the fleet's `warmUpMs`, and before the lifecycles fleets of other fresh devices): the first round of a fleet and
// the runtime's warm-up are not what a load test of minutes sees.
import autocannon from 'autocannon';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fleetThread, runInWorkers } from '../simulator/workers.js';
import type { LifecycleFleetAnswer, LifecycleFleetRequest, LifecycleFleetSetup } from './lifecycle-fleet.js';
import { POLL_MIX } from './poll-mix.js';
import { knownDevicePoll } from './known-device-poll.js';
import { captureLifecycle, introduceDevices, requestsOf, within } from './lifecycle-requests.js';
import { round, section } from './section.js';
import { startSiteProcess, type SiteProcess } from './site-process.js';

export interface ThroughputParams {
  /** Fresh devices in the lifecycle phase. */
  lifecycleDevices: number;
  /** Devices polling, and autocannon's connections. */
  connections: number;
  /** Seconds measured per poll run, after its warm-up; and the length of the content run. */
  seconds: number;
  /** Rounds of poll runs (autocannon, fleet in 1 worker, fleet in 2). */
  rounds: number;
}

export interface RateFigures {
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

/**
 * CPU per request over a measured window, in microseconds: what explains a ratio. The client's is this whole
 * process (the fleet's workers and their garbage collection, or autocannon); the site's is its process, null where
 * it cannot be read.
 */
export interface CpuFigures {
  clientCpuMicrosPerRequest: number;
  siteCpuMicrosPerRequest: number | null;
}

/** The poll runs of one kind: medians, and each run's rate in the order run. */
type PollRuns = RateFigures & CpuFigures & { runs: number[] };

export interface ThroughputFigures {
  connections: number;
  /** Medians over the rounds, each fleet run against the autocannon runs either side of it. */
  lifecycles: RateFigures & {
    devices: number;
    requestsPerSecond: number;
    /** autocannon on the same lifecycle's requests: lifecycles a second (its requests a second ÷ requests in one). */
    requestsPerLifecycle: number;
    autocannonPerSecond: number;
    /** Answers that were not 2xx, or no answer, over all its runs: with any, autocannon's figure is not the same work. */
    autocannonFailures: number;
    /** CPU per request of the fleet's lifecycles, and of autocannon's (`autocannonCpu`). */
    cpu: CpuFigures;
    autocannonCpu: CpuFigures;
    /** The fleet's lifecycles a second ÷ autocannon's either side: the median, and each round's. */
    ratio: number;
    ratios: number[];
    /** Each fleet run's lifecycles a second, and autocannon's, in the order run. */
    runs: number[];
    autocannonRuns: number[];
  };
  /** Per worker count: the fleet's poll rate, and its ratio to autocannon's either side of it (median, and each round's). */
  fleetPolls: (PollRuns & { workers: number; ratio: number; ratios: number[] })[];
  /** autocannon's runs on the same poll: one more than the rounds, as they open and close each. */
  autocannonPolls: PollRuns;
  autocannonContent: RateFigures & { megabytesPerSecond: number };
}

/** A fleet's warm-up before each measured run: its first round, and the JIT reaching its hot paths (about 2 s here). */
const FLEET_WARM_UP_MS = 2_000;
const AUTOCANNON_WARM_UP_SECONDS = 1;

function rate(count: number, seconds: number, latency: { p50Ms: number; p99Ms: number } | undefined): RateFigures {
  return { perSecond: Math.round(count / seconds), p50Ms: latency?.p50Ms ?? 0, p99Ms: latency?.p99Ms ?? 0 };
}

/** The CPU both sides spend from `start()` (a measured window's start; without one, from the meter's making) to `stop()`. */
class CpuMeter {
  private client = process.cpuUsage();
  private site: number | null;

  constructor(private readonly siteProcess: SiteProcess) {
    this.site = siteProcess.cpuSeconds();
  }

  readonly start = (): void => {
    this.client = process.cpuUsage();
    this.site = this.siteProcess.cpuSeconds();
  };

  /** Per request, for `requests` made in the window. */
  stop(requests: number): CpuFigures {
    const { user, system } = process.cpuUsage(this.client);
    const site = this.siteProcess.cpuSeconds();
    const count = Math.max(1, requests);
    return {
      clientCpuMicrosPerRequest: Math.round((user + system) / count),
      siteCpuMicrosPerRequest: this.site === null || site === null ? null : Math.round(((site - this.site) * 1e6) / count),
    };
  }
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/** The median CPU per request of runs, client and site (the site's only when every run could read it). */
function cpuMediansOf(runs: CpuFigures[]): CpuFigures {
  return {
    clientCpuMicrosPerRequest: Math.round(median(runs.map((run) => run.clientCpuMicrosPerRequest))),
    siteCpuMicrosPerRequest: runs.some((run) => run.siteCpuMicrosPerRequest === null) ? null : round(median(runs.map((run) => run.siteCpuMicrosPerRequest!))),
  };
}

/** Runs of one kind as medians, and each run's rate in the order run. */
function mediansOf(runs: (RateFigures & CpuFigures)[]): PollRuns {
  const middle = (figure: (run: RateFigures & CpuFigures) => number) => round(median(runs.map(figure)));
  return {
    perSecond: Math.round(middle((run) => run.perSecond)),
    p50Ms: middle((run) => run.p50Ms),
    p99Ms: middle((run) => run.p99Ms),
    ...cpuMediansOf(runs),
    runs: runs.map((run) => run.perSecond),
  };
}

/**
 * autocannon sending one device's captured lifecycle again and again, each connection's turn through it on behalf of
 * the next of `connections` devices the site knows (their UUIDs and tokens); each run measured after a warm-up.
 */
async function lifecycleCannon(site: SiteProcess, connections: number) {
  const lifecycle = await captureLifecycle(site.url, 'BENCH-LIFECYCLE');
  const devices = (await introduceDevices(site.url, connections, 'BENCH-CANNON')).map((device) => requestsOf(lifecycle, device));
  const requestsPerLifecycle = lifecycle.requests.length;
  let next = 0;
  // A connection's context is fresh at each turn through the list: its first request picks the device for the turn.
  const requests = lifecycle.requests.map((_, step) => ({
    setupRequest: (request: autocannon.Request, context: { device?: number }) => {
      if (step === 0) context.device = next++ % devices.length;
      return { ...request, ...devices[context.device ?? 0]![step]! };
    },
  }));
  const run = async (seconds: number) => {
    const cpu = new CpuMeter(site);
    const running = autocannon({
      url: site.url,
      connections,
      duration: seconds,
      warmup: { connections, duration: AUTOCANNON_WARM_UP_SECONDS },
      requests,
    } as autocannon.Options) as Promise<autocannon.Result> & Pick<autocannon.Instance, 'on'>;
    // The main run starts after the warm-up.
    running.on('start', cpu.start);
    const result = await within((seconds + AUTOCANNON_WARM_UP_SECONDS + 30) * 1000, 'autocannon on the lifecycle', running);
    return {
      perSecond: Math.round(result.requests.average / requestsPerLifecycle),
      failures: result.non2xx + result.errors + result.timeouts,
      cpu: cpu.stop(result.requests.total),
    };
  };
  return { requestsPerLifecycle, run };
}

/**
 * Fleets of other fresh devices that go through their lifecycles before the measured ones, as autocannon's runs have
 * their warm-up: here the fleet's CPU per request settles after about 6,000 lifecycles (the JIT reaching the
 * device's hot paths, the heap finding its size), and after 2,000 it is still about 15 % above that.
 */
const LIFECYCLE_WARM_UP_FLEETS = 3;

/**
 * The lifecycle fleets' thread, made as every fleet thread is (simulator/workers.ts fleetThread), so the fleet is
 * measured as `fleet --workers N` runs each of its threads (and as the poll runs below run theirs); it stays up from
 * the warm-up fleets to the last measured one.
 */
function lifecycleThread(site: SiteProcess, connections: number) {
  const thread = fleetThread(new URL('./lifecycle-fleet.ts', import.meta.url), { serverUrl: site.url, connections } satisfies LifecycleFleetSetup);
  const failed = new Promise<never>((_, reject) => {
    thread.once('error', reject);
    thread.once('exit', (code) => {
      reject(new Error(`the lifecycle fleet's thread exited (code ${code})`));
    });
  });
  failed.catch(() => undefined);
  /** One fleet of fresh devices through one lifecycle each: its rate, and the CPU both sides spent per request. */
  const lifecycles = async (devices: number, prefix: string) => {
    const cpu = new CpuMeter(site);
    const answered = new Promise<LifecycleFleetAnswer>((resolve) => thread.once('message', resolve));
    thread.postMessage({ devices, prefix } satisfies LifecycleFleetRequest);
    const { seconds, requests, latency } = await within(120_000, 'the lifecycle fleet', Promise.race([answered, failed]));
    if (latency && latency.errors > 0) throw new Error(`the lifecycle fleet ${prefix} had ${latency.errors} failed requests of ${requests}`);
    return { ...rate(devices, seconds, latency), requestsPerSecond: Math.round(requests / seconds), ...cpu.stop(requests) };
  };
  return { lifecycles, stop: () => thread.terminate() };
}

/** The mean of the runs either side of the i-th run of the other kind, when the two kinds are interleaved. */
const around = (runs: { perSecond: number }[], i: number): number => (runs[i]!.perSecond + runs[i + 1]!.perSecond) / 2;

await section(async ({ lifecycleDevices, connections, seconds, rounds }: ThroughputParams): Promise<ThroughputFigures> => {
  const site = await startSiteProcess('bench/throughput-site.yaml');

  // Full lifecycles: fresh devices, one advertisement each, programs that finish at once; interleaved with
  // autocannon's runs on the same lifecycle, as the polls below are.
  const fleet = lifecycleThread(site, connections);
  for (let i = 0; i < LIFECYCLE_WARM_UP_FLEETS; i++) await fleet.lifecycles(lifecycleDevices, `WARM${i}`);
  const cannon = await lifecycleCannon(site, connections);
  const cannonLifecycleRuns = [await cannon.run(seconds)];
  const fleetLifecycleRuns: Awaited<ReturnType<typeof fleet.lifecycles>>[] = [];
  for (let i = 0; i < rounds; i++) {
    fleetLifecycleRuns.push(await fleet.lifecycles(lifecycleDevices, `BENCH${i}`));
    cannonLifecycleRuns.push(await cannon.run(seconds));
  }
  await fleet.stop();
  const lifecycleRatios = fleetLifecycleRuns.map((run, i) => round(run.perSecond / Math.max(1, around(cannonLifecycleRuns, i)), 2));
  const fleetMedians = mediansOf(fleetLifecycleRuns);
  const lifecycles = {
    devices: lifecycleDevices,
    perSecond: fleetMedians.perSecond,
    p50Ms: fleetMedians.p50Ms,
    p99Ms: fleetMedians.p99Ms,
    requestsPerSecond: Math.round(median(fleetLifecycleRuns.map((run) => run.requestsPerSecond))),
    requestsPerLifecycle: cannon.requestsPerLifecycle,
    autocannonPerSecond: Math.round(median(cannonLifecycleRuns.map((run) => run.perSecond))),
    autocannonFailures: cannonLifecycleRuns.reduce((sum, run) => sum + run.failures, 0),
    cpu: cpuMediansOf(fleetLifecycleRuns),
    autocannonCpu: cpuMediansOf(cannonLifecycleRuns.map((run) => run.cpu)),
    ratio: round(median(lifecycleRatios), 2),
    ratios: lifecycleRatios,
    runs: fleetMedians.runs,
    autocannonRuns: cannonLifecycleRuns.map((run) => run.perSecond),
  };

  // The same poll from autocannon: one known device's DevicePoll, sent as fast as the connections allow.
  const known = await knownDevicePoll(site.url, POLL_MIX, 'BENCH-AUTOCANNON');
  const { device, credentials, first } = known;
  const cannonPolls = async () => {
    const cpu = new CpuMeter(site);
    // autocannon's types know neither `warmup` nor that the promise it returns also emits its run's events.
    const run = autocannon({
      url: known.url,
      method: 'POST',
      connections,
      duration: seconds,
      warmup: { connections, duration: AUTOCANNON_WARM_UP_SECONDS },
      headers: known.headers,
      body: known.body,
    } as autocannon.Options) as Promise<autocannon.Result> & Pick<autocannon.Instance, 'on'>;
    // The main run starts after the warm-up.
    run.on('start', cpu.start);
    const result = await run;
    return { perSecond: Math.round(result.requests.average), p50Ms: result.latency.p50, p99Ms: result.latency.p99, ...cpu.stop(result.requests.total) };
  };

  // Policy polls from a back-to-back live fleet, one device per connection, measured after its warm-up. Every run is
  // the same devices, which remember their tokens in a state directory: the site refuses a device it knows that
  // does not present its token (401), and a run of refusals would measure something else.
  const pollStateDir = await mkdtemp(path.join(os.tmpdir(), 'mlc-sim-bench-polls-'));
  const fleetPolls = async (workers: number) => {
    const cpu = new CpuMeter(site);
    let measuring = false;
    const report = await runInWorkers(
      {
        kind: 'live',
        options: {
          serverUrl: site.url,
          mix: POLL_MIX,
          devices: connections,
          seed: workers,
          staggerMs: 0,
          warmUpMs: FLEET_WARM_UP_MS,
          durationMs: seconds * 1000,
          backToBack: true,
          stateDir: pollStateDir,
        },
        logLevel: 'error',
      },
      {
        workers,
        // Progress comes each second of the fleet's run: the one at the warm-up's end starts the window.
        onProgress: (_progress, elapsedMs) => {
          if (measuring || elapsedMs < FLEET_WARM_UP_MS) return;
          measuring = true;
          cpu.start();
        },
      },
    );
    const requests = Object.values(report.latency).reduce((sum, endpoint) => sum + endpoint.count, 0);
    const failed = Object.values(report.latency).reduce((sum, endpoint) => sum + endpoint.errors, 0);
    if (failed > 0) throw new Error(`the fleet's poll run (${workers} workers) had ${failed} failed requests of ${requests}`);
    return { ...rate(report.latency.Poll?.count ?? 0, seconds, report.latency.Poll), ...cpu.stop(requests) };
  };

  // Interleaved, so that each fleet run has autocannon runs close by on either side.
  const cannonRuns = [await cannonPolls()];
  const fleetRuns = new Map<number, (RateFigures & CpuFigures)[]>([
    [1, []],
    [2, []],
  ]);
  for (let i = 0; i < rounds; i++) {
    for (const [workers, runs] of fleetRuns) runs.push(await fleetPolls(workers));
    cannonRuns.push(await cannonPolls());
  }

  // Package content, the site alone: what one distribution point serves.
  const packageId = first.policy.packages[0]!;
  const location = await device.locate(credentials, { packageId, clientLocation: { directoryService: '', ipAddresses: [] } });
  const url = location.locations.find((l) => l.httpUrl !== null)?.httpUrl;
  if (!url) throw new Error('the site offered no HTTP source for the package');
  const cannonContent = await autocannon({ url, connections, duration: seconds });
  await site.stop();
  await rm(pollStateDir, { recursive: true, force: true });
  return {
    connections,
    lifecycles,
    fleetPolls: [...fleetRuns].map(([workers, runs]) => {
      const ratios = runs.map((run, i) => round(run.perSecond / around(cannonRuns, i), 2));
      return { workers, ...mediansOf(runs), ratio: round(median(ratios), 2), ratios };
    }),
    autocannonPolls: mediansOf(cannonRuns),
    autocannonContent: {
      perSecond: Math.round(cannonContent.requests.average),
      p50Ms: cannonContent.latency.p50,
      p99Ms: cannonContent.latency.p99,
      megabytesPerSecond: round(cannonContent.throughput.average / 1e6),
    },
  };
});
