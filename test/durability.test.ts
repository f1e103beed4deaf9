import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { SiteConnection } from '../src/agent/site-connection.js';
import { deviceUuidOf, identificationOf } from '../src/agent/device-identity.js';
import { DEVICE_MESSAGE, PARAMETER, type DeviceStatusMessage } from '../src/domain/device-status.js';
import type { StatusMessage } from '../src/domain/status-message.js';
import { silentLogger } from '../src/logging.js';
import { realClock } from '../src/time/clock.js';
import { replayScenario } from '../simulator/replay.js';
import { loadScenario } from '../simulator/scenario.js';
import { freePort } from './support/free-port.js';
import { writeScenario } from './support/scenario-file.js';
import { profile, testSite, writePackageSources } from './support/test-site.js';

/** `mlc-sim serve` as its own process, so it can be killed the hard way. */
async function serve(siteFile: string, db: string, port: number): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'simulator/cli.ts', 'serve', '--site', siteFile, '--db', db, '--port', String(port), '--log-level', 'error'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('listening')) resolve();
    });
    child.once('exit', (code) => {
      reject(new Error(`serve exited with ${code}`));
    });
  });
  return child;
}

describe('durability: a scenario that takes the site down mid-rollout (siteDown)', function () {
  this.timeout(60_000);

  it('brings it back with every status record it had, and the fleet delivers the rest exactly once', async () => {
    const file = await writeScenario(
      'Site down',
      ['devices: 60', 'staggerMinutes: 60', 'duration: "05:00"'],
      ['  - { at: "00:30", action: siteDown, until: "01:15" }'],
    );
    const report = await replayScenario(await loadScenario(file), { limitMs: 0, logger: silentLogger() });
    // Devices met a closed port while it was down...
    expect(report.latency.Poll!.errors).to.be.above(0);
    // ...and nothing recorded before, during or after the outage was lost or counted twice.
    expect(report.status.pending).to.equal(0);
    expect(report.status.stored).to.equal(report.status.generated);
    for (const ad of report.advertisements.filter((a) => a.programName !== null)) {
      expect(ad.received, ad.id).to.equal(ad.targeted);
    }
  });
});

describe('durability: a site killed mid-run and restarted on the same database', function () {
  this.timeout(60_000);
  let child: ChildProcess | undefined;
  afterEach(() => child?.kill('SIGKILL'));

  it('loses no status message it acknowledged, and still counts a resent batch once', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mlc-sim-durability-'));
    const siteFile = path.join(dir, 'site.json');
    const advertisements = [{ id: 'TST20001', name: 'App', collectionId: 'ALL', packageId: 'TST00001', programName: 'Install' }];
    await writeFile(siteFile, JSON.stringify({ ...testSite({ advertisements }), contentRoot: await writePackageSources() }));
    const db = path.join(dir, 'status.db');
    const port = await freePort();
    const connection = new SiteConnection({ serverUrl: `http://127.0.0.1:${port}`, clock: realClock });
    const device = profile();
    const batch = (packageId: string, n: number): DeviceStatusMessage[] =>
      Array.from({ length: 20 }, (_, i) => ({
        packageId,
        messageId: DEVICE_MESSAGE.downloadStarting,
        time: Math.floor(Date.now() / 1000) * 1000,
        parameters: { [PARAMETER.sequence]: `boot.${String(n * 100 + i).padStart(8, '0')}` },
      }));
    /** Polls as a device does, and takes the token the site sets. */
    const poll = async () => {
      const answer = await connection.poll({ uuid: deviceUuidOf(device), auth: '', timestamp: '' }, identificationOf(device));
      return { credentials: { uuid: deviceUuidOf(device), auth: answer.auth!, timestamp: answer.timestamp! }, packageId: answer.policy.packages[0]! };
    };
    const storedIds = async () => new Set(((await (await fetch(`http://127.0.0.1:${port}/admin/status-messages`)).json()) as StatusMessage[]).map((m) => m.id));

    child = await serve(siteFile, db, port);
    let { credentials, packageId } = await poll();
    const acknowledged: string[] = [];
    for (let n = 0; n < 10; n++) {
      const messages = batch(packageId, n);
      await connection.reportStatus(credentials, messages);
      acknowledged.push(...messages.map((m) => `WM-0001:${m.parameters.Sequence}`));
    }
    // One more batch in flight when the process dies: it may or may not be stored, but it was never acknowledged.
    void connection.reportStatus(credentials, batch(packageId, 10)).catch(() => undefined);
    child.kill('SIGKILL');
    await new Promise((resolve) => child!.once('exit', resolve));

    child = await serve(siteFile, db, port);
    const stored = await storedIds();
    expect(acknowledged.filter((id) => !stored.has(id))).to.deep.equal([]);
    // The site knows the device again from its status database (same token); it polls again, then resends.
    ({ credentials, packageId } = await poll());
    await connection.reportStatus(credentials, batch(packageId, 0));
    expect((await storedIds()).size).to.equal(stored.size);
    await connection.close();
  });
});
