import { randomUUID } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { identificationOf, deviceUuidOf } from '../src/agent/device-identity.js';
import { SiteConnection, type Credentials } from '../src/agent/site-connection.js';
import { ADMIN_TOKEN_VARIABLE } from '../src/admin/client.js';
import { ADMIN_PAGE_DEFAULT } from '../src/admin/contract.js';
import { loadValidatedFile } from '../src/input-file.js';
import { silentLogger } from '../src/logging.js';
import { fleetMixSchema } from '../simulator/fleet-mix.js';
import { runLiveFleet } from '../simulator/live-fleet.js';
import { DEVICE_MESSAGE, PARAMETER, type DeviceStatusMessage } from '../src/domain/device-status.js';
import { devicePoll } from '../src/protocol/documents/device-poll.js';
import { statusDocument } from '../src/protocol/documents/status.js';
import { DEFAULT_DM_PATH, HEADERS } from '../src/protocol/wire.js';
import { DeviceRegistry } from '../src/server/device-registry.js';
import { startSiteServer, type RunningSiteServer } from '../src/server/site-server.js';
import type { SiteLimits } from '../src/server/site-limits.js';
import { realClock } from '../src/time/clock.js';
import { freePort, killHard, residentMB, serve, spawnCli } from './support/processes.js';
import { appAdvertisement, profile, testSite, writePackageSources } from './support/test-site.js';

/** A poll from a device the site has never seen: a registration, as a flood sends them. */
async function stranger(url: string): Promise<number> {
  const identification = { ...identificationOf(profile()), id: randomUUID(), deviceName: `flood-${randomUUID()}` };
  const body = devicePoll.encode({ managementSystem: { name: 'x', version: '1' }, identification, connection: { authorizationToken: '0', timestamp: '0' } });
  const response = await fetch(`${url}${DEFAULT_DM_PATH}`, { method: 'POST', headers: { [HEADERS.uuid]: identification.id, [HEADERS.action]: 'Poll' }, body });
  await response.arrayBuffer();
  return response.status;
}

/** Runs `count` calls of `task`, `concurrency` at a time; resolves with their results. */
async function flood<T>(count: number, concurrency: number, task: () => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (results.length < count) {
        results.push(undefined as T);
        results[results.length - 1] = await task();
      }
    }),
  );
  return results;
}

/** A device that polls and delivers as it should: it must keep its answers while a flood goes on. */
class WellBehavedDevice {
  private readonly connection: SiteConnection;
  private credentials: Credentials;
  private readonly device = profile({ id: 'WM-0001' });

  constructor(url: string) {
    this.connection = new SiteConnection({ serverUrl: url, clock: realClock });
    this.credentials = { uuid: deviceUuidOf(this.device), auth: '', timestamp: '' };
  }

  async poll(): Promise<string[]> {
    const answer = await this.connection.poll(this.credentials, identificationOf(this.device));
    this.credentials = { ...this.credentials, auth: answer.auth ?? this.credentials.auth, timestamp: answer.timestamp ?? this.credentials.timestamp };
    return answer.policy.packages;
  }

  close(): Promise<void> {
    return this.connection.close();
  }
}

