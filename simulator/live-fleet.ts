import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../src/logging.js';
import { seededRandom } from '../src/random.js';
import { CronClock } from '../src/time/cron-clock.js';
import { EagerClock } from '../src/time/eager-clock.js';
import type { RunWatcher } from './dashboard/sampler.js';
import { openStateStore } from './device-state-store.js';
import type { FleetMix } from './fleet-mix.js';
import type { FleetProgress, FleetSlice } from './fleet.js';
import { fleetOnSite } from './fleet-on-site.js';
import { LatencyRecorder } from './latency.js';
import type { WireLogOptions } from './wire-log.js';
import { adminApiReader, collectAdvertisementReports, type FleetReport } from './report.js';

export interface LiveFleetOptions {
  serverUrl: string;
  mix: FleetMix;
  devices: number;
  seed: number;
  staggerMs: number;
  /** How long to run after the warm-up. */
  durationMs: number;
  /**
   * Run this long first, leaving its requests out of the latency figures: the first round (registrations, first
   * downloads) and the runtime's warm-up, as autocannon's `--warmup` does.
   */
  warmUpMs?: number;
  /** Devices remember their outboxes here across restarts. */
  stateDir?: string;
  /** Every exchange of the first `devices` devices (all when absent) as JSON lines in `file`. */
  wireLog?: WireLogOptions;
  /** Each device polls again as soon as its cycle ends, and programs take no time: the most load the fleet can make. */
  backToBack?: boolean;
  logger: Logger;
  /** Called every second of the run, for progress display. */
  onProgress?: (fleet: FleetProgress, elapsedMs: number) => void;
  /** Run only this share of the devices (a worker thread's part); the site's side is then read by the caller. */
  slice?: FleetSlice;
  /** Where request latency is recorded; a worker sends its histograms on to be merged. */
  latency?: LatencyRecorder;
  /** The live dashboard (`--dashboard`), told of the run and of every exchange. */
  watcher?: RunWatcher;
}

/**
 * A fleet in real time against any server that speaks the device protocol (a load test): node-cron wakes devices
 * for their polls at the interval the server sets, and for every other device timer. Advertisement status comes
 * from the server's admin API when it is an mlc-sim stub site; another server's report has latency and device
 * states only.
 */
export async function runLiveFleet(options: LiveFleetOptions): Promise<FleetReport> {
  const start = Date.now();
  const random = seededRandom(options.seed);
  const latency = options.latency ?? new LatencyRecorder();
  const cron = options.backToBack ? null : new CronClock();
  const clock = cron ?? new EagerClock();
  const stateStore = options.stateDir === undefined ? undefined : openStateStore(options.stateDir);
  const { fleet, close } = fleetOnSite({
    serverUrl: options.serverUrl,
    clock,
    mix: options.mix,
    devices: options.devices,
    random,
    staggerMs: options.staggerMs,
    latency,
    logger: options.logger,
    stateStore,
    slice: options.slice,
    wireLog: options.wireLog,
    watcher: options.watcher,
    // Back to back, every timer fires at once: a device would sleep and wake again for every poll.
    dormancy: !options.backToBack,
  });
  options.watcher?.watch({ fleet, clock, start, siteUrl: options.serverUrl, windows: [] });
  const onProgress = options.onProgress;
  const progress =
    onProgress &&
    setInterval(() => {
      onProgress(fleet.progress(), Date.now() - start);
    }, 1000);
  const warmUpMs = options.warmUpMs ?? 0;
  if (warmUpMs > 0) {
    await sleep(warmUpMs);
    latency.reset();
  }
  await sleep(options.durationMs);
  if (progress) clearInterval(progress);
  fleet.stop();
  cron?.stop();
  await close();
  stateStore?.close();
  const side = fleet.reportSide();
  const report: FleetReport = {
    scenario: null,
    seed: options.seed,
    clock: 'real',
    start: new Date(start).toISOString(),
    end: new Date().toISOString(),
    wallSeconds: (Date.now() - start) / 1000,
    ...side,
    advertisements: [],
    deviceHistories: {},
    storage: [],
    status: { ...side.status, stored: null },
    latency: latency.summary(),
    latencyWindow: { warmUpSeconds: warmUpMs / 1000, seconds: options.durationMs / 1000 },
    windows: [],
  };
  return options.slice ? report : withSiteSide(report, options.serverUrl, options.logger);
}

/** Adds what the site stored (advertisement status, status record count), when the server is an mlc-sim stub site. */
export async function withSiteSide(report: FleetReport, serverUrl: string, logger: Logger): Promise<FleetReport> {
  let siteSide: Pick<FleetReport, 'advertisements' | 'deviceHistories' | 'storage'> = { advertisements: [], deviceHistories: {}, storage: [] };
  let stored: number | null = null;
  try {
    const site = adminApiReader(serverUrl);
    siteSide = await collectAdvertisementReports(site);
    stored = await site.storedStatusCount();
  } catch (error) {
    logger.warn('no advertisement status: the server has no mlc-sim admin API', { error: String(error) });
  }
  return { ...report, ...siteSide, status: { ...report.status, stored } };
}
