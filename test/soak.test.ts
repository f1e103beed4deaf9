import { expect } from 'chai';
import { silentLogger } from '../src/logging.js';
import { DEVICE_ACTIONS } from '../src/protocol/documents.js';
import { replayScenario } from '../simulator/replay.js';
import { loadScenario } from '../simulator/scenario.js';
import { writeScenario } from './support/scenario-file.js';

describe('soak: a fleet through four hours of 20% server errors and cut connections, in replay time', function () {
  this.timeout(120_000);

  it('ends with every status record each device generated stored by the site exactly once', async () => {
    const faults = [...DEVICE_ACTIONS, 'Content'].flatMap((endpoint) => [
      `  - { at: "00:00", until: "04:00", action: fault, fault: { endpoint: ${endpoint}, kind: http-error, status: 503, rate: 0.2 } }`,
      `  - { at: "00:00", until: "04:00", action: fault, fault: { endpoint: ${endpoint}, kind: reset, rate: 0.2 } }`,
    ]);
    const file = await writeScenario('Soak', ['devices: 150', 'seed: 5', 'staggerMinutes: 60', 'duration: "08:00"'], faults);
    const report = await replayScenario(await loadScenario(file), { limitMs: 0, logger: silentLogger() });

    // The faults really struck every endpoint (registration happens at start, before the timeline's first action)...
    for (const endpoint of ['Poll', 'InstructionRequest', 'PackageLocationRequest', 'Content', 'Report/SoftwareDistributionStatus']) {
      expect(report.latency[endpoint]!.errors, endpoint).to.be.above(0);
    }
    // ...and still, counted on both sides, nothing was lost and nothing counted twice.
    expect(report.status.pending).to.equal(0);
    expect(report.status.generated).to.be.above(1000);
    expect(report.status.stored).to.equal(report.status.generated);
    // Every targeted device of every program advertisement ended in a state the console counts.
    for (const ad of report.advertisements.filter((a) => a.programName !== null)) {
      expect(ad.received, ad.id).to.equal(ad.targeted);
      expect(ad.succeeded + ad.failed + ad.notApplicable, ad.id).to.equal(ad.targeted);
    }
  });
});