describe('bounds: each limit of the site, flooded', function () {
  this.timeout(60_000);
  let running: { server: RunningSiteServer; device: WellBehavedDevice } | undefined;
  /** A site with these limits, and the well-behaved device, known to it. */
  const start = async (limits: Partial<SiteLimits>) => {
    const server = await startSiteServer({
      site: testSite({ advertisements: [appAdvertisement()] }),
      contentRoot: await writePackageSources(),
      limits,
    });
    const device = new WellBehavedDevice(server.url);
    running = { server, device };
    expect(await device.poll()).to.have.length(1);
    return running;
  };
  afterEach(async () => {
    await running?.device.close();
    await running?.server.close();
    running = undefined;
  });

  it('devices per source: 6,000 registrations past a bound of 200 get 403, the site stays under 250 MB RSS, the known device keeps polling', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mlc-sim-bounds-'));
    const siteFile = path.join(dir, 'site.json');
    await writeFile(siteFile, JSON.stringify({ ...testSite({ advertisements: [appAdvertisement()] }), contentRoot: await writePackageSources() }));
    const port = await freePort();
    const site = await serve(siteFile, ':memory:', port, '--max-devices-per-source', '200');
    const url = `http://127.0.0.1:${port}`;
    const device = new WellBehavedDevice(url);
    try {
      expect(await device.poll()).to.have.length(1);
      const statuses = await flood(6000, 50, () => stranger(url));
      expect(statuses.filter((s) => s === 200)).to.have.length(199);
      expect(statuses.filter((s) => s === 403)).to.have.length(5801);
      expect(await residentMB(site.pid!)).to.be.below(250);
      expect(((await (await fetch(`${url}/admin/site`)).json()) as { devices: number }).devices).to.equal(200);
      expect(await device.poll()).to.have.length(1);
    } finally {
      await device.close();
      await killHard(site);
    }
  });

  it('devices in all: one more than --max-devices gets 403 naming the bound', () => {
    const registry = new DeviceRegistry(undefined, { maxDevices: 2, maxDevicesPerSource: 10 });
    const from = (source: string) => ({ authToken: undefined, source });
    registry.identify('a', identificationOf(profile({ id: 'A' })), 0, from('10.0.0.1'));
    registry.identify('b', identificationOf(profile({ id: 'B' })), 0, from('10.0.0.2'));
    expect(() => registry.identify('c', identificationOf(profile({ id: 'C' })), 0, from('10.0.0.3')))
      .to.throw('maximum of 2 devices (--max-devices)')
      .with.property('status', 403);
  });

  it('connections: 60 idle sockets past a cap of 20 are answered 429 and closed; the device on its open connection keeps its answers', async () => {
    const { server, device } = await start({ maxConnections: 20 });
    const sockets = await Promise.all(
      Array.from(
        { length: 60 },
        () =>
          new Promise<{ socket: net.Socket; answer: Promise<string> }>((resolve) => {
            const socket = net.connect(Number(new URL(server.url).port), '127.0.0.1', () => {
              let text = '';
              const answer = new Promise<string>((done) => {
                socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
                socket.on('close', () => {
                  done(text);
                });
              });
              resolve({ socket, answer });
            });
          }),
      ),
    );
    // The device's own keep-alive socket took one place: 19 of the flood's got in, 41 were told no.
    const refused = await Promise.all(sockets.slice(19).map(({ answer }) => answer));
    expect(refused.every((text) => text.startsWith('HTTP/1.1 429 '))).to.equal(true);
    expect(await device.poll()).to.have.length(1);
    for (const { socket } of sockets) socket.destroy();
  });

  it('request time: a body that trickles is cut with 408 at the timeout, and the device keeps its answers', async () => {
    const { server, device } = await start({ requestTimeoutMs: 1000 });
    const answer = await new Promise<string>((resolve) => {
      const socket = net.connect(Number(new URL(server.url).port), '127.0.0.1', () => {
        socket.write(`POST ${DEFAULT_DM_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\n${HEADERS.uuid}: slow\r\ncontent-length: 100000\r\n\r\n<DevicePoll>`);
      });
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
      socket.on('close', () => {
        resolve(text);
      });
    });
    expect(answer).to.match(/^HTTP\/1\.1 408 /);
    expect(await device.poll()).to.have.length(1);
  });

  it('status documents: one of more than 1,000 messages is 413 and stores nothing', async () => {
    const { server, device } = await start({});
    const [packageId] = await device.poll();
    const messages: DeviceStatusMessage[] = Array.from({ length: 1001 }, (_, i) => ({
      packageId: packageId!,
      messageId: DEVICE_MESSAGE.executionSucceeded,
      time: 0,
      parameters: { [PARAMETER.sequence]: `forged.${i}` },
    }));
    const before = server.status.deviceMessageCount;
    const connection = new SiteConnection({ serverUrl: server.url, clock: realClock });
    const credentials = { uuid: deviceUuidOf(profile({ id: 'WM-0001' })), auth: server.devices.all()[0]!.authToken, timestamp: '' };
    const error = await connection.reportStatus(credentials, messages).then(
      () => null,
      (e: unknown) => e,
    );
    await connection.close();
    expect(error).to.have.property('status', 413);
    expect(statusDocument.encode({ messages }).length).to.be.above(100_000);
    expect(server.status.deviceMessageCount).to.equal(before);
  });

  it('admin listings: pages of at most 10,000 (1,000 unless asked), walked with offset; a larger limit is 400', async () => {
    const { server } = await start({});
    server.status.acceptStatus(
      Array.from({ length: 2500 }, (_, i) => ({
        id: `m${i}`,
        deviceId: 'WM-0001',
        advertisementId: 'TST20001',
        packageId: 'TST00001',
        messageId: 10005,
        time: i,
        details: {},
      })),
    );
    const page = async (query: string) => {
      const response = await fetch(`${server.url}/admin/status-messages${query}`);
      return { status: response.status, body: (await response.json()) as unknown[] };
    };
    expect((await page('')).body).to.have.length(ADMIN_PAGE_DEFAULT);
    expect((await page('?limit=2000&offset=2000')).body).to.have.length(500);
    expect((await page('?limit=10001')).status).to.equal(400);
    const devices = await fetch(`${server.url}/admin/devices?limit=1`);
    expect(((await devices.json()) as unknown[]).length).to.equal(1);
  });
});

