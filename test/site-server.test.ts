import { createHash } from 'node:crypto';
import { utimes } from 'node:fs/promises';
import path from 'node:path';
import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import { expect } from 'chai';
import { Parser, type ReadEntry } from 'tar';
import type { Platform } from '../src/domain/platform.js';
import type { StatusMessage } from '../src/domain/status-message.js';
import {
  DEVICE_MANAGEMENT_PATH,
  instructionRequest,
  instructionResponse,
  packageLocationRequest,
  packageLocationResponse,
  pollRequest,
  pollResponse,
  registrationRequest,
  registrationResponse,
  reportResponse,
  statusReport,
  type PollResponse,
} from '../src/protocol/documents.js';
import { buildPackageContent } from '../src/server/content-library.js';
import { parseRange } from '../src/server/distribution-point.js';
import { startSiteServer, type RunningSiteServer } from '../src/server/site-server.js';
import { testSite, TestSite, writePackageSources } from './support/test-site.js';

const APP_AD = { id: 'TST20001', name: 'Test App rollout', collectionId: 'ALL', packageId: 'TST00001', programName: 'Install' };

interface TarEntry {
  path: string;
  content: string;
}

/** Reads a tar archive with the tar package's own parser, strictly: a damaged archive fails. */
function readTar(archive: Buffer): Promise<TarEntry[]> {
  return new Promise((resolve, reject) => {
    const entries: TarEntry[] = [];
    const parser = new Parser({ strict: true });
    parser.on('entry', (entry: ReadEntry) => {
      const chunks: Buffer[] = [];
      entry.on('data', (chunk: Buffer) => chunks.push(chunk));
      entry.on('end', () => entries.push({ path: entry.path, content: Buffer.concat(chunks).toString('utf8') }));
    });
    parser.on('error', reject);
    parser.on('end', () => resolve(entries));
    parser.end(archive);
  });
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** Speaks the device side of the protocol with plain HTTP: no agent code involved. */
class RawDevice {
  readonly http: AxiosInstance;
  token: string | null = null;

  constructor(
    baseURL: string,
    readonly uuid: string,
    readonly platform: Platform = 'Windows Mobile 6.5',
  ) {
    this.http = axios.create({ baseURL, validateStatus: () => true, responseType: 'text', transformResponse: (data: unknown) => data });
  }

  send(action: string, body: string, extraHeaders: Record<string, string> = {}): Promise<AxiosResponse<string>> {
    const headers: Record<string, string> = {
      'content-type': 'application/xml; charset=utf-8',
      'x-device-uuid': this.uuid,
      'x-device-timestamp': '2009-06-01T08:00:00Z',
      'x-device-action': action,
      ...extraHeaders,
    };
    if (this.token !== null) headers['x-device-auth'] = this.token;
    return this.http.post<string>(DEVICE_MANAGEMENT_PATH, body, { headers });
  }

  async register(): Promise<string> {
    const response = await this.send('Register', registrationRequest.encode({ device: { uuid: this.uuid, name: this.uuid, platform: this.platform, osVersion: '5.2' } }));
    expect(response.status, response.data).to.equal(200);
    this.token = registrationResponse.decode(response.data).authToken;
    return this.token;
  }

  async poll(policyVersion: number | null): Promise<PollResponse> {
    const response = await this.send('Poll', pollRequest.encode({ policyVersion }));
    expect(response.status, response.data).to.equal(200);
    return pollResponse.decode(response.data);
  }
}

describe('the stub site server over HTTP', () => {
  describe('distribution point', () => {
    let site: TestSite;
    let device: RawDevice;
    let contentUrl: string;
    let archive: Buffer;

    before(async () => {
      site = await TestSite.start(testSite({ advertisements: [APP_AD] }));
      device = new RawDevice(site.server.url, 'WM-0001');
      await device.register();
      const located = await device.send('PackageLocationRequest', packageLocationRequest.encode({ packageId: 'TST00001', version: 1 }));
      expect(located.status, located.data).to.equal(200);
      const http = packageLocationResponse.decode(located.data).sources.find((s) => s.type === 'HTTP');
      contentUrl = http!.location;
      const response = await axios.get<ArrayBuffer>(contentUrl, { responseType: 'arraybuffer' });
      archive = Buffer.from(response.data);
    });
    after(async () => site?.stop());

    it('locates package content at the distribution point path of the package and version', () => {
      expect(contentUrl).to.equal(`${site.server.url}/SMS_DP_SMSPKG$/TST00001/1.tar`);
    });

    it('serves a real tar archive of the package source files', async () => {
      const entries = await readTar(archive);
      expect(entries.map((e) => e.path)).to.deep.equal(['App.cab', 'readme.txt']);
      expect(entries.find((e) => e.path === 'App.cab')!.content).to.equal('MSCF simulated cabinet for the test application');
      expect(entries.find((e) => e.path === 'readme.txt')!.content).to.equal('Test application, version 1');
    });

    it('serves content whose SHA-256 and size are what the instruction response announces', async () => {
      const response = await device.send('InstructionRequest', instructionRequest.encode({ advertisementId: APP_AD.id }));
      expect(response.status, response.data).to.equal(200);
      const instruction = instructionResponse.decode(response.data);
      expect(instruction.package.sha256).to.equal(sha256(archive));
      expect(instruction.package.size).to.equal(archive.length);
      const head = await axios.get(contentUrl, { responseType: 'arraybuffer' });
      expect(head.headers.etag).to.equal(`"${sha256(archive)}"`);
      expect(head.headers['accept-ranges']).to.equal('bytes');
    });

    it('builds the same archive, and so the same hash, from the same files', async () => {
      const root = await writePackageSources();
      const pkg = { id: 'TST00001', name: 'Test App', version: 1, type: 'software' as const, source: 'app' };
      const first = await buildPackageContent(pkg, root);
      // New modification times on the sources must not change the archive.
      const later = new Date('2024-02-03T04:05:06Z');
      await utimes(path.join(root, 'app', 'App.cab'), later, later);
      const second = await buildPackageContent(pkg, root);
      expect(second.sha256).to.equal(first.sha256);
      expect(second.archive.equals(first.archive)).to.equal(true);
      // A fresh copy of the sources, served by another site, gives the archive this site serves.
      expect(first.sha256).to.equal(sha256(archive));
      const other = await buildPackageContent({ ...pkg, source: 'app-v2' }, root);
      expect(other.sha256).to.not.equal(first.sha256);
    });

    it('answers a byte range with 206 and exactly those bytes', async () => {
      const response = await axios.get<ArrayBuffer>(contentUrl, { responseType: 'arraybuffer', headers: { range: 'bytes=0-99' } });
      expect(response.status).to.equal(206);
      expect(response.headers['content-range']).to.equal(`bytes 0-99/${archive.length}`);
      expect(Buffer.from(response.data).equals(archive.subarray(0, 100))).to.equal(true);
    });

    it('answers a suffix range with the last bytes', async () => {
      const response = await axios.get<ArrayBuffer>(contentUrl, { responseType: 'arraybuffer', headers: { range: 'bytes=-50' } });
      expect(response.status).to.equal(206);
      expect(response.headers['content-range']).to.equal(`bytes ${archive.length - 50}-${archive.length - 1}/${archive.length}`);
      expect(Buffer.from(response.data).equals(archive.subarray(archive.length - 50))).to.equal(true);
    });

    it('answers an open-ended range with the rest of the archive', async () => {
      const response = await axios.get<ArrayBuffer>(contentUrl, { responseType: 'arraybuffer', headers: { range: 'bytes=100-' } });
      expect(response.status).to.equal(206);
      expect(response.headers['content-range']).to.equal(`bytes 100-${archive.length - 1}/${archive.length}`);
      expect(Buffer.from(response.data).equals(archive.subarray(100))).to.equal(true);
    });

    it('answers a range past the end with 416 and the size', async () => {
      const response = await axios.get(contentUrl, { responseType: 'arraybuffer', headers: { range: `bytes=${archive.length}-` }, validateStatus: () => true });
      expect(response.status).to.equal(416);
      expect(response.headers['content-range']).to.equal(`bytes */${archive.length}`);
    });

    it('answers 404 for a package version or file it does not have', async () => {
      for (const file of ['TST00001/2.tar', 'TST00001/1.zip', 'NOPE0001/1.tar', 'TST00005/1.tar']) {
        const response = await axios.get(`${site.server.url}/SMS_DP_SMSPKG$/${file}`, { validateStatus: () => true });
        expect(response.status, file).to.equal(404);
      }
    });

    it('refuses to locate content of a version that does not exist', async () => {
      const response = await device.send('PackageLocationRequest', packageLocationRequest.encode({ packageId: 'TST00001', version: 9 }));
      expect(response.status).to.equal(404);
      expect(response.data).to.include('<Error');
    });
  });

  describe('parseRange', () => {
    it('returns null when there is no Range header', () => {
      expect(parseRange(undefined, 1000)).to.equal(null);
    });

    it('parses first-last, clamping the last byte to the size', () => {
      expect(parseRange('bytes=0-99', 1000)).to.deep.equal({ start: 0, end: 99 });
      expect(parseRange('bytes=990-5000', 1000)).to.deep.equal({ start: 990, end: 999 });
      expect(parseRange(' bytes=5-5 ', 1000)).to.deep.equal({ start: 5, end: 5 });
    });

    it('parses an open-ended range', () => {
      expect(parseRange('bytes=100-', 1000)).to.deep.equal({ start: 100, end: 999 });
    });

    it('parses a suffix range, whole body when the suffix is longer', () => {
      expect(parseRange('bytes=-50', 1000)).to.deep.equal({ start: 950, end: 999 });
      expect(parseRange('bytes=-5000', 1000)).to.deep.equal({ start: 0, end: 999 });
    });

    it('calls out of range, reversed, empty and malformed ranges unsatisfiable', () => {
      for (const header of ['bytes=1000-', 'bytes=1000-1200', 'bytes=500-100', 'bytes=-', 'bytes=-0', 'items=0-10', 'bytes=0-1,5-6', 'bytes=a-b']) {
        expect(parseRange(header, 1000), header).to.equal('unsatisfiable');
      }
      expect(parseRange('bytes=0-', 0)).to.equal('unsatisfiable');
    });
  });

  describe('device endpoint', () => {
    let site: TestSite;
    beforeEach(async () => {
      site = await TestSite.start(testSite({ advertisements: [APP_AD], collections: [{ id: 'CE6', name: 'CE 6 devices', rule: { platforms: ['Windows CE 6.0'] } }] }));
    });
    afterEach(async () => site?.stop());

    it('answers an unknown X-Device-Action with 400 and an Error document', async () => {
      const response = await new RawDevice(site.server.url, 'WM-0001').send('Dance', pollRequest.encode({ policyVersion: null }));
      expect(response.status).to.equal(400);
      expect(response.headers['content-type']).to.match(/^application\/xml/);
      expect(response.data).to.match(/<Error [^>]*Code="Rejected"/);
      expect(response.data).to.include('X-Device-Action');
    });

    it('answers a request without X-Device headers with 400', async () => {
      const http = axios.create({ baseURL: site.server.url, validateStatus: () => true, responseType: 'text' });
      const response = await http.post(DEVICE_MANAGEMENT_PATH, pollRequest.encode({ policyVersion: null }), { headers: { 'content-type': 'application/xml' } });
      expect(response.status).to.equal(400);
      expect(response.data).to.include('<Error').and.include('x-device-action');
      const registration = registrationRequest.encode({ device: { uuid: 'WM-0001', name: 'h', platform: 'Windows Mobile 6.5', osVersion: '5.2' } });
      const noUuid = await http.post(DEVICE_MANAGEMENT_PATH, registration, { headers: { 'content-type': 'application/xml', 'x-device-action': 'Register' } });
      expect(noUuid.status).to.equal(400);
      expect(noUuid.data).to.include('x-device-uuid');
    });

    it('answers a poll from an unregistered device, or with a wrong token, with 401', async () => {
      const stranger = new RawDevice(site.server.url, 'WM-0404');
      const response = await stranger.send('Poll', pollRequest.encode({ policyVersion: null }));
      expect(response.status).to.equal(401);
      expect(response.data).to.include('<Error').and.include('WM-0404');
      const device = new RawDevice(site.server.url, 'WM-0001');
      await device.register();
      device.token = 'not-the-token';
      expect((await device.send('Poll', pollRequest.encode({ policyVersion: null }))).status).to.equal(401);
    });

    it("offers a registered device the advertisements of its collections, and nothing else", async () => {
      await site.admin.post('/advertisements', { id: 'TST20002', name: 'CE driver', collectionId: 'CE6', packageId: 'TST00002', programName: 'Install' });
      const wm = new RawDevice(site.server.url, 'WM-0001');
      await wm.register();
      const wmPoll = await wm.poll(null);
      expect(wmPoll.unchanged).to.equal(false);
      expect(wmPoll.policyVersion).to.equal(site.server.store.policyVersion);
      expect(wmPoll.offers.map((o) => o.advertisementId)).to.deep.equal(['TST20001']);
      expect(wmPoll.offers[0]).to.include({ packageId: 'TST00001', packageVersion: 1 });
      expect(wmPoll.settings.failureRetryCount).to.equal(3);
      const ce = new RawDevice(site.server.url, 'CE-0001', 'Windows CE 6.0');
      await ce.register();
      expect((await ce.poll(null)).offers.map((o) => o.advertisementId)).to.have.members(['TST20001', 'TST20002']);
    });

    it('answers Unchanged with no packages when the device holds the current policy, until an admin change', async () => {
      const device = new RawDevice(site.server.url, 'WM-0001');
      await device.register();
      const first = await device.poll(null);
      const second = await device.poll(first.policyVersion);
      expect(second).to.deep.include({ unchanged: true, offers: [], policyVersion: first.policyVersion });
      const created = await site.admin.post('/collections', { id: 'PILOT', name: 'Pilot', members: ['WM-0001'] });
      expect(created.status).to.equal(201);
      const third = await device.poll(first.policyVersion);
      expect(third.unchanged).to.equal(false);
      expect(third.policyVersion).to.be.greaterThan(first.policyVersion);
      expect(third.offers.map((o) => o.advertisementId)).to.deep.equal(['TST20001']);
    });

    it('answers a garbage body with 400 and keeps serving', async () => {
      const device = new RawDevice(site.server.url, 'WM-0001');
      await device.register();
      for (const body of ['<DevicePoll><PolicyVersion>1</DevicePoll', 'not xml at all', '<DevicePoll><PolicyVersion>x</PolicyVersion></DevicePoll>']) {
        const response = await device.send('Poll', body);
        expect(response.status, body).to.equal(400);
        expect(response.data).to.match(/<Error [^>]*Code="BadDocument"/);
      }
      const registration = await device.send('Register', '<DeviceRegistration><Device/></DeviceRegistration>');
      expect(registration.status).to.equal(400);
      expect((await device.poll(null)).offers).to.have.length(1);
    });

    it('counts a repeated status batch once: accepted, then all duplicates', async () => {
      const device = new RawDevice(site.server.url, 'WM-0001');
      await device.register();
      const time = Date.parse('2009-06-01T08:05:00Z');
      const messages = [10002, 10005, 10008].map((messageId, i): StatusMessage => ({
        id: `WM-0001:TST20001:${i + 1}`,
        deviceId: 'WM-0001',
        advertisementId: 'TST20001',
        packageId: 'TST00001',
        messageId,
        time: time + i * 1000,
        details: messageId === 10008 ? { ExitCode: '0' } : {},
      }));
      const body = statusReport.encode('SoftwareDistributionStatus', { messages });
      const headers = { 'x-device-reporttype': 'SoftwareDistributionStatus' };
      const first = await device.send('Report', body, headers);
      expect(first.status, first.data).to.equal(200);
      expect(reportResponse.decode(first.data)).to.deep.equal({ accepted: 3, duplicates: 0 });
      const second = await device.send('Report', body, headers);
      expect(reportResponse.decode(second.data)).to.deep.equal({ accepted: 0, duplicates: 3 });
      const { data: stored } = await site.admin.get<StatusMessage[]>('/status-messages');
      expect(stored).to.have.length(3);
      expect(stored.map((m) => m.messageId).sort()).to.deep.equal([10002, 10005, 10008]);
      expect(stored.every((m) => m.deviceId === 'WM-0001')).to.equal(true);
      const { data: summary } = await site.admin.get('/advertisements/TST20001/status');
      expect(summary).to.deep.include({ targeted: 1, received: 1 });
      expect(summary.byState.succeeded).to.equal(1);
    });

    it('refuses a report of an unknown type', async () => {
      const device = new RawDevice(site.server.url, 'WM-0001');
      await device.register();
      const body = statusReport.encode('SoftwareDistributionStatus', {
        messages: [{ id: 'x', deviceId: 'WM-0001', advertisementId: 'TST20001', packageId: 'TST00001', messageId: 10002, time: 0, details: {} }],
      });
      const response = await device.send('Report', body, { 'x-device-reporttype': 'Gossip' });
      expect(response.status).to.equal(400);
      expect(response.data).to.include('X-Device-Reporttype');
    });
  });

  describe('admin API', () => {
    let site: TestSite;
    beforeEach(async () => {
      site = await TestSite.start();
    });
    afterEach(async () => site?.stop());

    const PACKAGE = { id: 'TST0000A', name: 'New App', source: 'app' };
    const PROGRAM = { packageId: 'TST0000A', name: 'Install', commandLine: 'wceload.exe App.cab', platforms: ['Windows Mobile 6.5'] };
    const COLLECTION = { id: 'WM65', name: 'Windows Mobile 6.5', rule: { platforms: ['Windows Mobile 6.5'] } };
    const ADVERTISEMENT = { id: 'TST2000A', name: 'New App rollout', collectionId: 'WM65', packageId: 'TST0000A', programName: 'Install' };

    async function createAll(): Promise<void> {
      for (const [route, body] of [['/packages', PACKAGE], ['/programs', PROGRAM], ['/collections', COLLECTION], ['/advertisements', ADVERTISEMENT]] as const) {
        const response = await site.admin.post(route, body);
        expect(response.status, `${route}: ${JSON.stringify(response.data)}`).to.equal(201);
      }
    }

    it('creates a package, program, collection and advertisement, and reads them back with defaults applied', async () => {
      await createAll();
      const packages = (await site.admin.get('/packages')).data as { id: string }[];
      expect(packages.find((p) => p.id === PACKAGE.id)).to.deep.equal({ ...PACKAGE, type: 'software', version: 1 });
      const programs = (await site.admin.get('/programs')).data as { packageId: string }[];
      expect(programs.find((p) => p.packageId === PACKAGE.id)).to.deep.equal({ ...PROGRAM, kind: 'device', maxRunTimeMinutes: 120, successExitCodes: [0] });
      const collections = (await site.admin.get('/collections')).data as { id: string }[];
      expect(collections.find((c) => c.id === COLLECTION.id)).to.deep.equal({ ...COLLECTION, members: [] });
      const ads = (await site.admin.get('/advertisements')).data as { id: string }[];
      expect(ads).to.deep.equal([{ ...ADVERTISEMENT, availableAt: '2000-01-01T00:00:00Z', mandatory: true, assignment: 'always' }]);
      const content = await axios.get<ArrayBuffer>(`${site.server.url}/SMS_DP_SMSPKG$/TST0000A/1.tar`, { responseType: 'arraybuffer' });
      expect((await readTar(Buffer.from(content.data))).map((e) => e.path)).to.deep.equal(['App.cab', 'readme.txt']);
    });

    it('counts as targeted the registered devices of the collection', async () => {
      await createAll();
      const none = await site.admin.get(`/advertisements/${ADVERTISEMENT.id}/status`);
      expect(none.status).to.equal(200);
      expect(none.data).to.deep.include({ advertisementId: ADVERTISEMENT.id, targeted: 0, received: 0 });
      for (const [uuid, platform] of [['WM-0001', 'Windows Mobile 6.5'], ['WM-0002', 'Windows Mobile 6.5'], ['CE-0001', 'Windows CE 6.0'], ['WM-0003', 'Windows Mobile 6.1']] as const) {
        await new RawDevice(site.server.url, uuid, platform).register();
      }
      const { data: status } = await site.admin.get(`/advertisements/${ADVERTISEMENT.id}/status`);
      expect(status.targeted).to.equal(2);
      await site.admin.post(`/collections/${COLLECTION.id}/members`, { devices: ['CE-0001'] });
      expect((await site.admin.get(`/advertisements/${ADVERTISEMENT.id}/status`)).data.targeted).to.equal(3);
    });

    it('answers an invalid body with 400 naming the field and the reason', async () => {
      const response = await site.admin.post('/packages', { ...PACKAGE, id: 'bad-id' });
      expect(response.status).to.equal(400);
      expect(response.headers['content-type']).to.match(/^application\/json/);
      expect(response.data).to.deep.include({ field: 'id' });
      expect(response.data.reason).to.match(/site code and 5 hex digits/);
      const nested = await site.admin.post('/programs', { ...PROGRAM, platforms: ['Windows Mobile 6.5', 'Palm OS'] });
      expect(nested.status).to.equal(400);
      expect(nested.data.field).to.equal('platforms.1');
      expect(nested.data.reason).to.be.a('string').and.not.equal('');
    });

    it('answers an unknown field with 400', async () => {
      const response = await site.admin.post('/collections', { ...COLLECTION, colour: 'blue' });
      expect(response.status).to.equal(400);
      expect(response.data.field).to.equal('colour');
      expect(response.data.reason).to.include('colour');
      const nested = await site.admin.post('/collections', { ...COLLECTION, rule: { platforms: ['Windows Mobile 6.5'], colour: 'blue' } });
      expect(nested.status).to.equal(400);
      expect(nested.data.field).to.equal('rule.colour');
      expect(nested.data.reason).to.include('colour');
      expect((await site.admin.get('/collections')).data).to.have.length(1);
    });

    it('answers a reference to a missing collection with 404 naming collectionId', async () => {
      await createAll();
      const response = await site.admin.post('/advertisements', { ...ADVERTISEMENT, id: 'TST2000B', collectionId: 'NOPE' });
      expect(response.status).to.equal(404);
      expect(response.data.field).to.equal('collectionId');
      expect(response.data.reason).to.include('NOPE');
    });

    it('answers a duplicate id with 409', async () => {
      await createAll();
      for (const [route, body] of [['/packages', PACKAGE], ['/collections', COLLECTION], ['/advertisements', ADVERTISEMENT], ['/programs', PROGRAM]] as const) {
        const response = await site.admin.post(route, body);
        expect(response.status, route).to.equal(409);
      }
      expect((await site.admin.post('/packages', { ...PACKAGE })).data.field).to.equal('id');
    });

    it('answers an advertisement of a software package without programName with 400', async () => {
      await createAll();
      const { programName: _omitted, ...withoutProgram } = ADVERTISEMENT;
      const response = await site.admin.post('/advertisements', { ...withoutProgram, id: 'TST2000C' });
      expect(response.status).to.equal(400);
      expect(response.data.field).to.equal('programName');
      expect((await site.admin.get('/advertisements')).data).to.have.length(1);
    });

    it('answers the status of an unknown advertisement with 404', async () => {
      const response = await site.admin.get('/advertisements/NOPE0001/status');
      expect(response.status).to.equal(404);
      expect(response.data.field).to.equal('advertisementId');
    });

    it('answers a malformed JSON body with 400, not 500', async () => {
      // fetch, not axios: axios re-encodes a string body that does not parse as JSON into a valid JSON string.
      for (const body of ['{"id": "TST0000A", "name":', '']) {
        const response = await fetch(`${site.server.url}/admin/packages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        expect(response.status, JSON.stringify(body)).to.equal(400);
        const error = (await response.json()) as { field: string; reason: string };
        expect(error.field).to.equal('(request)');
        expect(error.reason).to.match(/^FST_ERR_CTP_(INVALID|EMPTY)_JSON_BODY$/);
      }
      const array = await fetch(`${site.server.url}/admin/packages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[1]' });
      expect(array.status).to.equal(400);
      expect(((await array.json()) as { field: string }).field).to.equal('(body)');
      expect((await site.admin.get('/packages')).data).to.have.length(5);
    });

    it('answers a package whose source directory does not exist with 400 naming source', async () => {
      const response = await site.admin.post('/packages', { ...PACKAGE, source: 'does-not-exist' });
      expect(response.status).to.equal(400);
      expect(response.data.field).to.equal('source');
      const replaced = await site.admin.put('/packages/TST00001', { id: 'TST00001', name: 'Test App', source: 'does-not-exist' });
      expect(replaced.status).to.equal(400);
    });
  });

  describe('faults API', () => {
    let site: TestSite;
    beforeEach(async () => {
      site = await TestSite.start();
    });
    afterEach(async () => site?.stop());

    it('refuses a content fault on a management point endpoint', async () => {
      const response = await site.admin.post('/faults', { endpoint: 'Poll', kind: 'corrupt-content' });
      expect(response.status).to.equal(400);
      expect(response.data.field).to.equal('kind');
      expect(response.data.reason).to.include('Content');
      expect((await site.admin.get('/faults')).data).to.deep.equal([]);
    });

    it('makes polls answer the fault status until the faults are cleared', async () => {
      const device = new RawDevice(site.server.url, 'WM-0001');
      await device.register();
      const added = await site.admin.post('/faults', { endpoint: 'Poll', kind: 'http-error', status: 503, rate: 1 });
      expect(added.status).to.equal(201);
      expect(added.data).to.include({ endpoint: 'Poll', kind: 'http-error', status: 503 });
      for (let i = 0; i < 3; i++) {
        const response = await device.send('Poll', pollRequest.encode({ policyVersion: null }));
        expect(response.status).to.equal(503);
        expect(response.data).to.match(/<Error [^>]*Code="InjectedFault"/);
      }
      // Other endpoints are untouched.
      expect((await device.send('InstructionRequest', instructionRequest.encode({ advertisementId: 'NOPE0001' }))).status).to.equal(404);
      const cleared = await site.admin.delete('/faults');
      expect(cleared.status).to.equal(204);
      expect((await site.admin.get('/faults')).data).to.deep.equal([]);
      expect((await device.poll(null)).unchanged).to.equal(false);
    });
  });

  describe('a site started directly with startSiteServer', () => {
    let server: RunningSiteServer | undefined;
    afterEach(async () => {
      await server?.close();
      server = undefined;
    });

    it('serves the same content hash as any other site built from the same files', async () => {
      server = await startSiteServer({ site: testSite(), contentRoot: await writePackageSources() });
      const other = await startSiteServer({ site: testSite(), contentRoot: await writePackageSources() });
      try {
        const etag = async (base: string) => (await axios.get(`${base}/SMS_DP_SMSPKG$/TST00001/1.tar`)).headers.etag as string;
        expect(await etag(server.url)).to.equal(await etag(other.url)).and.match(/^"[0-9a-f]{64}"$/);
      } finally {
        await other.close();
      }
    });
  });
});
