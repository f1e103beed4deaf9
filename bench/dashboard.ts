// Does watching a fleet slow it? Back-to-back policy polls from a live fleet against the stub site in its own
// process, runs with and without the dashboard interleaved (with it: a page connected to its event stream), and
// the ratio of their poll rates.
import http from 'node:http';
import { startDashboard } from '../simulator/dashboard/server.js';
import { runFleetJob } from '../simulator/workers.js';
import { POLL_MIX } from './poll-mix.js';
import { round, section } from './section.js';
import { startSiteProcess } from './site-process.js';

export interface DashboardParams {
  devices: number;
  /** Seconds measured per run, after a two-second warm-up. */
  seconds: number;
  rounds: number;
}

await section(async ({ devices, seconds, rounds }: DashboardParams) => {
  const site = await startSiteProcess('bench/throughput-site.yaml');
  const pollsPerSecond = async (watched: boolean) => {
    const dashboard = watched ? await startDashboard(0) : null;
    // A page's worth of listening: the event stream, read and dropped.
    const page = dashboard && http.get(new URL('events', dashboard.url), (response) => response.resume());
    const report = await runFleetJob(
      {
        kind: 'live',
        options: { serverUrl: site.url, mix: POLL_MIX, devices, seed: 1, staggerMs: 0, warmUpMs: 2000, durationMs: seconds * 1000, backToBack: true },
        logLevel: 'error',
      },
      { workers: 1, ...(dashboard && { watcher: dashboard.watcher }) },
    );
    page?.destroy();
    await dashboard?.close();
    return (report.latency.Poll?.count ?? 0) / seconds;
  };
  const off: number[] = [];
  const on: number[] = [];
  for (let i = 0; i < rounds; i++) {
    off.push(await pollsPerSecond(false));
    on.push(await pollsPerSecond(true));
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
  const ratios = on.map((rate, i) => round(rate / off[i]!, 3));
  await site.stop();
  return {
    devices,
    pollsPerSecondWithout: Math.round(median(off)),
    pollsPerSecondWith: Math.round(median(on)),
    ratio: median(ratios),
    ratios,
  };
});
