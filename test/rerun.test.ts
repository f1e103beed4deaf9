// An advertisement's rerun setting, against the real stub site over loopback: who runs a replaced package again,
// who is Will Not Rerun, and a failed download offered again at the next poll (Retrying, then success).
import { expect } from 'chai';
import type { AdvertisementStatus } from '../src/admin/contract.js';
import type { RerunBehaviour } from '../src/domain/advertisement.js';
import { STATUS } from '../src/domain/status-message.js';
import { HOUR, MINUTE, TestSite } from './support/test-site.js';

const S = Object.fromEntries(Object.entries(STATUS).map(([key, m]) => [key, m.id])) as Record<keyof typeof STATUS, number>;
const APP = { id: 'TST20001', packageId: 'TST00001', programName: 'Install' };
const SUCCEEDS = 'WM-0001';
const FAILS = 'WM-0002';

describe('rerun behaviour', () => {
  let site: TestSite;
  afterEach(async () => (site as TestSite | undefined)?.stop());

  async function status(advertisementId: string): Promise<AdvertisementStatus> {
    return (await site.admin.get<AdvertisementStatus>(`/advertisements/${advertisementId}/status`, { params: { devices: true } })).data;
  }

  const count = (ids: number[], id: number) => ids.filter((i) => i === id).length;

  /** One device whose program succeeds and one whose program fails (exit code 1603) run revision 1. */
  async function twoDevicesRan(rerun: RerunBehaviour): Promise<void> {
    site = await TestSite.start();
    await site.advertise({ ...APP, rerun });
    site.startDevice();
    site.startDevice(
      { id: FAILS, name: 'handheld-2', programBehaviour: { exitCodes: [{ code: 1603, weight: 1 }], durationSeconds: { min: 5, max: 5 }, restartSeconds: 0 } },
      2,
    );
    await site.clock.advance(HOUR / 2);
    const first = await status(APP.id);
    expect(first.devicesByState!.succeeded).to.deep.equal([SUCCEEDS]);
    expect(first.devicesByState!.failed).to.deep.equal([FAILS]);
  }

  const cases: { rerun: RerunBehaviour; reruns: string[]; willNotRerun: string[] }[] = [
    { rerun: 'always', reruns: [SUCCEEDS, FAILS], willNotRerun: [] },
    { rerun: 'never', reruns: [], willNotRerun: [SUCCEEDS, FAILS] },
    { rerun: 'ifFailed', reruns: [FAILS], willNotRerun: [SUCCEEDS] },
    { rerun: 'ifSucceeded', reruns: [SUCCEEDS], willNotRerun: [FAILS] },
  ];
  for (const { rerun, reruns, willNotRerun } of cases) {
    it(`rerun "${rerun}": a replaced package runs again on ${reruns.join(' and ') || 'no device'}; Will Not Rerun: ${willNotRerun.join(' and ') || 'none'}`, async () => {
      await twoDevicesRan(rerun);
      const replaced = await site.admin.put('/packages/TST00001', { id: 'TST00001', name: 'Test App', source: 'app-v2' });
      expect(replaced.status).to.equal(200);
      await site.clock.advance(3 * HOUR);
      for (const device of [SUCCEEDS, FAILS]) {
        const ids = await site.messageIds(APP.id, device);
        const runs = reruns.includes(device) ? 2 : 1;
        expect(count(ids, S.advertisementReceived), `${device} received`).to.equal(runs);
        expect(count(ids, S.programStarted), `${device} ran`).to.equal(runs);
        // Recorded once per device and revision, though the device polled three times since.
        expect(count(ids, S.willNotRerun), `${device} will not rerun`).to.equal(willNotRerun.includes(device) ? 1 : 0);
      }
      const after = await status(APP.id);
      expect(after.devicesByState!.willNotRerun).to.deep.equal(willNotRerun);
      expect(after.byState.willNotRerun).to.equal(willNotRerun.length);
    });
  }

  it('a second advertisement of the same program (rerun "ifFailed"): a device that succeeded does not install twice', async () => {
    site = await TestSite.start();
    await site.advertise(APP);
    site.startDevice();
    await site.clock.advance(HOUR / 2);
    await site.advertise({ ...APP, id: 'TST20002' });
    await site.clock.advance(2 * HOUR);
    expect(await site.messageIds('TST20002')).to.deep.equal([S.willNotRerun]);
    expect(count(await site.messageIds(APP.id), S.programStarted)).to.equal(1);
    const again = await status('TST20002');
    expect(again).to.deep.include({ targeted: 1, received: 0 });
    expect(again.byState.willNotRerun).to.equal(1);
  });

  it('a configuration package has no rerun setting: a changed item evaluates again everywhere', async () => {
    site = await TestSite.start();
    await site.advertise({ id: 'TST20004', packageId: 'TST00005', rerun: 'never' });
    site.startDevice();
    await site.clock.advance(HOUR / 2);
    const item = {
      id: 'CI-PIN',
      name: 'PIN policy',
      platforms: ['Windows Mobile 6.5'],
      remediate: true,
      settings: [{ kind: 'setting', name: 'PasswordType', expected: 'Alphanumeric' }],
    };
    expect((await site.admin.put('/configuration-items/CI-PIN', item)).status).to.equal(200);
    await site.clock.advance(2 * HOUR);
    expect(count(await site.messageIds('TST20004'), S.executionSucceeded)).to.equal(2);
  });

  describe('a download that ran out of retries', () => {
    async function outage(rerun: RerunBehaviour): Promise<void> {
      site = await TestSite.start();
      await site.advertise({ ...APP, rerun });
      // Longer than the device's three retries (3, 6 and 12 minutes at most): it gives up during the outage.
      const until = new Date(site.clock.now() + 45 * MINUTE).toISOString();
      await site.admin.post('/faults', { endpoint: 'Content', kind: 'http-error', status: 503, until });
      site.startDevice();
      await site.clock.advance(40 * MINUTE);
    }

    it('is Retrying (10035) when the rerun setting allows a rerun after a failure, and succeeds at the next poll', async () => {
      await outage('ifFailed');
      expect(await site.messageIds(APP.id)).to.deep.equal([S.advertisementReceived, S.downloadStarted, S.downloadFailed, S.programRetrying]);
      expect((await status(APP.id)).byState.retrying).to.equal(1);
      await site.clock.advance(HOUR);
      const ids = await site.messageIds(APP.id);
      expect(ids.slice(4)).to.deep.equal([
        S.advertisementReceived,
        S.downloadStarted,
        S.downloadSucceeded,
        S.programStarted,
        S.programSucceeded,
        S.executionSucceeded,
      ]);
      const after = await status(APP.id);
      expect(after.byState.succeeded).to.equal(1);
      expect(after.received).to.equal(1);
    });

    it('stays failed when the rerun setting does not allow a rerun after a failure ("never")', async () => {
      await outage('never');
      await site.clock.advance(2 * HOUR);
      expect(await site.messageIds(APP.id)).to.deep.equal([S.advertisementReceived, S.downloadStarted, S.downloadFailed]);
      expect((await status(APP.id)).byState.failed).to.equal(1);
    });
  });
});
