import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { silentLogger } from '../src/logging.js';
import { replayScenario } from '../simulator/replay.js';
import type { FleetReport } from '../simulator/report.js';
import { loadScenario } from '../simulator/scenario.js';

const run = promisify(execFile);
const CLI = ['--import', 'tsx', 'simulator/cli.ts'];

async function defaultRound(devices: number, seed: number): Promise<FleetReport> {
  const scenario = await loadScenario('config/scenarios/first-round.yaml');
  return replayScenario({ ...scenario, devices, seed }, { limitMs: 24 * 3_600_000, logger: silentLogger() });
}

describe('a distribution round with the default site and fleet (what npm start runs)', () => {
  let report: FleetReport;
  before(async () => {
    report = await defaultRound(40, 1);
  });

  it('completes the round for every device', () => {
    expect(report.roundComplete).to.equal(true);
    expect(report.devicesCycled).to.equal(40);
    expect(report.deviceStates).to.deep.equal({ idle: 40 });
  });

  it('accounts for every targeted device of every program advertisement', () => {
    for (const ad of report.advertisements) {
      expect(ad.received, ad.id).to.equal(ad.targeted);
      if (ad.programName !== null) expect(ad.succeeded + ad.failed + ad.notApplicable + ad.inProgress, ad.id).to.equal(ad.targeted);
    }
  });

  it('targets the Windows Mobile 6.x rollout at exactly the Windows Mobile 6.x devices', () => {
    const wm6 = Object.entries(report.platforms)
      .filter(([platform]) => platform.startsWith('Windows Mobile 6'))
      .reduce((sum, [, count]) => sum + count, 0);
    expect(report.advertisements.find((a) => a.id === 'MLC20001')!.targeted).to.equal(wm6);
  });

  it('offers the desktop program to no handheld: it targets none of them', () => {
    const office = report.advertisements.find((a) => a.id === 'MLC20003')!;
    expect(office).to.include({ targeted: 0, received: 0 });
    expect(office.messages).to.deep.equal([]);
  });

  it('reports compliance for every device and item of the baseline', () => {
    const baseline = report.advertisements.find((a) => a.id === 'MLC20004')!;
    for (const [item, counts] of Object.entries(baseline.compliance)) {
      expect(
        Object.values(counts).reduce((a, b) => a + b, 0),
        item,
      ).to.equal(40);
    }
    expect(baseline.compliance['CI-PASSWORD']!.remediated).to.be.above(0);
    expect(baseline.compliance['CI-BLUETOOTH']!.nonCompliant).to.be.above(0);
  });

  it('gives the same report for the same seed, and a different one for another seed', async () => {
    // Wall-clock figures differ run to run; everything simulated, and how many requests went where, must not.
    const simulated = ({ wallSeconds: _wall, latency, ...rest }: FleetReport) => ({
      ...rest,
      requests: Object.fromEntries(Object.entries(latency).map(([endpoint, l]) => [endpoint, l.count])),
    });
    const again = await defaultRound(40, 1);
    expect(simulated(again)).to.deep.equal(simulated(report));
    const other = await defaultRound(40, 2);
    expect(other.platforms).to.not.deep.equal(report.platforms);
  });
});

describe('the mlc-sim command', () => {
  it('runs a round, prints the report and writes report.json and report.html', async () => {
    const out = await mkdtemp(path.join(os.tmpdir(), 'mlc-sim-out-'));
    const { stdout } = await run(process.execPath, [...CLI, 'run', '--devices', '5', '--out', out]);
    expect(stdout)
      .to.match(/5 handhelds/)
      .and.match(/Advertisement status/)
      .and.match(/MLC20001 Field Inventory rollout/);
    const written = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8')) as FleetReport;
    expect(written.devices).to.equal(5);
    expect(written.advertisements).to.have.length(4);
    expect(await readFile(path.join(out, 'report.html'), 'utf8')).to.include('First distribution round');
  });

  it('runs a scenario for the --duration asked, overriding the scenario', async () => {
    const { stdout } = await run(process.execPath, [...CLI, 'run', 'config/scenarios/mandatory-app-rollout.yaml', '--devices', '20', '--duration', '00:45']);
    expect(stdout).to.include('simulated 2009-06-01T08:00:00Z → 2009-06-01T08:45:00.000Z');
    // The pilot is advertised at 00:30, the rollout to all at 02:00: only the first exists 45 minutes in.
    expect(stdout).to.include('MLC20001 Field Inventory pilot').and.not.include('MLC20002');
  });

  it('splits a run across --workers, from another working directory, into one report', async () => {
    const out = await mkdtemp(path.join(os.tmpdir(), 'mlc-sim-out-'));
    // Through the installed command (simulator/bin.js), as `npx mlc-sim` runs it.
    const bin = path.resolve('simulator/bin.js');
    const { stdout } = await run(process.execPath, [bin, 'run', '--devices', '6', '--workers', '2', '--out', out], { cwd: os.tmpdir() });
    expect(stdout)
      .to.match(/6 handhelds/)
      .and.match(/every device completed a poll cycle/);
    const written = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8')) as FleetReport;
    expect(written.devices).to.equal(6);
    expect(written.status.stored).to.equal(written.status.generated);
  });

  it('refuses a bad flag with a non-zero exit and says which flag and why', async () => {
    const failure = await run(process.execPath, [...CLI, 'run', '--devices', 'many']).catch((error: unknown) => error);
    expect(failure).to.include({ code: 1 });
    expect((failure as { stderr: string }).stderr).to.match(/--devices must be a positive whole number, got "many"/);
    const warmUp = await run(process.execPath, [...CLI, 'fleet', '--server', 'http://127.0.0.1:9', '--warm-up-seconds', '-1']).catch((error: unknown) => error);
    expect(warmUp).to.include({ code: 1 });
    expect((warmUp as { stderr: string }).stderr).to.match(/--warm-up-seconds must be zero or a positive number, got "-1"/);
  });

  it('refuses a bad site file naming the file, the field and the reason, with exit code 2', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mlc-sim-site-'));
    const file = path.join(dir, 'site.yaml');
    await writeFile(file, 'clientSettings:\n  pollInterval: every hour\n');
    await writeFile(path.join(dir, 'scenario.yaml'), `name: bad site\nsite: site.yaml\nfleet: ${path.resolve('config/fleet.yaml')}\n`);
    const failure = await run(process.execPath, [...CLI, 'run', path.join(dir, 'scenario.yaml')]).catch((error: unknown) => error);
    expect(failure).to.include({ code: 2 });
    expect((failure as { stderr: string }).stderr).to.include(`${file}: clientSettings.pollInterval: must be a positive interval`);
  });
});
