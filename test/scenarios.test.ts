import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { DESKTOP_PLATFORMS } from '../src/domain/platform.js';
import { silentLogger } from '../src/logging.js';
import { InputFileError } from '../src/input-file.js';
import { replayScenario } from '../simulator/replay.js';
import type { AdvertisementReport, FleetReport } from '../simulator/report.js';
import { loadScenario, SCENARIO_SCHEMA_FILE, scenarioJsonSchema } from '../simulator/scenario.js';
import { writeScenario } from './support/scenario-file.js';
import { simulatedReport } from './support/simulated-report.js';

const replay = async (file: string, overrides: { devices?: number; seed?: number } = {}) =>
  replayScenario({ ...(await loadScenario(file)), ...overrides }, { limitMs: 24 * 3_600_000, logger: silentLogger() });

const ad = (report: FleetReport, id: string): AdvertisementReport => report.advertisements.find((a) => a.id === id)!;
const count = (a: AdvertisementReport, messageId: number) => a.messages.find((m) => m.messageId === messageId)?.count ?? 0;
const wm6 = (report: FleetReport) =>
  Object.entries(report.platforms)
    .filter(([platform]) => platform.startsWith('Windows Mobile 6'))
    .reduce((sum, [, n]) => sum + n, 0);
/** Every targeted device ended somewhere the console counts. */
const accountedFor = (a: AdvertisementReport) => a.succeeded + a.failed + a.notApplicable + a.inProgress;

