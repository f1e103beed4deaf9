// Does watching a fleet slow it? Back-to-back policy polls from a live fleet against the stub site in its own
// process, runs with and without the dashboard interleaved (with it: a page connected to its event stream), and
// the ratio of their poll rates. And what one tick of the dashboard costs with a large idle fleet: counting its
// devices by state, reading the site's status, and the size of the event the page gets.
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { SiteConnection } from '../src/agent/site-connection.js';
import { sitePortOf } from '../src/agent/site-line.js';
import { silentLogger } from '../src/logging.js';
import { seededRandom } from '../src/random.js';
import { startSiteServer } from '../src/server/site-server.js';
import { CronClock } from '../src/time/cron-clock.js';
import { RunSampler } from '../simulator/dashboard/sampler.js';
import { startDashboard } from '../simulator/dashboard/server.js';
import { drawProfiles } from '../simulator/fleet-mix.js';
import { Fleet } from '../simulator/fleet.js';
import { loadScenario } from '../simulator/scenario.js';
import { runFleetJob } from '../simulator/workers.js';
import { POLL_MIX } from './poll-mix.js';
import { round, section } from './section.js';
import { startSiteProcess } from './site-process.js';

export interface DashboardParams {
  devices: number;
  /** Seconds measured per run, after a two-second warm-up. */
  seconds: number;
  rounds: number;
  /** The idle fleet a tick is timed with. */
  idleDevices: number;
}

/** Milliseconds of a tick's whole-fleet parts (each spaced out to the sampler's budget), medians of five, with `devices` idle handhelds. */
async function tickCost(devices: number) {
  const scenario = await loadScenario('config/scenarios/first-round.yaml');
  const server = await startSiteServer({ site: scenario.site, contentRoot: scenario.contentRoot });
  const clock = new CronClock();
  const random = seededRandom(1);
  const fleet = new Fleet({
    profiles: drawProfiles(scenario.mix, devices, random.fork()),
    site: sitePortOf(new SiteConnection({ serverUrl: server.url, clock })),
    random,
    logger: silentLogger(),
    staggerMs: 24 * 3_600_000,
  });
  const sampler = new RunSampler();
  sampler.watch({ fleet, clock, start: clock.now(), siteUrl: server.url, windows: [] });
  const site: number[] = [];
  const count: number[] = [];
  for (let i = 0; i < 5; i++) {
    let started = performance.now();
    await sampler.refreshSite();
    site.push(performance.now() - started);
    started = performance.now();
    fleet.stateCounts();
    count.push(performance.now() - started);
  }
  const bytes = JSON.stringify(sampler.sample()).length;
  fleet.stop();
  clock.stop();
  await server.close();
  return { idleDevices: devices, countByStateMs: round(median(count), 1), siteReadMs: round(median(site), 1), eventBytes: bytes };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

await section(async ({ devices, seconds, rounds, idleDevices }: DashboardParams) => {
  const tick = await tickCost(idleDevices);
  const site = await startSiteProcess('bench/throughput-site.yaml');
  // The same devices every run, remembering their tokens: the site refuses a device it knows without its token.
  const stateDir = await mkdtemp(path.join(os.tmpdir(), 'mlc-sim-bench-dashboard-'));
  const pollsPerSecond = async (watched: boolean) => {
    const dashboard = watched ? await startDashboard(0) : null;
    // A page's worth of listening: the event stream, read and dropped.
    const page = dashboard && http.get(new URL('events', dashboard.url), (response) => response.resume());
    const report = await runFleetJob(
      {
        kind: 'live',
        options: { serverUrl: site.url, mix: POLL_MIX, devices, seed: 1, staggerMs: 0, warmUpMs: 2000, durationMs: seconds * 1000, backToBack: true, stateDir },
        logLevel: 'error',
      },
      { workers: 1, ...(dashboard && { watcher: dashboard.watcher }) },
    );
    page?.destroy();
    await dashboard?.close();
    if ((report.latency.Poll?.errors ?? 0) > 0) throw new Error(`a dashboard bench run had ${report.latency.Poll!.errors} failed polls`);
    return (report.latency.Poll?.count ?? 0) / seconds;
  };
  const off: number[] = [];
  const on: number[] = [];
  // Which goes first alternates, so neither always gets the site warmer (or more tired).
  for (let i = 0; i < rounds; i++) {
    for (const watched of i % 2 === 0 ? [false, true] : [true, false]) (watched ? on : off).push(await pollsPerSecond(watched));
  }
  const ratios = on.map((rate, i) => round(rate / off[i]!, 3));
  await site.stop();
  await rm(stateDir, { recursive: true, force: true });
  return {
    devices,
    pollsPerSecondWithout: Math.round(median(off)),
    pollsPerSecondWith: Math.round(median(on)),
    ratio: median(ratios),
    ratios,
    tick,
  };
});
