import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../src/logging.js';
import { seededRandom } from '../src/random.js';
import { InputFileError } from '../src/input-file.js';
import { SiteError } from '../src/server/site-error.js';
import { startSiteServer } from '../src/server/site-server.js';
import { ScaledClock } from '../src/time/scaled-clock.js';
import { SimulatedClock } from '../src/time/simulated-clock.js';
import type { RunWatcher } from './dashboard/sampler.js';
import { openStateStore } from './device-state-store.js';
import type { FleetProgress, FleetSlice } from './fleet.js';
import { EmbeddedSiteTransport } from './embedded-site-transport.js';
import { fleetOnSite } from './fleet-on-site.js';
import { LatencyRecorder } from './latency.js';
import { collectAdvertisementReports, type FleetReport } from './report.js';
import { embeddedSiteReader } from './embedded-site-reader.js';
import { scenarioWindows } from './report-timeline.js';
import type { Scenario } from './scenario.js';
import { Timeline } from './timeline.js';
import type { WireLogOptions } from './wire-log.js';

export interface ReplayOptions {
  /** Simulated time after which a scenario without a duration is reported even if devices are still busy. */
  limitMs: number;
  /** Run at this many times real time instead of as fast as the site answers (not exactly repeatable). */
  speed?: number;
  /** Devices remember their outboxes here across restarts. */
  stateDir?: string;
  /** Every exchange of the first `devices` devices (all when absent) as JSON lines in `file`. */
  wireLog?: WireLogOptions;
  logger: Logger;
  /** Called about once per simulated minute, for progress display. */
  onProgress?: (fleet: FleetProgress, simulatedMs: number) => void;
  /** Run only this share of the scenario's devices, against a site of its own (a worker thread's part). */
  slice?: FleetSlice;
  /** Where request latency is recorded; a worker sends its histograms on to be merged. */
  latency?: LatencyRecorder;
  /** The live dashboard (`--dashboard`), told of the run and of every exchange. */
  watcher?: RunWatcher;
  /** Idle devices sleep as dormant records (the default); the replay is the same either way. */
  dormancy?: boolean;
  /**
   * The devices reach the embedded site over loopback HTTP, not in the same thread (EmbeddedSiteTransport): the same
   * documents and the same report, at about twice the cost.
   */
  overHttp?: boolean;
}

/** Replays start here: a fixed instant, so a seed names the same moments every time. */
export const REPLAY_START = '2009-06-01T08:00:00Z';

/**
 * Replays a scenario in simulated time: an embedded stub site, the fleet and the timeline on one clock. The clock
 * only moves when no HTTP exchange is in flight, and nothing depends on the order the exchanges of one moment reach
 * the site in (the timeline goes first, the site's rolls are per device and request), so the same seed gives the
 * same events and the same report.
 * The report reads the site as its admin API answers, in the same thread (embeddedSiteReader).
 */
export async function replayScenario(scenario: Scenario, options: ReplayOptions): Promise<FleetReport> {
  const wallStart = performance.now();
  const clock = options.speed === undefined ? new SimulatedClock(REPLAY_START) : new ScaledClock(Date.parse(REPLAY_START), options.speed);
  const start = Date.parse(REPLAY_START);
  const random = seededRandom(scenario.seed);
  const latency = options.latency ?? new LatencyRecorder();
  // A scenario that takes the site down keeps its status in a database file, to come back with it.
  const statusDir = scenario.timeline.some((a) => a.action === 'siteDown') ? await mkdtemp(path.join(os.tmpdir(), 'mlc-sim-site-')) : null;
  // Opened before the site starts: a --state-dir that cannot be used is an error before anything runs.
  const stateStore = options.stateDir === undefined ? undefined : openStateStore(options.stateDir);
  const server = await startSiteServer({
    site: scenario.site,
    contentRoot: scenario.contentRoot,
    ...(statusDir && { statusDatabase: path.join(statusDir, 'status.db') }),
    now: () => clock.now(),
    // The site's own seed, from the scenario's. Its content URLs name their device, so that a fault on Content, like
    // one on a device action, hits the same requests every replay (see FaultInjector).
    seed: random.fork().int(0, 0xffff_ffff),
    contentUrlsNameDevice: true,
    logger: options.logger.child({ component: 'site' }),
  }).catch((error: unknown) => {
    stateStore?.close();
    // A reference the site refused (a collection that does not exist, say) names the file it is in.
    if (error instanceof SiteError) throw new InputFileError(scenario.siteFile, siteField(scenario, error.field), error.reason);
    throw error;
  });
  const { fleet, profiles, close } = fleetOnSite({
    serverUrl: server.url,
    clock,
    mix: scenario.mix,
    devices: scenario.devices,
    random,
    staggerMs: scenario.staggerMs,
    latency,
    logger: options.logger,
    stateStore,
    slice: options.slice,
    wireLog: options.wireLog,
    watcher: options.watcher,
    dormancy: options.dormancy,
    ...(!options.overHttp && { transport: new EmbeddedSiteTransport(server) }),
  });
  options.watcher?.watch({ fleet, clock, start, siteUrl: server.url, windows: scenarioWindows(scenario.timeline) });
  const timeline = new Timeline(scenario.timeline, {
    clock,
    serverUrl: server.url,
    start,
    deviceIds: profiles.map((p) => p.id),
    logger: options.logger,
    site: server,
    // A site change starts a new round: the run is over once every device has polled since the last one.
    onApplied: (_action, at) => {
      fleet.startRound(at);
    },
  });
  const progress = options.onProgress;
  let progressTimer: unknown;
  if (progress) {
    const tick = () => {
      progress(fleet.progress(), clock.now() - start);
      progressTimer = clock.setTimeout(tick, 60_000);
    };
    tick();
  }
  const end = start + (scenario.durationMs ?? options.limitMs);
  try {
    const finished = () => timeline.error !== null || (scenario.durationMs === null && timeline.done && fleet.roundComplete);
    await clock.runUntilTrue(finished, end);
    if (timeline.error) throw new InputFileError(scenario.file, `timeline.${timeline.error.index}`, `${timeline.error.action}: ${timeline.error.reason}`);
    if (scenario.durationMs !== null) await clock.runUntilTrue(() => false, end);
    // A run that ends while the site is down still reports what the site stored.
    await server.restart();
    const side = fleet.reportSide();
    const site = embeddedSiteReader(server);
    return {
      scenario: { name: scenario.name, description: scenario.description },
      seed: scenario.seed,
      clock: options.speed === undefined ? 'replay' : 'scaled',
      start: REPLAY_START,
      end: new Date(scenario.durationMs === null ? clock.now() : end).toISOString(),
      wallSeconds: (performance.now() - wallStart) / 1000,
      ...side,
      ...(await collectAdvertisementReports(site)),
      status: { ...side.status, stored: await site.storedStatusCount() },
      latency: latency.summary(),
      latencyWindow: null,
      windows: scenarioWindows(scenario.timeline),
    };
  } finally {
    clock.clearTimeout(progressTimer);
    timeline.stop();
    fleet.stop();
    stateStore?.close();
    await close();
    await server.close();
    if (statusDir) await rm(statusDir, { recursive: true, force: true });
  }
}

/** The field of a site error, as a path in the site's file: under `site.` when the site is inline in the scenario. */
function siteField(scenario: Scenario, field: string): string {
  return scenario.siteFile === scenario.file ? `site.${field}` : field;
}
