// Section: one first distribution round (config/scenarios/first-round.yaml) in replay time, the site embedded:
// how fast a fleet gets through register, poll, download, run and report when simulated time costs nothing.
import { SiteConnection } from '../src/agent/site-connection.js';
import { EmbeddedSiteTransport } from '../simulator/embedded-site-transport.js';
import { sitePortOf } from '../src/agent/site-line.js';
import { silentLogger } from '../src/logging.js';
import { seededRandom } from '../src/random.js';
import { startSiteServer } from '../src/server/site-server.js';
import { SimulatedClock } from '../src/time/simulated-clock.js';
import { drawProfiles } from '../simulator/fleet-mix.js';
import { Fleet } from '../simulator/fleet.js';
import { loadScenario } from '../simulator/scenario.js';
import { gc, round, section } from './section.js';

export interface FirstRoundFigures {
  devices: number;
  wallSeconds: number;
  simulatedSecondsPerWallSecond: number;
  requestsPerSecond: number;
  /** After the round, with the site's registrations and status records: the embedded site shares the heap. */
  heapBytesPerDeviceWithSite: number;
}

await section(async ({ devices }: { devices: number }): Promise<FirstRoundFigures> => {
  const scenario = await loadScenario('config/scenarios/first-round.yaml');
  const clock = new SimulatedClock();
  const server = await startSiteServer({ site: scenario.site, contentRoot: scenario.contentRoot, now: () => clock.now() });
  let requests = 0;
  gc();
  const before = process.memoryUsage();
  const started = performance.now();
  const random = seededRandom(1);
  const fleet = new Fleet({
    profiles: drawProfiles(scenario.mix, devices, random.fork()),
    site: sitePortOf(new SiteConnection({ serverUrl: server.url, clock, onExchange: () => requests++, transport: new EmbeddedSiteTransport(server) })),
    random,
    logger: silentLogger(),
    staggerMs: scenario.staggerMs,
  });
  const start = clock.now();
  const complete = await clock.runUntilTrue(() => fleet.roundComplete, start + 24 * 3_600_000);
  if (!complete) throw new Error(`the round did not complete: ${fleet.devicesCycled} of ${devices} devices cycled`);
  const wallSeconds = (performance.now() - started) / 1000;
  gc();
  const after = process.memoryUsage();
  return {
    devices,
    wallSeconds: round(wallSeconds),
    simulatedSecondsPerWallSecond: Math.round((clock.now() - start) / 1000 / wallSeconds),
    requestsPerSecond: Math.round(requests / wallSeconds),
    heapBytesPerDeviceWithSite: Math.round((after.heapUsed - before.heapUsed) / devices),
  };
});
