import { mkdtemp } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { silentLogger } from '../src/logging.js';
import { faultSchema } from '../src/admin/contract.js';
import { loadValidatedFile } from '../src/input-file.js';
import { startSiteServer, type RunningSiteServer } from '../src/server/site-server.js';
import { fleetMixSchema, type FleetMix } from '../simulator/fleet-mix.js';
import { DeviceStateStore } from '../simulator/device-state-store.js';
import { runLiveFleet } from '../simulator/live-fleet.js';
import { renderReport } from '../simulator/report.js';
import { appAdvertisement, testSite, writePackageSources } from './support/test-site.js';

describe('a live fleet against a server (fleet --server)', function () {
  this.timeout(20_000);
  let mix: FleetMix;
  before(async () => {
    mix = await loadValidatedFile('config/fleet.yaml', fleetMixSchema);
    mix.programBehaviour = { ...mix.programBehaviour, durationSeconds: { min: 0, max: 1 } };
  });

  describe('an mlc-sim stub site', () => {
    let server: RunningSiteServer;
    afterEach(async () => server.close());

    it('polls in real time at the interval the site sets, and reports advertisement status and latency', async () => {
      const site = testSite({ collections: [{ id: 'EVERY', name: 'Everything', rule: { allDevices: true } }] });
      site.clientSettings.pollInterval = '0000-00-00 00:00:01';
      site.advertisements.push(appAdvertisement('EVERY'));
      server = await startSiteServer({ site, contentRoot: await writePackageSources() });
      const report = await runLiveFleet({ serverUrl: server.url, mix, devices: 20, seed: 1, staggerMs: 200, durationMs: 5000, logger: silentLogger() });
      expect(report.clock).to.equal('real');
      expect(report.advertisements[0]).to.include({ id: 'TST20001', targeted: 20, received: 20 });
      // One-second polls (timers have one-second resolution) for five seconds: devices polled twice or more each.
      expect(report.latency.Poll!.count).to.be.at.least(40);
      expect(report.latency.Poll!.errors).to.equal(0);
    });

    it('with --back-to-back, polls again as soon as a cycle ends, whatever the interval, and runs programs in no time', async () => {
      const site = testSite({ collections: [{ id: 'EVERY', name: 'Everything', rule: { allDevices: true } }] });
      site.advertisements.push(appAdvertisement('EVERY'));
      server = await startSiteServer({ site, contentRoot: await writePackageSources() });
      const slow: FleetMix = {
        ...mix,
        platforms: [{ platform: 'Windows Mobile 6.5', osVersion: '5.2.21234', weight: 1 }],
        storage: [{ minMB: 64, maxMB: 64, weight: 1 }],
        programBehaviour: { exitCodes: [{ code: 0, weight: 1 }], durationSeconds: { min: 600, max: 600 }, restartSeconds: 0 },
      };
      const report = await runLiveFleet({
        serverUrl: server.url,
        mix: slow,
        devices: 5,
        seed: 1,
        staggerMs: 0,
        durationMs: 1500,
        backToBack: true,
        logger: silentLogger(),
      });
      // The site's interval is an hour, and the programs ten minutes long: yet every device finished and polled on.
      expect(report.advertisements[0]).to.include({ targeted: 5, succeeded: 5 });
      expect(report.latency.Poll!.count).to.be.above(5 * 10);
    });
  });

  describe('a state directory (fleet --state-dir)', () => {
    let server: RunningSiteServer;
    afterEach(async () => server.close());

    it('saves what a device remembers when it changes, not at every poll; a second run presents the tokens the first got', async () => {
      server = await startSiteServer({ site: testSite({}), contentRoot: await writePackageSources() });
      const stateDir = await mkdtemp(path.join(os.tmpdir(), 'mlc-sim-state-'));
      const run = () =>
        runLiveFleet({ serverUrl: server.url, mix, devices: 4, seed: 1, staggerMs: 0, durationMs: 1000, backToBack: true, stateDir, logger: silentLogger() });
      // eslint-disable-next-line @typescript-eslint/unbound-method -- put back below, and called with its store as `this`
      const save = DeviceStateStore.prototype.save;
      let saves = 0;
      DeviceStateStore.prototype.save = function (this: DeviceStateStore, ...args: Parameters<typeof save>) {
        saves++;
        save.apply(this, args);
      };
      try {
        const first = await run();
        // Nothing advertised: once started, polled (a token) and inventoried, a device has nothing new to remember.
        expect(first.latency.Poll!.count).to.be.above(4 * 20);
        expect(saves).to.be.at.most(4 * 5);
        // The site knows the devices now: a second run that did not present their tokens would be refused (401).
        const second = await run();
        expect(second.latency.Poll!.count).to.be.above(4 * 20);
        expect(second.latency.Poll!.errors).to.equal(0);
      } finally {
        DeviceStateStore.prototype.save = save;
      }
    });
  });

  describe('a warm-up (fleet --warm-up-seconds)', () => {
    let server: RunningSiteServer;
    afterEach(async () => server.close());

    it('leaves the requests of its warm-up out of the latency table, and gives request rates over the window after it', async () => {
      const site = testSite({ collections: [{ id: 'EVERY', name: 'Everything', rule: { allDevices: true } }] });
      site.advertisements.push(appAdvertisement('EVERY'));
      server = await startSiteServer({ site, contentRoot: await writePackageSources() });
      const report = await runLiveFleet({
        serverUrl: server.url,
        mix,
        devices: 5,
        seed: 1,
        staggerMs: 0,
        durationMs: 1000,
        warmUpMs: 1000,
        backToBack: true,
        logger: silentLogger(),
      });
      // Every device polled, downloaded and reported in its first moments, long before the warm-up ended.
      expect(report.advertisements[0]).to.include({ targeted: 5, received: 5, inProgress: 0 });
      expect(report.latency).to.have.all.keys('Poll');
      expect(report.latencyWindow).to.deep.equal({ warmUpSeconds: 1, seconds: 1 });
      const rendered = renderReport(report);
      expect(rendered).to.include('Request latency (wall clock; the 1s after a 1s warm-up)');
      // One second measured: the rate is the count.
      expect(rendered).to.match(new RegExp(`Poll\\s*│\\s*${report.latency.Poll!.count}\\s*│\\s*${report.latency.Poll!.count}\\s*│`));
    });
  });

  describe('a simulator restart with --state-dir', () => {
    let server: RunningSiteServer;
    afterEach(async () => server.close());

    it('delivers the outboxes of the last run exactly once, and does not rerun what the devices already ran', async () => {
      const site = testSite({ advertisements: [{ id: 'TST20001', name: 'App', collectionId: 'ALL', packageId: 'TST00001', programName: 'Install' }] });
      site.clientSettings.pollInterval = '0000-00-00 00:00:01';
      site.clientSettings.failureRetryInterval = '0000-00-00 00:00:01';
      server = await startSiteServer({ site, contentRoot: await writePackageSources() });
      const stateDir = await mkdtemp(path.join(os.tmpdir(), 'mlc-sim-state-'));
      const run = () => runLiveFleet({ serverUrl: server.url, mix, devices: 10, seed: 3, staggerMs: 100, durationMs: 3000, stateDir, logger: silentLogger() });

      // Status intake refuses everything: the records pile up in the outboxes, and the simulator stops.
      server.faults.add(faultSchema.parse({ endpoint: 'Status', kind: 'http-error', status: 503 }));
      const first = await run();
      expect(first.status.pending).to.equal(first.status.generated).and.be.above(0);
      expect(first.status.stored).to.equal(0);

      server.faults.clear();
      const secondStart = Date.now();
      const second = await run();
      expect(second.status.pending).to.equal(0);
      // Every record the first run made, and could not deliver, reached the site from the second.
      expect(server.status.deviceMessages().filter((m) => m.time < secondStart)).to.have.length(first.status.generated);
      // generated counts on from the first run: the devices remembered their sequence and their outboxes.
      expect(second.status.generated).to.be.at.least(first.status.generated);
      expect(second.status.stored).to.equal(second.status.generated);
      // A device interrupted mid-install installs again; one that had finished never starts the program again.
      const messages = server.status.statusMessages({ advertisementId: 'TST20001' });
      const finished = new Map<string, number>();
      for (const m of messages) if ([10006, 10008].includes(m.messageId) && !finished.has(m.deviceId)) finished.set(m.deviceId, m.time);
      expect(finished.size).to.be.above(0);
      const rerun = messages.filter((m) => m.messageId === 10005 && finished.has(m.deviceId) && m.time > finished.get(m.deviceId)!);
      expect(rerun).to.deep.equal([]);
      // What a device that ran the program saved on its file system is in what it remembers.
      const store = new DeviceStateStore(stateDir);
      const remembered = Array.from({ length: 10 }, (_, i) => store.load(`MLC-${String(i + 1).padStart(5, '0')}`));
      store.close();
      expect(remembered.filter((m) => m?.state.files['\\temp\\tst00001\\setup.exe'])).to.have.length.above(0);
    });
  });

  describe('a server that is not an mlc-sim site', () => {
    let foreign: http.Server;
    afterEach(() => new Promise((resolve) => foreign.close(resolve)));

    it('keeps the fleet running and reports the errors, with no advertisement status', async () => {
      foreign = http.createServer((_request, response) => response.writeHead(404, { 'content-type': 'text/plain' }).end('no such thing'));
      await new Promise<void>((resolve) => foreign.listen(0, '127.0.0.1', resolve));
      const { port } = foreign.address() as AddressInfo;
      const report = await runLiveFleet({
        serverUrl: `http://127.0.0.1:${port}`,
        mix,
        devices: 5,
        seed: 1,
        staggerMs: 100,
        durationMs: 1500,
        logger: silentLogger(),
      });
      expect(report.advertisements).to.deep.equal([]);
      expect(report.latency.Poll!.errors).to.equal(report.latency.Poll!.count).and.be.above(0);
      expect(report.deviceStates).to.deep.equal({ pollBackoff: 5 });
    });
  });
});
