// Idle devices sleep as dormant records between polls (simulator/dormant-device.ts) and wake as statecharts when a
// poll falls due. Sleeping must change nothing a replay does: same exchanges, in the same order, same report.
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { WireExchange } from '../src/agent/site-connection.js';
import { silentLogger } from '../src/logging.js';
import { replayScenario } from '../simulator/replay.js';
import { loadScenario } from '../simulator/scenario.js';
import { writeScenario } from './support/scenario-file.js';
import { simulatedReport } from './support/simulated-report.js';

/**
 * Eight hours of the default site with something for every part of a device's memory to do: partial faults (retries
 * and their backoff draws, deliveries cut while the device moves on), programs with run times and restarts, a site
 * outage, a new rollout and a changed configuration item.
 */
async function busyDay(): Promise<string> {
  return writeScenario(
    'Busy day',
    ['devices: 80', 'seed: 11', 'staggerMinutes: 60', 'duration: "08:00"'],
    [
      '  - { at: "00:00", action: fault, fault: { endpoint: Poll, kind: http-error, status: 503, rate: 0.2 } }',
      '  - { at: "00:00", action: fault, fault: { endpoint: Status, kind: reset, rate: 0.3 } }',
      '  - { at: "00:00", action: fault, fault: { endpoint: Content, kind: http-error, status: 503, rate: 0.2 } }',
      '  - at: "01:30"',
      '    action: advertise',
      '    advertisement: { id: MLC20009, name: Late driver, collectionId: MLC-ALLMOB, packageId: MLC00002, programName: Install scanner driver, mandatory: true }',
      '  - { at: "03:00", action: siteDown, until: "03:20" }',
      '  - at: "05:00"',
      '    action: changeConfigurationItem',
      '    item:',
      '      id: CI-PASSWORD',
      '      name: Pocket PC password policy (tightened)',
      '      platforms: [Pocket PC 2003, Windows Mobile 5.0, Windows Mobile 6.0, Windows Mobile 6.1, Windows Mobile 6.5]',
      '      remediate: true',
      '      settings:',
      '        - { kind: setting, name: PasswordTimeoutMinutes, expected: "5" }',
    ],
  );
}

describe('dormant devices', function () {
  this.timeout(120_000);

  it('replay the same exchanges in the same order, and the same report, asleep between polls or live throughout', async () => {
    const scenario = await loadScenario(await busyDay());
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mlc-sim-dormant-'));
    const run = async (dormancy: boolean) => {
      const wireLog = path.join(dir, `wire-${dormancy}.jsonl`);
      let mostAsleep = 0;
      const report = await replayScenario(scenario, {
        limitMs: 24 * 3_600_000,
        logger: silentLogger(),
        wireLog: { file: wireLog },
        dormancy,
        onProgress: (fleet) => {
          mostAsleep = Math.max(mostAsleep, fleet.asleep);
        },
      });
      const exchanges = (await readFile(wireLog, 'utf8'))
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as WireExchange);
      return { report: simulatedReport(report), exchanges: exchanges.map((e) => `${e.device} ${e.action} ${e.status}`), mostAsleep, parsed: report };
    };
    const live = await run(false);
    const sleeping = await run(true);

    // The run exercised what it is meant to: failures and retries, restarts, the outage, the later changes.
    expect(live.parsed.latency.Poll!.errors).to.be.above(0);
    expect(live.parsed.latency.Status!.errors).to.be.above(0);
    expect(live.parsed.advertisements.find((a) => a.id === 'MLC20009')?.received).to.be.above(0);
    expect(live.mostAsleep, 'no device sleeps when dormancy is off').to.equal(0);
    expect(sleeping.mostAsleep, 'most devices sleep between polls').to.be.above(scenario.devices / 2);

    expect(sleeping.exchanges).to.deep.equal(live.exchanges);
    expect(sleeping.report).to.equal(live.report);
  });
});
