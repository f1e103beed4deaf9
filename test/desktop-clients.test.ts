// Desktop clients in the fleet mix: they poll the same site as the handhelds, and ConfigMgr's client-type check
// decides what the site offers each kind (src/server/policy.ts). What a device does with an offer the site should
// not have made is in test/eligibility.test.ts, test/machine.test.ts and test/reference-server.test.ts.
import { expect } from 'chai';
import type { AdvertisementStatus } from '../src/admin/contract.js';
import { STATUS } from '../src/domain/status-message.js';
import { HOUR, TestSite, testSite } from './support/test-site.js';

const S = Object.fromEntries(Object.entries(STATUS).map(([key, m]) => [key, m.id])) as Record<keyof typeof STATUS, number>;
const RAN = [S.advertisementReceived, S.downloadStarted, S.downloadSucceeded, S.programStarted, S.programSucceeded, S.executionSucceeded];

const HANDHELD = 'WM-0001';
const XP = { id: 'XP-0001', name: 'desktop-1', platform: 'Windows XP', osVersion: '5.1.2600' } as const;
const WIN7 = { id: 'W7-0001', name: 'desktop-2', platform: 'Windows 7', osVersion: '6.1.7601' } as const;

/** All to the site's "ALL" collection (every device): the Windows Mobile app, the desktop program and the baseline. */
const APP = { id: 'TST20001', packageId: 'TST00001', programName: 'Install' };
const DESKTOP_SETUP = { id: 'TST20003', packageId: 'TST00003', programName: 'Setup' };
const BASELINE = { id: 'TST20005', packageId: 'TST00005' };

describe('desktop clients polling the same site as the handhelds', () => {
  let site: TestSite;
  beforeEach(async () => {
    site = await TestSite.start(testSite({ collections: [{ id: 'DESKTOPS', name: 'Desktops', rule: { platforms: ['Windows XP', 'Windows 7'] } }] }));
    for (const ad of [APP, DESKTOP_SETUP, BASELINE]) await site.advertise(ad);
  });
  afterEach(async () => site.stop());

  const status = async (id: string) => (await site.admin.get<AdvertisementStatus>(`/advertisements/${id}/status`)).data;

  it('offers the desktop program to desktop clients only, and Windows CE programs and configuration packages to handhelds only', async () => {
    const handheld = site.startDevice();
    const desktop = site.startDevice(XP, 2);
    await site.clock.advance(3 * HOUR);
    // A desktop's Identification/Platform is its platform name, as a handheld's is.
    expect(site.knownDevice(XP.id)?.platform).to.equal('Windows XP');
    expect(await site.messageIds(DESKTOP_SETUP.id, XP.id)).to.deep.equal(RAN);
    expect(await site.messageIds(APP.id, HANDHELD)).to.deep.equal(RAN);
    expect(await site.messageIds(BASELINE.id, HANDHELD)).to.include(S.executionSucceeded);
    // Never offered the other kind's packages: not even an advertisement received (10002), nor a refusal.
    expect(await site.messageIds(DESKTOP_SETUP.id, HANDHELD)).to.deep.equal([]);
    expect(await site.messageIds(APP.id, XP.id)).to.deep.equal([]);
    expect(await site.messageIds(BASELINE.id, XP.id)).to.deep.equal([]);
    // The policy each was sent listed only its own kind: the desktop program; the app and the baseline.
    expect(desktop.getSnapshot().context.packages).to.have.length(1);
    expect(handheld.getSnapshot().context.packages).to.have.length(2);
  });

  it('counts as targeted only the devices it offers an advertisement to, and gives their status', async () => {
    await site.advertise({ ...APP, id: 'TST20006', collectionId: 'DESKTOPS' });
    site.startDevice();
    site.startDevice(XP, 2);
    site.startDevice(WIN7, 3);
    await site.clock.advance(3 * HOUR);
    // The desktop program lists Windows XP (and a handheld platform) but not Windows 7: that desktop refuses it.
    expect(await site.messageIds(DESKTOP_SETUP.id, WIN7.id)).to.deep.equal([S.advertisementReceived, S.rejectedPlatform]);
    const setup = await status(DESKTOP_SETUP.id);
    expect(setup).to.include({ targeted: 2, received: 2 });
    expect(setup.byState).to.include({ succeeded: 1, rejected: 1 });
    expect(setup.byMessageId).to.include({ [S.advertisementReceived]: 2, [S.programSucceeded]: 1, [S.rejectedPlatform]: 1 });
    const app = await status(APP.id);
    expect(app).to.include({ targeted: 1, received: 1 });
    expect(app.byState).to.include({ succeeded: 1, rejected: 0 });
    const baseline = await status(BASELINE.id);
    expect(baseline).to.include({ targeted: 1, received: 1 });
    for (const [item, counts] of Object.entries(baseline.compliance))
      expect(
        Object.values(counts).reduce((a, b) => a + b, 0),
        item,
      ).to.equal(1);
    // The Windows Mobile app sent to a collection of desktops: its members are not device clients, so nobody.
    expect(await status('TST20006')).to.include({ targeted: 0, received: 0 });
    expect(await site.messageIds('TST20006', XP.id)).to.deep.equal([]);
  });
});
