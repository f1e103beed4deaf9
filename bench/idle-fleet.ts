// Section: an idle fleet in one process. Start-up time, memory per handheld, and CPU while every poll is scheduled
// but (nearly) none is due: first polls are spread over a day, so about one device in 8,640 polls per 10 seconds.
// CPU is measured after the fleet has been idle a while: just after start-up, V8's memory reducer runs full
// collections of the new heap on its helper threads, which is start-up cost, not idle cost.
import { setTimeout as sleep } from 'node:timers/promises';
import { SiteConnection } from '../src/agent/site-connection.js';
import { EmbeddedSiteTransport } from '../simulator/embedded-site-transport.js';
import { sitePortOf } from '../src/agent/site-line.js';
import { silentLogger } from '../src/logging.js';
import { seededRandom } from '../src/random.js';
import { startSiteServer } from '../src/server/site-server.js';
import { CronClock } from '../src/time/cron-clock.js';
import { drawProfiles } from '../simulator/fleet-mix.js';
import { Fleet } from '../simulator/fleet.js';
import { loadScenario } from '../simulator/scenario.js';
import { cpuPercentOver, gc, round, section } from './section.js';

export interface IdleFleetFigures {
  devices: number;
  startupSeconds: number;
  heapBytesPerDevice: number;
  rssBytesPerDevice: number;
  idleCpuPercentOfOneCore: number;
}

await section(async ({ devices, idleSeconds, settleSeconds }: { devices: number; idleSeconds: number; settleSeconds: number }): Promise<IdleFleetFigures> => {
  const scenario = await loadScenario('config/scenarios/first-round.yaml');
  const server = await startSiteServer({ site: scenario.site, contentRoot: scenario.contentRoot });
  const clock = new CronClock();
  // The embedded site in the same thread, as a replay has it (simulator/embedded-site-transport.ts).
  const connection = new SiteConnection({ serverUrl: server.url, clock, transport: new EmbeddedSiteTransport(server) });
  gc();
  const before = process.memoryUsage();
  const started = performance.now();
  const random = seededRandom(1);
  // Profiles are drawn inside the measurement: what a device is made of is part of what it costs.
  const fleet = new Fleet({
    profiles: drawProfiles(scenario.mix, devices, random.fork()),
    site: sitePortOf(connection),
    random,
    logger: silentLogger(),
    staggerMs: 24 * 3_600_000,
  });
  const startupSeconds = (performance.now() - started) / 1000;
  gc();
  const idle = process.memoryUsage();
  await sleep(settleSeconds * 1000);
  const idleCpu = await cpuPercentOver(idleSeconds * 1000);
  fleet.stop();
  return {
    devices,
    startupSeconds: round(startupSeconds, 2),
    heapBytesPerDevice: Math.round((idle.heapUsed - before.heapUsed) / devices),
    rssBytesPerDevice: Math.round((idle.rss - before.rss) / devices),
    idleCpuPercentOfOneCore: round(idleCpu, 2),
  };
});
