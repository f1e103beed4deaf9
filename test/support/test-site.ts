import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import axios, { type AxiosInstance } from 'axios';
import { deviceProfileSchema, type DeviceProfile } from '../../src/agent/device-profile.js';
import { startHandheld, type Handheld } from '../../src/agent/handheld.js';
import { writeCabinet } from '../../src/device/cab.js';
import { SiteConnection } from '../../src/agent/site-connection.js';
import { HttpTransport } from '../../src/agent/site-transport.js';
import { sitePortOf, type SitePort } from '../../src/agent/site-line.js';
import { advertisementSchema, type Advertisement } from '../../src/domain/advertisement.js';
import { siteSchema, type SiteDefinition } from '../../src/domain/site.js';
import type { StatusMessage } from '../../src/domain/status-message.js';
import { silentLogger } from '../../src/logging.js';
import { seededRandom } from '../../src/random.js';
import { startSiteServer, type RunningSiteServer } from '../../src/server/site-server.js';
import { SimulatedClock } from '../../src/time/simulated-clock.js';

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;

/** The admin API's answer to a request it refuses: `{ error, field, reason }` (see src/server/admin-api.ts). */
export interface AdminError {
  error: string;
  field: string;
  reason: string;
}

/** Real files for the test packages, in a fresh temporary directory. */
export async function writePackageSources(): Promise<string> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'mlc-sim-test-'));
  const cab = (name: string, text: string) => writeCabinet([{ name, data: Buffer.from(text), attributes: 0x20, modified: new Date('2009-01-01T00:00:00Z') }]);
  const files: Record<string, string | Buffer> = {
    'app/App.cab': cab('app.exe', 'FileVersion=1.0.0.0\nFileDescription=Test application\n'),
    'app/readme.txt': 'Test application, version 1',
    // The app's program is a simulated installer: its exit code and run time come from the device profile.
    'app/Setup.exe': 'FileVersion=1.0.0.0\nFileDescription=Test application setup\n',
    'app-v2/App.cab': cab('app.exe', 'FileVersion=2.0.0.0\nFileDescription=Test application\n'),
    'app-v2/Setup.exe': 'FileVersion=2.0.0.0\nFileDescription=Test application setup\n',
    'ce-driver/Driver.cab': cab('driver.dll', 'FileVersion=4.2.0.0\n'),
    'desktop/setup.exe': 'MZ simulated desktop installer',
    // Sources the site builds into a CAB or ships next to a script (test/device-packages.test.ts).
    'scanner/scanner.exe': 'MZ\r\nFileVersion=3.2.0.0\r\nCompanyName=Acme\r\nFileDescription=Acme barcode scanner\r\n',
    'scanner/scanner.ini': '[scanner]\r\nbeep=1\r\n',
    'warehouse/warehouse.reg': 'REGEDIT4\r\n\r\n[HKEY_LOCAL_MACHINE\\Software\\Acme\\Warehouse]\r\n"Site"="North"\r\n"Dock"=dword:00000007\r\n',
    'maps/maps.dat': Buffer.alloc(2 * 1024 * 1024, 'm'),
    'no-cab/readme.txt': 'a package whose program names a file it does not contain',
  };
  for (const [file, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, file)), { recursive: true });
    await writeFile(path.join(root, file), content);
  }
  return root;
}

/** A small site: one Windows Mobile app, one CE driver, one desktop program, one configuration baseline. */
export function testSite(extra: Partial<Record<keyof SiteDefinition, unknown[]>> = {}): SiteDefinition {
  return siteSchema.parse({
    clientSettings: { pollInterval: '0000-00-00 01:00:00', failureRetryCount: 3, failureRetryInterval: '0000-00-00 00:03:00' },
    packages: [
      { id: 'TST00001', name: 'Test App', source: 'app' },
      { id: 'TST00002', name: 'CE Driver', source: 'ce-driver' },
      { id: 'TST00003', name: 'Desktop Suite', source: 'desktop' },
      { id: 'TST00004', name: 'Broken Package', source: 'no-cab' },
      { id: 'TST00005', name: 'Baseline', type: 'configuration', configurationItems: ['CI-PIN', 'CI-BT', 'CI-CE-ONLY'] },
      ...(extra.packages ?? []),
    ],
    programs: [
      {
        packageId: 'TST00001',
        name: 'Install',
        commandLine: 'Setup.exe /q',
        platforms: ['Windows Mobile 6.1', 'Windows Mobile 6.5'],
        maxRunTimeMinutes: 30,
      },
      { packageId: 'TST00002', name: 'Install', commandLine: 'wceload.exe Driver.cab', platforms: ['Windows CE 6.0'] },
      // A desktop program whose platform list even names the handheld's platform: the missing WINDOWS_CE flag decides.
      { packageId: 'TST00003', name: 'Setup', kind: 'desktop', commandLine: 'setup.exe /q', platforms: ['Windows XP', 'Windows Mobile 6.5'] },
      { packageId: 'TST00004', name: 'Install', commandLine: 'wceload.exe Missing.cab', platforms: ['Windows Mobile 6.5'] },
      ...(extra.programs ?? []),
    ],
    configurationItems: [
      {
        id: 'CI-PIN',
        name: 'PIN policy',
        platforms: ['Windows Mobile 6.5'],
        remediate: true,
        settings: [{ kind: 'setting', name: 'PasswordType', expected: 'PIN' }],
      },
      {
        id: 'CI-BT',
        name: 'Bluetooth off',
        platforms: ['Windows Mobile 6.5'],
        remediate: false,
        settings: [{ kind: 'registry', key: 'HKLM\\Software\\Bluetooth', valueName: 'Enabled', expected: '0' }],
      },
      { id: 'CI-CE-ONLY', name: 'CE only', platforms: ['Windows CE 6.0'], settings: [{ kind: 'file', path: '\\Windows\\ce.txt', expected: 'present' }] },
      ...(extra.configurationItems ?? []),
    ],
    collections: [{ id: 'ALL', name: 'All mobile devices', rule: { allDevices: true } }, ...(extra.collections ?? [])],
    advertisements: extra.advertisements ?? [],
  });
}

