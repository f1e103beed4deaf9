// Section: the fleet side by side with a peer, Artillery (from npm; `npm run bench -- --artillery` installs it in
// bench/artillery), on the same work against the same stub site in its own process (bench/poll-site.yaml: nothing
// advertised, a poll every 20 s): the documented DevicePoll of a device the site knows.
//
// - Requests per second per core: polls back to back on `connections` connections (the fleet: as many devices, in
//   `--back-to-back` fashion; Artillery: as many virtual users, each looping on the poll), per CPU second of the client.
// - Memory per concurrent virtual device: N of them that each poll, wait 20 s and poll again (the fleet: N devices on
//   the site's 20 s interval; Artillery: N virtual users, poll, think 20 s, poll), as RSS of the client while they wait.
//
// Artillery's start-up (seconds of CPU, hundreds of MB) is left out of its figures: each is the difference between two
// runs that differ only in size. The fleet's are measured in this process, from before the fleet to a window after
// its warm-up (throughput) or to when every device has polled (memory).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SiteConnection } from '../src/agent/site-connection.js';
import { HttpTransport } from '../src/agent/site-transport.js';
import { sitePortOf } from '../src/agent/site-line.js';
import { silentLogger } from '../src/logging.js';
import { seededRandom } from '../src/random.js';
import type { Clock } from '../src/time/clock.js';
import { CronClock } from '../src/time/cron-clock.js';
import { EagerClock } from '../src/time/eager-clock.js';
import { drawProfiles, fleetMixSchema } from '../simulator/fleet-mix.js';
import { Fleet } from '../simulator/fleet.js';
import { ARTILLERY_BIN, artilleryVersion } from './artillery-peer.js';
import { knownDevicePoll, type KnownDevicePoll } from './known-device-poll.js';
import { gc, section } from './section.js';
import { newToTheSite } from './poll-mix.js';
import { startSiteProcess } from './site-process.js';

export interface SideBySideParams {
  connections: number;
  /** Seconds the fleet's throughput is measured, after its warm-up. */
  seconds: number;
  /** Polls per Artillery virtual user in its two throughput runs. */
  polls: [number, number];
  /** Concurrent virtual devices in the two memory runs (the fleet runs the larger). */
  virtualDevices: [number, number];
  /** Artillery's think between its two polls: the site's poll interval. */
  thinkSeconds: number;
}

interface ClientFigures {
  requestsPerSecond: number;
  requestsPerCoreSecond: number;
  clientCpuMicrosPerRequest: number;
  rssBytesPerVirtualDevice: number;
}

export interface SideBySideFigures {
  fleet: ClientFigures;
  artillery: (ClientFigures & { version: string }) | { notRun: string };
}

const FLEET_WARM_UP_MS = 2_000;

const MIX = fleetMixSchema.parse({
  platforms: [{ platform: 'Windows Mobile 6.5', osVersion: '5.2.21234', weight: 1 }],
  storage: [{ minMB: 64, maxMB: 64, weight: 1 }],
  connectivity: [{ kind: 'wlan', bandwidthKBps: 250, weight: 1 }],
});

/**
 * `devices` devices from first poll on, new to the site (their ids start with `prefix`: a device the site knows must
 * present its token); `sockets` connections to the site (a fleet's default without it).
 */
function fleetOf(serverUrl: string, prefix: string, devices: number, clock: Clock, onExchange: () => void, sockets?: number) {
  const connection = new SiteConnection({ serverUrl, clock, onExchange, transport: new HttpTransport(sockets === undefined ? {} : { maxSockets: sockets }) });
  const random = seededRandom(1);
  const fleet = new Fleet({
    profiles: newToTheSite(drawProfiles(MIX, devices, random.fork()), prefix),
    site: sitePortOf(connection),
    random,
    logger: silentLogger(),
    staggerMs: 0,
    // On the eager clock every timer fires at once: a device must not sleep and wake again for every poll.
    dormancy: !(clock instanceof EagerClock),
  });
  return { fleet, connection };
}

/** The fleet polling back to back: requests and CPU over a window after its warm-up. */
async function fleetThroughput(serverUrl: string, connections: number, seconds: number) {
  let requests = 0;
  const { fleet, connection } = fleetOf(serverUrl, 'BACK-TO-BACK', connections, new EagerClock(), () => requests++, connections);
  await sleep(FLEET_WARM_UP_MS);
  const [cpu, counted, started] = [process.cpuUsage(), requests, performance.now()];
  await sleep(seconds * 1000);
  const used = process.cpuUsage(cpu);
  const [made, wallSeconds] = [requests - counted, (performance.now() - started) / 1000];
  fleet.stop();
  await connection.close();
  return { requests: made, cpuSeconds: (used.user + used.system) / 1e6, wallSeconds };
}

/** RSS per device of `devices` devices that have each polled once and wait for their next poll. */
async function fleetMemory(serverUrl: string, devices: number): Promise<number> {
  gc();
  const before = process.memoryUsage().rss;
  let polls = 0;
  const clock = new CronClock();
  const { fleet, connection } = fleetOf(serverUrl, 'WAITING', devices, clock, () => polls++);
  while (polls < devices) await sleep(100);
  gc();
  const rss = process.memoryUsage().rss;
  fleet.stop();
  clock.stop();
  await connection.close();
  return (rss - before) / devices;
}

