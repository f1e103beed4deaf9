import { expect } from 'chai';
import { ADVERTISEMENT_STATES, type AdvertisementState } from '../src/domain/status-message.js';
import { silentLogger } from '../src/logging.js';
import { InputFileError, loadValidatedFile } from '../src/input-file.js';
import { startSiteServer, type RunningSiteServer } from '../src/server/site-server.js';
import { fleetMixSchema } from '../simulator/fleet-mix.js';
import { replayScenario } from '../simulator/replay.js';
import { mergeReports } from '../simulator/report-merge.js';
import type { OutcomePoint } from '../simulator/report-timeline.js';
import { emptyStates, type FleetReport } from '../simulator/report.js';
import { loadScenario } from '../simulator/scenario.js';
import { runInWorkers } from '../simulator/workers.js';
import { writeScenario } from './support/scenario-file.js';
import { simulatedReport } from './support/simulated-report.js';
import { appAdvertisement, testSite, writePackageSources } from './support/test-site.js';

/** What must not depend on how a fleet is split: who is targeted, who received what, and what was stored. */
function accounting(report: FleetReport) {
  return {
    devices: report.devices,
    platforms: report.platforms,
    roundComplete: report.roundComplete,
    advertisements: report.advertisements.map((a) => ({
      id: a.id,
      targeted: a.targeted,
      received: a.received,
      rejected: a.messages.find((m) => m.messageId === 10018)?.count ?? 0,
      outcomes: a.succeeded + a.failed + a.notApplicable + a.inProgress,
    })),
  };
}

