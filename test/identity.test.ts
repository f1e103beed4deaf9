import { expect } from 'chai';
import { STATUS } from '../src/domain/status-message.js';
import { HOUR, TestSite, testSite } from './support/test-site.js';

describe('identity: a device whose token the site no longer takes', function () {
  this.timeout(60_000);
  let site: TestSite;
  afterEach(async () => site.stop());

  it('re-establishes it at the next exchange that gets a 401, and carries on within seconds, not at its next hourly poll', async () => {
    site = await TestSite.start(
      testSite({ advertisements: [{ id: 'TST20001', name: 'App', collectionId: 'ALL', packageId: 'TST00001', programName: 'Install' }] }),
    );
    const devices = Array.from({ length: 8 }, (_, i) => site.startDevice({ id: `WM-${String(i + 1).padStart(4, '0')}` }, i + 1));
    // Every device is running its 30 s program...
    await site.clock.advance(10_000);
    expect(devices.map((d) => d.getSnapshot().value)).to.deep.equal(devices.map(() => ({ offer: { running: 'executing' } })));
    const tokens = devices.map((d) => d.getSnapshot().context.credentials.auth);

    // ...when the site restarts on a ":memory:" database: no devices, no tokens.
    await site.server.stop();
    await site.server.restart();
    expect(site.server.devices.size).to.equal(0);
    await site.clock.advance(60_000);

    // Delivering the program's result met a 401: each device polled afresh, got a new token and delivered.
    expect(devices.map((d) => d.getSnapshot().context.outbox.length)).to.deep.equal(devices.map(() => 0));
    expect(site.server.devices.size).to.equal(devices.length);
    devices.forEach((d, i) => {
      expect(d.getSnapshot().context.credentials.auth).to.not.equal(tokens[i]).and.not.equal('');
    });
    const succeeded = site.server.status.statusMessages({ advertisementId: 'TST20001' }).filter((m) => m.messageId === STATUS.programSucceeded.id);
    expect(succeeded.map((m) => m.deviceId).sort()).to.deep.equal(devices.map((d) => d.getSnapshot().context.profile.id).sort());
    expect(site.clock.now() - devices[0]!.getSnapshot().context.polls.firstAt).to.be.below(HOUR);
  });
});