describe('the admin API off loopback, and against DNS rebinding', function () {
  this.timeout(60_000);
  let server: RunningSiteServer;
  afterEach(async () => server.close());

  it('requires the bearer token when the site has one, and refuses a Host that is not the site’s', async () => {
    server = await startSiteServer({ site: testSite(), contentRoot: await writePackageSources(), adminToken: 'sekrit' });
    const admin = (headers: Record<string, string>) => fetch(`${server.url}/admin/site`, { headers }).then((r) => r.status);
    expect(await admin({})).to.equal(401);
    expect(await admin({ authorization: 'Bearer wrong!' })).to.equal(401);
    expect(await admin({ authorization: 'Bearer sekrit' })).to.equal(200);
    // A page on evil.example whose name now resolves to 127.0.0.1 sends its own name as Host.
    const rebound = await new Promise<string>((resolve) => {
      const socket = net.connect(Number(new URL(server.url).port), '127.0.0.1', () => {
        socket.end('GET /admin/site HTTP/1.1\r\nHost: evil.example\r\nAuthorization: Bearer sekrit\r\nConnection: close\r\n\r\n');
      });
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
      socket.on('close', () => {
        resolve(text);
      });
    });
    expect(rebound).to.match(/^HTTP\/1\.1 403 /);
  });

  it('a fleet reads the protected admin API with the token it is given (--admin-token sets MLC_SIM_ADMIN_TOKEN)', async () => {
    server = await startSiteServer({
      site: testSite({ advertisements: [appAdvertisement()] }),
      contentRoot: await writePackageSources(),
      adminToken: 'sekrit',
    });
    const mix = await loadValidatedFile('config/fleet.yaml', fleetMixSchema);
    const run = () => runLiveFleet({ serverUrl: server.url, mix, devices: 2, seed: 1, staggerMs: 0, durationMs: 500, logger: silentLogger() });
    expect((await run()).advertisements, 'without the token').to.deep.equal([]);
    process.env[ADMIN_TOKEN_VARIABLE] = 'sekrit';
    try {
      expect((await run()).advertisements.map((a) => a.id)).to.deep.equal(['TST20001']);
    } finally {
      Reflect.deleteProperty(process.env, ADMIN_TOKEN_VARIABLE);
    }
  });

  it('serve on a non-loopback address warns, and makes and prints a token when none is given', async () => {
    const child = spawnCli('serve', '--host', '0.0.0.0', '--port', '0', '--db', ':memory:');
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const url = await new Promise<string>((resolve) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        const match = /listening on (http:\/\/\S+):/.exec(chunk.toString());
        if (match) resolve(match[1]!);
      });
    });
    await killHard(child);
    expect(url).to.match(/^http:\/\//);
    expect(stderr).to.include('warning: --host 0.0.0.0 is not loopback');
    expect(stderr).to.match(/admin API token \(pass it with --admin-token or MLC_SIM_ADMIN_TOKEN\): \S{20,}/);
  });
});
