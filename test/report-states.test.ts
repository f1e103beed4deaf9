import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import type { AdvertisementStatus, DeviceDetail } from '../src/admin/contract.js';
import { ADVERTISEMENT_STATES, STATUS } from '../src/domain/status-message.js';
import { silentLogger } from '../src/logging.js';
import { renderHtmlReport } from '../simulator/html-report.js';
import { replayScenario } from '../simulator/replay.js';
import type { FleetReport } from '../simulator/report.js';
import { loadScenario } from '../simulator/scenario.js';
import { MINUTE, TestSite } from './support/test-site.js';

const APP = { id: 'TST20001', packageId: 'TST00001', programName: 'Install' };

describe('ConfigMgr advertisement states', function () {
  this.timeout(60_000);

  describe('every shipped scenario', () => {
    const reports = new Map<string, FleetReport>();
    before(async () => {
      for (const file of await readdir('config/scenarios')) {
        if (!file.endsWith('.yaml')) continue;
        const scenario = await loadScenario(path.join('config/scenarios', file));
        reports.set(file, await replayScenario({ ...scenario, devices: Math.min(scenario.devices, 120) }, { limitMs: 24 * 3_600_000, logger: silentLogger() }));
      }
      expect(reports.size).to.be.at.least(5);
    });

    it('puts every targeted device in exactly one state: the states, and the report columns, add up to Targeted', () => {
      for (const [file, report] of reports) {
        for (const ad of report.advertisements) {
          const what = `${file} ${ad.id}`;
          const states = ADVERTISEMENT_STATES.reduce((n, state) => n + ad.states[state], 0);
          expect(states, what).to.equal(ad.targeted);
          expect(ad.succeeded + ad.failed + ad.notApplicable + ad.inProgress + ad.noStatus, what).to.equal(ad.targeted);
          const listed = ADVERTISEMENT_STATES.flatMap((state) => ad.devicesByState[state]);
          expect(listed, what).to.have.length(ad.targeted);
          expect(new Set(listed).size, `${what}: no device in two states`).to.equal(listed.length);
          expect(ad.canFinish, what).to.equal(ad.targeted - ad.notApplicable);
        }
      }
    });

    it('gives every device of a state its history, and the history its last message in that state', () => {
      for (const [file, report] of reports) {
        for (const ad of report.advertisements) {
          for (const device of ad.devicesByState.succeeded) {
            const last = report.deviceHistories[device]?.filter((h) => h.advertisementId === ad.id).at(-1);
            expect([STATUS.programSucceeded.id, STATUS.executionSucceeded.id], `${file} ${ad.id} ${device}`).to.include(last?.messageId);
          }
        }
      }
    });
  });

  describe('one handheld against the real site', () => {
    let site: TestSite | undefined;
    afterEach(async () => {
      await site?.stop();
      site = undefined;
    });

    it('counts as targeted only devices the site knows; shows Waiting while a device waits for a docking cradle, and it says so once', async () => {
      site = await TestSite.start();
      await site.advertise({ ...APP, assignment: 'docked' });
      site.startDevice({}, 1, site.clock.now() + 10 * MINUTE);
      // Targeted is over devices the site knows: none yet.
      expect((await site.admin.get<AdvertisementStatus>(`/advertisements/${APP.id}/status`)).data.targeted).to.equal(0);
      await site.clock.advance(15 * MINUTE);
      const { data: waiting } = await site.admin.get<AdvertisementStatus>(`/advertisements/${APP.id}/status`, { params: { devices: 'true' } });
      expect(waiting.byState).to.deep.include({ waiting: 1, noStatus: 0 });
      expect(waiting.devicesByState?.waiting).to.deep.equal(['WM-0001']);
      await site.clock.advance(5 * 60 * MINUTE);
      // Five more polls, each deferring for the same reason: one 10037.
      expect((await site.messageIds(APP.id)).filter((id) => id === STATUS.programWaiting.id)).to.have.length(1);
      const waited = (await site.messages(APP.id)).find((m) => m.messageId === STATUS.programWaiting.id);
      expect(waited?.details).to.include({ Reason: 'ConnectionClass' });
    });

    it('answers GET /admin/devices/:name with the device and its history, and 404 for a name it does not know', async () => {
      site = await TestSite.start();
      await site.advertise(APP);
      site.startDevice();
      await site.clock.advance(10 * MINUTE);
      const { status, data } = await site.admin.get<DeviceDetail>('/devices/WM-0001');
      expect(status).to.equal(200);
      expect(data).to.include({ name: 'WM-0001', platform: 'Windows Mobile 6.5' });
      expect(data).to.not.have.property('authToken');
      expect(data.history.map((m) => m.messageId)).to.include(STATUS.programSucceeded.id);
      expect((await site.admin.get('/devices/NOBODY')).status).to.equal(404);
    });
  });

  describe('the drill-down a person reads', () => {
    it('links each device of a state to its history in the HTML, and prints it with `mlc-sim report DEVICE`', async function () {
      this.timeout(60_000);
      const out = await mkdtemp(path.join(os.tmpdir(), 'mlc-sim-drill-'));
      const { stdout } = await promisify(execFile)(process.execPath, [
        '--import',
        'tsx',
        'simulator/cli.ts',
        'run',
        '--devices',
        '6',
        '--no-progress',
        '--out',
        out,
      ]);
      expect(stdout).to.include('No status');
      const report = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8')) as FleetReport;
      const [device] = report.advertisements[0]?.devicesByState.succeeded ?? [];
      expect(device).to.be.a('string');
      const html = renderHtmlReport(report);
      expect(html).to.include(`<a href="#device-${device}">${device}</a>`);
      expect(html).to.include(`<details id="device-${device}">`);
      const printed = await promisify(execFile)(process.execPath, [
        '--import',
        'tsx',
        'simulator/cli.ts',
        'report',
        String(device),
        '--from',
        path.join(out, 'report.json'),
      ]);
      expect(printed.stdout).to.include(`${device}: ${report.deviceHistories[String(device)]?.length} status messages`);
      expect(printed.stdout).to.include('Program completed successfully');
      await writeFile(path.join(out, 'broken.json'), '{');
      const broken = await promisify(execFile)(process.execPath, [
        '--import',
        'tsx',
        'simulator/cli.ts',
        'report',
        'X',
        '--from',
        path.join(out, 'broken.json'),
      ]).catch((error: unknown) => error as { code: number; stderr: string });
      expect(broken).to.include({ code: 2 });
      expect((broken as { stderr: string }).stderr).to.match(/broken\.json: \(file\): cannot be read as a report/);
    });
  });
});
