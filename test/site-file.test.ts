import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import axios from 'axios';
import { expect } from 'chai';
import { Parser, type ReadEntry } from 'tar';
import { InputFileError, loadSiteFile } from '../src/input-file.js';
import { startSiteServer, type RunningSiteServer } from '../src/server/site-server.js';
import { Catalog } from '../src/server/catalog.js';
import { SiteError } from '../src/server/site-error.js';
import { testSite, writePackageSources } from './support/test-site.js';

const SITE_FILE = path.resolve('config/site.yaml');

/** Runs `load`, which must reject with an InputFileError, and returns it. */
async function inputFileError(load: () => Promise<unknown>): Promise<InputFileError> {
  try {
    await load();
  } catch (error) {
    expect(error).to.be.instanceOf(InputFileError);
    return error as InputFileError;
  }
  expect.fail('expected an InputFileError, but the file loaded');
}

async function siteError(start: () => Promise<unknown>): Promise<SiteError> {
  try {
    await start();
  } catch (error) {
    expect(error).to.be.instanceOf(SiteError);
    return error as SiteError;
  }
  expect.fail('expected a SiteError, but the site started');
}

function tarPaths(archive: Buffer): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const paths: string[] = [];
    const parser = new Parser({ strict: true });
    parser.on('entry', (entry: ReadEntry) => {
      paths.push(entry.path);
      entry.resume();
    });
    parser.on('error', reject);
    parser.on('end', () => {
      resolve(paths);
    });
    parser.end(archive);
  });
}

