import { expect } from 'chai';
import type { FileOwnership, PlatformStorage } from '../src/admin/contract.js';
import { openDevice } from '../src/device/device-state.js';
import type { StatusMessage } from '../src/domain/status-message.js';
import type { DeviceInventory } from '../src/server/inventory-store.js';
import { MINUTE, profile, TestSite, testSite } from './support/test-site.js';

const MB = 1024 * 1024;
const DEVICE = 'WM-0001';

/** Packages authored as a user would: files built into a CAB by the site, and scripts written into packages. */
const SITE = testSite({
  packages: [
    {
      id: 'TST00010',
      name: 'Acme Scanner 3.2',
      source: 'scanner',
      cab: {
        name: 'Scanner.cab',
        appName: 'Acme Scanner',
        installDir: '%CE1%\\Acme Scanner',
        registry: [{ key: 'HKLM\\Software\\Acme\\Scanner', name: 'Version', value: '3.2' }],
      },
    },
    {
      id: 'TST00011',
      name: 'Warehouse settings',
      source: 'warehouse',
      script: { name: 'setup.dms', text: 'loadreg \\Temp\\TST00011\\warehouse.reg\nreboot\ncreatedir \\Temp\\Warehouse\\configured' },
    },
    {
      id: 'TST00012',
      name: 'Offline maps',
      source: 'maps',
      script: { name: 'maps.dms', text: 'createdir "\\Storage Card\\Maps"\ncopy \\Temp\\TST00012\\maps.dat "\\Storage Card\\Maps\\maps.dat"' },
    },
  ],
  programs: [
    { packageId: 'TST00010', name: 'Install', commandLine: 'wceload.exe /noui Scanner.cab', platforms: ['Windows Mobile 6.5'] },
    { packageId: 'TST00011', name: 'Configure', commandLine: 'setup.dms', platforms: ['Windows Mobile 6.5'] },
    { packageId: 'TST00012', name: 'Copy maps', commandLine: 'maps.dms', platforms: ['Windows Mobile 6.5'] },
  ],
});

