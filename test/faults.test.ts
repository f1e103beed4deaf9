import { expect } from 'chai';
import { STATUS } from '../src/domain/status-message.js';
import { MINUTE, TestSite } from './support/test-site.js';

const APP = { id: 'TST20001', packageId: 'TST00001', programName: 'Install' };

/** Times (simulated) at which a device entered `state`. */
function entries(site: TestSite, device: ReturnType<TestSite['startDevice']>, state: string): number[] {
  const times: number[] = [];
  let previous: unknown;
  device.subscribe((snapshot) => {
    const value = JSON.stringify(snapshot.value);
    if (value === JSON.stringify(state) && previous !== value) times.push(site.clock.now());
    previous = value;
  });
  return times;
}

describe('the agent under injected faults', () => {
  let site: TestSite;
  beforeEach(async () => {
    site = await TestSite.start();
    await site.advertise(APP);
  });
  afterEach(async () => site.stop());

  it('waits as long as a 503 Retry-After asks, however short its own backoff', async () => {
    await site.admin.post('/faults', {
      endpoint: 'Poll',
      kind: 'retry-after',
      status: 503,
      retryAfterSeconds: 900,
      until: new Date(site.clock.now() + MINUTE).toISOString(),
    });
    const device = site.startDevice();
    const polls = entries(site, device, 'polling');
    await site.clock.advance(HOUR_AND_A_HALF);
    expect(polls.length).to.be.at.least(2);
    // Backoff alone would retry after 1.5-3 minutes; the site asked for 15.
    expect(polls[1]! - polls[0]!).to.be.at.least(15 * MINUTE);
    expect(await site.messageIds(APP.id)).to.include(STATUS.programSucceeded.id);
  });

  it('resumes a download cut mid-body from where it stopped, with an HTTP Range', async () => {
    // Every answer is cut after half its body, for a while: without resuming, no attempt gets past half.
    await site.admin.post('/faults', { endpoint: 'Content', kind: 'reset', until: new Date(site.clock.now() + 4 * MINUTE).toISOString() });
    const device = site.startDevice();
    const size = site.server.catalog.contentOf('TST00001', 1)!.archive.length;
    const held: number[] = [];
    // The offer keeps the partial download; look at it between steps of the clock.
    for (let elapsed = 0; elapsed < HOUR_AND_A_HALF; elapsed += 10_000) {
      await site.clock.advance(10_000);
      const snapshot = device.getSnapshot();
      const partial = snapshot.matches({ offer: 'downloadBackoff' }) ? snapshot.context.offer?.partial?.length : undefined;
      if (partial !== undefined && held.at(-1) !== partial) held.push(partial);
    }
    // Each cut attempt continued the last: half, then three quarters, ...
    expect(held.length).to.be.at.least(2);
    expect(held.slice(0, 2)).to.deep.equal([Math.floor(size / 2), Math.floor(size / 2) + Math.floor((size - Math.floor(size / 2)) / 2)]);
    expect(await site.messageIds(APP.id)).to.include(STATUS.programSucceeded.id);
  });

  it('rejects a malformed policy, retries, and carries on when the site answers properly', async () => {
    await site.admin.post('/faults', { endpoint: 'Poll', kind: 'malformed', until: new Date(site.clock.now() + 5 * MINUTE).toISOString() });
    const device = site.startDevice();
    await site.clock.advance(MINUTE);
    expect(device.getSnapshot().value).to.equal('pollBackoff');
    expect(device.getSnapshot().context.packages, 'nothing taken from a document that did not decode').to.deep.equal([]);
    await site.clock.advance(HOUR_AND_A_HALF);
    expect(await site.messageIds(APP.id)).to.include(STATUS.programSucceeded.id);
  });

  it('delivers status exactly once when the answers to its reports are lost after the site stored them', async () => {
    await site.admin.post('/faults', { endpoint: 'Status', kind: 'reset', until: new Date(site.clock.now() + 20 * MINUTE).toISOString() });
    const device = site.startDevice();
    await site.clock.advance(10 * MINUTE);
    // The site stored what it was sent before each cut; the device never heard so and keeps everything.
    expect((await site.messageIds(APP.id)).length).to.be.above(0);
    expect(device.getSnapshot().context.outbox).to.have.length(3);
    await site.clock.advance(HOUR_AND_A_HALF);
    expect(device.getSnapshot().context.outbox).to.have.length(0);
    const stored = await site.messages(APP.id);
    expect(stored).to.have.length(6);
    expect(new Set(stored.map((m) => m.id)).size).to.equal(6);
  });

  it('completes through slow answers and a trickling distribution point (real-time delays)', async function () {
    this.timeout(20_000);
    await site.admin.post('/faults', { endpoint: 'Poll', kind: 'latency', latencyMs: { min: 50, max: 150 } });
    await site.admin.post('/faults', { endpoint: 'Content', kind: 'trickle', bytesPerSecond: 8192 });
    site.startDevice();
    await site.clock.advance(10 * MINUTE);
    expect(await site.messageIds(APP.id)).to.include(STATUS.programSucceeded.id);
  });
});

const HOUR_AND_A_HALF = 90 * MINUTE;