describe('site files', () => {
  describe('the shipped config/site.yaml', () => {
    let server: RunningSiteServer | undefined;
    afterEach(async () => {
      await server?.close();
      server = undefined;
    });

    it('loads, with the content root resolved next to the site file', async () => {
      const { site, contentRoot } = await loadSiteFile(SITE_FILE);
      expect(contentRoot).to.equal(path.resolve('config/packages'));
      expect(site.siteCode).to.equal('MLC');
      expect(site.clientSettings).to.deep.include({
        pollInterval: '0000-00-00 01:00:00',
        failureRetryCount: 5,
        failureRetryInterval: '0000-00-00 00:03:00',
        enableSoftwareDistribution: true,
      });
      // Inventory as a real site would ask for it: hardware and .exe files daily; no file collection by default.
      expect(site.clientSettings.machineInventory).to.deep.equal({ enabled: true, interval: '0000-00-01 00:00:00' });
      expect(site.clientSettings.softwareInventory.fileFilters).to.deep.equal([
        { filter: '*.exe', path: '\\Program Files', recursive: true, excludeCompressed: false, excludeEncrypted: false },
      ]);
      expect(site.clientSettings.fileCollection.enabled).to.equal(false);
      expect(site.packages.map((p) => p.id)).to.deep.equal(['MLC00001', 'MLC00002', 'MLC00003', 'MLC00004']);
      expect(site.packages[0]).to.deep.include({ type: 'software', version: 1 });
      expect(site.advertisements.map((a) => a.id)).to.deep.equal(['MLC20001', 'MLC20002', 'MLC20003', 'MLC20004']);
      expect(site.configurationItems[1]!.settings[0]).to.deep.equal({
        kind: 'registry',
        key: 'HKLM\\Software\\Microsoft\\Bluetooth\\Settings',
        valueName: 'Discoverable',
        expected: '0',
      });
    });

    it('starts a server that serves its objects and its package content', async () => {
      server = await startSiteServer(await loadSiteFile(SITE_FILE));
      const { data } = await axios.get<{ packages: unknown[]; advertisements: { id: string }[]; settings: { client: { pollIntervalMs: number } } }>(
        `${server.url}/admin/site`,
      );
      expect(data.packages).to.have.length(4);
      expect(data.advertisements.map((a) => a.id)).to.deep.equal(['MLC20001', 'MLC20002', 'MLC20003', 'MLC20004']);
      expect(data.settings.client.pollIntervalMs).to.equal(3_600_000);
      const content = await axios.get<ArrayBuffer>(`${server.url}/SMS_DP_SMSPKG$/MLC00001/1.tar`, { responseType: 'arraybuffer' });
      expect(await tarPaths(Buffer.from(content.data))).to.deep.equal(['FieldInventory.cab', 'README.TXT']);
    });
  });

  describe('invalid site files', () => {
    let dir: string;
    before(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'mlc-sim-site-file-'));
    });
    after(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    async function write(name: string, text: string): Promise<string> {
      const file = path.join(dir, name);
      await writeFile(file, text);
      return file;
    }

    it('names an unknown top-level field', async () => {
      const file = await write('unknown-top.yaml', 'siteCode: MLC\ncolour: blue\n');
      const error = await inputFileError(() => loadSiteFile(file));
      expect(error.file).to.equal(file);
      expect(error.field).to.equal('colour');
      expect(error.reason).to.include('colour');
      expect(error.message).to.include(file).and.include('colour');
    });

    it('names an unknown field inside an advertisement by its path', async () => {
      const file = await write(
        'unknown-nested.yaml',
        [
          'collections: [{ id: ALL, name: All, rule: { allDevices: true } }]',
          'advertisements:',
          '  - { id: MLC20001, name: Ad, collectionId: ALL, packageId: MLC00001, programName: Install, bogusField: 1 }',
        ].join('\n'),
      );
      const error = await inputFileError(() => loadSiteFile(file));
      expect(error.file).to.equal(file);
      expect(error.field).to.equal('advertisements.0.bogusField');
      expect(error.reason).to.include('bogusField');
    });

    it('names a poll interval in the wrong format', async () => {
      const file = await write('interval.yaml', 'clientSettings:\n  pollInterval: 1 hour\n');
      const error = await inputFileError(() => loadSiteFile(file));
      expect(error.file).to.equal(file);
      expect(error.field).to.equal('clientSettings.pollInterval');
      expect(error.reason).to.include('0000-00-DD HH:MM:SS');
      const zero = await write('interval-zero.yaml', 'clientSettings:\n  failureRetryInterval: "0000-00-00 00:00:00"\n');
      expect((await inputFileError(() => loadSiteFile(zero))).field).to.equal('clientSettings.failureRetryInterval');
    });

    it('names a bad package id by its index', async () => {
      const file = await write('package-id.yaml', 'packages:\n  - { id: MLC00001, name: Good, source: a }\n  - { id: mlc-1, name: Bad, source: b }\n');
      const error = await inputFileError(() => loadSiteFile(file));
      expect(error.file).to.equal(file);
      expect(error.field).to.equal('packages.1.id');
      expect(error.reason).to.match(/site code and 5 hex digits/);
    });

    it('reports invalid YAML syntax', async () => {
      const file = await write('syntax.yaml', 'packages:\n  - { id: MLC00001, name: [unclosed\n');
      const error = await inputFileError(() => loadSiteFile(file));
      expect(error.file).to.equal(file);
      expect(error.field).to.equal('');
      expect(error.reason).to.match(/^is not valid YAML: /);
    });

    it('reports a missing file', async () => {
      const file = path.join(dir, 'no-such-site.yaml');
      const error = await inputFileError(() => loadSiteFile(file));
      expect(error.file).to.equal(file);
      expect(error.field).to.equal('');
      expect(error.reason).to.equal('cannot be read (ENOENT)');
    });

    it('reads a JSON file as JSON, validates it the same way, and reports bad JSON as JSON', async () => {
      const good = await write(
        'site.json',
        JSON.stringify({ siteCode: 'ABC', contentRoot: 'content', collections: [{ id: 'ALL', name: 'All', rule: { allDevices: true } }] }),
      );
      const loaded = await loadSiteFile(good);
      expect(loaded.site.siteCode).to.equal('ABC');
      expect(loaded.contentRoot).to.equal(path.join(dir, 'content'));
      const invalid = await write('invalid.json', JSON.stringify({ clientSettings: { failureRetryCount: 'five' } }));
      const error = await inputFileError(() => loadSiteFile(invalid));
      expect(error.file).to.equal(invalid);
      expect(error.field).to.equal('clientSettings.failureRetryCount');
      // YAML would accept this (a flow mapping); as JSON it is a syntax error.
      const yamlish = await write('yamlish.json', '{ siteCode: MLC }');
      const syntax = await inputFileError(() => loadSiteFile(yamlish));
      expect(syntax.file).to.equal(yamlish);
      expect(syntax.reason).to.match(/^is not valid JSON: /);
    });

    it('takes an empty file as a site with every default', async () => {
      const file = await write('empty.yaml', '');
      const { site } = await loadSiteFile(file);
      expect(site.siteCode).to.equal('MLC');
      expect(site.packages).to.deep.equal([]);
      expect(site.clientSettings.pollInterval).to.equal('0000-00-00 01:00:00');
    });
  });

  describe('a site that validates but does not hold together', () => {
    const BROKEN = () =>
      testSite({ advertisements: [{ id: 'TST20001', name: 'Orphan', collectionId: 'NOPE', packageId: 'TST00001', programName: 'Install' }] });
    let server: RunningSiteServer | undefined;
    afterEach(async () => {
      await server?.close();
      server = undefined;
    });

    it('fails Catalog.fromDefinition naming advertisements.0.collectionId', async () => {
      const contentRoot = await writePackageSources();
      const error = await siteError(() => Catalog.fromDefinition(BROKEN(), contentRoot));
      expect(error.status).to.equal(404);
      expect(error.field).to.equal('advertisements.0.collectionId');
      expect(error.reason).to.include('NOPE');
      // The same site with the collection in place builds.
      const store = await Catalog.fromDefinition(
        testSite({ advertisements: [{ id: 'TST20001', name: 'Fine', collectionId: 'ALL', packageId: 'TST00001', programName: 'Install' }] }),
        contentRoot,
      );
      expect(store.advertisements.size).to.equal(1);
    });

    it('fails startSiteServer with the same SiteError, before listening', async () => {
      const contentRoot = await writePackageSources();
      const error = await siteError(async () => {
        server = await startSiteServer({ site: BROKEN(), contentRoot });
      });
      expect(error.field).to.equal('advertisements.0.collectionId');
      expect(server).to.equal(undefined);
    });

    it('names a package whose source directory is missing', async () => {
      const site = testSite({ packages: [{ id: 'TST0000F', name: 'Ghost', source: 'ghost' }] });
      const contentRoot = await writePackageSources();
      const error = await siteError(() => Catalog.fromDefinition(site, contentRoot));
      expect(error.status).to.equal(400);
      expect(error.field).to.equal('packages.5.source');
      expect(error.reason).to.include('ghost').and.include('ENOENT');
    });
  });
});
