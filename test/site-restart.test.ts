import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { deviceUuidOf, identificationOf } from '../src/agent/device-identity.js';
import { SiteConnection } from '../src/agent/site-connection.js';
import { DEVICE_MESSAGE, PARAMETER } from '../src/domain/device-status.js';
import type { ComplianceResult, StatusMessage } from '../src/domain/status-message.js';
import { silentLogger } from '../src/logging.js';
import { DeviceRegistry } from '../src/server/device-registry.js';
import { startSiteServer } from '../src/server/site-server.js';
import { StatusStore } from '../src/server/status-store.js';
import { realClock } from '../src/time/clock.js';
import type { AdvertisementReport } from '../simulator/report.js';
import { replayScenario } from '../simulator/replay.js';
import { loadScenario } from '../simulator/scenario.js';
import { profile, testSite, writePackageSources } from './support/test-site.js';

async function tempDb(): Promise<string> {
  return path.join(await mkdtemp(path.join(os.tmpdir(), 'mlc-sim-restart-')), 'status.db');
}

/** What the console shows of every advertisement, with the devices in each state. */
function console_(store: StatusStore, ads: string[], targeted: string[]) {
  return ads.map((ad) => ({ ...store.summary(ad, targeted, 0, true), received: [...store.receivedDevices(ad)].sort() }));
}

describe('site restart: the status store rebuilt on start', () => {
  it('gives every device the same last state as live indexing did, equal times included', async () => {
    const db = await tempDb();
    const live = new StatusStore(db);
    const t = Date.parse('2009-06-01T08:00:00Z');
    let n = 0;
    const m = (deviceId: string, advertisementId: string, messageId: number, time: number): StatusMessage => ({
      id: `m${n++}`,
      deviceId,
      advertisementId,
      packageId: 'P',
      messageId,
      time,
      details: {},
    });
    const c = (deviceId: string, state: ComplianceResult['state'], time: number): ComplianceResult => ({
      id: `c${n++}`,
      deviceId,
      advertisementId: 'AD2',
      packageId: 'P',
      itemId: 'CI',
      state,
      time,
    });
    // Equal times in both orders, a late arrival stamped earlier, within and across batches.
    live.acceptStatus([m('A', 'AD1', 10002, t), m('A', 'AD1', 10005, t), m('A', 'AD1', 10008, t)]);
    live.acceptStatus([m('B', 'AD1', 10008, t), m('B', 'AD1', 10006, t)]);
    live.acceptStatus([m('C', 'AD1', 10008, t + 1000), m('C', 'AD1', 10006, t)]);
    live.acceptStatus([m('D', 'AD1', 10005, t + 2000)]);
    live.acceptStatus([m('D', 'AD1', 10002, t + 2000), m('D', 'AD1', 10018, t + 1000)]);
    live.acceptStatus([m('A', 'AD2', 10002, t), m('B', 'AD2', 10002, t)]);
    live.acceptCompliance([c('A', 'nonCompliant', t), c('A', 'remediated', t), c('B', 'compliant', t + 1000), c('B', 'nonCompliant', t)]);
    const targeted = ['A', 'B', 'C', 'D', 'E'];
    const before = console_(live, ['AD1', 'AD2'], targeted);
    live.close();
    const rebuilt = new StatusStore(db);
    expect(console_(rebuilt, ['AD1', 'AD2'], targeted)).to.deep.equal(before);
    // The last of equal times is the later arrival; an earlier time arriving later does not replace a later one.
    const states = before[0]!.devicesByState!;
    expect(states.succeeded).to.deep.equal(['A', 'C']);
    expect(states.failed).to.deep.equal(['B']);
    expect(states.accepted).to.deep.equal(['D']);
    expect(states.noStatus).to.deep.equal(['E']);
    expect(before[1]!.compliance).to.deep.equal({ CI: { compliant: 1, remediated: 1, nonCompliant: 0, notApplicable: 0 } });
    rebuilt.close();
  });
});

