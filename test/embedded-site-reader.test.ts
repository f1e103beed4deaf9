import { expect } from 'chai';
import { embeddedSiteReader } from '../simulator/embedded-site-reader.js';
import { adminApiReader, collectAdvertisementReports } from '../simulator/report.js';
import type { Platform } from '../src/domain/platform.js';
import { HOUR, TestSite } from './support/test-site.js';

describe("a replay's report read from its embedded site in the same thread", () => {
  let site: TestSite | undefined;
  afterEach(async () => {
    await site?.stop();
    site = undefined;
  });

  it('reads what the admin API answers: status, devices by state, messages, compliance, storage and the stored count', async () => {
    site = await TestSite.start();
    await site.advertise({ id: 'TST20001', packageId: 'TST00001', programName: 'Install' });
    await site.advertise({ id: 'TST20005', packageId: 'TST00005' });
    const platforms: Platform[] = ['Windows Mobile 6.5', 'Windows Mobile 6.1', 'Windows Mobile 6.5', 'Windows CE 6.0'];
    for (const [index, platform] of platforms.entries()) {
      site.startDevice({ id: `WM-000${index + 1}`, name: `handheld-${index + 1}`, platform }, index + 1);
    }
    // A day: every device ran what applies to it and sent its machine inventory.
    await site.clock.advance(25 * HOUR);
    const overHttp = adminApiReader(site.server.url);
    const inProcess = embeddedSiteReader(site.server);
    const read = await collectAdvertisementReports(overHttp);
    expect(read.advertisements.map((ad) => ad.messages.length)).to.not.include(0);
    expect(read.advertisements.flatMap((ad) => Object.keys(ad.compliance))).to.include('CI-PIN');
    expect(Object.keys(read.deviceHistories)).to.have.length(4);
    expect(read.storage.map((s) => s.platform)).to.include('Windows CE 6.0');
    expect(JSON.stringify(await collectAdvertisementReports(inProcess))).to.equal(JSON.stringify(read));
    expect(await inProcess.storedStatusCount())
      .to.be.above(0)
      .and.equal(await overHttp.storedStatusCount());
  });
});