/** An Artillery run: its CPU seconds, its peak RSS, the responses it counted and its wall time. */
async function artilleryRun(dir: string, name: string, script: object) {
  const file = path.join(dir, `${name}.json`);
  const output = path.join(dir, `${name}-report.json`);
  await writeFile(file, JSON.stringify(script));
  const started = performance.now();
  const child = spawn(process.execPath, [ARTILLERY_BIN, 'run', '--quiet', '--output', output, file], { stdio: 'ignore' });
  const exited = once(child, 'exit');
  let cpuSeconds = 0;
  let peakRss = 0;
  // Read while it runs: once it has exited its /proc entry is gone. The last CPU reading is at most 50 ms short.
  const sample = () => {
    const usage = processUsage(child.pid!);
    if (usage) [cpuSeconds, peakRss] = [usage.cpuSeconds, Math.max(peakRss, usage.rssBytes)];
  };
  const sampler = setInterval(sample, 50);
  const [code] = (await exited) as [number | null];
  clearInterval(sampler);
  if (code !== 0) throw new Error(`artillery exited with code ${code} (${file})`);
  const counters = (JSON.parse(readFileSync(output, 'utf8')) as { aggregate: { counters: Record<string, number> } }).aggregate.counters;
  if ((counters['http.codes.200'] ?? 0) !== (counters['http.responses'] ?? -1))
    throw new Error(`artillery got answers other than 200: ${JSON.stringify(counters)}`);
  return { cpuSeconds, peakRss, responses: counters['http.responses'] ?? 0, wallSeconds: (performance.now() - started) / 1000 };
}

/** CPU seconds (user + system) and RSS of a Linux process, from /proc; null once it has gone. */
function processUsage(pid: number): { cpuSeconds: number; rssBytes: number } | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    const rssPages = Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]);
    return { cpuSeconds: (Number(fields[11]) + Number(fields[12])) / 100, rssBytes: rssPages * 4096 };
  } catch {
    return null;
  }
}

/** Artillery's figures: each from two runs that differ only in size. */
async function artilleryFigures(poll: KnownDevicePoll, params: SideBySideParams): Promise<ClientFigures> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mlc-sim-artillery-'));
  const target = new URL(poll.url);
  const post = { post: { url: target.pathname, headers: poll.headers, body: poll.body } };
  const config = (arrivals: number) => ({ target: target.origin, phases: [{ duration: 1, arrivalCount: arrivals }] });
  const looping = (count: number) => ({ config: config(params.connections), scenarios: [{ flow: [{ loop: [post], count }] }] });
  const waiting = (users: number) => ({ config: config(users), scenarios: [{ flow: [post, { think: params.thinkSeconds }, post] }] });
  const [fewPolls, manyPolls] = [
    await artilleryRun(dir, 'few-polls', looping(params.polls[0])),
    await artilleryRun(dir, 'many-polls', looping(params.polls[1])),
  ];
  const [fewUsers, manyUsers] = [
    await artilleryRun(dir, 'few-users', waiting(params.virtualDevices[0])),
    await artilleryRun(dir, 'many-users', waiting(params.virtualDevices[1])),
  ];
  const requests = manyPolls.responses - fewPolls.responses;
  const cpuSeconds = manyPolls.cpuSeconds - fewPolls.cpuSeconds;
  return {
    requestsPerSecond: Math.round(requests / (manyPolls.wallSeconds - fewPolls.wallSeconds)),
    requestsPerCoreSecond: Math.round(requests / cpuSeconds),
    clientCpuMicrosPerRequest: Math.round((cpuSeconds * 1e6) / requests),
    rssBytesPerVirtualDevice: Math.round((manyUsers.peakRss - fewUsers.peakRss) / (params.virtualDevices[1] - params.virtualDevices[0])),
  };
}

await section(async (params: SideBySideParams): Promise<SideBySideFigures> => {
  const site = await startSiteProcess('bench/poll-site.yaml');
  const poll = await knownDevicePoll(site.url, MIX, 'BENCH-ARTILLERY');
  const throughput = await fleetThroughput(site.url, params.connections, params.seconds);
  const fleet: ClientFigures = {
    requestsPerSecond: Math.round(throughput.requests / throughput.wallSeconds),
    requestsPerCoreSecond: Math.round(throughput.requests / throughput.cpuSeconds),
    clientCpuMicrosPerRequest: Math.round((throughput.cpuSeconds * 1e6) / throughput.requests),
    rssBytesPerVirtualDevice: Math.round(await fleetMemory(site.url, params.virtualDevices[1])),
  };
  const version = artilleryVersion();
  const artillery =
    version === null ? { notRun: 'not installed: npm run bench -- --artillery installs it' } : { version, ...(await artilleryFigures(poll, params)) };
  await site.stop();
  return { fleet, artillery };
});
