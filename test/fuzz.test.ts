import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import type { z } from 'zod';
import { identificationOf } from '../src/agent/device-identity.js';
import { SiteConnection, type WireExchange } from '../src/agent/site-connection.js';
import { advertisementSchema } from '../src/domain/advertisement.js';
import { collectionSchema } from '../src/domain/collection.js';
import { configurationItemSchema } from '../src/domain/configuration-item.js';
import { packageSchema } from '../src/domain/package.js';
import { programSchema } from '../src/domain/program.js';
import { devicePoll } from '../src/protocol/documents/device-poll.js';
import { instructionsRequest } from '../src/protocol/documents/instructions-request.js';
import { machineInventory } from '../src/protocol/documents/machine-inventory.js';
import { packageLocationRequest } from '../src/protocol/documents/package-location-request.js';
import { statusDocument } from '../src/protocol/documents/status.js';
import { ACTIONS, HEADERS, MANAGEMENT_SYSTEM } from '../src/protocol/wire.js';
import { seededRandom, type Random } from '../src/random.js';
import { faultSchema } from '../src/admin/contract.js';
import { InjectedSite, type AdminMethod } from './support/injected-site.js';
import { profile, testSite, type AdminError } from './support/test-site.js';
import { assertValid } from './support/xml-conformance.js';

const APP_AD = { id: 'TST20001', name: 'Test App rollout', collectionId: 'ALL', packageId: 'TST00001', programName: 'Install' };
const golden = (file: string) => readFileSync(new URL(`./conformance/golden/${file}`, import.meta.url), 'utf8');

/** Random JSON: scalars, arrays and objects, sometimes with the field names the schemas use. */
function randomJson(random: Random, depth = 0): unknown {
  const names = [
    'id',
    'name',
    'packageId',
    'programName',
    'collectionId',
    'source',
    'platforms',
    'settings',
    'kind',
    'endpoint',
    'rate',
    'expected',
    'members',
    'rule',
    '__proto__',
    'constructor',
  ];
  switch (random.int(0, depth > 2 ? 4 : 6)) {
    case 0:
      return null;
    case 1:
      return random.next() < 0.5;
    case 2:
      return [0, -1, 1e308, Number.MAX_SAFE_INTEGER + 2, 3.5, random.int(-1e6, 1e6)][random.int(0, 5)];
    case 3:
      return ['', 'MLC00001', 'TST00001', '../../etc', 'Windows Mobile 6.5', '0000-00-00 01:00:00', 'x'.repeat(random.int(0, 3000)), '\u0000\ud800<&>'][
        random.int(0, 7)
      ];
    case 4:
      return '2009-06-01T08:00:00Z';
    case 5:
      return Array.from({ length: random.int(0, 4) }, () => randomJson(random, depth + 1));
    default:
      return Object.fromEntries(Array.from({ length: random.int(0, 6) }, () => [names[random.int(0, names.length - 1)]!, randomJson(random, depth + 1)]));
  }
}

/** Random bytes, random text, or a valid document cut or with a byte changed. */
function randomBody(random: Random, valid: string): string | Buffer {
  switch (random.int(0, 4)) {
    case 0:
      return Buffer.from(Array.from({ length: random.int(0, 400) }, () => random.int(0, 255)));
    case 1:
      return valid.slice(0, random.int(0, valid.length));
    case 2: {
      const at = random.int(0, valid.length - 1);
      return valid.slice(0, at) + String.fromCharCode(random.int(0, 0xffff)) + valid.slice(at + 1);
    }
    case 3:
      return JSON.stringify(randomJson(random));
    default:
      return valid.replace(/"[^"]*"/, `"${'A'.repeat(random.int(0, 5000))}"`);
  }
}

/** What one known action is sent: a document it takes, and changes that break it as the reference defines it. */
interface Target {
  action: string;
  reportType?: string;
  valid: string;
  /** Each breaks a rule of the document: a required element or attribute gone or empty, a value in the wrong format. */
  breaks: ((xml: string) => string)[];
}

/**
 * A body the action cannot take, by construction: random bytes, the document cut before its last `>`, a `<` or `&`
 * where it is not allowed, JSON, another action's document, or the document with one rule broken.
 */
