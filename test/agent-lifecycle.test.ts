import { expect } from 'chai';
import type { Package } from '../src/domain/package.js';
import { STATUS } from '../src/domain/status-message.js';
import type { AdvertisementStatus } from '../src/admin/contract.js';
import { HOUR, MINUTE, TestSite, testSite } from './support/test-site.js';

const S = Object.fromEntries(Object.entries(STATUS).map(([key, m]) => [key, m.id])) as Record<keyof typeof STATUS, number>;
const APP = { id: 'TST20001', packageId: 'TST00001', programName: 'Install' };

describe('one handheld, end to end', () => {
  let site: TestSite;
  afterEach(async () => (site as TestSite | undefined)?.stop());

  describe('many handhelds on fewer connections than devices', () => {
    it('each polls, downloads, runs and reports, the others waiting their turn for a connection', async () => {
      site = await TestSite.start(testSite(), { connections: 2 });
      await site.advertise(APP);
      for (let i = 1; i <= 12; i++) site.startDevice({ id: `WM-${String(i).padStart(4, '0')}`, name: `handheld-${i}` }, i);
      await site.clock.advance(10 * MINUTE);
      for (const device of site.devices) {
        expect(device.getSnapshot().value).to.equal('idle');
        expect(Object.keys(device.getSnapshot().context.done)).to.have.length(1);
      }
      const { data: summary } = await site.admin.get<AdvertisementStatus>(`/advertisements/${APP.id}/status`);
      expect(summary).to.deep.include({ targeted: 12, received: 12 });
      expect(summary.byState.succeeded).to.equal(12);
    });
  });

  describe('the happy path', () => {
    beforeEach(async () => {
      site = await TestSite.start();
      await site.advertise(APP);
    });

    it('is known to the site from its first poll, and echoes the token and timestamp the site sets', async () => {
      const device = site.startDevice({}, 1, site.clock.now() + 10 * MINUTE);
      await site.clock.advance(9 * MINUTE);
      expect(site.knownDevice('WM-0001'), 'an idle device costs the site nothing').to.equal(undefined);
      await site.clock.advance(MINUTE);
      const known = site.knownDevice('WM-0001');
      expect(known?.platform).to.equal('Windows Mobile 6.5');
      expect(known?.identification.userName).to.equal('MLCSIM\\handheld-1');
      expect(known?.uuid).to.match(/^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/);
      const { credentials } = device.getSnapshot().context;
      expect(credentials.auth).to.equal(known?.authToken);
      expect(credentials.timestamp).to.match(/^6\/1\/2009 \d{1,2}:\d{2}:\d{2} (AM|PM)$/);
    });

    it('polls, receives, downloads, runs and reports, in ConfigMgr order', async () => {
      site.startDevice();
      await site.clock.advance(10 * MINUTE);
      expect(await site.messageIds(APP.id)).to.deep.equal([
        S.advertisementReceived,
        S.downloadStarted,
        S.downloadSucceeded,
        S.programStarted,
        S.programSucceeded,
        S.executionSucceeded,
      ]);
      const finished = (await site.messages(APP.id)).find((m) => m.messageId === S.programSucceeded)!;
      expect(finished.details).to.include({ ExitCode: '0', DurationSeconds: '30' });
      const { data: summary } = await site.admin.get<AdvertisementStatus>(`/advertisements/${APP.id}/status`);
      expect(summary).to.deep.include({ targeted: 1, received: 1 });
      expect(summary.byState.succeeded).to.equal(1);
    });

    it('reports "running" while the program runs, before it finishes', async () => {
      site.startDevice({ programBehaviour: { exitCodes: [{ code: 0, weight: 1 }], durationSeconds: { min: 600, max: 600 }, restartSeconds: 0 } });
      await site.clock.advance(5 * MINUTE);
      const { data: summary } = await site.admin.get<AdvertisementStatus>(`/advertisements/${APP.id}/status`);
      expect(summary.byState.running).to.equal(1);
      expect(await site.messageIds(APP.id)).to.not.include(S.programSucceeded);
    });

    it('waits in idle for the poll interval, then polls again', async () => {
      const device = site.startDevice();
      await site.clock.advance(10 * MINUTE);
      expect(device.getSnapshot().value).to.equal('idle');
      const firstPoll = site.knownDevice('WM-0001')!.lastPollAt;
      await site.clock.advance(HOUR);
      expect(site.knownDevice('WM-0001')!.lastPollAt - firstPoll).to.be.within(0.97 * HOUR, 1.03 * HOUR);
    });

    it('goes straight back to idle from a poll with nothing to do and nothing to report', async () => {
      const device = site.startDevice();
      await site.clock.advance(10 * MINUTE);
      const visited: string[] = [];
      device.subscribe((snapshot) => visited.push(JSON.stringify(snapshot.value)));
      await site.clock.advance(3 * HOUR);
      expect(visited.filter((state) => state === '"polling"')).to.have.length.of.at.least(2);
      expect(visited).to.not.include('"reporting"');
    });

    it('does not rerun a program when a re-poll lists the same package', async () => {
      const device = site.startDevice();
      await site.clock.advance(4 * HOUR);
      const ids = await site.messageIds(APP.id);
      expect(ids.filter((id) => id === S.programStarted)).to.have.length(1);
      const { packages, done } = device.getSnapshot().context;
      expect(packages).to.have.length(1);
      expect(done[packages[0]!]).to.equal(true);
    });

    it('does not rerun a finished program when the policy changes for another advertisement', async () => {
      site.startDevice();
      await site.clock.advance(HOUR / 2);
      await site.advertise({ id: 'TST20009', packageId: 'TST00005' });
      await site.clock.advance(2 * HOUR);
      expect((await site.messageIds(APP.id)).filter((id) => id === S.programStarted)).to.have.length(1);
      expect(await site.messageIds('TST20009')).to.include(S.advertisementReceived);
    });

    it('does not run again when the advertised package is replaced, by default (rerun if failed): Will Not Rerun', async () => {
      site.startDevice();
      await site.clock.advance(HOUR / 2);
      const replaced = await site.admin.put<Package>('/packages/TST00001', { id: 'TST00001', name: 'Test App', source: 'app-v2' });
      expect(replaced.status, JSON.stringify(replaced.data)).to.equal(200);
      expect(replaced.data.version).to.equal(2);
      await site.clock.advance(2 * HOUR);
      const ids = await site.messageIds(APP.id);
      expect(ids.filter((id) => id === S.programSucceeded)).to.have.length(1);
      expect(ids.at(-1)).to.equal(S.willNotRerun);
      // test/rerun.test.ts has each rerun setting.
    });

    it('is known again from its next poll when the site has forgotten it, with a new token', async () => {
      const device = site.startDevice();
      await site.clock.advance(10 * MINUTE);
      const firstToken = device.getSnapshot().context.credentials.auth;
      expect((await site.admin.delete('/devices')).status).to.equal(204);
      await site.clock.advance(HOUR + 10 * MINUTE);
      expect(site.knownDevice('WM-0001')).to.not.equal(undefined);
      expect(device.getSnapshot().context.credentials.auth).to.not.equal(firstToken);
      expect(device.getSnapshot().value).to.equal('idle');
    });
  });

  describe('program outcomes drawn from the device profile', () => {
    beforeEach(async () => {
      site = await TestSite.start();
      await site.advertise(APP);
    });

    it('reports a non-zero exit code as program failed (10006)', async () => {
      site.startDevice({ programBehaviour: { exitCodes: [{ code: 1603, weight: 1 }], durationSeconds: { min: 5, max: 5 }, restartSeconds: 0 } });
      await site.clock.advance(10 * MINUTE);
      const messages = await site.messages(APP.id);
      expect(messages.map((m) => m.messageId))
        .to.include(S.programFailed)
        .and.not.include(S.programSucceeded);
      expect(messages.find((m) => m.messageId === S.programFailed)!.details.ExitCode).to.equal('1603');
    });

    it('reports a restart exit code as restart pending (10022), then success after the restart', async () => {
      site.startDevice({ programBehaviour: { exitCodes: [{ code: 3010, weight: 1 }], durationSeconds: { min: 5, max: 5 }, restartSeconds: 120 } });
      await site.clock.advance(MINUTE);
      const { data: pending } = await site.admin.get<AdvertisementStatus>(`/advertisements/${APP.id}/status`);
      expect(pending.byState.rebootPending).to.equal(1);
      await site.clock.advance(5 * MINUTE);
      const ids = await site.messageIds(APP.id);
      expect(ids.slice(-3)).to.deep.equal([S.restartPending, S.programSucceeded, S.executionSucceeded]);
    });

    it('stops waiting at the maximum run time and reports it (10070), never success', async () => {
      site.startDevice({ programBehaviour: { exitCodes: [{ code: 0, weight: 1 }], durationSeconds: { min: 3600, max: 3600 }, restartSeconds: 0 } });
      await site.clock.advance(2 * HOUR);
      const ids = await site.messageIds(APP.id);
      expect(ids).to.include(S.maxRunTimeExceeded).and.not.include(S.programSucceeded);
      const exceeded = (await site.messages(APP.id)).find((m) => m.messageId === S.maxRunTimeExceeded)!;
      const started = (await site.messages(APP.id)).find((m) => m.messageId === S.programStarted)!;
      expect(exceeded.time - started.time).to.equal(30 * MINUTE);
    });

    it('fails a program whose command line names a file missing from the package', async () => {
      await site.advertise({ id: 'TST20004', packageId: 'TST00004', programName: 'Install' });
      site.startDevice();
      await site.clock.advance(10 * MINUTE);
      const failed = (await site.messages('TST20004')).find((m) => m.messageId === S.programFailed);
      expect(failed?.details).to.include({ Reason: 'FileNotFound', Detail: '\\Temp\\TST00004\\Missing.cab does not exist' });
    });
  });

  describe('advertisements the device must not run', () => {
    beforeEach(async () => {
      site = await TestSite.start();
    });

    it('rejects a program for another mobile platform (10018) without downloading it', async () => {
      await site.advertise({ id: 'TST20002', packageId: 'TST00002', programName: 'Install' });
      site.startDevice();
      await site.clock.advance(10 * MINUTE);
      expect(await site.messageIds('TST20002')).to.deep.equal([S.advertisementReceived, S.rejectedPlatform]);
      const { data: summary } = await site.admin.get<AdvertisementStatus>('/advertisements/TST20002/status');
      expect(summary.byState.rejected).to.equal(1);
    });

    it('is never offered a desktop program, even one listing the handheld platform, nor counted as targeted by it', async () => {
      await site.advertise({ id: 'TST20003', packageId: 'TST00003', programName: 'Setup' });
      site.startDevice();
      await site.clock.advance(3 * HOUR);
      // ConfigMgr's client-type check, on the site (a server that offers it anyway is refused: see machine.test.ts).
      expect(await site.messageIds('TST20003')).to.deep.equal([]);
      const { data: summary } = await site.admin.get<AdvertisementStatus>('/advertisements/TST20003/status');
      expect(summary).to.include({ targeted: 0, received: 0 });
    });

    it('rejects an expired advertisement once and never runs it', async () => {
      await site.advertise({ ...APP, availableAt: '2009-01-01T00:00:00Z', expiresAt: '2009-05-01T00:00:00Z' });
      site.startDevice();
      await site.clock.advance(3 * HOUR);
      expect(await site.messageIds(APP.id)).to.deep.equal([S.advertisementReceived, S.advertisementExpired]);
    });

    it('waits for an advertisement that is not yet available, then runs it', async () => {
      const availableAt = new Date(site.clock.now() + 90 * MINUTE).toISOString();
      await site.advertise({ ...APP, availableAt });
      site.startDevice();
      await site.clock.advance(HOUR);
      // Received, and waiting for its start time (said once, whatever the number of polls).
      expect(await site.messageIds(APP.id)).to.deep.equal([S.advertisementReceived, S.programWaiting]);
      await site.clock.advance(2 * HOUR);
      const started = (await site.messages(APP.id)).find((m) => m.messageId === S.programStarted)!;
      expect(started.time).to.be.at.least(Date.parse(availableAt));
    });

    it('does not run an optional advertisement on a device whose user does not run optional programs', async () => {
      await site.advertise({ ...APP, mandatory: false });
      site.startDevice();
      site.startDevice({ id: 'WM-0002', runsOptionalPrograms: true }, 2);
      await site.clock.advance(10 * MINUTE);
      expect(await site.messageIds(APP.id, 'WM-0001')).to.deep.equal([S.advertisementReceived]);
      expect(await site.messageIds(APP.id, 'WM-0002')).to.include(S.programSucceeded);
    });

    it('runs a docked-only advertisement on a docked device and defers it on a wireless one', async () => {
      await site.advertise({ ...APP, assignment: 'docked' });
      site.startDevice();
      site.startDevice({ id: 'WM-0002', connectivity: { kind: 'docked', bandwidthKBps: 1000 } }, 2);
      await site.clock.advance(10 * MINUTE);
      expect(await site.messageIds(APP.id, 'WM-0001')).to.deep.equal([S.advertisementReceived, S.programWaiting]);
      expect(await site.messageIds(APP.id, 'WM-0002')).to.include(S.programSucceeded);
    });

    it('fails cleanly with 10050 when the package is larger than free storage, without downloading', async () => {
      await site.advertise(APP);
      site.startDevice({ freeStorageBytes: 100 });
      await site.clock.advance(10 * MINUTE);
      const messages = await site.messages(APP.id);
      expect(messages.map((m) => m.messageId)).to.deep.equal([S.advertisementReceived, S.contentTooLarge]);
      expect(messages[1]!.details.FreeStorage).to.equal('100');
    });
  });

  describe('download failures', () => {
    beforeEach(async () => {
      site = await TestSite.start();
      await site.advertise(APP);
    });

    it('never runs a program whose content fails the hash check: retries, then 11032 and 10057', async () => {
      await site.admin.post('/faults', { endpoint: 'Content', kind: 'corrupt-content' });
      const device = site.startDevice();
      await site.clock.advance(MINUTE);
      expect(device.getSnapshot().value).to.deep.equal({ offer: 'downloadBackoff' });
      await site.clock.advance(2 * HOUR);
      const messages = await site.messages(APP.id);
      const ids = messages.map((m) => m.messageId);
      expect(ids).to.deep.equal([S.advertisementReceived, S.downloadStarted, S.downloadFailed, S.contentMismatch]);
      expect(messages.at(-1)!.details).to.include({ Reason: 'ContentMismatch' });
      expect(messages.at(-1)!.details.Detail).to.match(/SHA-256/);
      // Three retries with capped exponential backoff from a 3-minute base: at least 1.5 + 3 + 6 minutes.
      expect(messages.at(-1)!.time - messages[1]!.time).to.be.at.least(10.5 * MINUTE);
    });

    it('checks every device’s download: after one device verified the package, altered bytes still fail the hash check', async () => {
      site.startDevice();
      await site.clock.advance(10 * MINUTE);
      expect(await site.messageIds(APP.id, 'WM-0001')).to.include(S.programSucceeded);
      await site.admin.post('/faults', { endpoint: 'Content', kind: 'corrupt-content' });
      site.startDevice({ id: 'WM-0002' }, 2);
      await site.clock.advance(2 * HOUR);
      const messages = await site.messages(APP.id, 'WM-0002');
      expect(messages.map((m) => m.messageId)).to.not.include(S.programStarted);
      expect(messages.at(-1)!.details.Detail).to.match(/SHA-256/);
    });

    it('treats a truncated archive as content that does not match the source', async () => {
      await site.admin.post('/faults', { endpoint: 'Content', kind: 'truncate-content' });
      site.startDevice();
      await site.clock.advance(2 * HOUR);
      const messages = await site.messages(APP.id);
      expect(messages.map((m) => m.messageId)).to.not.include(S.programStarted);
      expect(messages.at(-1)!.messageId).to.equal(S.contentMismatch);
      expect(messages.at(-1)!.details.Detail).to.match(/bytes/);
    });

    it('gives up on HTTP errors after the retry count with 11032, and the site offers it again (Retrying)', async () => {
      await site.admin.post('/faults', { endpoint: 'Content', kind: 'http-error', status: 500 });
      site.startDevice();
      await site.clock.advance(HOUR / 2);
      const messages = await site.messages(APP.id);
      expect(messages.map((m) => m.messageId)).to.deep.equal([S.advertisementReceived, S.downloadStarted, S.downloadFailed, S.programRetrying]);
      messages.pop();
      expect(messages.at(-1)!.details).to.include({ Reason: 'DownloadInterrupted' });
      expect(messages.at(-1)!.details.Detail).to.match(/HTTP 500/);
    });

    it('recovers when the distribution point comes back during the retries', async () => {
      const until = new Date(site.clock.now() + 4 * MINUTE).toISOString();
      await site.admin.post('/faults', { endpoint: 'Content', kind: 'http-error', status: 503, until });
      site.startDevice();
      await site.clock.advance(HOUR);
      const ids = await site.messageIds(APP.id);
      expect(ids).to.include(S.programSucceeded).and.not.include(S.downloadFailed);
    });
  });

  describe('site trouble around the poll and the status intake', () => {
    beforeEach(async () => {
      site = await TestSite.start();
      await site.advertise(APP);
    });

    it('retries a failed poll with backoff and carries on when the site answers again', async () => {
      const until = new Date(site.clock.now() + 5 * MINUTE).toISOString();
      await site.admin.post('/faults', { endpoint: 'Poll', kind: 'http-error', status: 503, until });
      const device = site.startDevice();
      await site.clock.advance(MINUTE);
      expect(device.getSnapshot().value).to.equal('pollBackoff');
      await site.clock.advance(HOUR);
      expect(await site.messageIds(APP.id)).to.include(S.programSucceeded);
    });

    it('gives up polling after the retry count and polls again at the next interval', async () => {
      const until = new Date(site.clock.now() + 2 * HOUR).toISOString();
      await site.admin.post('/faults', { endpoint: 'Poll', kind: 'http-error', status: 500, until });
      const device = site.startDevice();
      const cycles: { polls: number; idleAt: number }[] = [];
      let polls = 0;
      let previous: unknown;
      device.subscribe((snapshot) => {
        if (snapshot.value === 'polling' && previous !== 'polling') polls++;
        if (snapshot.value === 'idle' && previous !== 'idle' && polls > 0) cycles.push({ polls, idleAt: site.clock.now() });
        previous = snapshot.value;
      });
      await site.clock.advance(5 * HOUR);
      // Before its first policy the device knows only the documented defaults: one poll and 5 retries.
      expect(cycles[0]!.polls).to.equal(6);
      expect(await site.messageIds(APP.id)).to.include(S.programSucceeded);
      const start = Date.parse('2009-06-01T08:00:00Z');
      // The next cycle starts on the device's own phase, an interval after the first, not at once.
      const secondCycle = (await site.messages(APP.id))[0]!.time - start;
      expect(secondCycle).to.be.at.least(2 * HOUR * 0.98);
      expect(cycles[0]!.idleAt - start).to.be.below(HOUR);
    });

    it('keeps status messages it could not deliver and delivers each exactly once later', async () => {
      const until = new Date(site.clock.now() + 30 * MINUTE).toISOString();
      await site.admin.post('/faults', { endpoint: 'Status', kind: 'http-error', status: 503, until });
      const device = site.startDevice();
      await site.clock.advance(10 * MINUTE);
      expect(await site.messageIds(APP.id)).to.deep.equal([S.advertisementReceived]);
      // 11030, 11031, 11035 as the device sends them; 10002 is the site's own record of serving the instructions.
      expect(device.getSnapshot().context.outbox).to.have.length(3);
      await site.clock.advance(HOUR);
      const messages = await site.messages(APP.id);
      expect(messages.map((m) => m.messageId)).to.deep.equal([
        S.advertisementReceived,
        S.downloadStarted,
        S.downloadSucceeded,
        S.programStarted,
        S.programSucceeded,
        S.executionSucceeded,
      ]);
      expect(new Set(messages.map((m) => m.id)).size).to.equal(6);
      expect(device.getSnapshot().context.outbox).to.have.length(0);
      expect((await site.admin.get<{ deviceMessages: number }>('/site')).data.deviceMessages).to.equal(3);
    });
  });

  describe('configuration packages', () => {
    beforeEach(async () => {
      site = await TestSite.start();
      await site.advertise({ id: 'TST20005', packageId: 'TST00005' });
    });

    it('remediates an item out of compliance, reports one it may not fix, and skips items for other platforms', async () => {
      const device = site.startDevice({ settings: { 'setting:PasswordType': 'none', 'registry:HKLM\\Software\\Bluetooth\\Enabled': '1' } });
      await site.clock.advance(10 * MINUTE);
      const { data: summary } = await site.admin.get<AdvertisementStatus>('/advertisements/TST20005/status');
      expect(summary.compliance).to.deep.equal({
        'CI-PIN': { compliant: 0, remediated: 1, nonCompliant: 0, notApplicable: 0 },
        'CI-BT': { compliant: 0, remediated: 0, nonCompliant: 1, notApplicable: 0 },
        'CI-CE-ONLY': { compliant: 0, remediated: 0, nonCompliant: 0, notApplicable: 1 },
      });
      const settings = device.getSnapshot().context.profile.settings;
      expect(settings['setting:PasswordType']).to.equal('PIN');
      expect(settings['registry:HKLM\\Software\\Bluetooth\\Enabled']).to.equal('1');
    });

    it('reports compliant when the settings already match', async () => {
      site.startDevice({ settings: { 'setting:PasswordType': 'PIN', 'registry:HKLM\\Software\\Bluetooth\\Enabled': '0' } });
      await site.clock.advance(10 * MINUTE);
      const { data: summary } = await site.admin.get<AdvertisementStatus>('/advertisements/TST20005/status');
      expect(summary.compliance['CI-PIN']!.compliant).to.equal(1);
      expect(summary.compliance['CI-BT']!.compliant).to.equal(1);
    });
  });
});