describe('packages that change the device: a CAB install, scripts, and the inventory that shows them', () => {
  let site: TestSite;
  beforeEach(async () => {
    site = await TestSite.start(SITE);
  });
  afterEach(async () => site.stop());

  const inventoryOf = async () => (await site.admin.get<DeviceInventory>(`/devices/${DEVICE}/inventory`)).data;

  it('installs a CAB the site built: the next software inventory lists exactly the base image and what it installed', async () => {
    await site.advertise({ id: 'TST20010', packageId: 'TST00010', programName: 'Install' });
    const device = site.startDevice();
    await site.clock.advance(10 * MINUTE);
    expect(await site.messageIds('TST20010')).to.include(10008);
    const software = (await inventoryOf()).software;
    // The default filter: *.exe under \Program Files. The CAB installed scanner.exe (and scanner.ini, not an .exe).
    expect(software?.files).to.deep.equal([
      { path: '\\Program Files\\Acme Scanner\\scanner.exe', size: 81, version: '3.2.0.0' },
      { path: '\\Program Files\\Device Client\\dmclient.exe', size: 61_440 },
    ]);
    const { files, registry } = openDevice(profile(), device.getSnapshot().context.state, 0);
    expect(files.stat('\\Program Files\\Acme Scanner\\scanner.ini')?.size).to.equal(19);
    expect(files.stat('\\Temp\\TST00010\\Scanner.cab')).to.equal(undefined);
    expect(registry.value('HKLM\\Software\\Acme\\Scanner', 'Version')?.data).to.equal('3.2');

    const has = (await site.admin.get<FileOwnership[]>('/inventory/files', { params: { name: 'SCANNER.EXE', version: '3.2' } })).data;
    expect(has).to.deep.equal([{ device: DEVICE, path: '\\Program Files\\Acme Scanner\\scanner.exe', size: 81, version: '3.2.0.0' }]);
    expect((await site.admin.get<FileOwnership[]>('/inventory/files', { params: { name: 'scanner.exe', version: '3.1' } })).data).to.deep.equal([]);
    const refused = await site.admin.get('/inventory/files', { params: { name: 'scanner.exe', version: 'new' } });
    expect(refused.status).to.equal(400);
  });

  it('runs a script that imports registry settings and reboots: restart pending, then it continues and succeeds', async () => {
    await site.advertise({ id: 'TST20011', packageId: 'TST00011', programName: 'Configure' });
    const device = site.startDevice();
    await site.clock.advance(30 * MINUTE);
    const ids = await site.messageIds('TST20011');
    expect(ids.indexOf(10022)).to.be.greaterThan(-1).and.lessThan(ids.indexOf(10008));
    const pending = (await site.messages('TST20011')).find((m) => m.messageId === 10022)!;
    expect(pending.details).to.include({ Reason: 'ScriptReboot' });
    const { files, registry } = openDevice(profile(), device.getSnapshot().context.state, 0);
    expect(registry.value('HKLM\\Software\\Acme\\Warehouse', 'Site')?.data).to.equal('North');
    expect(registry.value('HKLM\\Software\\Acme\\Warehouse', 'Dock')).to.deep.equal({ name: 'Dock', type: 'REG_DWORD', data: '7' });
    expect(files.stat('\\Temp\\Warehouse\\configured')?.directory).to.equal(true);
  });

  it('fails a script on a full storage card, saying which volume and how much room it lacked (10006)', async () => {
    await site.advertise({ id: 'TST20012', packageId: 'TST00012', programName: 'Copy maps' });
    site.startDevice({ storageCard: { sizeBytes: 4 * MB, usedBytes: 3 * MB } });
    await site.clock.advance(10 * MINUTE);
    const failed: StatusMessage | undefined = (await site.messages('TST20012')).find((m) => m.messageId === 10006);
    expect(failed?.details).to.include({
      Reason: 'VolumeFull',
      Detail: '\\Temp\\TST00012\\maps.dms line 2: volume \\Storage Card full: needs 2.0 MB, 1.0 MB free',
    });
    // Machine inventory tells the same story, and the site sums it per platform.
    const storage = (await site.admin.get<PlatformStorage[]>('/inventory/storage')).data;
    expect(storage).to.have.length(1);
    expect(storage[0]).to.deep.include({ platform: 'Windows Mobile 6.5', devices: 1 });
    expect(storage[0]!.volumes['Storage Card']).to.deep.equal({ devices: 1, totalKB: 4096, freeKB: 1024, minFreeKB: 1024 });
  });

  it('builds a package posted through the admin API as a CAB, and refuses one it cannot build, naming the field', async () => {
    const posted = await site.admin.post('/packages', {
      id: 'TST00013',
      name: 'Scanner again',
      source: 'scanner',
      cab: { name: 'Again.cab', appName: 'Again' },
    });
    expect(posted.status).to.equal(201);
    const noSource = await site.admin.post('/packages', { id: 'TST00014', name: 'No files', cab: { name: 'X.cab', appName: 'X' } });
    expect(noSource.status).to.equal(400);
    expect(noSource.data).to.include({ field: 'source' });
    const badName = await site.admin.post('/packages', { id: 'TST00015', name: 'Bad', script: { name: 'setup.bat', text: 'quit' } });
    expect(badName.data).to.include({ field: 'script.name', reason: 'must end in .dms' });
  });

  it('keeps each device’s earlier inventory reports as its history', async () => {
    site.startDevice();
    await site.clock.advance(60 * 60 * MINUTE);
    const history = (await site.admin.get<{ machine: unknown[]; software: unknown[] }>(`/devices/${DEVICE}/inventory/history`)).data;
    expect(history.machine).to.have.length(2);
    expect(history.software).to.have.length(2);
  });
});
