import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { utimes } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import axios from 'axios';
import { expect } from 'chai';
import { Parser, type ReadEntry } from 'tar';
import { identificationOf } from '../src/agent/device-identity.js';
import type { DeviceProfile } from '../src/agent/device-profile.js';
import { DEVICE_MESSAGE, PARAMETER, type DeviceStatusMessage } from '../src/domain/device-status.js';
import { devicePoll, type Identification } from '../src/protocol/documents/device-poll.js';
import { instructions, type Instructions } from '../src/protocol/documents/instructions.js';
import { instructionsRequest } from '../src/protocol/documents/instructions-request.js';
import { packageLocation, type PackageLocation } from '../src/protocol/documents/package-location.js';
import { packageLocationRequest } from '../src/protocol/documents/package-location-request.js';
import { pollResponse, type PollResponse } from '../src/protocol/documents/poll-response.js';
import { statusDocument } from '../src/protocol/documents/status.js';
import { CLIENT_VERSION, DEFAULT_DM_PATH, HEADERS, MANAGEMENT_SYSTEM, parseDate } from '../src/protocol/wire.js';
import { buildPackageContent } from '../src/server/content-library.js';
import { parseRange } from '../src/server/distribution-point.js';
import type { ActiveFault } from '../src/admin/contract.js';
import { startSiteServer, type RunningSiteServer } from '../src/server/site-server.js';
import type { AdvertisementStatus } from '../src/admin/contract.js';
import { InjectedSite, type Answer } from './support/injected-site.js';
import { HOUR, profile, testSite, writePackageSources, type AdminError } from './support/test-site.js';
import { assertValid, CAPTURED_INVENTORY_ITEMS } from './support/xml-conformance.js';

const APP_AD = { id: 'TST20001', name: 'Test App rollout', collectionId: 'ALL', packageId: 'TST00001', programName: 'Install' };

const GOLDEN = new URL('./conformance/golden/', import.meta.url);
const golden = (file: string) => readFileSync(new URL(file, GOLDEN), 'utf8');
/** The package id the golden documents use; replaced by one the site listed. */
const GOLDEN_PACKAGE = '7E5A9C21-4B3D-4F60-9A1E-2C8D0B6F4E13';
/** Who DevicePoll-capture.xml says it is. */
const CAPTURE = { uuid: '9C3D0000-0000-0000-0000-00616377656E', name: 'Acwen PDT-42', platform: 'ACWEN PDT' };

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
    parser.on('end', () => {
      resolve(entries);
    });
    parser.end(archive);
  });
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/**
 * A 200 answer that carries a document must conform to the reference's schema: every answer the specs below get
 * goes through here. Empty answers (Status, Report) and the text answer to an unknown action are not documents.
 */
function checkAnswer(answer: Answer, what: string): void {
  if (answer.status === 200 && answer.body.trimStart().startsWith('<')) assertValid(answer.body, what);
}

interface SendOptions {
  /** null sends no Content-Type at all. */
  contentType?: string | null;
  headers?: Record<string, string>;
  /** Headers to leave out, e.g. X-Device-UUID. */
  omit?: string[];
  path?: string;
}

/**
 * Speaks the device side of the protocol with plain HTTP requests, injected into the site's app: no agent code
 * involved beyond the document codecs.
 */
class RawDevice {
  /** X-Device-Auth and X-Device-Timestamp as the site last set them; sent on every request once set. */
  auth: string | null = null;
  timestamp = '';

  constructor(
    readonly site: InjectedSite,
    readonly identification: Identification,
    readonly uuid: string = identification.id,
  ) {}

  static of(site: InjectedSite, overrides: Partial<DeviceProfile> = {}): RawDevice {
    return new RawDevice(site, identificationOf(profile(overrides)));
  }

  get name(): string {
    return this.identification.deviceName;
  }

  async send(action: string | null, body: string | Buffer, options: SendOptions = {}): Promise<Answer> {
    const headers: Record<string, string> = {
      [HEADERS.uuid]: this.uuid,
      [HEADERS.timestamp]: this.timestamp,
      [HEADERS.clientVersion]: CLIENT_VERSION,
    };
    if (options.contentType !== null) headers['content-type'] = options.contentType ?? 'text/xml; charset=utf-8';
    if (action !== null) headers[HEADERS.action] = action;
    if (this.auth !== null) headers[HEADERS.auth] = this.auth;
    Object.assign(headers, options.headers);
    const omitted = new Set(options.omit ?? []);
    const sent = Object.fromEntries(Object.entries(headers).filter(([name]) => !omitted.has(name)));
    const answer = await this.site.post(sent, body, options.path);
    checkAnswer(answer, `answer to ${action ?? '(no action)'}`);
    return answer;
  }

  pollDocument(): string {
    return devicePoll.encode({
      managementSystem: MANAGEMENT_SYSTEM,
      identification: this.identification,
      connection: { authorizationToken: this.auth ?? '0', timestamp: this.timestamp || '0' },
    });
  }

  /** Takes in the values the site sets on a poll answer, as a device stores them. */
  remember(answer: Answer): void {
    const auth = answer.headers.get(HEADERS.auth);
    expect(auth, 'X-Device-Auth on the poll answer').to.be.a('string').and.not.equal('');
    this.auth = auth;
    this.timestamp = answer.headers.get(HEADERS.timestamp) ?? '';
  }

  async poll(): Promise<PollResponse> {
    const answer = await this.send('Poll', this.pollDocument());
    expect(answer.status, answer.body).to.equal(200);
    this.remember(answer);
    return pollResponse.decode(answer.body);
  }

  async instructions(packageId: string): Promise<Instructions> {
    const answer = await this.send('InstructionRequest', instructionsRequest.encode({ packageId }));
    expect(answer.status, answer.body).to.equal(200);
    return instructions.decode(answer.body);
  }

  locationRequest(packageId: string): string {
    const adapter = this.identification.networkAdapters[0]!;
    return packageLocationRequest.encode({
      packageId,
      clientLocation: { directoryService: '', ipAddresses: [{ address: adapter.ipAddress, subnet: adapter.ipSubnet }] },
    });
  }

  async locate(packageId: string): Promise<PackageLocation> {
    const answer = await this.send('LocationRequest', this.locationRequest(packageId));
    expect(answer.status, answer.body).to.equal(200);
    return packageLocation.decode(answer.body);
  }

  status(messages: DeviceStatusMessage[]): Promise<Answer> {
    return this.send('Status', statusDocument.encode({ messages }));
  }
}

/** The HTTP source of a package location. */
function httpUrlOf(location: PackageLocation): string {
  const url = location.locations.find((l) => l.httpUrl !== null)?.httpUrl;
  expect(url, 'an HTTP location').to.be.a('string');
  return url!;
}

/** The advertisement a device-management package id stands for. */
const advertisementOf = (site: InjectedSite, dmPackageId: string) => site.context.policy.advertisedRevision(dmPackageId)?.advertisementId;