describe('the shipped scenarios, replayed', () => {
  it('mandatory app rollout: the pilot collection first, then every Windows Mobile 6.x handheld', async () => {
    const report = await replay('config/scenarios/mandatory-app-rollout.yaml');
    const pilot = ad(report, 'MLC20001');
    expect(pilot).to.include({ targeted: 30, received: 30 });
    expect(accountedFor(pilot)).to.equal(30);
    // Pilot members picked by id include handhelds of other platforms: they reject the program, nothing else.
    expect(pilot.notApplicable).to.equal(count(pilot, 10018)).and.be.above(0);
    const all = ad(report, 'MLC20002');
    expect(all.targeted).to.equal(wm6(report));
    // The same program again (rerun if failed): the pilot devices that installed it are Will Not Rerun, once each,
    // and never receive it a second time; every other WM 6.x device receives it.
    expect(pilot.succeeded).to.be.above(0);
    expect(all.devicesByState.willNotRerun).to.deep.equal(pilot.devicesByState.succeeded);
    expect(count(all, 10040)).to.equal(pilot.succeeded);
    expect(all.received + all.states.willNotRerun).to.equal(all.targeted);
    expect(count(all, 10005) + count(pilot, 10005)).to.equal(count(all, 11030) + count(pilot, 11030));
    expect(accountedFor(all)).to.equal(all.targeted);
    expect((all.succeeded + all.states.willNotRerun) / all.targeted).to.be.above(0.8);
    // Timed from the advertisement's creation at 02:00, with polls every hour: half the devices within the hour.
    expect(all.rollout.t50Seconds).to.be.a('number').and.below(3600);
  });

  it('handheld packages: a CAB install, a script that reboots and continues, a script that fails on a full storage card', async () => {
    const report = await replay('config/scenarios/handheld-packages.yaml');
    expect(ad(report, 'MLC20021')).to.include({ targeted: 60, succeeded: 60 });
    const settings = ad(report, 'MLC20022');
    expect(settings).to.include({ targeted: 60, succeeded: 60 });
    expect(count(settings, 10022)).to.equal(60);
    // One card in four has 1 MB free: those devices fail the copy, the others succeed.
    const maps = ad(report, 'MLC20023');
    expect(maps.failed).to.equal(count(maps, 10006)).and.be.above(0).and.below(30);
    expect(maps.succeeded + maps.failed).to.equal(60);
    // The report's free storage per platform, from machine inventory: the full cards have the 1 MB they had.
    expect(report.storage.map((p) => p.platform)).to.deep.equal(['Windows Mobile 6.5']);
    expect(report.storage[0]!.volumes['Storage Card']).to.include({ devices: 60, minFreeKB: 1024 });
  });

  it('configuration baseline: drift is remediated, and again after the policy tightens', async () => {
    const report = await replay('config/scenarios/configuration-baseline-drift.yaml');
    const baseline = ad(report, 'MLC20004');
    for (const [item, states] of Object.entries(baseline.compliance)) {
      expect(
        Object.values(states).reduce((a, b) => a + b, 0),
        item,
      ).to.equal(200);
    }
    // After 03:00 every device had the old 15-minute timeout, so each applicable one remediated to 5 minutes.
    const password = baseline.compliance['CI-PASSWORD']!;
    expect(password.compliant).to.equal(0);
    expect(password.remediated).to.be.above(0);
    expect(password.remediated + password.notApplicable).to.equal(200);
    // Bluetooth may not be remediated: drifted devices stay non-compliant.
    expect(baseline.compliance['CI-BLUETOOTH']!.nonCompliant).to.be.above(0);
  });

  it('rollout during a distribution-point outage: devices retry, some outlast it, the rest are Retrying and get it after the recovery', async () => {
    const report = await replay('config/scenarios/rollout-during-dp-outage.yaml');
    const driver = ad(report, 'MLC20002');
    expect(accountedFor(driver)).to.equal(200);
    expect(count(driver, 11032)).to.be.above(0);
    // Rerun if failed: every device that gave up on the download is Retrying (10035), offered it again at its next
    // poll, and none stays failed for the outage: what failed, failed running the program or for lack of storage.
    expect(count(driver, 10035)).to.equal(count(driver, 11032));
    expect(driver.failed).to.equal(count(driver, 10006) + count(driver, 10050));
    expect(driver.states.retrying).to.equal(0);
    expect(driver.received).to.equal(200);
    expect(driver.succeeded).to.be.above(0.8 * 200);
    // An outage is HTTP trouble, not bad content: no 10057, and no program ran without its content.
    expect(count(driver, 10057)).to.equal(0);
    expect(count(driver, 10005)).to.equal(count(driver, 11031));
    expect(report.latency.Content!.errors).to.be.above(0);
  });

  it('desktop clients in the mix: the desktop program reaches desktops only, the mobile program and baseline handhelds only', async () => {
    const report = await replay('config/scenarios/desktop-mobile-targeting-mistake.yaml');
    const on = (platforms: readonly string[]) => platforms.reduce((sum, platform) => sum + (report.platforms[platform] ?? 0), 0);
    const desktops = on(DESKTOP_PLATFORMS);
    const handhelds = report.devices - desktops;
    expect(desktops).to.be.above(0);
    expect(handhelds).to.be.above(0);
    // Office to All Systems: every desktop received it once (10002), and no handheld did.
    const office = ad(report, 'MLC20003');
    expect(office).to.include({ targeted: desktops, received: desktops });
    expect(count(office, 10002)).to.equal(desktops);
    expect(accountedFor(office)).to.equal(desktops);
    expect(office.succeeded).to.be.above(0);
    // Its program names Windows XP and Vista: the Windows 7 desktops refuse it, and only they.
    expect(count(office, 10018))
      .to.equal(on(['Windows 7']))
      .and.equal(office.notApplicable)
      .and.be.above(0);
    // Field Inventory to the desktops collection targets nobody; to All Systems, every handheld and no desktop.
    expect(ad(report, 'MLC20005')).to.include({ targeted: 0, received: 0 });
    const app = ad(report, 'MLC20006');
    expect(app).to.include({ targeted: handhelds, received: handhelds });
    expect(count(app, 10002)).to.equal(handhelds);
    expect(count(app, 10018)).to.equal(handhelds - wm6(report));
    expect(app.succeeded).to.be.above(0);
    // The configuration package to All Systems: evaluated by every handheld, by no desktop.
    const baseline = ad(report, 'MLC20004');
    expect(baseline).to.include({ targeted: handhelds, received: handhelds });
    for (const [item, states] of Object.entries(baseline.compliance)) {
      expect(
        Object.values(states).reduce((a, b) => a + b, 0),
        item,
      ).to.equal(handhelds);
    }
  });

  it('applies expire and replacePackage from a timeline: late devices report 10019, a new version runs again where the rerun setting allows', async () => {
    const file = await writeScenario(
      'Expire and replace',
      ['devices: 40', 'staggerMinutes: 30', 'duration: "04:00"'],
      [
        '  - { at: "00:10", action: expire, advertisementId: MLC20002 }',
        '  - { at: "01:30", action: replacePackage, package: { id: MLC00001, name: Field Inventory 2.2, source: field-inventory } }',
      ],
    );
    const report = await replay(file);
    const driver = ad(report, 'MLC20002');
    // Devices that polled in the first ten minutes handled the driver; the rest found it expired.
    expect(count(driver, 10019)).to.be.above(0);
    // Each device took exactly one way: started it, rejected it (platform), found it expired, or had no room.
    expect([10005, 10018, 10019, 10050].reduce((sum, id) => sum + count(driver, id), 0)).to.equal(driver.targeted);
    const app = ad(report, 'MLC20001');
    // Version 2 is a new revision, and the advertisement reruns if the previous attempt failed (the default): a
    // device that succeeded with version 1 is Will Not Rerun (once); every other targeted device receives it again.
    expect(count(app, 10040)).to.be.above(0);
    expect(app.states.willNotRerun).to.equal(count(app, 10040));
    expect(count(app, 10002) + count(app, 10040)).to.equal(2 * app.targeted);
    expect(count(app, 10008)).to.be.at.most(app.targeted);
  });

  it('replays a scenario with a timeline identically for the same seed', async () => {
    const simulated = ({ wallSeconds: _wall, latency, ...rest }: FleetReport) => ({
      ...rest,
      requests: Object.fromEntries(Object.entries(latency).map(([endpoint, l]) => [endpoint, l.count])),
    });
    const first = await replay('config/scenarios/rollout-during-dp-outage.yaml', { devices: 60 });
    const second = await replay('config/scenarios/rollout-during-dp-outage.yaml', { devices: 60 });
    expect(simulated(second)).to.deep.equal(simulated(first));
  });

  it('replays identically even with faults that hit only some requests (rate below 1)', async () => {
    const file = await writeScenario(
      'partial faults',
      ['devices: 60', 'seed: 5', 'duration: "03:00"'],
      [
        '  - { at: "00:00", action: fault, fault: { endpoint: Content, kind: http-error, status: 503, rate: 0.3 } }',
        '  - { at: "00:00", action: fault, fault: { endpoint: Report, kind: reset, rate: 0.3 } }',
        '  - { at: "00:00", action: fault, fault: { endpoint: Poll, kind: http-error, status: 500, rate: 0.2 } }',
      ],
    );
    const first = await replay(file);
    expect(first.latency.Content!.errors).to.be.above(0);
    // The whole report, not a few counts. Two runs in a row need not have their requests arrive in another order:
    // test/exact-replays.test.ts holds requests back on purpose to show that the order makes no difference.
    expect(simulatedReport(await replay(file))).to.equal(simulatedReport(first));
  });
});

