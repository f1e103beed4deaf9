import { SiteConnection } from '../src/agent/site-connection.js';
import type { Logger } from '../src/logging.js';
import { seededRandom } from '../src/random.js';
import { CronClock } from '../src/time/cron-clock.js';
import { DeviceStateStore } from './device-state-store.js';
import { drawProfiles, type FleetMix } from './fleet-mix.js';
import { Fleet } from './fleet.js';
import { LatencyRecorder } from './latency.js';
import { collectAdvertisementReports, storedStatusCount, type AdvertisementReport, type FleetReport } from './report.js';

export interface LiveFleetOptions {
  serverUrl: string;
  mix: FleetMix;
  devices: number;
  seed: number;
  staggerMs: number;
  durationMs: number;
  /** Devices remember their outboxes here across restarts. */
  stateDir?: string;
  logger: Logger;
  /** Called every second of the run, for progress display. */
  onProgress?: (fleet: Fleet, elapsedMs: number) => void;
}

/**
 * A fleet in real time against any server that speaks the device protocol (a load test): node-cron wakes devices
 * for their polls at the interval the server sets, and for every other device timer. Advertisement status comes from the server's admin API when it
 * is an mlc-sim stub site; another server's report has latency and device states only.
 */
export async function runLiveFleet(options: LiveFleetOptions): Promise<FleetReport> {
  const start = Date.now();
  const random = seededRandom(options.seed);
  const latency = new LatencyRecorder();
  const clock = new CronClock();
  const profiles = drawProfiles(options.mix, options.devices, random.fork());
  const stateStore = options.stateDir === undefined ? undefined : new DeviceStateStore(options.stateDir);
  const fleet = new Fleet({
    ...(stateStore && { stateStore }),
    profiles,
    connection: new SiteConnection({ serverUrl: options.serverUrl, clock, onExchange: latency.record }),
    random: random.fork(),
    logger: options.logger,
    staggerMs: options.staggerMs,
  });
  const progress = options.onProgress && setInterval(() => options.onProgress!(fleet, Date.now() - start), 1000);
  await new Promise((resolve) => setTimeout(resolve, options.durationMs));
  if (progress) clearInterval(progress);
  fleet.stop();
  clock.stop();
  stateStore?.close();
  let advertisements: AdvertisementReport[] = [];
  let stored: number | null = null;
  try {
    advertisements = await collectAdvertisementReports(options.serverUrl);
    stored = await storedStatusCount(options.serverUrl);
  } catch (error) {
    options.logger.warn('no advertisement status: the server has no mlc-sim admin API', { error: String(error) });
  }
  const platforms: Record<string, number> = {};
  for (const profile of profiles) platforms[profile.platform] = (platforms[profile.platform] ?? 0) + 1;
  return {
    scenario: null,
    seed: options.seed,
    clock: 'real',
    devices: fleet.size,
    platforms,
    start: new Date(start).toISOString(),
    end: new Date().toISOString(),
    wallSeconds: (Date.now() - start) / 1000,
    roundComplete: fleet.roundComplete,
    devicesCycled: fleet.devicesCycled,
    deviceStates: fleet.stateCounts(),
    advertisements,
    status: { ...fleet.statusCounts(), stored },
    latency: latency.summary(),
  };
}
