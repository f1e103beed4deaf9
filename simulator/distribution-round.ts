import { ClockPollScheduler } from '../src/agent/poll-scheduler.js';
import { SiteConnection } from '../src/agent/site-connection.js';
import type { SiteDefinition } from '../src/domain/site.js';
import type { Logger } from '../src/logging.js';
import { seededRandom } from '../src/random.js';
import { startSiteServer } from '../src/server/site-server.js';
import { SimulatedClock } from '../src/time/simulated-clock.js';
import { drawProfiles, type FleetMix } from './fleet-mix.js';
import { Fleet } from './fleet.js';
import { LatencyRecorder } from './latency.js';
import { collectAdvertisementReports, type FleetReport } from './report.js';

export interface DistributionRoundOptions {
  site: SiteDefinition;
  contentRoot: string;
  mix: FleetMix;
  devices: number;
  seed: number;
  /** First polls spread over this window. */
  staggerMs: number;
  /** Simulated time after which the round is reported even if devices are still busy. */
  limitMs: number;
  logger: Logger;
}

const SIMULATION_START = '2009-06-01T08:00:00Z';

/**
 * One distribution round in replay time: an embedded stub site and a fleet on one simulated clock, run until every
 * device has polled, handled its advertisements and reported (or the limit passes), then read back through the
 * admin API. The same seed gives the same devices, the same outcomes and the same report.
 */
export async function runDistributionRound(options: DistributionRoundOptions): Promise<FleetReport> {
  const wallStart = performance.now();
  const clock = new SimulatedClock(SIMULATION_START);
  const latency = new LatencyRecorder();
  const random = seededRandom(options.seed);
  const server = await startSiteServer({
    site: options.site,
    contentRoot: options.contentRoot,
    now: () => clock.now(),
    random: random.fork(),
    logger: options.logger.child({ component: 'site' }),
  });
  const fleet = new Fleet({
    profiles: drawProfiles(options.mix, options.devices, random.fork()),
    connection: new SiteConnection({ serverUrl: server.url, clock, onExchange: latency.record }),
    scheduler: new ClockPollScheduler(clock),
    random: random.fork(),
    logger: options.logger,
    staggerMs: options.staggerMs,
  });
  try {
    const roundComplete = await clock.runUntilTrue(() => fleet.roundComplete, clock.now() + options.limitMs);
    const platforms: Record<string, number> = {};
    for (const handheld of fleet.handhelds) {
      const platform = handheld.getSnapshot().context.profile.platform;
      platforms[platform] = (platforms[platform] ?? 0) + 1;
    }
    return {
      scenario: null,
      seed: options.seed,
      devices: fleet.size,
      platforms,
      simulatedStart: SIMULATION_START,
      simulatedEnd: new Date(clock.now()).toISOString(),
      wallSeconds: (performance.now() - wallStart) / 1000,
      roundComplete,
      devicesCycled: fleet.devicesCycled,
      deviceStates: fleet.stateCounts(),
      advertisements: await collectAdvertisementReports(server.url, Date.parse(SIMULATION_START)),
      latency: latency.summary(),
    };
  } finally {
    fleet.stop();
    await server.close();
  }
}
