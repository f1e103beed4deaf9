import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { deviceUuidOf } from '../src/agent/device-identity.js';
import { SiteConnection, type WireExchange } from '../src/agent/site-connection.js';
import { sitePortOf } from '../src/agent/site-line.js';
import { DEVICE_MESSAGE } from '../src/domain/device-status.js';
import { silentLogger } from '../src/logging.js';
import { seededRandom } from '../src/random.js';
import { SimulatedClock } from '../src/time/simulated-clock.js';
import { drawProfiles, fleetMixSchema } from '../simulator/fleet-mix.js';
import { Fleet } from '../simulator/fleet.js';
import { LatencyRecorder } from '../simulator/latency.js';
import { replayScenario } from '../simulator/replay.js';
import { loadScenario } from '../simulator/scenario.js';
import { startReferenceServer, type ReferenceServer } from './support/reference-server.js';
import { writeCabinet } from '../src/device/cab.js';
import { writeScenario } from './support/scenario-file.js';
import { assertValid } from './support/xml-conformance.js';

const MIX = fleetMixSchema.parse({
  platforms: [{ platform: 'Windows CE 6.0', osVersion: '6.0.3122', weight: 1 }],
  storage: [{ minMB: 64, maxMB: 64, weight: 1 }],
  connectivity: [{ kind: 'wlan', bandwidthKBps: 250, weight: 1 }],
  programBehaviour: { exitCodes: [{ code: 0, weight: 1 }], durationSeconds: { min: 5, max: 30 }, restartSeconds: 0 },
});

const SCANNER = {
  id: '3C1D2E4F-0A0B-4C5D-8E9F-A1B2C3D4E5F6',
  name: 'Inventory Scanner App 3.2',
  fileName: 'scanner.cab',
  // A real cabinet, as another server would serve it (raw, not in a tar archive): wceload installs it.
  content: writeCabinet([
    { name: 'scanner.exe', data: Buffer.from('FileVersion=3.2.0.0\n'.repeat(200)), attributes: 0x20, modified: new Date('2024-04-30T10:00:00Z') },
  ]),
  localDestination: '\\Temp\\pkg3c1d',
  commandLine: '\\Windows\\wceload.exe /noui \\Temp\\pkg3c1d\\scanner.cab',
};

/** A fleet on the simulated clock against `serverUrl`, run until every device has finished a poll cycle. */
async function runFleet(serverUrl: string, devices: number, mix = MIX) {
  const clock = new SimulatedClock();
  const latency = new LatencyRecorder();
  const connection = new SiteConnection({ serverUrl, clock, onExchange: latency.record });
  const random = seededRandom(3);
  const fleet = new Fleet({
    profiles: drawProfiles(mix, devices, random.fork()),
    site: sitePortOf(connection),
    random,
    logger: silentLogger(),
    staggerMs: 10 * 60_000,
  });
  const complete = await clock.runUntilTrue(() => fleet.roundComplete, clock.now() + 6 * 3_600_000);
  fleet.stop();
  await connection.close();
  return { complete, latency: latency.summary(), fleet };
}