function brokenBody(random: Random, target: Target, others: string[]): string | Buffer {
  const valid = target.valid;
  switch (random.int(0, 5)) {
    case 0:
      return Buffer.from(Array.from({ length: random.int(0, 400) }, () => random.int(0, 255)));
    case 1:
      return valid.slice(0, random.int(0, valid.length - 1));
    case 2: {
      const at = random.int(0, valid.length);
      return valid.slice(0, at) + (random.next() < 0.5 ? '<' : '&') + valid.slice(at);
    }
    case 3:
      return JSON.stringify(randomJson(random));
    case 4:
      return others[random.int(0, others.length - 1)]!;
    default:
      return target.breaks[random.int(0, target.breaks.length - 1)]!(valid);
  }
}

/** Header-safe printable ASCII. */
const printable = (random: Random, length: number) => Array.from({ length }, () => String.fromCharCode(random.int(0x20, 0x7e))).join('');

const CONTENT_TYPES = [
  'text/xml; charset=utf-8',
  'application/xml',
  'text/html; charset=utf-8',
  'application/octet-stream',
  'text/plain',
  'application/json',
  null,
];

describe('fuzz: bad input at every endpoint gets a 4xx, never a 5xx, and the site keeps serving', function () {
  this.timeout(60_000);
  // Requests are injected into the site's app (no socket), but for the well-behaved device's, which comes through
  // the agent's own HTTP client.
  let site: InjectedSite;
  /** The fuzzing device, once it has polled: its UUID and token, and the package the site listed for it. */
  const fuzzer = { uuid: '', auth: '', listed: '' };
  before(async () => {
    site = await InjectedSite.build(testSite({ advertisements: [APP_AD] }));
    const identification = identificationOf(profile({ id: 'FUZZ-1' }));
    fuzzer.uuid = identification.id;
    const poll = devicePoll.encode({ managementSystem: MANAGEMENT_SYSTEM, identification, connection: { authorizationToken: '0', timestamp: '0' } });
    const answer = await site.post({ [HEADERS.uuid]: fuzzer.uuid, [HEADERS.action]: 'Poll', 'content-type': 'text/xml' }, poll);
    expect(answer.status).to.equal(200);
    fuzzer.auth = answer.headers.get(HEADERS.auth)!;
    fuzzer.listed = /<Package ID="([^"]+)"/.exec(answer.body)![1]!;
  });
  after(async () => (site as InjectedSite | undefined)?.close());

  const ROUNDS = 150;

  it('admin API: exactly a 4xx for whatever its schema refuses', async () => {
    const random = seededRandom(2024);
    // A random object can make a valid collection (an id, a name and members): the site may create it. Every other
    // body the route's schema refuses, and so must the site, with a 4xx.
    const routes: [AdminMethod, string, z.ZodType | null][] = [
      ['post', '/admin/packages', packageSchema],
      ['put', '/admin/packages/TST00001', packageSchema],
      ['post', '/admin/programs', programSchema],
      ['post', '/admin/configuration-items', configurationItemSchema],
      ['put', '/admin/configuration-items/CI-PIN', configurationItemSchema],
      ['post', '/admin/collections', collectionSchema],
      ['post', '/admin/collections/ALL/members', null],
      ['post', '/admin/advertisements', advertisementSchema],
      ['patch', '/admin/advertisements/TST20001', null],
      ['post', '/admin/faults', faultSchema],
    ];
    let refused = 0;
    for (const [method, url, schema] of routes) {
      for (let round = 0; round < ROUNDS; round++) {
        const body = random.next() < 0.8 ? JSON.stringify(randomJson(random)) : randomBody(random, '{"id":"TST00009","name":"x"}');
        const response = await site.request(method, url, { body, headers: { 'content-type': 'application/json' } });
        const what = `${method} ${url} ${String(body).slice(0, 200)}: ${JSON.stringify(response.data).slice(0, 300)}`;
        let valid = false;
        try {
          valid = schema?.safeParse(JSON.parse(String(body))).success ?? false;
        } catch {
          // Not JSON: refused.
        }
        if (valid) {
          expect(response.status, what).to.be.below(500);
        } else {
          expect(response.status, what).to.be.within(400, 499);
          refused++;
        }
      }
    }
    expect(refused).to.be.above(routes.length * ROUNDS * 0.95);
    for (let round = 0; round < ROUNDS; round++) {
      const known = random.next() < 0.5;
      const response = await site.request('get', '/admin/status-messages', {
        params: { [known ? 'advertisementId' : 'bogus']: String(randomJson(random)).replace(/[\ud800-\udfff]/g, '?') },
      });
      expect(response.status).to.equal(known ? 200 : 400);
    }
    // Nothing a refused request carried made it onto the site.
    expect((await site.admin.get('/faults')).data).to.deep.equal([]);
    expect((await site.admin.get('/packages')).data).to.have.length(5);
  });

  it('device management point: exactly a 4xx for a bad document, header or token on a known action', async () => {
    const random = seededRandom(1978);
    const stamp = '2009-06-01 08:05:00';
    const targets: Target[] = [
      {
        action: 'Poll',
        valid: devicePoll.encode({
          managementSystem: MANAGEMENT_SYSTEM,
          identification: identificationOf(profile({ id: 'FUZZ-1' })),
          connection: { authorizationToken: '0', timestamp: '0' },
        }),
        breaks: [
          (xml) => xml.replace(/<ID>[^<]*<\/ID>/, '<ID></ID>'),
          (xml) => xml.replace(/<ID>[^<]*<\/ID>/, ''),
          (xml) => xml.replace(/<Identification>.*<\/Identification>/, ''),
          (xml) => xml.replace(/<DeviceName>[^<]*<\/DeviceName>/, ''),
          (xml) => xml.replace(/<ManagementSystem>.*<\/ManagementSystem>/, ''),
          (xml) => xml.replace(/(<Identification>.*<\/Identification>)/, '$1$1'),
        ],
      },
      {
        action: 'InstructionRequest',
        valid: instructionsRequest.encode({ packageId: fuzzer.listed }),
        breaks: [
          (xml) => xml.replace(/ ID="[^"]*"/, ''),
          (xml) => xml.replace(/ ID="[^"]*"/, ' ID=""'),
          (xml) => xml.replace(/<Package[^>]*\/>/, ''),
          (xml) => xml.replace(/(<Package[^>]*\/>)/, '$1$1'),
        ],
      },
      {
        action: 'LocationRequest',
        valid: packageLocationRequest.encode({
          packageId: fuzzer.listed,
          clientLocation: { directoryService: 'FUZZ', ipAddresses: [{ address: '10.0.0.1', subnet: '255.0.0.0' }] },
        }),
        breaks: [
          (xml) => xml.replace(/<PackageID>[^<]*<\/PackageID>/, ''),
          (xml) => xml.replace(/<PackageID>[^<]*<\/PackageID>/, '<PackageID></PackageID>'),
          (xml) => xml.replace(/ address="[^"]*"/, ''),
        ],
      },
      {
        action: 'Status',
        valid: statusDocument.encode({
          messages: [{ packageId: fuzzer.listed, messageId: 11030, time: Date.parse('2009-06-01T08:05:00Z'), parameters: { Sequence: '1.1' } }],
        }),
        breaks: [
          (xml) => xml.replace('messageID="11030"', 'messageID="starting"'),
          (xml) => xml.replace(`timestamp="${stamp}"`, 'timestamp="2009-06-01T08:05:00Z"'),
          (xml) => xml.replace(`timestamp="${stamp}"`, 'timestamp="2009-02-30 08:05:00"'),
          (xml) => xml.replace(/ packageID="[^"]*"/, ''),
          (xml) => xml.replace(/<StatusMessage.*<\/StatusMessage>/, ''),
          (xml) => xml.replace('<Parameter name="Sequence">', '<Parameter>'),
        ],
      },
      {
        action: 'Report',
        reportType: 'MachineInventory',
        valid: golden('Inventory-capture.xml').trim(),
        breaks: [
          (xml) => xml.replace('<InventoryItem name="Device_OS">', '<InventoryItem>'),
          (xml) => xml.replace('<Property name="ISA">', '<Property name="">'),
        ],
      },
      {
        action: 'Report',
        reportType: 'SoftwareInventory',
        valid: golden('FileReport.xml').trim(),
        breaks: [
          (xml) => xml.replace(' Size="812"', ''),
          (xml) => xml.replace('Size="812"', 'Size="812 bytes"'),
          (xml) => xml.replace('Created="2024-09-01 08:00:00"', 'Created="last week"'),
          (xml) => xml.replace(/<Directory[\s\S]*<\/Directory>/, ''),
          (xml) => xml.replace(/(<Directory[\s\S]*<\/Directory>)/, '$1$1'),
          (xml) => xml.replace('Name="readme.txt"', 'Name=""'),
        ],
      },
    ];
    // Each document starts out conforming to the reference, and each break really changes it.
    for (const target of targets) {
      assertValid(target.valid, `${target.action} ${target.reportType ?? ''}`);
      for (const [i, broken] of target.breaks.entries()) expect(broken(target.valid), `${target.action} break ${i}`).to.not.equal(target.valid);
    }
    const roots = (xml: string) => /<([A-Za-z]+)[ >]/.exec(xml.replace(/^<\?xml[^>]*\?>/, ''))![1];
    const headersFor = (target: Target) => {
      const headers: Record<string, string> = { [HEADERS.action]: target.action };
      const contentType = CONTENT_TYPES[random.int(0, CONTENT_TYPES.length - 1)];
      if (contentType) headers['content-type'] = contentType;
      const who = random.next();
      if (who < 0.85) headers[HEADERS.uuid] = fuzzer.uuid;
      else if (who < 0.9) headers[HEADERS.uuid] = '';
      else if (who < 0.95) headers[HEADERS.uuid] = printable(random, random.int(1, 60));
      const token = random.next();
      if (token < 0.8) headers[HEADERS.auth] = fuzzer.auth;
      else if (token < 0.9) headers[HEADERS.auth] = printable(random, random.int(0, 40));
      if (target.reportType) headers[HEADERS.reportType] = target.reportType;
      return headers;
    };
    for (const target of targets) {
      const others = targets.filter((t) => roots(t.valid) !== roots(target.valid)).map((t) => t.valid);
      for (let round = 0; round < ROUNDS; round++) {
        const headers = headersFor(target);
        const body = brokenBody(random, target, others);
        const response = await site.post(headers, body);
        const what = `${target.action} ${target.reportType ?? ''} ${JSON.stringify(headers)} ${String(body).slice(0, 300)} → ${response.body.slice(0, 300)}`;
        expect(response.status, what).to.be.within(400, 499);
      }
    }
    // A file upload is raw bytes, any bytes: what makes one bad is a missing file name, or the device's token.
    for (let round = 0; round < ROUNDS; round++) {
      const headers = headersFor({ action: 'Report', reportType: 'FileCollection', valid: '', breaks: [] });
      const response = await site.post(headers, randomBody(random, 'key=value\r\n'));
      expect(response.status, `FileCollection ${JSON.stringify(headers)} → ${response.body}`).to.be.within(400, 499);
    }
    // Bodies past the site's size limit, on every action.
    for (const action of ACTIONS) {
      const response = await site.post(
        { [HEADERS.uuid]: fuzzer.uuid, [HEADERS.auth]: fuzzer.auth, [HEADERS.action]: action },
        Buffer.alloc(2 * 1024 * 1024, 0x41),
      );
      expect(response.status, action).to.be.within(400, 499);
    }
    // None of it reached the site's records: no device, status or report came of it.
    expect((await site.admin.get('/site')).data).to.deep.include({ devices: 1, deviceMessages: 0, statusMessages: 0 });
    expect(site.context.inventory.received).to.deep.equal({ machine: 0, software: 0, files: 0 });
  });

  it('device management point: 200 and a line of text for an action it does not know, 200 for a report type it does not know', async () => {
    const random = seededRandom(77);
    const valid = devicePoll.encode({
      managementSystem: MANAGEMENT_SYSTEM,
      identification: identificationOf(profile({ id: 'FUZZ-1' })),
      connection: { authorizationToken: '0', timestamp: '0' },
    });
    for (const action of ['Nonsense', '', 'Register', 'PackageLocationRequest', 'Report/MachineInventory']) {
      for (let round = 0; round < ROUNDS / 5; round++) {
        const body = randomBody(random, valid);
        const response = await site.post({ [HEADERS.uuid]: fuzzer.uuid, [HEADERS.action]: action, [HEADERS.auth]: fuzzer.auth }, body);
        const what = `${action} ${String(body).slice(0, 200)}`;
        if (/^\s*(<\?xml[^>]*\?>\s*)?<Status[\s>/]/.test(String(body))) {
          // A body whose root is Status is taken as status: never a 5xx.
          expect(response.status, what).to.be.below(500);
        } else {
          expect(response.status, what).to.equal(200);
          expect(response.body, what).to.equal(`Unknown X-Device-Action field: ${action}`);
        }
      }
    }
    for (const type of ['Gossip', '', 'machine inventory']) {
      for (let round = 0; round < ROUNDS / 5; round++) {
        const response = await site.post(
          { [HEADERS.uuid]: fuzzer.uuid, [HEADERS.action]: 'Report', [HEADERS.auth]: fuzzer.auth, [HEADERS.reportType]: type },
          randomBody(random, valid),
        );
        expect(response.status, type).to.equal(200);
        expect(response.body).to.equal('');
      }
    }
    expect(site.context.inventory.get('FUZZ-1')).to.equal(undefined);
  });

  it('distribution point: a range it can serve, or 416', async () => {
    const random = seededRandom(4242);
    for (let round = 0; round < ROUNDS; round++) {
      const range =
        random.next() < 0.5 ? `bytes=${random.int(-5, 3000)}-${random.next() < 0.3 ? '' : random.int(-5, 3000)}` : printable(random, random.int(0, 30));
      const response = await site.download(`/SMS_DP_SMSPKG$/TST00001/1.tar`, range);
      expect([200, 206, 416], range).to.include(response.status);
    }
  });

  it('refuses package content from outside the content root', async () => {
    const response = await site.request<AdminError>('post', '/admin/packages', {
      body: JSON.stringify({ id: 'TST0000E', name: 'escape', source: '../../../etc' }),
      headers: { 'content-type': 'application/json' },
    });
    expect(response.status).to.equal(400);
    expect(response.data).to.include({ field: 'source' });
    expect(response.data.reason).to.match(/outside the content root/);
  });

  it('still answers a well-behaved device afterwards, every answer a document that validates', async () => {
    // The agent's SiteConnection speaks HTTP through its own undici Agent, which nothing can swap for inject: the
    // same app, with all the fuzzing behind it, goes on a socket for it.
    const serverUrl = await site.listen();
    const exchanges: WireExchange[] = [];
    const connection = new SiteConnection({ serverUrl, clock: site.clock, onWire: (exchange) => exchanges.push(exchange) });
    try {
      const identification = identificationOf(profile({ id: 'WELL-1' }));
      const answer = await connection.poll({ uuid: identification.id, auth: '', timestamp: '' }, identification);
      const credentials = { uuid: identification.id, auth: answer.auth!, timestamp: answer.timestamp! };
      const [listed] = answer.policy.packages as [string];
      expect(listed).to.equal(fuzzer.listed);
      const instruction = await connection.instructions(credentials, listed);
      const adapter = identification.networkAdapters[0]!;
      const location = await connection.locate(credentials, {
        packageId: listed,
        clientLocation: { directoryService: 'MLCSIM', ipAddresses: [{ address: adapter.ipAddress, subnet: adapter.ipSubnet }] },
      });
      const content = await connection.download(location.locations.find((l) => l.httpUrl)!.httpUrl!, 0);
      expect(content.status).to.equal(200);
      expect(content.cutOff).to.equal(null);
      expect(content.body.length).to.equal(instruction.packageSize);
      const time = site.clock.now();
      await connection.reportStatus(
        credentials,
        [11030, 11031, 11035].map((messageId, i) => ({ packageId: listed, messageId, time: time + i * 1000, parameters: { Sequence: `1.${i + 1}` } })),
      );
      await connection.report(
        credentials,
        'MachineInventory',
        machineInventory.encode({ type: 'machine', items: [{ name: 'Device_OS', properties: [['Platform', '3']] }] }),
      );
      expect(await site.messageIds('TST20001', 'WELL-1')).to.deep.equal([10002, 11030, 11031, 10005, 10008, 11035]);
      expect(site.context.inventory.get('WELL-1')?.machine?.items).to.have.length(1);
      // The fuzzing device too: same token, and its poll still lists the package.
      const again = await connection.poll({ uuid: fuzzer.uuid, auth: fuzzer.auth, timestamp: '' }, identificationOf(profile({ id: 'FUZZ-1' })));
      expect(again.auth).to.equal(fuzzer.auth);
      expect(again.policy.packages).to.deep.equal([fuzzer.listed]);
    } finally {
      await connection.close();
    }
    expect(exchanges.map((e) => [e.action, e.status])).to.deep.equal([
      ['Poll', 200],
      ['InstructionRequest', 200],
      ['LocationRequest', 200],
      ['Status', 200],
      ['Report/MachineInventory', 200],
      ['Poll', 200],
    ]);
    for (const exchange of exchanges) {
      assertValid(exchange.request.body, `${exchange.action} request`);
      if (exchange.response!.body !== '') assertValid(exchange.response!.body, `${exchange.action} answer`);
      else expect(['Status', 'Report/MachineInventory'], exchange.action).to.include(exchange.action);
    }
  });
});