describe('a fleet across worker threads (--workers)', function () {
  this.timeout(60_000);

  it('replays a scenario in two workers with the same accounting as in one', async () => {
    const scenario = await loadScenario('config/scenarios/first-round.yaml');
    scenario.devices = 60;
    const single = await replayScenario(scenario, { limitMs: 24 * 3_600_000, logger: silentLogger() });
    const split = await runInWorkers({ kind: 'replay', scenario, options: { limitMs: 24 * 3_600_000 }, logLevel: 'error' }, { workers: 2 });
    expect(accounting(split)).to.deep.equal(accounting(single));
    // Every record each worker's devices generated was stored by that worker's site, exactly once.
    expect(split.status.pending).to.equal(0);
    expect(split.status.stored).to.equal(split.status.generated);
    // Latency is of every exchange of both workers: at least one poll and one machine inventory per device.
    expect(split.latency.Poll!.count).to.be.at.least(60);
    expect(split.latency['Report/MachineInventory']!.count).to.equal(60);
  });

  it('repeats a replay exactly with the same number of workers (run --workers N), partial faults and all', async () => {
    const file = await writeScenario(
      'Partial faults in workers',
      ['devices: 40', 'seed: 5', 'staggerMinutes: 2', 'duration: "02:00"'],
      [
        '  - { at: "00:00", action: fault, fault: { endpoint: Poll, kind: http-error, status: 500, rate: 0.3 } }',
        '  - { at: "00:00", action: fault, fault: { endpoint: Content, kind: http-error, status: 503, rate: 0.3 } }',
      ],
    );
    const job = { kind: 'replay', scenario: await loadScenario(file), options: { limitMs: 24 * 3_600_000 }, logLevel: 'error' } as const;
    const first = await runInWorkers(job, { workers: 2 });
    const second = await runInWorkers(job, { workers: 2 });
    expect(first.latency.Poll!.errors).to.be.above(0);
    expect(first.latency.Content!.errors).to.be.above(0);
    expect(simulatedReport(second)).to.equal(simulatedReport(first));
  });

  it('loads one live server from two workers and reads its side once', async () => {
    const site = testSite({ collections: [{ id: 'EVERY', name: 'Everything', rule: { allDevices: true } }] });
    site.clientSettings.pollInterval = '0000-00-00 00:00:01';
    site.advertisements.push(appAdvertisement('EVERY'));
    const server: RunningSiteServer = await startSiteServer({ site, contentRoot: await writePackageSources() });
    try {
      const mix = await loadValidatedFile('config/fleet.yaml', fleetMixSchema);
      mix.programBehaviour = { ...mix.programBehaviour, durationSeconds: { min: 0, max: 1 } };
      const report = await runInWorkers(
        { kind: 'live', options: { serverUrl: server.url, mix, devices: 20, seed: 1, staggerMs: 200, durationMs: 4000 }, logLevel: 'error' },
        { workers: 2 },
      );
      expect(report.devices).to.equal(20);
      expect(report.advertisements[0]).to.include({ id: 'TST20001', targeted: 20, received: 20 });
      expect(report.latency['Report/MachineInventory']!.count).to.equal(20);
      // Read from the site once, after both workers: what it stored is what the devices of both say they delivered.
      expect(server.status.deviceMessageCount).to.be.above(0);
      expect(report.status.stored).to.equal(report.status.generated - report.status.pending);
    } finally {
      await server.close();
    }
  });

  it('names the file, field and reason of bad input found in a worker, as a single-threaded run does', async () => {
    const file = await writeScenario(
      'refused in a worker',
      ['devices: 4'],
      [
        '  - at: "00:05"',
        '    action: advertise',
        '    advertisement: { id: MLC2000F, name: y, collectionId: MLC-ALLMOB, packageId: MLC0000F, programName: z }',
      ],
    );
    const scenario = await loadScenario(file);
    const error = await runInWorkers({ kind: 'replay', scenario, options: { limitMs: 3_600_000 }, logLevel: 'error' }, { workers: 2 }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(InputFileError);
    expect(error).to.include({ file, field: 'timeline.0' });
    expect((error as InputFileError).reason).to.match(/package MLC0000F does not exist/);
  });

  it('merges rollout times as percentiles of the union, not averages of each part', () => {
    const noDevices = Object.fromEntries(ADVERTISEMENT_STATES.map((state) => [state, 0])) as Record<AdvertisementState, number>;
    const part = (seconds: number[], targeted: number): FleetReport =>
      ({
        devices: targeted,
        platforms: {},
        deviceStates: {},
        end: '2009-06-01T09:00:00.000Z',
        roundComplete: true,
        devicesCycled: targeted,
        status: { generated: 1, pending: 0, stored: 1 },
        deviceHistories: {},
        storage: [] as FleetReport['storage'],
        advertisements: [
          {
            id: 'A',
            name: 'A',
            packageId: 'P',
            programName: 'p',
            targeted,
            received: targeted,
            states: { ...noDevices, succeeded: seconds.length, accepted: targeted - seconds.length },
            devicesByState: emptyStates(),
            succeeded: seconds.length,
            failed: 0,
            notApplicable: 0,
            inProgress: targeted - seconds.length,
            noStatus: 0,
            canFinish: targeted,
            messages: [{ messageId: 10008, name: 'ok', count: seconds.length }],
            compliance: {},
            rollout: { t50Seconds: null, t90Seconds: null, t100Seconds: null, curve: seconds.map((s, i) => ({ seconds: s, finished: i + 1 })) },
            availableAt: '2009-06-01T08:00:00.000Z',
            expiresAt: null,
            outcomes: [] as OutcomePoint[],
          },
        ],
      }) as FleetReport;
    const merged = mergeReports([part([10, 20], 2), part([30, 40, 50, 60], 4)], {}, 1);
    expect(merged.advertisements[0]?.states).to.include({ succeeded: 6, accepted: 0 });
    const [ad] = merged.advertisements;
    expect(ad).to.include({ targeted: 6, succeeded: 6 });
    expect(ad!.rollout).to.include({ t50Seconds: 30, t100Seconds: 60 });
    expect(ad!.messages).to.deep.equal([{ messageId: 10008, name: 'ok', count: 6 }]);
  });
});