describe('a scenario at a fixed speed (run --speed)', () => {
  it('paces simulated time on real timers and still completes the round', async () => {
    const wallStart = Date.now();
    const report = await replayScenario(
      { ...(await loadScenario('config/scenarios/first-round.yaml')), devices: 5 },
      { limitMs: 3_600_000, speed: 1200, logger: silentLogger() },
    );
    expect(report.clock).to.equal('scaled');
    expect(report.roundComplete).to.equal(true);
    // Paced, not as fast as possible: the simulated span cannot have passed in less real time than speed allows.
    const simulatedMs = Date.parse(report.end) - Date.parse(report.start);
    expect(Date.now() - wallStart).to.be.at.least(simulatedMs / 1200);
  });
});

describe('invalid scenarios', () => {
  let dir: string;
  const fleet = path.resolve('config/fleet.yaml');
  const site = path.resolve('config/site.yaml');
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mlc-sim-scenario-'));
  });

  async function refusal(text: string, replayToo = false): Promise<InputFileError> {
    const file = path.join(dir, `scenario-${Math.random().toString(36).slice(2)}.yaml`);
    await writeFile(file, text);
    try {
      const scenario = await loadScenario(file);
      if (replayToo) await replayScenario({ ...scenario, devices: 2 }, { limitMs: 3_600_000, logger: silentLogger() });
    } catch (error) {
      expect(error).to.be.instanceOf(InputFileError);
      return error as InputFileError;
    }
    throw new Error('the scenario was accepted');
  }

  it('names an unknown field', async () => {
    const error = await refusal(`name: x\nsite: ${site}\nfleet: ${fleet}\ndevcies: 10\n`);
    expect(error.field).to.equal('devcies');
    expect(error.reason).to.match(/devcies/);
  });

  it('names a bad time in the timeline', async () => {
    const error = await refusal(`name: x\nsite: ${site}\nfleet: ${fleet}\ntimeline:\n  - { at: "1h", action: expire, advertisementId: MLC20001 }\n`);
    expect(error.field).to.equal('timeline.0.at');
    expect(error.reason).to.match(/hours:minutes/);
  });

  it('names an unknown timeline action', async () => {
    const error = await refusal(`name: x\nsite: ${site}\nfleet: ${fleet}\ntimeline:\n  - { at: "00:10", action: reboot }\n`);
    expect(error.field).to.equal('timeline.0.action');
  });

  it('names the nested file when a referenced fleet file is missing', async () => {
    const error = await refusal(`name: x\nsite: ${site}\nfleet: no-such-fleet.yaml\n`);
    expect(error.file).to.equal(path.join(dir, 'no-such-fleet.yaml'));
    expect(error.reason).to.match(/ENOENT/);
  });

  it('names the timeline action the site refused, and why', async () => {
    const error = await refusal(
      `name: x\nsite: ${site}\nfleet: ${fleet}\ntimeline:\n  - at: "00:05"\n    action: advertise\n    advertisement: { id: MLC2000F, name: y, collectionId: MLC-ALLMOB, packageId: MLC0000F, programName: z }\n`,
      true,
    );
    expect(error.field).to.equal('timeline.0');
    expect(error.reason).to.match(/package MLC0000F does not exist/);
  });
});

describe('the published scenario schema', () => {
  it('matches the schema in the code (run npm run schema after changing it)', async () => {
    const published = JSON.parse(await readFile(SCENARIO_SCHEMA_FILE, 'utf8')) as unknown;
    expect(published).to.deep.equal(JSON.parse(JSON.stringify(scenarioJsonSchema())));
  });
});