describe('site restart: known devices persisted with the status database', function () {
  this.timeout(30_000);

  it('a registry on a reopened store knows the same devices, names and tokens; one without a store keeps them in memory', async () => {
    const db = await tempDb();
    const store = new StatusStore(db);
    const registry = new DeviceRegistry(store);
    const fresh = { authToken: undefined, source: '127.0.0.1' };
    const a = registry.identify('uuid-a', identificationOf(profile({ id: 'WM-0001' })), 1000, fresh);
    const b = registry.identify('uuid-b', identificationOf(profile({ id: 'WM-0002', name: 'handheld-2' })), 2000, fresh);
    // A second device with a taken name is told apart, and keeps that name after a restart.
    const twin = registry.identify('uuid-twin', identificationOf(profile({ id: 'WM-0001' })), 3000, fresh);
    registry.identify('uuid-a', identificationOf(profile({ id: 'WM-0001' })), 4000, { ...fresh, authToken: a.authToken });
    store.close();
    const reopened = new StatusStore(db);
    const restarted = new DeviceRegistry(reopened);
    expect(restarted.size).to.equal(3);
    // a used its token (its second poll presented it); b and twin have not yet.
    expect([a, b, twin].map((d) => restarted.get(d.uuid)!.confirmed)).to.deep.equal([true, false, false]);
    for (const device of [a, b, twin]) {
      expect(restarted.authenticate(device.uuid, device.authToken).name).to.equal(device.name);
      expect(restarted.knowsName(device.name)).to.equal(true);
    }
    // lastPollAt is the time of the last written poll (first known, its token first used, a new platform or name).
    expect(restarted.get('uuid-a')!.lastPollAt).to.equal(4000);
    restarted.forget();
    expect(new DeviceRegistry(reopened).size).to.equal(0);
    reopened.close();
    const inMemory = new DeviceRegistry();
    inMemory.identify('uuid-a', identificationOf(profile()), 0, fresh);
    expect(inMemory.size).to.equal(1);
  });

  it('serve restarted on the same --db: targeted is the known devices, received never exceeds it, tokens still work', async () => {
    const db = await tempDb();
    const advertisements = [{ id: 'TST20001', name: 'App', collectionId: 'ALL', packageId: 'TST00001', programName: 'Install' }];
    const site = testSite({ advertisements });
    const contentRoot = await writePackageSources();
    const start = () => startSiteServer({ site, contentRoot, statusDatabase: db, logger: silentLogger() });
    let server = await start();
    const devices = Array.from({ length: 5 }, (_, i) => profile({ id: `WM-${String(i + 1).padStart(4, '0')}`, name: `handheld-${i + 1}` }));
    const credentials = new Map<string, { uuid: string; auth: string; timestamp: string }>();
    let connection = new SiteConnection({ serverUrl: server.url, clock: realClock });
    for (const device of devices) {
      const uuid = deviceUuidOf(device);
      const answer = await connection.poll({ uuid, auth: '', timestamp: '' }, identificationOf(device));
      credentials.set(device.id, { uuid, auth: answer.auth!, timestamp: answer.timestamp! });
      // Instructions record 10002 (received) for the device.
      await connection.instructions(credentials.get(device.id)!, answer.policy.packages[0]!);
    }
    const status = async () => (await (await fetch(`${server.url}/admin/advertisements/TST20001/status`)).json()) as { targeted: number; received: number };
    expect(await status()).to.include({ targeted: 5, received: 5 });
    await connection.close();
    await server.close();

    // A new process on the same database: new registry, new status store.
    server = await start();
    connection = new SiteConnection({ serverUrl: server.url, clock: realClock });
    expect(server.devices.size).to.equal(5);
    expect(await status()).to.include({ targeted: 5, received: 5 });
    // A device sends status with the token it was given before the restart, without polling again.
    const first = credentials.get('WM-0001')!;
    const packageId = (await connection.poll(first, identificationOf(devices[0]!))).policy.packages[0]!;
    await connection.reportStatus(first, [
      { packageId, messageId: DEVICE_MESSAGE.downloadStarting, time: Date.now(), parameters: { [PARAMETER.sequence]: 'boot.00000001' } },
    ]);
    // Forgetting devices empties both sides of the count.
    await fetch(`${server.url}/admin/devices`, { method: 'DELETE' });
    expect(await status()).to.include({ targeted: 0, received: 0 });
    await connection.close();
    await server.close();
  });
});

/** The site-side accounting of a report: counts, states, messages by id and compliance, per advertisement. */
function accounting(ads: AdvertisementReport[]) {
  return ads.map((ad) => ({
    id: ad.id,
    targeted: ad.targeted,
    received: ad.received,
    states: ad.states,
    messages: ad.messages,
    compliance: ad.compliance,
  }));
}

/**
 * A scenario on the default site and fleet mix (exit codes 0, 3010 and 1603 mixed). A device draws what its programs
 * do from a stream seeded by device and package, apart from its retry jitter, so the outages change when devices
 * act, not what their programs do.
 */
async function restartScenario(name: string, timeline: string[]): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mlc-sim-restart-'));
  const lines = [
    `name: ${name}`,
    `site: ${path.resolve('config/site.yaml')}`,
    `fleet: ${path.resolve('config/fleet.yaml')}`,
    'devices: 40',
    'staggerMinutes: 30',
    'duration: "06:00"',
    ...(timeline.length > 0 ? ['timeline:', ...timeline] : []),
  ];
  await writeFile(path.join(dir, 'scenario.yaml'), lines.join('\n'));
  return path.join(dir, 'scenario.yaml');
}

describe('site restart: a scenario that takes the site down three times', function () {
  this.timeout(120_000);

  it('reports what the same run without restarts reports, count for count', async () => {
    const replay = async (file: string) => replayScenario(await loadScenario(file), { limitMs: 0, logger: silentLogger() });
    const plain = await replay(await restartScenario('No restarts', []));
    const restarted = await replay(
      await restartScenario('Three restarts', [
        '  - { at: "00:05", action: siteDown, until: "00:07" }',
        '  - { at: "00:20", action: siteDown, until: "00:21" }',
        '  - { at: "01:40", action: siteDown, until: "01:43" }',
      ]),
    );
    // The outages were real: devices met a closed port, and retried.
    expect(restarted.latency.Poll!.errors).to.be.above(0);
    expect(restarted.status.pending).to.equal(0);
    expect(restarted.status.stored).to.equal(restarted.status.generated);
    expect(accounting(restarted.advertisements)).to.deep.equal(accounting(plain.advertisements));
    for (const ad of restarted.advertisements) expect(ad.received, ad.id).to.be.at.most(ad.targeted);
    // Every device finished: nothing in progress, in either run.
    for (const ad of [...plain.advertisements, ...restarted.advertisements]) expect(ad.inProgress, ad.id).to.equal(0);
  });
});