const adminSite = async (site: InjectedSite) => (await site.admin.get<{ deviceMessages: number; statusMessages: number; devices: number }>('/site')).data;

/** A device's status message: Sequence as mlc-sim's devices number them, plus any other parameters. */
function sequenced(packageId: string, messageId: number, time: number, sequence: number, parameters: Record<string, string> = {}): DeviceStatusMessage {
  return { packageId, messageId, time, parameters: { [PARAMETER.sequence]: `1.${String(sequence).padStart(8, '0')}`, ...parameters } };
}

describe('the stub site server over HTTP', () => {
  describe('distribution point', () => {
    let site: InjectedSite;
    let device: RawDevice;
    let dmPackageId: string;
    let contentUrl: string;
    let archive: Buffer;

    before(async () => {
      site = await InjectedSite.build(testSite({ advertisements: [APP_AD] }));
      device = RawDevice.of(site);
      [dmPackageId] = (await device.poll()).packages as [string];
      contentUrl = httpUrlOf(await device.locate(dmPackageId));
      const response = await site.download(contentUrl);
      expect(response.status).to.equal(200);
      archive = response.body;
    });
    after(async () => (site as InjectedSite | undefined)?.close());

    it('locates package content at the distribution point path of the package and version', () => {
      expect(contentUrl).to.equal(`${site.url}/SMS_DP_SMSPKG$/TST00001/1.tar`);
    });

    it('serves a real tar archive of the package source files', async () => {
      const entries = await readTar(archive);
      expect(entries.map((e) => e.path)).to.deep.equal(['App.cab', 'Setup.exe', 'readme.txt']);
      expect(entries.find((e) => e.path === 'App.cab')!.content.startsWith('MSCF')).to.equal(true);
      expect(entries.find((e) => e.path === 'readme.txt')!.content).to.equal('Test application, version 1');
    });

    it('serves content whose size is the PackageSize, and whose SHA-256 is the one the instructions announce', async () => {
      const instruction = await device.instructions(dmPackageId);
      expect(instruction.id).to.equal(dmPackageId);
      expect(instruction.packageSize).to.equal(archive.length);
      expect(instruction.extension?.content.sha256).to.equal(sha256(archive));
      const head = await site.download(contentUrl);
      expect(head.status).to.equal(200);
      expect(head.headers.get('etag')).to.equal(`"${sha256(archive)}"`);
      expect(head.headers.get('accept-ranges')).to.equal('bytes');
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
      const response = await site.download(contentUrl, 'bytes=0-99');
      expect(response.status).to.equal(206);
      expect(response.headers.get('content-range')).to.equal(`bytes 0-99/${archive.length}`);
      expect(response.body.equals(archive.subarray(0, 100))).to.equal(true);
    });

    it('answers a suffix range with the last bytes', async () => {
      const response = await site.download(contentUrl, 'bytes=-50');
      expect(response.status).to.equal(206);
      expect(response.headers.get('content-range')).to.equal(`bytes ${archive.length - 50}-${archive.length - 1}/${archive.length}`);
      expect(response.body.equals(archive.subarray(archive.length - 50))).to.equal(true);
    });

    it('answers an open-ended range with the rest of the archive', async () => {
      const response = await site.download(contentUrl, 'bytes=100-');
      expect(response.status).to.equal(206);
      expect(response.headers.get('content-range')).to.equal(`bytes 100-${archive.length - 1}/${archive.length}`);
      expect(response.body.equals(archive.subarray(100))).to.equal(true);
    });

    it('answers a range past the end with 416 and the size', async () => {
      const response = await site.download(contentUrl, `bytes=${archive.length}-`);
      expect(response.status).to.equal(416);
      expect(response.headers.get('content-range')).to.equal(`bytes */${archive.length}`);
    });

    it('answers 404 for a package version or file it does not have', async () => {
      for (const file of ['TST00001/2.tar', 'TST00001/1.zip', 'NOPE0001/1.tar', 'TST00006/1.tar', 'TST00005/2.tar']) {
        const response = await site.download(`${site.url}/SMS_DP_SMSPKG$/${file}`);
        expect(response.status, file).to.equal(404);
      }
    });

    it('serves a configuration package as one provisioning document per configuration item, each valid', async () => {
      const response = await site.download(`${site.url}/SMS_DP_SMSPKG$/TST00005/1.tar`);
      expect(response.status).to.equal(200);
      const entries = await readTar(response.body);
      expect(entries.map((e) => e.path)).to.deep.equal(['CI-PIN.xml', 'CI-BT.xml', 'CI-CE-ONLY.xml']);
      for (const entry of entries) assertValid(entry.content, entry.path);
      expect(entries.find((e) => e.path === 'CI-BT.xml')!.content).to.include('<characteristic type="Registry">');
    });

    it('refuses, with 404, to give instructions or a location for a package id it never listed', async () => {
      const stranger = '0BADBEEF-0000-4000-8000-000000000000';
      for (const [action, body] of [
        ['InstructionRequest', instructionsRequest.encode({ packageId: stranger })],
        ['LocationRequest', device.locationRequest(stranger)],
      ] as const) {
        const response = await device.send(action, body);
        expect(response.status, action).to.equal(404);
        expect(response.body, action).to.include(stranger);
      }
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

  describe('documents shaped like a real device’s', () => {
    let site: InjectedSite;
    /** The captured device, once it has polled: its token, and the package the site listed for it. */
    let capture: RawDevice;
    let listed: string;

    beforeEach(async () => {
      site = await InjectedSite.build(testSite({ advertisements: [APP_AD] }));
      capture = new RawDevice(site, devicePoll.decode(golden('DevicePoll-capture.xml')).identification, CAPTURE.uuid);
      const answer = await capture.send('Poll', golden('DevicePoll-capture.xml'));
      expect(answer.status, answer.body).to.equal(200);
      capture.remember(answer);
      [listed] = pollResponse.decode(answer.body).packages as [string];
    });
    afterEach(async () => (site as InjectedSite | undefined)?.close());

    /** A golden document about the golden package, made about the package the site listed. */
    const about = (file: string) => golden(file).replaceAll(GOLDEN_PACKAGE, listed);

    it("takes a poll sent as application/json: the content type is the device's to get wrong", async () => {
      const answer = await capture.send('Poll', golden('DevicePoll-capture.xml'), { contentType: 'application/json' });
      expect(answer.status, answer.body).to.equal(200);
      expect(pollResponse.decode(answer.body).packages).to.deep.equal([listed]);
    });

    it('records the byte size of a collected file, whatever its content type', async () => {
      const bytes = Buffer.from('naïve={"beep":true}\r\n');
      for (const [contentType, file] of [
        ['text/plain', '\\a.ini'],
        ['application/json', '\\b.json'],
        ['application/octet-stream', '\\c.bin'],
      ] as const) {
        const answer = await capture.send('Report', bytes, { contentType, headers: { [HEADERS.reportType]: 'FileCollection', [HEADERS.fileName]: file } });
        expect(answer.status, answer.body).to.equal(200);
      }
      const files = site.context.inventory.get(CAPTURE.name)?.collectedFiles ?? {};
      expect(Object.values(files).map((f) => f.size)).to.deep.equal([bytes.length, bytes.length, bytes.length]);
    });

    it('tells apart two devices with the same DeviceName, so neither loses status', async () => {
      const twin = new RawDevice(site, capture.identification, '11111111-2222-3333-4444-555555555555');
      await twin.poll();
      const names = [...site.context.devices.all()].map((d) => d.name);
      expect(new Set(names).size).to.equal(2);
      const messages = [DEVICE_MESSAGE.downloadStarting, DEVICE_MESSAGE.downloadSucceeded, DEVICE_MESSAGE.executionSucceeded];
      // As a documented device would send them: no Sequence, the same timestamps from both.
      for (const device of [capture, twin]) {
        const answer = await device.status(
          messages.map((messageId) => ({ packageId: listed, messageId, time: Date.parse('2009-06-01T08:05:00Z'), parameters: {} })),
        );
        expect(answer.status, answer.body).to.equal(200);
      }
      expect((await adminSite(site)).deviceMessages).to.equal(6);
      const { data: summary } = await site.admin.get<AdvertisementStatus>('/advertisements/TST20001/status');
      expect(summary).to.deep.include({ targeted: 2 });
      expect(summary.byState.succeeded).to.equal(2);
    });

    it('builds the download URL from the address the device reached when a request has no Host header', async () => {
      // The same app on a real socket: a request without a Host header cannot be injected (inject always sends one).
      const { port } = new URL(await site.listen());
      const body = capture.locationRequest(listed);
      const raw = await new Promise<string>((resolve, reject) => {
        const socket = net.connect(Number(port), '127.0.0.1', () => {
          socket.end(
            [
              `POST ${DEFAULT_DM_PATH} HTTP/1.0`,
              `${HEADERS.uuid}: ${CAPTURE.uuid}`,
              `${HEADERS.auth}: ${capture.auth}`,
              `${HEADERS.action}: LocationRequest`,
              `content-length: ${Buffer.byteLength(body)}`,
              '',
              body,
            ].join('\r\n'),
          );
        });
        let text = '';
        socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
        socket.on('end', () => {
          resolve(text);
        });
        socket.on('error', reject);
      });
      const url = httpUrlOf(packageLocation.decode(raw.slice(raw.indexOf('\r\n\r\n') + 4)));
      expect(new URL(url).host).to.equal(`127.0.0.1:${port}`);
      expect((await fetch(url)).status).to.equal(200);
    });

    it('answers the captured poll (no Domain or MAC, NetworkAdapter before CodePage) with a PollResponse that validates, and X-Device-Auth and X-Device-Timestamp', async () => {
      // The site forgets the device, so this is its very first poll again: no X-Device-Auth, an empty X-Device-Timestamp.
      site.context.devices.forget();
      const first = new RawDevice(site, capture.identification, CAPTURE.uuid);
      const answer = await first.send('Poll', golden('DevicePoll-capture.xml'));
      expect(answer.status, answer.body).to.equal(200);
      assertValid(answer.body, 'PollResponse');
      for (const group of ['ClientSettings', 'SoftwareInventorySettings', 'FileCollectionSettings', 'MachineInventorySettings', 'ApplicablePackages']) {
        expect(answer.body, group).to.match(new RegExp(`<${group}[ >]`));
      }
      const policy = pollResponse.decode(answer.body);
      expect(policy.client).to.include({ failureRetryCount: 3, pollIntervalMs: HOUR, failureRetryIntervalMs: 3 * 60_000 });
      expect(policy.softwareInventory?.enabled).to.equal(true);
      expect(policy.machineInventory?.enabled).to.equal(true);
      expect(policy.fileCollection?.enabled).to.equal(false);
      expect(policy.packages).to.have.length(1);
      expect(policy.packages[0]).to.match(/^[0-9A-F]{8}(-[0-9A-F]{4}){3}-[0-9A-F]{12}$/);
      expect(advertisementOf(site, policy.packages[0]!)).to.equal('TST20001');
      // A new token for the device enrolled afresh: the one it had is no longer taken.
      expect(answer.headers.get(HEADERS.auth))
        .to.match(/^[0-9a-f]{24}$/)
        .and.not.equal(capture.auth);
      // The time of the poll on the site's clock, in the documentation's sample shape M/D/YYYY h:mm:ss AM.
      expect(answer.headers.get(HEADERS.timestamp)).to.equal('6/1/2009 8:00:00 AM');
      const known = site.context.devices.get(CAPTURE.uuid);
      expect(known).to.include({ name: CAPTURE.name, platform: CAPTURE.platform });
      expect(known?.identification).to.deep.include({ userName: 'STOCKROOM\\ivanov', codePage: '866', systemDefaultLcid: '1049', domain: null });
    });

    it('answers InstructionRequest and LocationRequest for a listed package with documents that validate, an <ID> element, and an HTTP URL that downloads with Range support', async () => {
      const instructed = await capture.send('InstructionRequest', about('InstructionsRequest.xml'));
      expect(instructed.status, instructed.body).to.equal(200);
      assertValid(instructed.body, 'Instructions');
      expect(instructed.body).to.include(`<ID>${listed}</ID>`);
      const instruction = instructions.decode(instructed.body);
      expect(instruction).to.include({ id: listed, commandLine: 'Setup.exe /q', required: true });

      const located = await capture.send('LocationRequest', about('PackageLocationRequest.xml'));
      expect(located.status, located.body).to.equal(200);
      assertValid(located.body, 'PackageLocation');
      expect(located.body).to.include(`<PackageID>${listed}</PackageID>`);
      const url = httpUrlOf(packageLocation.decode(located.body));
      expect(url).to.match(/^http:\/\//);

      const whole = await site.download(url);
      expect(whole.status).to.equal(200);
      expect(whole.headers.get('accept-ranges')).to.equal('bytes');
      const bytes = whole.body;
      expect(bytes.length).to.equal(instruction.packageSize);
      // Checkpoint restart: the rest of the file from where the download stopped.
      const rest = await site.download(url, 'bytes=512-');
      expect(rest.status).to.equal(206);
      expect(rest.headers.get('content-range')).to.equal(`bytes 512-${bytes.length - 1}/${bytes.length}`);
      expect(rest.body.equals(bytes.subarray(512))).to.equal(true);
    });

    it('accepts a Status document as a documented device sends it (11030, 11031, 11035, no Parameters): 200, empty, recorded as ConfigMgr messages', async () => {
      await capture.instructions(listed);
      const status = about('Status.xml').replace(/\s*<Parameter [^>]*>[^<]*<\/Parameter>/g, '');
      expect(status).to.not.include('<Parameter');
      assertValid(status, 'the Status document sent');
      const answer = await capture.send('Status', status);
      expect(answer.status, answer.body).to.equal(200);
      expect(answer.body).to.equal('');
      const messages = await site.messages('TST20001', CAPTURE.name);
      // 10002 when the site gave the instructions; the download, the program it started, and its success.
      expect(messages.map((m) => m.messageId)).to.deep.equal([10002, 11030, 11031, 10005, 10008, 11035]);
      expect(messages.find((m) => m.messageId === 11030)!.time).to.equal(parseDate('2024-09-14 06:30:02'));
      expect(messages.find((m) => m.messageId === 10005)!.details).to.deep.equal({ CommandLine: 'Setup.exe /q' });
      expect(messages.every((m) => m.packageId === 'TST00001' && m.deviceId === CAPTURE.name)).to.equal(true);
      const { data: summary } = await site.admin.get<AdvertisementStatus>('/advertisements/TST20001/status');
      expect(summary).to.deep.include({ targeted: 1, received: 1 });
      expect(summary.byState.succeeded).to.equal(1);
      // The same document again (a device that did not see the answer): nothing more.
      expect((await capture.send('Status', status)).status).to.equal(200);
      expect(await site.messageIds('TST20001', CAPTURE.name)).to.have.length(6);
      expect((await adminSite(site)).deviceMessages).to.equal(3);
    });

    it('accepts Parameters it does not know; refuses message ids it does not know (400) and counts no status about packages not listed to the device', async () => {
      const answer = await capture.send('Status', about('Status.xml'));
      expect(answer.status, answer.body).to.equal(200);
      const succeeded = (await site.messages('TST20001', CAPTURE.name)).find((m) => m.messageId === 10008);
      expect(succeeded?.details).to.include({ ExitCode: '0' });
      const before = (await adminSite(site)).deviceMessages;
      const unknownId = statusDocument.encode({
        messages: [
          { packageId: listed, messageId: 11031, time: parseDate('2024-09-14 07:00:00'), parameters: { Whatever: 'x' } },
          { packageId: listed, messageId: 11099, time: parseDate('2024-09-14 07:00:00'), parameters: {} },
        ],
      });
      const refused = await capture.send('Status', unknownId);
      expect(refused.status).to.equal(400);
      expect(refused.body).to.include('11099');
      const notListed = statusDocument.encode({
        messages: [{ packageId: '0BADBEEF-0000-4000-8000-000000000000', messageId: 11031, time: parseDate('2024-09-14 07:00:01'), parameters: {} }],
      });
      const accepted = await capture.send('Status', notListed);
      expect(accepted.status, accepted.body).to.equal(200);
      expect(accepted.body).to.equal('');
      expect(await site.messageIds('TST20001', CAPTURE.name)).to.deep.equal([11030, 11031, 10005, 10008, 11035]);
      expect((await adminSite(site)).deviceMessages).to.equal(before);
    });

    it('accepts a MachineInventory report (no namespace, no declaration) and a SoftwareInventory FileReport, and keeps them for the device', async () => {
      const machine = await capture.send('Report', golden('Inventory-capture.xml'), { headers: { [HEADERS.reportType]: 'MachineInventory' } });
      expect(machine.status, machine.body).to.equal(200);
      expect(machine.body).to.equal('');
      const software = await capture.send('Report', golden('FileReport.xml'), { headers: { [HEADERS.reportType]: 'SoftwareInventory' } });
      expect(software.status, software.body).to.equal(200);
      expect(software.body).to.equal('');
      const inventory = site.context.inventory.get(CAPTURE.name);
      expect(inventory?.machine?.items.map((i) => i.name)).to.deep.equal([...CAPTURED_INVENTORY_ITEMS]);
      expect(inventory?.machine?.items[0]?.properties).to.deep.include(['OEMInfo', 'ACWEN PDT-42']);
      expect(inventory?.machine?.items[8]?.properties).to.deep.equal([
        ['Name', 'Flash'],
        ['Size', '61440'],
        ['UsedSpace', '20480'],
      ]);
      expect(inventory?.software?.files).to.have.deep.members([
        { path: '\\Program Files\\PickList\\picklist.exe', size: 131072, version: '1.4.2.0' },
        { path: '\\Program Files\\PickList\\readme.txt', size: 812 },
        { path: '\\Program Files\\PickList\\Data\\lists.sdf', size: 40960 },
      ]);
      expect(site.context.inventory.received).to.deep.include({ machine: 1, software: 1 });
    });

    it('accepts a collected file as raw bytes with its full device path', async () => {
      const bytes = Buffer.from([0xef, 0xbb, 0xbf, 0x5b, 0x73, 0x63, 0x61, 0x6e, 0x5d, 0x0d, 0x0a, 0x00, 0xff, 0xfe]);
      const file = '\\Application\\scanner\\settings.ini';
      const answer = await capture.send('Report', bytes, { contentType: null, headers: { [HEADERS.reportType]: 'FileCollection', [HEADERS.fileName]: file } });
      expect(answer.status, answer.body).to.equal(200);
      expect(answer.body).to.equal('');
      expect(site.context.inventory.get(CAPTURE.name)?.collectedFiles[file]).to.deep.equal({ size: bytes.length, time: site.clock.now() });
      const nameless = await capture.send('Report', bytes, { headers: { [HEADERS.reportType]: 'FileCollection' } });
      expect(nameless.status).to.equal(400);
      expect(nameless.body).to.include('X-Device-FullyQualifiedFilename');
    });

    it('takes any content type, or none, and documents with or without declaration and namespace, on either documented path', async () => {
      const variants = (xml: string): Record<string, string> => ({
        'as sent': xml,
        'no declaration': xml.replace(/^<\?xml[^>]*\?>\s*/, ''),
        'no namespace': xml.replace(/ xmlns="[^"]*"/, ''),
        'the https namespace': xml.replace('xmlns="http://', 'xmlns="https://'),
      });
      const contentTypes = ['text/xml; charset=utf-8', 'text/html; charset=utf-8', 'application/octet-stream', null, 'text/plain', 'application/xml'];
      const documents: [string, string, RegExp][] = [
        ['Poll', golden('DevicePoll-capture.xml'), /<PollResponse>/],
        ['InstructionRequest', about('InstructionsRequest.xml'), /<Instructions[ >]/],
        ['LocationRequest', about('PackageLocationRequest.xml'), /<PackageLocation[ >]/],
      ];
      for (const contentType of contentTypes) {
        for (const [action, xml, answerRoot] of documents) {
          for (const [variant, body] of Object.entries(variants(xml))) {
            const what = `${action}, ${variant}, Content-Type ${contentType ?? '(none)'}`;
            const answer = await capture.send(action, body, { contentType });
            expect(answer.status, `${what}: ${answer.body}`).to.equal(200);
            expect(answer.body, what).to.match(answerRoot);
          }
        }
      }
      const status = about('Status.xml')
        .replace(/^<\?xml[^>]*\?>\s*/, '')
        .replace(/ xmlns="[^"]*"/, '');
      expect((await capture.send('Status', status, { contentType: 'application/octet-stream' })).status).to.equal(200);
      expect(await site.messageIds('TST20001', CAPTURE.name)).to.include.members([11030, 11031, 11035]);
      const spelled = await capture.send('Poll', golden('DevicePoll-capture.xml'), { path: '/devicemgmt/server/aspx', contentType: null });
      expect(spelled.status, spelled.body).to.equal(200);
      expect(pollResponse.decode(spelled.body).packages).to.deep.equal([listed]);
    });

    it('answers an unknown X-Device-Action with 200 and a line of text, and does nothing', async () => {
      for (const action of ['Dance', 'Register', '']) {
        const answer = await capture.send(action, golden('DevicePoll-capture.xml'));
        expect(answer.status, action).to.equal(200);
        expect(answer.body, action).to.equal(`Unknown X-Device-Action field: ${action}`);
      }
      const stranger = new RawDevice(site, { ...capture.identification, id: 'NEW-DEVICE' }, 'NEW-DEVICE');
      const none = await stranger.send(null, stranger.pollDocument());
      expect(none.status).to.equal(200);
      expect(none.body).to.equal('Unknown X-Device-Action field: ');
      expect(site.context.devices.get('NEW-DEVICE')).to.equal(undefined);
      expect((await adminSite(site)).devices).to.equal(1);
    });

    it('takes a body whose root is Status as status whatever the action says', async () => {
      await capture.instructions(listed);
      const answer = await capture.send('DownloadEventStatus', about('Status.xml'));
      expect(answer.status, answer.body).to.equal(200);
      expect(answer.body).to.equal('');
      expect(await site.messageIds('TST20001', CAPTURE.name)).to.deep.equal([10002, 11030, 11031, 10005, 10008, 11035]);
      // Taken as status, it must carry the device's token like any status.
      const anonymous = await capture.send('DownloadEventStatus', about('Status.xml'), { omit: [HEADERS.auth] });
      expect(anonymous.status).to.equal(401);
    });

    it('answers a request without X-Device-UUID with 400, whatever the action', async () => {
      for (const [action, body] of [
        ['Poll', golden('DevicePoll-capture.xml')],
        ['InstructionRequest', about('InstructionsRequest.xml')],
        ['Status', about('Status.xml')],
        ['Dance', ''],
      ] as const) {
        const missing = await capture.send(action, body, { omit: [HEADERS.uuid] });
        expect(missing.status, action).to.equal(400);
        expect(missing.body, action).to.include('X-Device-UUID');
        const empty = await capture.send(action, body, { headers: { [HEADERS.uuid]: '' } });
        expect(empty.status, action).to.equal(400);
      }
      const bare = await site.post({}, golden('DevicePoll-capture.xml'));
      expect(bare.status).to.equal(400);
      expect(bare.body).to.include('X-Device-UUID');
    });

    it('answers 401 to any request but a poll without the token the poll gave, with a wrong one, or from a device that never polled', async () => {
      const requests: [string, string, Record<string, string>][] = [
        ['InstructionRequest', about('InstructionsRequest.xml'), {}],
        ['LocationRequest', about('PackageLocationRequest.xml'), {}],
        ['Status', about('Status.xml'), {}],
        ['Report', golden('Inventory-capture.xml'), { [HEADERS.reportType]: 'MachineInventory' }],
        ['Report', 'raw bytes', { [HEADERS.reportType]: 'FileCollection', [HEADERS.fileName]: '\\a.txt' }],
      ];
      const stranger = new RawDevice(site, { ...capture.identification, id: 'NEVER-POLLED' }, 'NEVER-POLLED');
      stranger.auth = capture.auth;
      for (const [action, body, headers] of requests) {
        const without = await capture.send(action, body, { headers, omit: [HEADERS.auth] });
        expect(without.status, `${action} without a token`).to.equal(401);
        const wrong = await capture.send(action, body, { headers: { ...headers, [HEADERS.auth]: 'not-the-token' } });
        expect(wrong.status, `${action} with a wrong token`).to.equal(401);
        const unknown = await stranger.send(action, body, { headers });
        expect(unknown.status, `${action} from a device that never polled`).to.equal(401);
        expect(unknown.body).to.include('NEVER-POLLED');
      }
      expect(await site.messageIds('TST20001', CAPTURE.name)).to.deep.equal([]);
      expect(site.context.inventory.get(CAPTURE.name)).to.equal(undefined);
      // The token the poll gave still works.
      expect((await capture.send('InstructionRequest', about('InstructionsRequest.xml'))).status).to.equal(200);
    });

    it('keeps a device’s token across its polls, and stamps each poll with the time of the poll', async () => {
      const token = capture.auth;
      await site.clock.advance(5 * HOUR + 30 * 60_000);
      const again = await capture.send('Poll', golden('DevicePoll-capture.xml'));
      expect(again.status).to.equal(200);
      expect(again.headers.get(HEADERS.auth)).to.equal(token);
      expect(again.headers.get(HEADERS.timestamp)).to.equal('6/1/2009 1:30:00 PM');
      // A poll naming the known UUID without its token (another client, or a device that lost it) learns nothing.
      const cold = await capture.send('Poll', golden('DevicePoll-capture.xml'), { omit: [HEADERS.auth], headers: { [HEADERS.timestamp]: '' } });
      expect(cold.status).to.equal(401);
      expect(cold.headers.get(HEADERS.auth)).to.equal(null);
      expect((await adminSite(site)).devices).to.equal(1);
      expect(site.context.devices.get(CAPTURE.uuid)).to.include({ firstPollAt: Date.parse('2009-06-01T08:00:00Z'), lastPollAt: site.clock.now() });
    });

    it('answers a document that does not decode with 400 and a line saying what is wrong, and keeps serving', async () => {
      const bad: [string, string, string][] = [
        ['Poll', '<DevicePoll><ManagementSystem><Name>x</Name></DevicePoll', 'not well-formed'],
        ['Poll', 'not xml at all', 'not well-formed'],
        ['Poll', '', 'empty'],
        ['Poll', golden('DevicePoll-capture.xml').replace(/<ID>[^<]*<\/ID>/, '<ID></ID>'), 'Identification/ID'],
        ['Poll', golden('DevicePoll-capture.xml').replace(/<Identification>[\s\S]*<\/Identification>/, ''), 'Identification'],
        ['Poll', about('Status.xml'), 'expected root element <DevicePoll>'],
        ['InstructionRequest', '<InstructionsRequest><Package /></InstructionsRequest>', 'Package/@ID'],
        ['LocationRequest', about('PackageLocationRequest.xml').replace(/<PackageID>[^<]*<\/PackageID>/, ''), 'PackageID'],
        ['Status', about('Status.xml').replace('messageID="11030"', 'messageID="starting"'), 'messageID'],
        ['Status', about('Status.xml').replace('timestamp="2024-09-14 06:30:02"', 'timestamp="yesterday"'), 'timestamp'],
        ['Status', '<Status xmlns="http://www.microsoft.com/DeviceManagement.xsd" />', 'StatusMessage'],
      ];
      for (const [action, body, mention] of bad) {
        const response = await capture.send(action, body);
        expect(response.status, `${action}: ${body}`).to.equal(400);
        expect(response.headers.get('content-type'), action).to.match(/^text\/plain/);
        expect(response.body, action).to.include(mention);
      }
      const reports: [string, string][] = [
        ['MachineInventory', golden('FileReport.xml')],
        ['MachineInventory', golden('Inventory-capture.xml').replace('<InventoryItem name="Device_OS">', '<InventoryItem>')],
        ['SoftwareInventory', golden('FileReport.xml').replace('Size="812"', 'Size="big"')],
        ['SoftwareInventory', '<FileReport />'],
      ];
      for (const [type, body] of reports) {
        const response = await capture.send('Report', body, { headers: { [HEADERS.reportType]: type } });
        expect(response.status, `${type}: ${body.slice(0, 80)}`).to.equal(400);
      }
      expect(site.context.inventory.get(CAPTURE.name)).to.equal(undefined);
      expect((await capture.send('Poll', golden('DevicePoll-capture.xml'))).status).to.equal(200);
      expect((await capture.instructions(listed)).id).to.equal(listed);
    });

    it('answers a report of a type it does not know with 200 and keeps nothing', async () => {
      for (const type of ['Gossip', '']) {
        const response = await capture.send('Report', golden('Inventory-capture.xml'), { headers: { [HEADERS.reportType]: type } });
        expect(response.status, type).to.equal(200);
        expect(response.body).to.equal('');
      }
      const untyped = await capture.send('Report', golden('FileReport.xml'));
      expect(untyped.status).to.equal(200);
      expect(site.context.inventory.get(CAPTURE.name)).to.equal(undefined);
    });
  });

  describe('device endpoint', () => {
    let site: InjectedSite;
    beforeEach(async () => {
      site = await InjectedSite.build(
        testSite({ advertisements: [APP_AD], collections: [{ id: 'CE6', name: 'CE 6 devices', rule: { platforms: ['Windows CE 6.0'] } }] }),
      );
    });
    afterEach(async () => (site as InjectedSite | undefined)?.close());

    it('offers a device the advertisements of its collections, and nothing else', async () => {
      await site.admin.post('/advertisements', { id: 'TST20002', name: 'CE driver', collectionId: 'CE6', packageId: 'TST00002', programName: 'Install' });
      const wm = RawDevice.of(site);
      const wmPoll = await wm.poll();
      expect(wmPoll.packages.map((id) => advertisementOf(site, id))).to.deep.equal(['TST20001']);
      expect(wmPoll.client?.failureRetryCount).to.equal(3);
      const offered = await wm.instructions(wmPoll.packages[0]!);
      expect(offered.extension?.advertisement).to.include({ id: 'TST20001', name: 'Test App rollout' });
      expect(offered.extension?.content).to.include({ packageId: 'TST00001', version: 1 });
      const ce = RawDevice.of(site, { id: 'CE-0001', platform: 'Windows CE 6.0' });
      const cePoll = await ce.poll();
      expect(cePoll.packages.map((id) => advertisementOf(site, id))).to.have.members(['TST20001', 'TST20002']);
      // The CE device's id for the driver is no use to the WM device.
      const driver = cePoll.packages.find((id) => advertisementOf(site, id) === 'TST20002')!;
      expect((await wm.send('InstructionRequest', instructionsRequest.encode({ packageId: driver }))).status).to.equal(404);
    });

    it('lists the same package id while the advertisement stays as it is, and a new one, with new content, once its package changes', async () => {
      const device = RawDevice.of(site);
      const first = await device.poll();
      expect((await device.poll()).packages).to.deep.equal(first.packages);
      // A change elsewhere on the site (a new collection, a direct member) leaves the package id as it is...
      expect((await site.admin.post('/collections', { id: 'PILOT', name: 'Pilot', members: ['WM-0001'] })).status).to.equal(201);
      expect((await device.poll()).packages).to.deep.equal(first.packages);
      // ...and makes the device a member of what it targets.
      expect(
        (
          await site.admin.post('/advertisements', {
            id: 'TST20002',
            name: 'Pilot driver',
            collectionId: 'PILOT',
            packageId: 'TST00002',
            programName: 'Install',
          })
        ).status,
      ).to.equal(201);
      const piloted = await device.poll();
      expect(piloted.packages.map((id) => advertisementOf(site, id))).to.deep.equal(['TST20001', 'TST20002']);
      expect(piloted.packages[0]).to.equal(first.packages[0]);

      const replaced = await site.admin.put('/packages/TST00001', { id: 'TST00001', name: 'Test App', source: 'app-v2' });
      expect(replaced.status, JSON.stringify(replaced.data)).to.equal(200);
      const after = await device.poll();
      const [renewed] = after.packages as [string];
      expect(renewed).to.not.equal(first.packages[0]);
      expect(advertisementOf(site, renewed)).to.equal('TST20001');
      const old = await device.send('InstructionRequest', instructionsRequest.encode({ packageId: first.packages[0]! }));
      expect(old.status).to.equal(404);
      expect(old.body).to.include('newer revision');
      expect((await device.instructions(renewed)).longDescription).to.equal('Test App, version 2');
      expect(httpUrlOf(await device.locate(renewed))).to.equal(`${site.url}/SMS_DP_SMSPKG$/TST00001/2.tar`);
    });

    it('counts a status message sent twice (same Sequence) once, and /site counts the messages devices sent', async () => {
      const device = RawDevice.of(site);
      const [id] = (await device.poll()).packages as [string];
      await device.instructions(id);
      const time = Date.parse('2009-06-01T08:05:00Z');
      const messages = [
        sequenced(id, 11030, time, 1),
        sequenced(id, 11031, time + 1000, 2),
        sequenced(id, 11035, time + 31_000, 3, { [PARAMETER.exitCode]: '0', [PARAMETER.durationSeconds]: '30' }),
      ];
      const first = await device.status(messages);
      expect(first.status, first.body).to.equal(200);
      expect(first.body).to.equal('');
      const second = await device.status(messages);
      expect(second.status, second.body).to.equal(200);
      // The same Sequence with another timestamp is still the same message.
      expect((await device.status([{ ...messages[2]!, time: time + 60_000 }])).status).to.equal(200);

      const counts = await adminSite(site);
      expect(counts.deviceMessages).to.equal(3);
      // 10002, then 11030; 11031 and the 10005 of the program it started; 10008 and 11035.
      expect(counts.statusMessages).to.equal(6);
      const stored = await site.messages('TST20001');
      expect(stored.map((m) => m.messageId)).to.deep.equal([10002, 11030, 11031, 10005, 10008, 11035]);
      expect(stored.every((m) => m.deviceId === 'WM-0001' && m.packageId === 'TST00001')).to.equal(true);
      const succeeded = stored.find((m) => m.messageId === 10008)!;
      expect(succeeded.time).to.equal(time + 31_000);
      expect(succeeded.details).to.deep.equal({ ExitCode: '0', DurationSeconds: '30' });
      const { data: summary } = await site.admin.get<AdvertisementStatus>('/advertisements/TST20001/status');
      expect(summary).to.deep.include({ targeted: 1, received: 1 });
      expect(summary.byState.succeeded).to.equal(1);
      expect(summary.byMessageId).to.deep.equal({ 10002: 1, 10005: 1, 10008: 1, 11030: 1, 11031: 1, 11035: 1 });
    });

    it('records a failed program and a refused package as ConfigMgr would', async () => {
      const device = RawDevice.of(site);
      const [id] = (await device.poll()).packages as [string];
      const time = Date.parse('2009-06-01T08:05:00Z');
      const answer = await device.status([
        sequenced(id, 11030, time, 1),
        sequenced(id, 11031, time + 1000, 2),
        sequenced(id, 11033, time + 2000, 3, { [PARAMETER.reason]: 'ExitCode', [PARAMETER.exitCode]: '1603' }),
        sequenced(id, 11034, time + 3000, 4, { [PARAMETER.reason]: 'AdvertisementExpired' }),
      ]);
      expect(answer.status, answer.body).to.equal(200);
      expect(await site.messageIds('TST20001')).to.deep.equal([11030, 11031, 10005, 10006, 10019]);
      expect((await site.messages('TST20001')).find((m) => m.messageId === 10006)!.details).to.include({ ExitCode: '1603' });
    });

    it('answers every valid request with a document that validates against the reference schema, or with nothing', async () => {
      await site.admin.post('/advertisements', { id: 'TST20005', name: 'Baseline', collectionId: 'ALL', packageId: 'TST00005' });
      await site.admin.post('/advertisements', {
        id: 'TST20002',
        name: 'Driver when docked',
        collectionId: 'ALL',
        packageId: 'TST00002',
        programName: 'Install',
        assignment: 'docked',
        mandatory: false,
        expiresAt: '2030-01-01T00:00:00Z',
      });
      const device = RawDevice.of(site);
      // RawDevice.send validates every 200 answer that carries a document; here every answer is checked by hand too.
      const answers: [string, Answer][] = [];
      const send = async (action: string, body: string, headers: Record<string, string> = {}) => {
        const answer = await device.send(action, body, { headers });
        expect(answer.status, `${action}: ${answer.body}`).to.equal(200);
        answers.push([action, answer]);
        return answer;
      };
      device.remember(await send('Poll', device.pollDocument()));
      const packages = pollResponse.decode(answers[0]![1].body).packages;
      expect(packages.map((id) => advertisementOf(site, id))).to.have.members(['TST20001', 'TST20002', 'TST20005']);
      for (const id of packages) {
        await send('InstructionRequest', instructionsRequest.encode({ packageId: id }));
        await send('LocationRequest', device.locationRequest(id));
        await send('Status', statusDocument.encode({ messages: [sequenced(id, 11030, site.clock.now(), packages.indexOf(id) + 1)] }));
      }
      await send('Report', golden('Inventory-capture.xml'), { [HEADERS.reportType]: 'MachineInventory' });
      await send('Report', golden('FileReport.xml'), { [HEADERS.reportType]: 'SoftwareInventory' });
      await send('Report', 'x=1', { [HEADERS.reportType]: 'FileCollection', [HEADERS.fileName]: '\\Windows\\a.ini' });
      await send('Poll', device.pollDocument());
      for (const [action, answer] of answers) {
        if (action === 'Status' || action === 'Report') {
          expect(answer.body, action).to.equal('');
        } else {
          assertValid(answer.body, `answer to ${action}`);
        }
      }
      const docked = answers.find(([action, answer]) => action === 'InstructionRequest' && answer.body.includes('TST00002'))![1].body;
      expect(instructions.decode(docked)).to.include({ required: false, flags: 0x04 });
    });
  });

  describe('admin API', () => {
    let site: InjectedSite;
    beforeEach(async () => {
      site = await InjectedSite.build();
    });
    afterEach(async () => (site as InjectedSite | undefined)?.close());

    const PACKAGE = { id: 'TST0000A', name: 'New App', source: 'app' };
    const PROGRAM = { packageId: 'TST0000A', name: 'Install', commandLine: 'wceload.exe App.cab', platforms: ['Windows Mobile 6.5'] };
    const COLLECTION = { id: 'WM65', name: 'Windows Mobile 6.5', rule: { platforms: ['Windows Mobile 6.5'] } };
    const ADVERTISEMENT = { id: 'TST2000A', name: 'New App rollout', collectionId: 'WM65', packageId: 'TST0000A', programName: 'Install' };

    async function createAll(): Promise<void> {
      for (const [route, body] of [
        ['/packages', PACKAGE],
        ['/programs', PROGRAM],
        ['/collections', COLLECTION],
        ['/advertisements', ADVERTISEMENT],
      ] as const) {
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
      expect(ads).to.deep.equal([{ ...ADVERTISEMENT, availableAt: '2000-01-01T00:00:00Z', mandatory: true, assignment: 'always', rerun: 'ifFailed' }]);
      const content = await site.download(`${site.url}/SMS_DP_SMSPKG$/TST0000A/1.tar`);
      expect(content.status).to.equal(200);
      expect((await readTar(content.body)).map((e) => e.path)).to.deep.equal(['App.cab', 'Setup.exe', 'readme.txt']);
    });

    it('counts as targeted the devices of the collection that have polled, and lists them without their tokens', async () => {
      await createAll();
      const none = await site.admin.get(`/advertisements/${ADVERTISEMENT.id}/status`);
      expect(none.status).to.equal(200);
      expect(none.data).to.deep.include({ advertisementId: ADVERTISEMENT.id, targeted: 0, received: 0 });
      for (const [id, platform] of [
        ['WM-0001', 'Windows Mobile 6.5'],
        ['WM-0002', 'Windows Mobile 6.5'],
        ['CE-0001', 'Windows CE 6.0'],
        ['WM-0003', 'Windows Mobile 6.1'],
      ] as const) {
        await RawDevice.of(site, { id, platform }).poll();
      }
      const { data: status } = await site.admin.get<AdvertisementStatus>(`/advertisements/${ADVERTISEMENT.id}/status`);
      expect(status.targeted).to.equal(2);
      await site.admin.post(`/collections/${COLLECTION.id}/members`, { devices: ['CE-0001'] });
      expect((await site.admin.get<AdvertisementStatus>(`/advertisements/${ADVERTISEMENT.id}/status`)).data.targeted).to.equal(3);
      const { data: devices } = await site.admin.get<Record<string, unknown>[]>('/devices');
      expect(devices.map((d) => d.name)).to.have.members(['WM-0001', 'WM-0002', 'CE-0001', 'WM-0003']);
      expect(devices.every((d) => !('authToken' in d) && typeof d.uuid === 'string')).to.equal(true);
    });

    it('answers an invalid body with 400 naming the field and the reason', async () => {
      const response = await site.admin.post<AdminError>('/packages', { ...PACKAGE, id: 'bad-id' });
      expect(response.status).to.equal(400);
      expect(response.headers['content-type']).to.match(/^application\/json/);
      expect(response.data).to.deep.include({ field: 'id' });
      expect(response.data.reason).to.match(/site code and 5 hex digits/);
      const nested = await site.admin.post<AdminError>('/programs', { ...PROGRAM, platforms: ['Windows Mobile 6.5', 'Palm OS'] });
      expect(nested.status).to.equal(400);
      expect(nested.data.field).to.equal('platforms.1');
      expect(nested.data.reason).to.be.a('string').and.not.equal('');
    });

    it('answers an unknown field with 400', async () => {
      const response = await site.admin.post<AdminError>('/collections', { ...COLLECTION, colour: 'blue' });
      expect(response.status).to.equal(400);
      expect(response.data.field).to.equal('colour');
      expect(response.data.reason).to.include('colour');
      const nested = await site.admin.post<AdminError>('/collections', { ...COLLECTION, rule: { platforms: ['Windows Mobile 6.5'], colour: 'blue' } });
      expect(nested.status).to.equal(400);
      expect(nested.data.field).to.equal('rule.colour');
      expect(nested.data.reason).to.include('colour');
      expect((await site.admin.get('/collections')).data).to.have.length(1);
    });

    it('answers a reference to a missing collection with 404 naming collectionId', async () => {
      await createAll();
      const response = await site.admin.post<AdminError>('/advertisements', { ...ADVERTISEMENT, id: 'TST2000B', collectionId: 'NOPE' });
      expect(response.status).to.equal(404);
      expect(response.data.field).to.equal('collectionId');
      expect(response.data.reason).to.include('NOPE');
    });

    it('answers a duplicate id with 409', async () => {
      await createAll();
      for (const [route, body] of [
        ['/packages', PACKAGE],
        ['/collections', COLLECTION],
        ['/advertisements', ADVERTISEMENT],
        ['/programs', PROGRAM],
      ] as const) {
        const response = await site.admin.post(route, body);
        expect(response.status, route).to.equal(409);
      }
      expect((await site.admin.post<AdminError>('/packages', { ...PACKAGE })).data.field).to.equal('id');
    });

    it('answers an advertisement of a software package without programName with 400', async () => {
      await createAll();
      const { programName: _omitted, ...withoutProgram } = ADVERTISEMENT;
      const response = await site.admin.post<AdminError>('/advertisements', { ...withoutProgram, id: 'TST2000C' });
      expect(response.status).to.equal(400);
      expect(response.data.field).to.equal('programName');
      expect((await site.admin.get('/advertisements')).data).to.have.length(1);
    });

    it('answers the status of an unknown advertisement with 404', async () => {
      const response = await site.admin.get<AdminError>('/advertisements/NOPE0001/status');
      expect(response.status).to.equal(404);
      expect(response.data.field).to.equal('advertisementId');
    });

    it('answers a malformed JSON body with 400, not 500', async () => {
      // Bodies sent as they are: the admin client would JSON-encode a string into a valid JSON string.
      const json = { 'content-type': 'application/json' };
      for (const body of ['{"id": "TST0000A", "name":', '']) {
        const response = await site.request<AdminError>('post', '/admin/packages', { headers: json, body });
        expect(response.status, JSON.stringify(body)).to.equal(400);
        const error = response.data;
        expect(error.field).to.equal('(request)');
        expect(error.reason).to.match(/^FST_ERR_CTP_(INVALID|EMPTY)_JSON_BODY$/);
      }
      const array = await site.request<AdminError>('post', '/admin/packages', { headers: json, body: '[1]' });
      expect(array.status).to.equal(400);
      expect(array.data.field).to.equal('(body)');
      expect((await site.admin.get('/packages')).data).to.have.length(5);
    });

    it('answers a package whose source directory does not exist with 400 naming source', async () => {
      const response = await site.admin.post<AdminError>('/packages', { ...PACKAGE, source: 'does-not-exist' });
      expect(response.status).to.equal(400);
      expect(response.data.field).to.equal('source');
      const replaced = await site.admin.put('/packages/TST00001', { id: 'TST00001', name: 'Test App', source: 'does-not-exist' });
      expect(replaced.status).to.equal(400);
    });
  });

  describe('faults API', () => {
    let site: InjectedSite;
    beforeEach(async () => {
      site = await InjectedSite.build();
    });
    afterEach(async () => (site as InjectedSite | undefined)?.close());

    it('refuses a content fault on a management point endpoint', async () => {
      const response = await site.admin.post<AdminError>('/faults', { endpoint: 'Poll', kind: 'corrupt-content' });
      expect(response.status).to.equal(400);
      expect(response.data.field).to.equal('kind');
      expect(response.data.reason).to.include('Content');
      expect((await site.admin.get('/faults')).data).to.deep.equal([]);
    });

    it('makes polls answer the fault status until the faults are cleared', async () => {
      const device = RawDevice.of(site);
      await device.poll();
      const added = await site.admin.post<ActiveFault>('/faults', { endpoint: 'Poll', kind: 'http-error', status: 503, rate: 1 });
      expect(added.status).to.equal(201);
      expect(added.data).to.include({ endpoint: 'Poll', kind: 'http-error', status: 503 });
      for (let i = 0; i < 3; i++) {
        const response = await device.send('Poll', device.pollDocument());
        expect(response.status).to.equal(503);
        expect(response.body).to.include(`fault ${added.data.id} injected on Poll`);
      }
      // Other endpoints are untouched.
      const other = await device.send('InstructionRequest', instructionsRequest.encode({ packageId: '0BADBEEF-0000-4000-8000-000000000000' }));
      expect(other.status).to.equal(404);
      const cleared = await site.admin.delete('/faults');
      expect(cleared.status).to.equal(204);
      expect((await site.admin.get('/faults')).data).to.deep.equal([]);
      expect((await device.poll()).client).to.not.equal(null);
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
        expect(await etag(server.url))
          .to.equal(await etag(other.url))
          .and.match(/^"[0-9a-f]{64}"$/);
      } finally {
        await other.close();
      }
    });
  });
});
