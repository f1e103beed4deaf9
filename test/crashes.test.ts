import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { stringify } from 'yaml';
import type { StatusMessage } from '../src/domain/status-message.js';
import { STATUS } from '../src/domain/status-message.js';
import { loadValidatedFile } from '../src/input-file.js';
import { silentLogger } from '../src/logging.js';
import { startSiteServer, type RunningSiteServer } from '../src/server/site-server.js';
import { fleetMixSchema } from '../simulator/fleet-mix.js';
import { runLiveFleet } from '../simulator/live-fleet.js';
import type { FleetReport } from '../simulator/report.js';
import { freePort, killHard, serve, spawnCli } from './support/processes.js';
import { testSite, writePackageSources } from './support/test-site.js';

const ADVERTISEMENT = { id: 'TST20001', name: 'App', collectionId: 'ALL', packageId: 'TST00001', programName: 'Install', rerun: 'never' };

/** A site whose devices poll and retry every second, so a few seconds hold many downloads, runs and restarts. */
function quickSite() {
  const site = testSite({ advertisements: [ADVERTISEMENT] });
  site.clientSettings.pollInterval = '0000-00-00 00:00:01';
  site.clientSettings.failureRetryInterval = '0000-00-00 00:00:01';
  return site;
}

/** The default fleet mix with programs of 1 to 3 s and a 2 s restart: a kill often lands mid-run or mid-restart. */
async function quickMix(dir: string): Promise<string> {
  const mix = await loadValidatedFile('config/fleet.yaml', fleetMixSchema);
  mix.programBehaviour = { ...mix.programBehaviour, durationSeconds: { min: 1, max: 3 }, restartSeconds: 2 };
  const file = path.join(dir, 'fleet.yaml');
  await writeFile(file, stringify(mix));
  return file;
}

/** Programs started per device (10005), from the site's records: more than one is a program run twice. */
function startsPerDevice(messages: StatusMessage[]): Map<string, number> {
  const starts = new Map<string, number>();
  for (const m of messages) if (m.messageId === STATUS.programStarted.id) starts.set(m.deviceId, (starts.get(m.deviceId) ?? 0) + 1);
  return starts;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('crashes: kill -9 on either side, at several moments', function () {
  this.timeout(120_000);

  describe('a fleet killed three times and restarted on its --state-dir', () => {
    let server: RunningSiteServer;
    let fleet: ChildProcess | undefined;
    afterEach(async () => {
      if (fleet) await killHard(fleet);
      await server.close();
    });

    it('never runs a program twice, and the site stores every record the devices made, once', async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'mlc-sim-crash-'));
      server = await startSiteServer({ site: quickSite(), contentRoot: await writePackageSources() });
      const mixFile = await quickMix(dir);
      const stateDir = path.join(dir, 'state');
      const out = path.join(dir, 'out');
      const runFleet = (minutes: number, ...extra: string[]) =>
        spawnCli(
          'fleet',
          ...['--server', server.url, '--fleet', mixFile, '--devices', '40', '--seed', '3', '--stagger-minutes', '0.02'],
          ...['--duration-minutes', String(minutes), '--state-dir', stateDir, '--no-progress', '--log-level', 'error', ...extra],
        );

      // Each kill lands a different while after the fleet's devices got going: mid-download, mid-run, mid-restart.
      for (const after of [0, 800, 1900]) {
        const stored = server.status.deviceMessageCount;
        fleet = runFleet(5);
        while (server.status.deviceMessageCount < stored + 10) await sleep(50);
        await sleep(after);
        await killHard(fleet);
      }
      fleet = runFleet(0.25, '--out', out);
      const code = await new Promise((resolve) => fleet!.once('exit', resolve));
      expect(code).to.equal(0);
      const report = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8')) as FleetReport;

      // Every record any of the four runs made reached the site exactly once (generated counts on across runs)...
      expect(report.status.pending).to.equal(0);
      expect(server.status.deviceMessageCount).to.equal(report.status.generated);
      // ...and no device started its program a second time, whenever it was killed.
      const messages = server.status.statusMessages({ advertisementId: ADVERTISEMENT.id });
      const starts = startsPerDevice(messages);
      expect(starts.size).to.be.above(0);
      expect([...starts].filter(([, count]) => count > 1)).to.deep.equal([]);
      // Every device that started it ended it: succeeded, failed, or interrupted by the kill (a failure it reports).
      const ended = new Set(messages.filter((m) => [STATUS.programSucceeded.id, STATUS.programFailed.id].includes(m.messageId)).map((m) => m.deviceId));
      expect([...starts.keys()].filter((device) => !ended.has(device))).to.deep.equal([]);
    });
  });

  describe('a site killed three times mid-run and restarted on its database', () => {
    let site: ChildProcess | undefined;
    afterEach(async () => {
      if (site) await killHard(site);
    });

    it('loses no record it acknowledged, counts none twice, and the devices carry on with their tokens', async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'mlc-sim-site-crash-'));
      const siteFile = path.join(dir, 'site.json');
      await writeFile(siteFile, JSON.stringify({ ...quickSite(), contentRoot: await writePackageSources() }));
      const db = path.join(dir, 'status.db');
      const port = await freePort();
      site = await serve(siteFile, db, port);
      const mix = await loadValidatedFile(await quickMix(dir), fleetMixSchema);
      const run = runLiveFleet({
        serverUrl: `http://127.0.0.1:${port}`,
        mix,
        devices: 40,
        seed: 5,
        staggerMs: 500,
        durationMs: 25_000,
        logger: silentLogger(),
      });
      for (const at of [1500, 1200, 1700]) {
        await sleep(at);
        await killHard(site);
        site = await serve(siteFile, db, port);
      }
      const report = await run;

      expect(report.latency.Poll!.errors, 'devices met the dead site').to.be.above(0);
      expect(report.status.pending).to.equal(0);
      expect(report.status.stored).to.equal(report.status.generated);
      const messages = (await (
        await fetch(`http://127.0.0.1:${port}/admin/status-messages?advertisementId=${ADVERTISEMENT.id}&limit=10000`)
      ).json()) as StatusMessage[];
      expect([...startsPerDevice(messages)].filter(([, count]) => count > 1)).to.deep.equal([]);
      // Known by their tokens across every restart: no device was refused for good (each finished its program).
      expect(report.advertisements[0]!.received).to.equal(report.advertisements[0]!.targeted);
    });
  });
});