describe('a fleet against a server that knows only the documented protocol', function () {
  this.timeout(30_000);
  let server: ReferenceServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });
  const startReference = async (options: Parameters<typeof startReferenceServer>[0]) => (server = await startReferenceServer(options));

  it('completes whole cycles: poll, instructions, location, download, status 11030/11031/11035, machine inventory', async () => {
    const server = await startReference({ packages: [SCANNER] });
    const { complete, latency, fleet } = await runFleet(server.origin, 12);
    expect(complete, 'every device finished a poll cycle').to.equal(true);
    for (const [endpoint, figures] of Object.entries(latency)) expect(figures.errors, `${endpoint} errors`).to.equal(0);
    expect(server.devices.size).to.equal(12);
    for (const device of fleet.devices) {
      const uuid = deviceUuidOf(device.profile);
      const ids = server.statuses.filter((s) => s.uuid === uuid).map((s) => s.messageID);
      expect(ids, uuid).to.deep.equal([DEVICE_MESSAGE.downloadStarting, DEVICE_MESSAGE.downloadSucceeded, DEVICE_MESSAGE.executionSucceeded]);
      expect(
        server.reports.filter((r) => r.uuid === uuid && r.type === 'MachineInventory'),
        uuid,
      ).to.have.length(1);
      expect(server.devices.get(uuid)).to.include({ Platform: 'Windows CE 6.0', CodePage: '1252' });
    }
    expect(server.unknown, 'no exchange the documents do not know').to.deep.equal([]);
    // What the devices sent is what the documents describe.
    for (const request of server.requests) if (request.root !== '') assertValid(request.body, `device ${request.action}`);
  });

  it('as desktop clients, refuses what such a server offers (device programs only), says why (11034) and downloads nothing', async () => {
    const server = await startReference({ packages: [SCANNER] });
    const desktops = fleetMixSchema.parse({ ...MIX, platforms: [{ platform: 'Windows XP', osVersion: '5.1.2600', weight: 1 }] });
    const { complete, fleet } = await runFleet(server.origin, 3, desktops);
    expect(complete).to.equal(true);
    for (const device of fleet.devices) {
      const uuid = deviceUuidOf(device.profile);
      expect(server.devices.get(uuid)).to.include({ Platform: 'Windows XP' });
      const statuses = server.statuses.filter((s) => s.uuid === uuid).map((s) => [s.messageID, s.parameters.Reason]);
      expect(statuses, uuid).to.deep.equal([[DEVICE_MESSAGE.packageRefused, 'PlatformNotSupported']]);
    }
    expect(server.requests.map((r) => r.action)).to.not.include('LocationRequest');
  });

  it('posts to the path a server URL names, and to the documented path for a bare origin', async () => {
    const server = await startReference({ packages: [SCANNER], path: '/custom/dm.aspx' });
    expect((await runFleet(server.url, 2)).complete).to.equal(true);
    expect(server.devices.size).to.equal(2);
  });

  it('counts answers that do not decode as errors of their endpoint, and keeps polling as failure recovery says', async () => {
    const garbage = createServer((request, response) => {
      request.resume();
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('Unknown X-Device-Action field: Poll');
    });
    await new Promise<void>((resolve) => garbage.listen(0, '127.0.0.1', resolve));
    try {
      const { complete, latency, fleet } = await runFleet(`http://127.0.0.1:${(garbage.address() as AddressInfo).port}`, 3);
      expect(complete, 'devices give up until their next poll, as the documented retry budget says').to.equal(true);
      // At least one poll and five retries per device (the documented defaults: no poll response ever set others).
      expect(latency.Poll!.count).to.be.at.least(3 * 6);
      expect(latency.Poll!.errors).to.equal(latency.Poll!.count);
      expect(fleet.devices.every((device) => device.context?.packages.length === 0)).to.equal(true);
    } finally {
      garbage.close();
    }
  });
});

describe('--wire-log', function () {
  this.timeout(30_000);

  it('writes every exchange of the first N devices as JSON lines: action, status, headers, bodies, milliseconds', async () => {
    const file = await writeScenario('Wire log', ['devices: 6', 'staggerMinutes: 10'], []);
    const log = path.join(await mkdtemp(path.join(os.tmpdir(), 'mlc-sim-wire-')), 'wire.jsonl');
    await replayScenario(await loadScenario(file), { limitMs: 6 * 3_600_000, logger: silentLogger(), wireLog: { file: log, devices: 2 } });
    const entries = (await readFile(log, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as WireExchange);
    expect(new Set(entries.map((e) => e.device)).size).to.equal(2);
    const actions = new Set(entries.map((e) => e.action));
    for (const action of ['Poll', 'InstructionRequest', 'LocationRequest', 'Status', 'Report/MachineInventory']) expect(actions, action).to.include(action);
    const poll = entries.find((e) => e.action === 'Poll')!;
    expect(poll.status).to.equal(200);
    expect(poll.request.headers['x-device-action']).to.equal('Poll');
    expect(poll.request.body).to.match(/^<\?xml[^>]*\?><DevicePoll /);
    expect(poll.response?.body).to.match(/<PollResponse>/);
    expect(poll.response?.headers['x-device-auth']).to.be.a('string');
    expect(poll.ms).to.be.a('number');
  });
});