/** The test app's advertisement to a collection, with every field as the site file schema fills it. */
export function appAdvertisement(collectionId = 'ALL'): Advertisement {
  return advertisementSchema.parse({ id: 'TST20001', name: 'App', collectionId, packageId: 'TST00001', programName: 'Install' });
}

export function profile(overrides: Partial<DeviceProfile> = {}): DeviceProfile {
  return deviceProfileSchema.parse({
    id: 'WM-0001',
    name: 'handheld-1',
    platform: 'Windows Mobile 6.5',
    osVersion: '5.2.21234',
    freeStorageBytes: 64 * 1024 * 1024,
    connectivity: { kind: 'wlan', bandwidthKBps: 200 },
    programBehaviour: { exitCodes: [{ code: 0, weight: 1 }], durationSeconds: { min: 30, max: 30 }, restartSeconds: 120 },
    ...overrides,
  });
}

/** A real stub site on loopback, a simulated clock shared by site and devices, and an admin client. */
export class TestSite {
  readonly clock = new SimulatedClock();
  readonly devices: Handheld[] = [];
  server!: RunningSiteServer;
  admin!: AxiosInstance;
  connection!: SiteConnection;
  site!: SitePort;

  /** `connections`: the devices' HTTP connections to the site, for all of them (256 by default). */
  static async start(site: SiteDefinition = testSite(), { connections }: { connections?: number } = {}): Promise<TestSite> {
    const test = new TestSite();
    test.server = await startSiteServer({ site, contentRoot: await writePackageSources(), now: () => test.clock.now() });
    test.admin = axios.create({ baseURL: `${test.server.url}/admin`, validateStatus: () => true });
    test.connection = new SiteConnection({
      serverUrl: test.server.url,
      clock: test.clock,
      ...(connections !== undefined && { transport: new HttpTransport({ maxSockets: connections }) }),
    });
    test.site = sitePortOf(test.connection);
    return test;
  }

  startDevice(overrides: Partial<DeviceProfile> = {}, seed = 1, firstPollAt?: number): Handheld {
    const device = startHandheld({
      profile: profile(overrides),
      ...(firstPollAt !== undefined && { firstPollAt }),
      deps: { site: this.site, random: seededRandom(seed), logger: silentLogger() },
    });
    this.devices.push(device);
    return device;
  }

  /** The site's record of a device, by its name (Identification/DeviceName). */
  knownDevice(name: string) {
    return this.server.devices.named(name);
  }

  /** Creates an advertisement through the admin API, failing loudly if the site refuses it. */
  async advertise(ad: Record<string, unknown>): Promise<void> {
    const response = await this.admin.post('/advertisements', { collectionId: 'ALL', name: `Ad ${String(ad.id)}`, ...ad });
    if (response.status !== 201) throw new Error(`advertisement refused: ${JSON.stringify(response.data)}`);
  }

  /** The status message ids the site recorded for a device and an advertisement, in the order it recorded them. */
  async messageIds(advertisementId: string, deviceId = 'WM-0001'): Promise<number[]> {
    return (await this.messages(advertisementId, deviceId)).map((m) => m.messageId);
  }

  async messages(advertisementId: string, deviceId = 'WM-0001'): Promise<StatusMessage[]> {
    // The site lists them by time, then arrival.
    return (await this.admin.get<StatusMessage[]>('/status-messages', { params: { advertisementId, deviceId } })).data;
  }

  async stop(): Promise<void> {
    for (const device of this.devices) device.stop();
    await this.server.close();
  }
}
