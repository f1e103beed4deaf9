import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { loadValidatedFile } from '../src/input-file.js';
import { silentLogger } from '../src/logging.js';
import { startSiteServer } from '../src/server/site-server.js';
import { fleetMixSchema } from '../simulator/fleet-mix.js';
import { replayScenario } from '../simulator/replay.js';
import type { FleetReport } from '../simulator/report.js';
import { loadScenario } from '../simulator/scenario.js';
import { mergeShardReports, runShard, shardOfIndexedJob, type ShardsSummary } from '../simulator/shard.js';
import { judgeThresholds, parseThreshold } from '../simulator/thresholds.js';
import { startRedis, type RunningRedis } from './support/redis-server.js';
import { writeScenario } from './support/scenario-file.js';
import { simulatedReport } from './support/simulated-report.js';
import { appAdvertisement, testSite, writePackageSources } from './support/test-site.js';

interface Exit {
  code: number;
  stdout: string;
  stderr: string;
}

/** One mlc-sim process, as a shard or coordinator runs on its own machine. */
function mlcSim(args: string[]): { done: Promise<Exit>; kill: () => void; stderrLines: (wanted: RegExp) => Promise<void> } {
  const child = execFile(process.execPath, ['--import', 'tsx', 'simulator/cli.ts', ...args], { timeout: 60_000 });
  let stderr = '';
  const done = new Promise<Exit>((resolve) => {
    let stdout = '';
    child.stdout?.on('data', (chunk: string) => (stdout += chunk));
    child.stderr?.on('data', (chunk: string) => (stderr += chunk));
    child.once('exit', (code) => {
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
  return {
    done,
    kill: () => child.kill('SIGKILL'),
    stderrLines: (wanted) =>
      new Promise<void>((resolve) => {
        const look = () => {
          if (wanted.test(stderr)) resolve();
          else setTimeout(look, 100);
        };
        look();
      }),
  };
}

const readReport = async (dir: string) => JSON.parse(await readFile(path.join(dir, 'report.json'), 'utf8')) as FleetReport & { shards?: ShardsSummary };

/**
 * What a merged replay must share with one process's: the whole simulated report (states, message counts, every
 * device's history with its message ids, requests per endpoint). Two things are not the simulation's: the devices of
 * a state are listed by name (one site lists them in the order they first polled), and the merged report says which
 * shards it merged.
 */
function accounting(report: FleetReport & { shards?: ShardsSummary; shard?: unknown }): unknown {
  const { shards: _shards, shard: _shard, ...fleet } = report;
  return JSON.parse(
    simulatedReport({
      ...fleet,
      advertisements: fleet.advertisements.map((ad) => ({
        ...ad,
        devicesByState: Object.fromEntries(Object.entries(ad.devicesByState).map(([state, devices]) => [state, [...devices].sort()])),
      })) as FleetReport['advertisements'],
    }),
  );
}

describe('shards across processes (--shard, merge, coordinate through Redis)', function () {
  this.timeout(120_000);
  let redis: RunningRedis;
  let scratch: string;
  let shardReports: string[];
  /** Three shards of a replay and their coordinator, each a process of its own. */
  let replayExits: Exit[];

  before(async () => {
    redis = await startRedis();
    scratch = await mkdtemp(path.join(os.tmpdir(), 'mlc-sim-shards-'));
    const shardDir = (i: number) => path.join(scratch, `replay-${i}`);
    shardReports = [0, 1, 2].map((i) => path.join(shardDir(i), 'report.json'));
    const shards = [0, 1, 2].map((i) =>
      mlcSim([
        'run',
        ...['config/scenarios/first-round.yaml', '--devices', '60', '--shard', `${i}/3`, '--no-progress', '--out', shardDir(i)],
        ...['--coordinator', redis.url, '--run-id', 'replay'],
        // A shard split further across threads is still the same devices.
        ...(i === 0 ? ['--workers', '2'] : []),
      ]),
    );
    const coordinator = mlcSim(['coordinate', '--redis', redis.url, '--shards', '3', '--run-id', 'replay', '--out', path.join(scratch, 'coordinated')]);
    replayExits = await Promise.all([coordinator.done, ...shards.map((s) => s.done)]);
  });
  after(async () => {
    await redis.stop();
  });

  it('replays three shard processes, started together through Redis, into the report one process gives', async () => {
    const scenario = await loadScenario('config/scenarios/first-round.yaml');
    scenario.devices = 60;
    const single = await replayScenario(scenario, { limitMs: 24 * 3_600_000, logger: silentLogger() });
    for (const exit of replayExits) expect(exit, exit.stderr).to.include({ code: 0 });
    const merged = await readReport(path.join(scratch, 'coordinated'));
    expect(merged.shards).to.deep.equal({ of: 3, merged: [0, 1, 2], lost: [] });
    expect(merged.devices).to.equal(60);
    expect(accounting(merged)).to.deep.equal(accounting(single));
    // Latency percentiles are of the union: read from the summed histograms, not averaged.
    expect(merged.latency.Poll!.count).to.equal(single.latency.Poll!.count);

    // Without a coordinator, `merge` joins the shards' report files into the same report.
    const joined = await mlcSim(['merge', ...shardReports, '--out', path.join(scratch, 'joined')]).done;
    expect(joined.code, joined.stderr).to.equal(0);
    expect(accounting(await readReport(path.join(scratch, 'joined')))).to.deep.equal(accounting(single));
  });

  it('judges thresholds on the merged figures and sets the exit code', async () => {
    const merged = await readReport(path.join(scratch, 'coordinated'));
    const share = merged.advertisements.find((a) => a.id === 'MLC20001')!;
    const percent = (100 * share.succeeded) / share.targeted;

    // Judged on the merged figures: each shard alone made 20 polls.
    const passing = await mlcSim(['merge', ...shardReports, '--threshold', `succeeded(MLC20001)>=${Math.floor(percent)}%`, '--threshold', 'count(Poll)>=60'])
      .done;
    expect(passing.code, passing.stdout).to.equal(0);
    expect(passing.stdout).to.match(/pass {2}succeeded\(MLC20001\)>=\d+%/);

    const failing = await mlcSim(['merge', ...shardReports, '--threshold', `succeeded(MLC20001)>${Math.ceil(percent)}%`, '--threshold', 'p99(Poll)<10000ms'])
      .done;
    expect(failing.code).to.equal(3);
    expect(failing.stdout).to.match(/FAIL {2}succeeded\(MLC20001\)>\d+%/);
    expect(failing.stdout).to.match(/pass {2}p99\(Poll\)<10000ms/);

    const bad = await mlcSim(['merge', ...shardReports, '--threshold', 'p99(Poll)<200']).done;
    expect(bad.code).to.equal(1);
    expect(bad.stderr).to.include("--threshold 'p99(Poll)<200': a latency needs a unit, ms or s");
  });

  it('names a shard killed mid-run, in the report and in the exit code', async () => {
    // Scaled time, so the shards are still running when one is killed.
    const args = (i: number) => [
      'run',
      ...['config/scenarios/first-round.yaml', '--devices', '40', '--duration', '02:00', '--speed', '1200', '--shard', `${i}/2`, '--no-progress'],
      ...['--coordinator', redis.url, '--run-id', 'killed'],
    ];
    const shards = [mlcSim(args(0)), mlcSim(args(1))];
    const coordinator = mlcSim([
      'coordinate',
      '--redis',
      redis.url,
      '--shards',
      '2',
      '--run-id',
      'killed',
      '--stale-seconds',
      '3',
      '--out',
      path.join(scratch, 'killed'),
    ]);
    await coordinator.stderrLines(/shards 2 running, 0 done, 0 lost · 40 devices/);
    shards[1]!.kill();
    const exit = await coordinator.done;
    expect(exit.code).to.equal(4);
    expect(exit.stdout).to.match(/Shards: 1 of 2 merged; LOST 1/);
    expect(exit.stdout).to.match(/shard 1\/2: stopped publishing \d+ s ago, without a report/);
    const report = await readReport(path.join(scratch, 'killed'));
    expect(report.devices).to.equal(20);
    expect(report.shards?.lost.map((l) => l.index)).to.deep.equal([1]);
    // The HTML report says so too, above every figure it gives.
    expect(await readFile(path.join(scratch, 'killed', 'report.html'), 'utf8')).to.match(
      /<p class="warning">Shards: 1 of 2 merged; LOST 1: [^<]*<br> {2}shard 1\/2: stopped publishing/,
    );
    expect((await shards[0]!.done).code).to.equal(0);
  });

  it('says why shards that failed stopped, without waiting for their heartbeats to go stale', async () => {
    const file = await writeScenario(
      'refused in every shard',
      ['devices: 4'],
      [
        '  - at: "00:05"',
        '    action: advertise',
        '    advertisement: { id: MLC2000F, name: y, collectionId: MLC-ALLMOB, packageId: MLC0000F, programName: z }',
      ],
    );
    const shards = [0, 1].map((i) => mlcSim(['run', file, '--shard', `${i}/2`, '--no-progress', '--coordinator', redis.url, '--run-id', 'refused']));
    const coordinator = mlcSim(['coordinate', '--redis', redis.url, '--shards', '2', '--run-id', 'refused', '--stale-seconds', '600']);
    const [exit, ...shardExits] = await Promise.all([coordinator.done, ...shards.map((s) => s.done)]);
    expect(shardExits.map((e) => e.code)).to.deep.equal([2, 2]);
    expect(exit.code).to.equal(1);
    expect(exit.stderr).to.match(/error: run refused: every shard was lost \(0: failed: .*timeline\.0: .*package MLC0000F does not exist/);
  });

  it('loads one live server from two shards that start together, and reads its side once when merging', async () => {
    const site = testSite({ collections: [{ id: 'EVERY', name: 'Everything', rule: { allDevices: true } }] });
    site.clientSettings.pollInterval = '0000-00-00 00:00:01';
    site.advertisements.push(appAdvertisement('EVERY'));
    const server = await startSiteServer({ site, contentRoot: await writePackageSources() });
    try {
      const mix = await loadValidatedFile('config/fleet.yaml', fleetMixSchema);
      mix.programBehaviour = { ...mix.programBehaviour, durationSeconds: { min: 0, max: 1 } };
      // Long enough for every device to finish its first cycle (inventory included) on a busy machine.
      const job = { kind: 'live', options: { serverUrl: server.url, mix, devices: 20, seed: 1, staggerMs: 200, durationMs: 8000 }, logLevel: 'error' } as const;
      const link = { url: redis.url, runId: 'live' };
      const first = runShard(job, { workers: 1, shard: { index: 0, of: 2 } }, link);
      await sleep(1500);
      const secondJoined = Date.now();
      const parts = await Promise.all([first, runShard(job, { workers: 1, shard: { index: 1, of: 2 } }, link)]);
      // The first shard waited at the start barrier for the second: its devices began no sooner.
      expect(Date.parse(parts[0].start)).to.be.at.least(secondJoined);
      // A shard's report is of its devices; the server's side is the whole server's, so no shard reads it.
      expect(parts.map((p) => [p.devices, p.advertisements.length, p.shard.serverUrl])).to.deep.equal([
        [10, 0, server.url],
        [10, 0, server.url],
      ]);
      const merged = await mergeShardReports(parts, 2, [], silentLogger());
      expect(merged.devices).to.equal(20);
      expect(merged.advertisements[0]).to.include({ id: 'TST20001', targeted: 20, received: 20 });
      expect(merged.latency['Report/MachineInventory']!.count).to.equal(20);
      expect(merged.status.stored).to.equal(merged.status.generated - merged.status.pending);
    } finally {
      await server.close();
    }
  });

  it('takes the shard index from JOB_COMPLETION_INDEX, as a Kubernetes Indexed Job sets it', () => {
    expect(shardOfIndexedJob(4, { JOB_COMPLETION_INDEX: '3' })).to.deep.equal({ index: 3, of: 4 });
    expect(() => shardOfIndexedJob(4, { JOB_COMPLETION_INDEX: '4' })).to.throw(/--shard must be I\/N with 0 <= I < N/);
    expect(() => shardOfIndexedJob(4, {})).to.throw(/JOB_COMPLETION_INDEX, which is not set/);
  });

  it('parses thresholds, and says which part of a bad one is wrong', () => {
    expect(parseThreshold('p99(Poll)<0.2s')).to.include({ metric: 'p99', subject: 'Poll', operator: '<', value: 200 });
    expect(parseThreshold('errors(Content) <= 1%')).to.include({ metric: 'errors', value: 0.01, percent: true });
    expect(() => parseThreshold('p99(Poll)=200ms')).to.throw(/must be metric\(subject\) operator value/);
    expect(() => parseThreshold('p42(Poll)<200ms')).to.throw(/unknown metric "p42"/);
    expect(() => parseThreshold('succeeded(MLC20001)>=95ms')).to.throw(/a count or a percentage, not a time/);
    const report = { latency: {}, advertisements: [] } as unknown as FleetReport;
    expect(judgeThresholds([parseThreshold('p99(Poll)<200ms')], report)).to.deep.equal([
      { expression: 'p99(Poll)<200ms', passed: false, actual: 'no Poll requests in the report' },
    ]);
  });
});
