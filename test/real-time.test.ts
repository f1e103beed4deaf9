import { expect } from 'chai';
import { startHandheld } from '../src/agent/handheld.js';
import { SiteConnection } from '../src/agent/site-connection.js';
import { sitePortOf } from '../src/agent/site-line.js';
import { silentLogger } from '../src/logging.js';
import { seededRandom } from '../src/random.js';
import { startSiteServer, type RunningSiteServer } from '../src/server/site-server.js';
import { realClock } from '../src/time/clock.js';
import { CronClock } from '../src/time/cron-clock.js';
import { profile, testSite, writePackageSources } from './support/test-site.js';

describe('real time: node-cron drives the device timers', () => {
  let server: RunningSiteServer;
  const clock = new CronClock();
  afterEach(async () => {
    clock.stop();
    await (server as RunningSiteServer | undefined)?.close();
  });

  it('polls again when the site-set interval has passed, woken by the cron tick', async function () {
    this.timeout(15_000);
    const site = testSite({ advertisements: [{ id: 'TST20001', name: 'App', collectionId: 'ALL', packageId: 'TST00001', programName: 'Install' }] });
    site.clientSettings.pollInterval = '0000-00-00 00:00:02';
    server = await startSiteServer({ site, contentRoot: await writePackageSources() });
    const polls: number[] = [];
    const device = startHandheld({
      profile: profile({ programBehaviour: { exitCodes: [{ code: 0, weight: 1 }], durationSeconds: { min: 0, max: 0 }, restartSeconds: 0 } }),
      deps: { site: sitePortOf(new SiteConnection({ serverUrl: server.url, clock })), random: seededRandom(1), logger: silentLogger() },
    });
    let previous: unknown;
    device.subscribe((snapshot) => {
      if (snapshot.value === 'polling' && previous !== 'polling') polls.push(Date.now());
      previous = snapshot.value;
    });
    const deadline = Date.now() + 12_000;
    while (polls.length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    device.stop();
    expect(polls, 'three polls within 12 s').to.have.length.of.at.least(3);
    // The first poll comes at once; later ones a 2-second interval (±2%, whole seconds) apart, never sooner than a
    // second; a loaded machine may tick late, so the upper bound is wide.
    expect(polls[2]! - polls[1]!).to.be.within(1000, 6000);
    expect(server.status.statusMessages({ advertisementId: 'TST20001' }).map((m) => m.messageId)).to.include(10008);
  });
});

describe('real time: answers that come after the device moved on', () => {
  let server: RunningSiteServer;
  afterEach(async () => (server as RunningSiteServer | undefined)?.close());

  it('clears what a late delivery confirmed, though the device had moved on before the answer came', async function () {
    this.timeout(15_000);
    server = await startSiteServer({
      site: testSite({ advertisements: [{ id: 'TST20001', name: 'App', collectionId: 'ALL', packageId: 'TST00001', programName: 'Install' }] }),
      contentRoot: await writePackageSources(),
    });
    // Each report is answered 400 ms late and the program runs 200 ms. The delivery asked for while it runs is
    // answered (about 800 ms) after the device left `running`, while `reporting` waits for its own; that one is
    // answered (about 1,000 ms) when the device is idle again, and only the root's handler can clear it.
    const fault = await fetch(`${server.url}/admin/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ endpoint: 'Status', kind: 'latency', latencyMs: { min: 400, max: 400 } }),
    });
    expect(fault.status).to.equal(201);
    const device = startHandheld({
      profile: profile({ programBehaviour: { exitCodes: [{ code: 0, weight: 1 }], durationSeconds: { min: 0.2, max: 0.2 }, restartSeconds: 0 } }),
      deps: { site: sitePortOf(new SiteConnection({ serverUrl: server.url, clock: realClock })), random: seededRandom(1), logger: silentLogger() },
    });
    let idleWithOutbox = false;
    device.subscribe((snapshot) => {
      if (snapshot.value === 'idle' && snapshot.context.outbox.length > 0) idleWithOutbox = true;
    });
    const settled = () => {
      const { value, context } = device.getSnapshot();
      return value === 'idle' && context.seq > 0 && context.outbox.length === 0;
    };
    const deadline = Date.now() + 10_000;
    while (!settled() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    device.stop();
    expect(idleWithOutbox, 'the device was idle while a delivery was still unanswered').to.equal(true);
    expect(device.getSnapshot().context.outbox.length, 'messages the site confirmed, left in the outbox').to.equal(0);
    const ids = server.status.statusMessages({ advertisementId: 'TST20001' }).map((m) => m.messageId);
    expect(ids).to.include(10008);
    expect(new Set(ids).size, 'each message stored once').to.equal(ids.length);
  });
});
