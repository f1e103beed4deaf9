import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { SiteConnection } from '../src/agent/site-connection.js';
import type { StatusMessage } from '../src/domain/status-message.js';
import { silentLogger } from '../src/logging.js';
import { realClock } from '../src/time/clock.js';
import { replayScenario } from '../simulator/replay.js';
import { loadScenario } from '../simulator/scenario.js';
import { writeScenario } from './support/scenario-file.js';
import { testSite, writePackageSources } from './support/test-site.js';

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** `mlc-sim serve` as its own process, so it can be killed the hard way. */
async function serve(siteFile: string, db: string, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'simulator/cli.ts', 'serve', '--site', siteFile, '--db', db, '--port', String(port), '--log-level', 'error'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('listening') && resolve());
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}`)));
  });
  return child;
}

describe('durability: a scenario that takes the site down mid-rollout (siteDown)', function () {
  this.timeout(60_000);

  it('brings it back with every status record it had, and the fleet delivers the rest exactly once', async () => {
    const file = await writeScenario('Site down', ['devices: 60', 'staggerMinutes: 60', 'duration: "05:00"'], ['  - { at: "00:30", action: siteDown, until: "01:15" }']);
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
    await writeFile(siteFile, JSON.stringify({ ...testSite(), contentRoot: await writePackageSources() }));
    const db = path.join(dir, 'status.db');
    const port = await freePort();
    const connection = new SiteConnection({ serverUrl: `http://127.0.0.1:${port}`, clock: realClock });
    const identity = { uuid: 'WM-0001', name: 'handheld-1', platform: 'Windows Mobile 6.5' as const, osVersion: '5.2' };
    const batch = (n: number): StatusMessage[] =>
      Array.from({ length: 20 }, (_, i) => ({
        id: `WM-0001:boot:${n * 100 + i}`,
        deviceId: 'WM-0001',
        advertisementId: 'TST20001',
        packageId: 'TST00001',
        messageId: 10002,
        time: Date.now(),
        details: { Batch: String(n) },
      }));

    child = await serve(siteFile, db, port);
    let credentials = { uuid: identity.uuid, authToken: await connection.register(identity) };
    const acknowledged: string[] = [];
    for (let n = 0; n < 10; n++) {
      const messages = batch(n);
      const answer = await connection.reportStatus(credentials, 'SoftwareDistributionStatus', { messages });
      expect(answer).to.deep.equal({ accepted: 20, duplicates: 0 });
      acknowledged.push(...messages.map((m) => m.id));
    }
    // One more batch in flight when the process dies: it may or may not be stored, but it was never acknowledged.
    void connection.reportStatus(credentials, 'SoftwareDistributionStatus', { messages: batch(10) }).catch(() => undefined);
    child.kill('SIGKILL');
    await new Promise((resolve) => child!.once('exit', resolve));

    child = await serve(siteFile, db, port);
    const stored = new Set(((await (await fetch(`http://127.0.0.1:${port}/admin/status-messages`)).json()) as StatusMessage[]).map((m) => m.id));
    expect(acknowledged.filter((id) => !stored.has(id))).to.deep.equal([]);
    // The site forgot its registrations (they are not persisted), so the device registers again, then resends.
    credentials = { uuid: identity.uuid, authToken: await connection.register(identity) };
    expect(await connection.reportStatus(credentials, 'SoftwareDistributionStatus', { messages: batch(0) })).to.deep.equal({ accepted: 0, duplicates: 20 });
  });
});
