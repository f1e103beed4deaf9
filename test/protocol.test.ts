// The device-management wire (src/protocol) graded against material it did not write: the golden documents and
// XSDs in test/conformance, written from the protocol reference (dm-protocol.md). Decoders must read the golden
// documents to the values written in them; encoders must write documents the reference schemas accept.
import { CONNECTION_FLAGS } from '../src/domain/eligibility.js';
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { devicePoll, type DevicePoll } from '../src/protocol/documents/device-poll.js';
import { fileReport, reportedFiles, type FileReport } from '../src/protocol/documents/file-report.js';
import { instructionsRequest } from '../src/protocol/documents/instructions-request.js';
import { instructions, type Instructions } from '../src/protocol/documents/instructions.js';
import { machineInventory, type MachineInventory } from '../src/protocol/documents/machine-inventory.js';
import { packageLocationRequest, type PackageLocationRequest } from '../src/protocol/documents/package-location-request.js';
import { packageLocation, type PackageLocation } from '../src/protocol/documents/package-location.js';
import { pollResponse, type PollResponse } from '../src/protocol/documents/poll-response.js';
import { provisioningDocument, provisioningOf, settingsOf } from '../src/protocol/documents/provisioning.js';
import { statusDocument, type StatusDocument } from '../src/protocol/documents/status.js';
import {
  ACTIONS,
  deviceTimestamp,
  flagsText,
  formatDate,
  formatDuration,
  formatFlags,
  HEADERS,
  managementPointUrl,
  parseDate,
  parseDuration,
} from '../src/protocol/wire.js';
import { ProtocolError } from '../src/protocol/xml.js';
import type { Setting } from '../src/domain/configuration-item.js';
import { assertValid, CAPTURED_INVENTORY_ITEMS } from './support/xml-conformance.js';

const golden = (file: string) => readFileSync(new URL(`./conformance/golden/${file}`, import.meta.url), 'utf8');

const PICK_LIST = '7E5A9C21-4B3D-4F60-9A1E-2C8D0B6F4E13';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** `Date.UTC` with a 1-based month, as the documents write dates. */
const utc = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0) => Date.UTC(y, mo - 1, d, h, mi, s);
/** A value without its undefined properties, for comparing decoded optional attributes. */
const defined = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/** Runs `fn`, which must throw a ProtocolError, and returns it. */
function protocolError(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(ProtocolError);
    return error as ProtocolError;
  }
  expect.fail('expected a ProtocolError, but the decoder returned');
}

function expectRefused(fn: () => unknown, document: string, field: string, reason: RegExp): ProtocolError {
  const error = protocolError(fn);
  expect({ document: error.document, field: error.field }).to.deep.equal({ document, field });
  expect(error.reason).to.match(reason);
  return error;
}

// --- realistic values for the encoders ----------------------------------------------------------------------------

const CAPTURE_LIKE_POLL: DevicePoll = {
  managementSystem: { name: 'SMS Device Management', version: '2.5.0.0' },
  identification: {
    id: '9C3D0000-0000-0000-0000-00616377656E',
    deviceName: 'Acwen PDT-42',
    userName: 'STOCKROOM\\ivanov',
    domain: null,
    platform: 'ACWEN PDT',
    processor: '2336',
    networkAdapters: [{ ipAddress: '198.51.100.23', ipSubnet: '255.255.255.0', mac: null }],
    codePage: '866',
    systemDefaultLcid: '1049',
  },
  connection: { authorizationToken: '0', timestamp: '0' },
};

const DOCUMENTED_POLL: DevicePoll = {
  ...CAPTURE_LIKE_POLL,
  identification: {
    ...CAPTURE_LIKE_POLL.identification,
    userName: 'ivanov',
    domain: 'STOCKROOM',
    networkAdapters: [{ ipAddress: '198.51.100.23', ipSubnet: '255.255.255.0', mac: '00-0B-6C-12-9C-3D' }],
  },
  connection: { authorizationToken: '5f0c2e8a-1111-4222-8333-944455556666', timestamp: '7/3/2004 9:05:11 PM' },
};

const POLICY: PollResponse = {
  client: { pollServer: 'dm.acme.example', pollIntervalMs: HOUR, failureRetryCount: 5, failureRetryIntervalMs: 180_000 },
  softwareInventory: {
    enabled: true,
    intervalMs: DAY,
    fileFilters: [
      { filter: '*.exe', path: '\\Program Files', recursive: true, excludeCompressed: false, excludeEncrypted: true },
      { filter: '*.dll', path: '\\Windows', recursive: false, excludeCompressed: true, excludeEncrypted: false },
    ],
  },
  fileCollection: {
    enabled: true,
    intervalMs: 7 * DAY,
    fileFilters: [{ filter: 'settings.ini', path: '\\Application\\scanner', recursive: false, excludeCompressed: false, excludeEncrypted: false }],
  },
  machineInventory: { enabled: true, intervalMs: 12 * HOUR, fileFilters: [] },
  packages: [PICK_LIST, 'B81F3D02-6C7A-4E95-8D14-53A0E9C27F68'],
};

const INSTRUCTIONS: Instructions = {
  id: 'MLC00001',
  required: true,
  name: 'Install Field Inventory',
  shortDescription: 'Field Inventory rollout',
  longDescription: 'Field Inventory 2.1, version 3 & "up"',
  packageSize: 482_113,
  flags: CONNECTION_FLAGS.highBandwidth | CONNECTION_FLAGS.passThrough,
  startTime: utc(2024, 5, 1, 2),
  recurrence: { intervalMs: 7 * DAY, behavior: 'Download and Execute' },
  localDestination: '\\Temp\\MLC00001',
  commandLine: '\\Windows\\wceload.exe /noui "\\Temp\\MLC00001\\Field Inventory.cab"',
  sourceFiles: true,
  extension: {
    advertisement: { id: 'MLC20001', name: 'Field Inventory rollout', revision: 7, expiresAt: utc(2024, 12, 31, 23, 59, 59) },
    content: { packageId: 'MLC00001', version: 3, packageType: 0, sha256: 'ab'.repeat(32) },
    program: {
      name: 'Install Field Inventory',
      flags: 0x100,
      maxRunTimeMinutes: 15,
      platforms: ['Windows CE 6.0', 'Windows Mobile 6.5'],
      successExitCodes: [0, 3010],
    },
    configurationItems: [{ id: 'CI-BLUETOOTH', name: 'Bluetooth off', remediate: true, file: 'CI-BLUETOOTH.xml', platforms: ['Windows CE 6.0'] }],
  },
};

const STATUS: StatusDocument = {
  messages: [
    { packageId: 'MLC00001', messageId: 11030, time: utc(2024, 5, 1, 2, 3, 0), parameters: {} },
    { packageId: 'MLC00001', messageId: 11031, time: utc(2024, 5, 1, 2, 3, 17), parameters: { BytesReceived: '482113' } },
    { packageId: 'MLC00001', messageId: 11035, time: utc(2024, 5, 1, 2, 4, 2), parameters: { ExitCode: '0', Note: `a "quoted" <value> & 'more'` } },
  ],
};

const FILE_REPORT: FileReport = {
  root: {
    name: '\\Program Files\\Scanner',
    created: utc(2024, 4, 30, 10),
    attributes: '',
    directories: [
      {
        name: '\\Program Files\\Scanner\\Data',
        created: utc(2024, 4, 30, 10, 0, 5),
        attributes: 'HIDDEN|SYSTEM',
        directories: [],
        files: [{ name: 'scans.sdf', size: 40_960 }],
      },
    ],
    files: [
      {
        name: 'scanner.exe',
        size: 204_800,
        version: '3.2.0.0',
        company: 'ExampleCo & Sons',
        description: 'Scanner',
        created: utc(2024, 4, 30, 10),
        lastModified: utc(2024, 4, 30, 10, 30),
        attributes: 'ARCHIVE',
      },
    ],
  },
};

const INVENTORY: MachineInventory = {
  type: 'machine',
  items: [
    {
      name: 'Device_OS',
      properties: [
        ['Platform', '3'],
        ['MajorVersion', '5'],
        ['MinorVersion', '0'],
        ['BuildNumber', '1400'],
      ],
    },
    {
      name: 'Device_FileSystem',
      properties: [
        ['Name', 'Object Store'],
        ['Size', '32768'],
        ['UsedSpace', '7664'],
      ],
    },
    {
      name: 'Device_FileSystem',
      properties: [
        ['Name', 'Storage Card <SD> & more'],
        ['Size', '983040'],
        ['UsedSpace', '412300'],
      ],
    },
  ],
};

const LOCATION_REQUEST: PackageLocationRequest = {
  packageId: 'MLC00001',
  clientLocation: { directoryService: 'WAREHOUSE', ipAddresses: [{ address: '192.0.2.44', subnet: '255.255.255.0' }] },
};

const LOCATION: PackageLocation = {
  packageId: 'MLC00001',
  locations: [
    { metric: 1, httpUrl: 'http://dp01.acme.example/SMS_DP_SMSPKG$/MLC00001/3.tar?a=1&b=2', smbPath: null, directoryService: null, subnets: ['192.0.2.0'] },
    { metric: 2, httpUrl: null, smbPath: '\\\\DP02\\SMSPKGC$\\MLC00001', directoryService: 'WAREHOUSE', subnets: [] },
  ],
};

const SETTINGS: Setting[] = [
  { kind: 'registry', key: 'HKLM\\Software\\Acme\\PickList', valueName: 'ScanTimeout', expected: '30' },
  { kind: 'registry', key: 'HKLM\\Software\\Acme\\PickList', valueName: 'Warehouse', expected: 'North' },
  { kind: 'registry', key: 'HKLM\\Software\\Microsoft\\Bluetooth\\Settings', valueName: 'Discoverable', expected: '0' },
  { kind: 'file', path: '\\Windows\\Profiles\\Warehouse.xml', expected: 'present' },
  { kind: 'file', path: '\\Temp\\old.cab', expected: 'absent' },
  { kind: 'setting', name: 'PasswordType', expected: 'PIN or strong' },
];

describe('device-management wire (src/protocol)', () => {
  describe('decoding the golden documents gives the values written in them', () => {
    it('DevicePoll.xml (§4.1 skeleton)', () => {
      expect(devicePoll.decode(golden('DevicePoll.xml'))).to.deep.equal({
        managementSystem: { name: 'SMS Device Management', version: '2.5.0.0' },
        identification: {
          id: '4F2E0000-1A2B-3C4D-5E6F-7465726D6E6C',
          deviceName: 'PICKER-12',
          userName: 'WAREHOUSE\\jdoe',
          domain: null,
          platform: 'Acme Rugged Terminal',
          processor: '2577',
          networkAdapters: [{ ipAddress: '192.0.2.44', ipSubnet: '255.255.255.0', mac: null }],
          codePage: '1252',
          systemDefaultLcid: '1033',
        },
        connection: { authorizationToken: '0', timestamp: '0' },
      });
    });

    it('DevicePoll-capture.xml: CodePage 866 after NetworkAdapter, a stray space in a start tag, no Domain or MAC', () => {
      expect(devicePoll.decode(golden('DevicePoll-capture.xml'))).to.deep.equal(CAPTURE_LIKE_POLL);
    });

    it('InstructionsRequest.xml: the package id from the ID attribute', () => {
      expect(instructionsRequest.decode(golden('InstructionsRequest.xml'))).to.deep.equal({ packageId: PICK_LIST });
    });

    it('PackageLocationRequest.xml', () => {
      expect(packageLocationRequest.decode(golden('PackageLocationRequest.xml'))).to.deep.equal({
        packageId: PICK_LIST,
        clientLocation: { directoryService: 'WAREHOUSE', ipAddresses: [{ address: '192.0.2.44', subnet: '255.255.255.0' }] },
      });
    });

    it('Status.xml: messages 11030, 11031 and 11035 with their times and parameters', () => {
      expect(statusDocument.decode(golden('Status.xml'))).to.deep.equal({
        messages: [
          { packageId: PICK_LIST, messageId: 11030, time: utc(2024, 9, 14, 6, 30, 2), parameters: {} },
          { packageId: PICK_LIST, messageId: 11031, time: utc(2024, 9, 14, 6, 31, 45), parameters: { BytesReceived: '65536' } },
          {
            packageId: PICK_LIST,
            messageId: 11035,
            time: utc(2024, 9, 14, 6, 32, 10),
            parameters: { CommandLine: '\\Windows\\wceload.exe /noui /delete 0 \\Temp\\picklist\\picklist.cab', ExitCode: '0' },
          },
        ],
      });
    });

    it('FileReport.xml: the nested directory tree, optional File attributes read where present', () => {
      const report = fileReport.decode(golden('FileReport.xml'));
      expect(defined(report)).to.deep.equal({
        root: {
          name: '\\Program Files\\PickList',
          created: utc(2024, 9, 1, 8),
          attributes: '',
          directories: [
            {
              name: '\\Program Files\\PickList\\Data',
              created: utc(2024, 9, 1, 8, 0, 5),
              attributes: 'HIDDEN|SYSTEM',
              directories: [],
              files: [{ name: 'lists.sdf', size: 40_960 }],
            },
          ],
          files: [
            {
              name: 'picklist.exe',
              size: 131_072,
              version: '1.4.2.0',
              company: 'Acme Logistics',
              description: 'Pick list',
              created: utc(2024, 9, 1, 8),
              lastModified: utc(2024, 9, 1, 8),
              attributes: 'ARCHIVE',
            },
            { name: 'readme.txt', size: 812, attributes: 'READONLY|ARCHIVE' },
          ],
        },
      });
      expect(reportedFiles(report).map((f) => f.path)).to.deep.equal([
        '\\Program Files\\PickList\\picklist.exe',
        '\\Program Files\\PickList\\readme.txt',
        '\\Program Files\\PickList\\Data\\lists.sdf',
      ]);
    });

    it('Inventory-capture.xml: every item and property in device order, repeated Device_FileSystem kept', () => {
      const inventory = machineInventory.decode(golden('Inventory-capture.xml'));
      expect(inventory.type).to.equal('machine');
      expect(inventory.items.map((item) => item.name)).to.deep.equal([...CAPTURED_INVENTORY_ITEMS]);
      expect(inventory.items[0]!.properties).to.deep.equal([
        ['PlatformType', 'PocketPC'],
        ['OEMInfo', 'ACWEN PDT-42'],
        ['NumberOfProcessors', '1'],
        ['ProcessorArchitecture', '5'],
        ['ProcessorType', '2336'],
        ['ProcessorLevel', '4'],
        ['ProcessorRevision', '0'],
        ['ISA', 'ARMV4I'],
      ]);
      expect(inventory.items[2]!.properties).to.deep.include(['MAC', '00-0B-6C-12-9C-3D']);
      expect(inventory.items.slice(6).map((item) => item.properties)).to.deep.equal([
        [
          ['Name', 'Object Store'],
          ['Size', '32768'],
          ['UsedSpace', '7664'],
        ],
        [
          ['Name', 'Storage Card'],
          ['Size', '983040'],
          ['UsedSpace', '412300'],
        ],
        [
          ['Name', 'Flash'],
          ['Size', '61440'],
          ['UsedSpace', '20480'],
        ],
      ]);
    });

    it('PollResponse.xml (§4.2 skeleton): durations in ms, file filters, package ids', () => {
      expect(pollResponse.decode(golden('PollResponse.xml'))).to.deep.equal({
        client: { pollServer: 'dm.acme.example', pollIntervalMs: 4 * HOUR, failureRetryCount: 4, failureRetryIntervalMs: 5 * 60_000 },
        softwareInventory: {
          enabled: true,
          intervalMs: DAY,
          fileFilters: [{ filter: '*.exe', path: '\\Program Files', recursive: true, excludeCompressed: false, excludeEncrypted: true }],
        },
        fileCollection: { enabled: false, intervalMs: 7 * DAY, fileFilters: [] },
        machineInventory: { enabled: true, intervalMs: DAY, fileFilters: [] },
        packages: [PICK_LIST],
      });
    });

    it('PollResponse-capture.xml (§13.4): no declaration or namespace, bare IPv4 PollServer, empty filters and package list', () => {
      const emptyFilter = { filter: '', path: '', recursive: false, excludeCompressed: false, excludeEncrypted: false };
      expect(pollResponse.decode(golden('PollResponse-capture.xml'))).to.deep.equal({
        client: { pollServer: '203.0.113.9', pollIntervalMs: 60_000, failureRetryCount: 10, failureRetryIntervalMs: 10 * 60_000 },
        softwareInventory: { enabled: false, intervalMs: 60_000, fileFilters: [emptyFilter] },
        fileCollection: { enabled: false, intervalMs: 60_000, fileFilters: [emptyFilter] },
        machineInventory: { enabled: false, intervalMs: 60_000, fileFilters: [] },
        packages: [],
      });
    });

    it('Instructions.xml (§5.2 skeleton): ID element, Flags mask, StartTime as epoch ms, one-shot', () => {
      expect(instructions.decode(golden('Instructions.xml'))).to.deep.equal({
        id: PICK_LIST,
        required: true,
        name: 'Pick List 1.4',
        shortDescription: 'Pick list app',
        longDescription: 'Pick list application for the stock room, build 1.4.2',
        packageSize: 262_144,
        flags: CONNECTION_FLAGS.lowBandwidth | CONNECTION_FLAGS.highBandwidth,
        startTime: utc(2024, 9, 14, 6),
        recurrence: null,
        localDestination: '\\Temp\\picklist',
        commandLine: '\\Windows\\wceload.exe /noui \\Temp\\picklist\\picklist.cab',
        sourceFiles: false,
        extension: null,
      });
    });

    it('Instructions-recurring.xml: Recurrence, with LocalDestination and CommandLine read from inside it', () => {
      const decoded = instructions.decode(golden('Instructions-recurring.xml'));
      expect(decoded).to.deep.include({
        id: 'B81F3D02-6C7A-4E95-8D14-53A0E9C27F68',
        required: false,
        packageSize: 8192,
        flags: 0x06,
        startTime: utc(2024, 9, 15, 1, 30),
        recurrence: { intervalMs: DAY, behavior: 'Execute Only' },
        localDestination: '\\Application\\prices',
        commandLine: '\\Windows\\dmscript.exe \\Application\\prices\\import.dms',
        sourceFiles: false,
      });
    });

    it('PackageLocation.xml', () => {
      expect(packageLocation.decode(golden('PackageLocation.xml'))).to.deep.equal({
        packageId: PICK_LIST,
        locations: [{ metric: 1, httpUrl: 'http://dp02.acme.example/pkgs/7e5a/picklist.cab', smbPath: null, directoryService: null, subnets: ['192.0.2.0'] }],
      });
    });

    it('wap-provisioningdoc-set.xml (§16): the Registry provider, its key and the parms it sets', () => {
      const doc = provisioningDocument.decode(golden('wap-provisioningdoc-set.xml'));
      expect(doc.characteristics.map((c) => c.type)).to.deep.equal(['Registry']);
      expect(doc.characteristics[0]!.characteristics).to.deep.equal([
        {
          type: 'HKLM\\Software\\Acme\\PickList',
          characteristics: [],
          parms: [
            { name: 'ScanTimeout', value: '30', datatype: 'integer' },
            { name: 'Warehouse', value: 'North', datatype: 'string' },
          ],
        },
      ]);
      expect(settingsOf(doc)).to.deep.equal(SETTINGS.slice(0, 2));
    });
  });

  describe('encoders write documents the reference schemas accept, and decoding gives the value back', () => {
    it('DevicePoll, as the capture shows it and with the documented Domain and MAC', () => {
      for (const [what, doc] of [
        ['capture-like', CAPTURE_LIKE_POLL],
        ['documented', DOCUMENTED_POLL],
      ] as const) {
        const xml = devicePoll.encode(doc);
        assertValid(xml, `DevicePoll (${what})`);
        expect(devicePoll.decode(xml), what).to.deep.equal(doc);
      }
    });

    it('PollResponse with file filters in both filtered groups, and with no applicable packages', () => {
      for (const doc of [POLICY, { ...POLICY, packages: [] }]) {
        const xml = pollResponse.encode(doc);
        assertValid(xml, `PollResponse with ${doc.packages.length} packages`);
        expect(pollResponse.decode(xml)).to.deep.equal(doc);
      }
    });

    it("Instructions with mlc-sim's Extension, in its own namespace, last in Package", () => {
      const xml = instructions.encode(INSTRUCTIONS);
      assertValid(xml, 'Instructions with Extension');
      expect(xml).to.match(/<Extension xmlns="urn:mlc-sim:dm-extension">.*<\/Extension><\/Package>/);
      expect(instructions.decode(xml)).to.deep.equal(INSTRUCTIONS);
    });

    it("Instructions without the Extension's optional parts, one-shot, for every Flags class", () => {
      const flagSets = [0x01, 0x02, 0x04, 0x03, 0x06];
      for (const flags of flagSets) {
        const doc: Instructions = {
          ...INSTRUCTIONS,
          required: false,
          flags,
          recurrence: null,
          sourceFiles: false,
          extension: {
            ...INSTRUCTIONS.extension!,
            advertisement: { ...INSTRUCTIONS.extension!.advertisement, expiresAt: null },
            program: null,
            configurationItems: [],
          },
        };
        const xml = instructions.encode(doc);
        assertValid(xml, `Instructions with Flags ${flags}`);
        expect(instructions.decode(xml)).to.deep.equal(doc);
      }
    });

    it('Instructions and InstructionsRequest carry the package id as an element and an attribute respectively', () => {
      expect(instructions.encode(INSTRUCTIONS)).to.contain('<ID>MLC00001</ID>');
      const request = instructionsRequest.encode({ packageId: 'MLC00001' });
      assertValid(request, 'InstructionsRequest');
      expect(request).to.contain('<Package ID="MLC00001" />');
      expect(instructionsRequest.decode(request)).to.deep.equal({ packageId: 'MLC00001' });
    });

    it('PackageLocationRequest and PackageLocation (HTTP and SMB sources)', () => {
      const request = packageLocationRequest.encode(LOCATION_REQUEST);
      assertValid(request, 'PackageLocationRequest');
      expect(packageLocationRequest.decode(request)).to.deep.equal(LOCATION_REQUEST);
      const response = packageLocation.encode(LOCATION);
      assertValid(response, 'PackageLocation');
      expect(packageLocation.decode(response)).to.deep.equal(LOCATION);
    });

    it('Status with messages with and without parameters, values escaped', () => {
      const xml = statusDocument.encode(STATUS);
      assertValid(xml, 'Status');
      expect(statusDocument.decode(xml)).to.deep.equal(STATUS);
    });

    it('FileReport, a nested tree with every attribute the encoder writes', () => {
      const xml = fileReport.encode(FILE_REPORT);
      assertValid(xml, 'FileReport');
      expect(defined(fileReport.decode(xml))).to.deep.equal(defined(FILE_REPORT));
    });

    it('Inventory, repeated items kept in order, with no declaration and no namespace (§13.3)', () => {
      const xml = machineInventory.encode(INVENTORY);
      assertValid(xml, 'Inventory');
      expect(xml.startsWith('<Inventory type="machine">')).to.equal(true);
      expect(machineInventory.decode(xml)).to.deep.equal(INVENTORY);
    });

    it("wap-provisioningdoc from a configuration item's settings", () => {
      const doc = provisioningOf(SETTINGS);
      const xml = provisioningDocument.encode(doc);
      assertValid(xml, 'wap-provisioningdoc');
      expect(provisioningDocument.decode(xml)).to.deep.equal(doc);
    });
  });

  describe('decoders take what real devices and the documentation pages send', () => {
    const poll = golden('DevicePoll.xml');

    it('the https spelling of the namespace, no namespace, and a prefixed namespace', () => {
      const variants = {
        https: poll.replace('http://www.microsoft.com', 'https://www.microsoft.com'),
        none: poll.replace(' xmlns="http://www.microsoft.com/DeviceManagement.xsd"', ''),
        prefixed: poll.replace(/<(\/?)(\w+)/g, '<$1dm:$2').replace(' xmlns=', ' xmlns:dm='),
      };
      expect(variants.https).to.contain('xmlns="https://');
      expect(variants.prefixed).to.contain('<dm:DevicePoll xmlns:dm=').and.contain('</dm:Identification>');
      for (const [what, xml] of Object.entries(variants)) {
        expect(devicePoll.decode(xml), what).to.deep.equal(devicePoll.decode(poll));
      }
    });

    it('a document without an XML declaration', () => {
      const bare = poll.replace(/^<\?xml[^>]*\?>\s*/, '');
      expect(bare.startsWith('<DevicePoll ')).to.equal(true);
      expect(devicePoll.decode(bare).identification.id).to.equal('4F2E0000-1A2B-3C4D-5E6F-7465726D6E6C');
    });

    it("a codePage element, as the documentation's element tables spell it", () => {
      const lower = golden('DevicePoll-capture.xml').replace('<CodePage>866</CodePage>', '<codePage>866</codePage>');
      expect(lower).to.contain('<codePage>866</codePage>');
      expect(devicePoll.decode(lower).identification.codePage).to.equal('866');
    });

    it("True as a boolean (the capture server's Python artefact) and YES as Required (the client database's spelling)", () => {
      const capture = golden('PollResponse-capture.xml').replace('<Recursive>false</Recursive>', '<Recursive>True</Recursive>');
      const decoded = pollResponse.decode(capture);
      expect(decoded.softwareInventory!.fileFilters[0]!.recursive).to.equal(true);
      expect(decoded.fileCollection!.fileFilters[0]!.recursive).to.equal(false);
      const optional = golden('Instructions.xml').replace('<Required>Yes</Required>', '<Required>NO</Required>');
      expect(instructions.decode(optional).required).to.equal(false);
    });
  });

  describe('decoding errors name the document, the field and the reason', () => {
    it('a PollInterval not in the date format', () => {
      const xml = golden('PollResponse.xml').replace('<PollInterval>0000-00-00 04:00:00<', '<PollInterval>1:00:00<');
      const error = expectRefused(() => pollResponse.decode(xml), 'PollResponse', 'Settings/ClientSettings/PollInterval', /"1:00:00".*YYYY-MM-DD hh:mm:ss/);
      expect(error.message).to.equal(`PollResponse: Settings/ClientSettings/PollInterval: ${error.reason}`);
    });

    it('Flags written as a C hex literal rather than four bytes', () => {
      const xml = golden('Instructions.xml').replace('<Flags>03 00 00 00</Flags>', '<Flags>0x02</Flags>');
      expectRefused(() => instructions.decode(xml), 'Instructions', 'Package/Flags', /four hex bytes/);
    });

    it('a Status with no StatusMessage', () => {
      const xml = '<?xml version="1.0" encoding="utf-8" ?><Status xmlns="http://www.microsoft.com/DeviceManagement.xsd"></Status>';
      expectRefused(() => statusDocument.decode(xml), 'Status', 'StatusMessage', /at least one StatusMessage/);
    });

    it('a bad attribute deep in a document, named with @', () => {
      const status = golden('Status.xml').replace('timestamp="2024-09-14 06:30:02"', 'timestamp="2024-02-30 06:30:02"');
      expectRefused(() => statusDocument.decode(status), 'Status', 'StatusMessage/@timestamp', /not a valid date/);
      const hash = instructions.encode(INSTRUCTIONS).replace('ab'.repeat(32), 'not-a-digest');
      expectRefused(() => instructions.decode(hash), 'Instructions', 'Package/Extension/Content/@SHA256', /SHA-256/);
    });

    it('a required element left out, or given twice', () => {
      const xml = golden('Instructions.xml');
      expectRefused(() => instructions.decode(xml.replace('<PackageSize>262144</PackageSize>', '')), 'Instructions', 'Package/PackageSize', /missing/);
      expectRefused(() => instructions.decode(xml.replace('<Name>', '<ID>second</ID><Name>')), 'Instructions', 'Package/ID', /once/);
    });

    it('a count or size that is not a whole number', () => {
      const poll = golden('PollResponse.xml').replace('<FailureRetryCount>4<', '<FailureRetryCount>-4<');
      expectRefused(() => pollResponse.decode(poll), 'PollResponse', 'Settings/ClientSettings/FailureRetryCount', /whole number/);
      const size = golden('Instructions.xml').replace('<PackageSize>262144<', '<PackageSize>-1<');
      expectRefused(() => instructions.decode(size), 'Instructions', 'Package/PackageSize', /negative/);
    });

    it('the wrong root element, naming both', () => {
      const error = expectRefused(() => pollResponse.decode(golden('Status.xml')), 'PollResponse', '', /<PollResponse>/);
      expect(error.reason).to.contain('<Status>');
    });

    it('XML that is not well-formed, with the line of the fault', () => {
      const xml = golden('PollResponse.xml').replace('</Settings>', '</Setting>');
      const line = xml.slice(0, xml.indexOf('</Setting>')).split('\n').length;
      expect(line).to.be.above(1);
      expectRefused(() => pollResponse.decode(xml), 'PollResponse', `line ${line}`, /^not well-formed XML/);
      expectRefused(() => pollResponse.decode('{"PollInterval": 3600}'), 'PollResponse', 'line 1', /^not well-formed XML/);
      expectRefused(() => pollResponse.decode('<PollResponse>&nbsp;</PollResponse>'), 'PollResponse', 'line 1', /^not well-formed XML/);
      // Surrogates are not XML characters: one alone is refused, where a pair (one character) is text.
      expectRefused(() => pollResponse.decode('<PollResponse>\n<Settings>\ud800</Settings></PollResponse>'), 'PollResponse', 'line 2', /^not well-formed XML/);
      expect(pollResponse.decode('<PollResponse><ApplicablePackages><Package ID="\ud83d\udcf1" /></ApplicablePackages></PollResponse>').packages).to.deep.equal(
        ['\ud83d\udcf1'],
      );
    });

    it('an empty body, or one that is not text', () => {
      for (const body of ['', ' \r\n', undefined, Buffer.from(golden('PollResponse.xml'))]) {
        expectRefused(() => pollResponse.decode(body), 'PollResponse', '', /empty or not text/);
      }
    });
  });

  describe('wire formats (wire.ts)', () => {
    it('formatDuration writes counts, days the largest field: a week is 0000-00-07 00:00:00', () => {
      expect(formatDuration(7 * DAY)).to.equal('0000-00-07 00:00:00');
      expect(formatDuration(HOUR)).to.equal('0000-00-00 01:00:00');
      expect(formatDuration(26 * HOUR + 61_000)).to.equal('0000-00-01 02:01:01');
      expect(formatDuration(90_000)).to.equal('0000-00-00 00:01:30');
    });

    it('parseDuration reads months as 30 days and years as 365, and refuses other shapes', () => {
      expect(parseDuration('0000-00-07 00:00:00')).to.equal(7 * DAY);
      expect(parseDuration('0000-00-00 00:10:00')).to.equal(600_000);
      expect(parseDuration('0000-01-00 00:00:00')).to.equal(30 * DAY);
      expect(parseDuration('0001-00-00 00:00:00')).to.equal(365 * DAY);
      expect(parseDuration(formatDuration(26 * HOUR + 61_000))).to.equal(26 * HOUR + 61_000);
      for (const text of ['1:00:00', '00-00-00 00:03:00', 'PT1H', '0000-00-07']) expect(() => parseDuration(text), text).to.throw(/YYYY-MM-DD hh:mm:ss/);
    });

    it('formatDate and parseDate round trip UTC times to the second', () => {
      expect(formatDate(utc(2024, 2, 29, 23, 59, 59))).to.equal('2024-02-29 23:59:59');
      expect(parseDate('2024-09-14 06:30:02')).to.equal(utc(2024, 9, 14, 6, 30, 2));
      for (const ms of [utc(2004, 7, 3, 21, 5, 11), utc(2024, 12, 31, 23, 59, 59), utc(2030, 1, 1)]) expect(parseDate(formatDate(ms))).to.equal(ms);
      expect(formatDate(utc(2024, 9, 14, 6, 30, 2) + 999)).to.equal('2024-09-14 06:30:02');
    });

    it('parseDate refuses dates that do not exist and other shapes', () => {
      for (const text of ['2024-02-30 00:00:00', '2023-02-29 12:00:00', '2024-04-31 00:00:00', '2024-09-14 24:00:00']) {
        expect(() => parseDate(text), text).to.throw(/not a valid date/);
      }
      for (const text of ['2024-09-14T06:30:02', '2024-9-14 06:30:02', '14/09/2024 06:30:02', '']) {
        expect(() => parseDate(text), text).to.throw(/YYYY-MM-DD hh:mm:ss/);
      }
    });

    it('Flags as four hex bytes, least significant first', () => {
      expect(formatFlags(6)).to.equal('06 00 00 00');
      expect(formatFlags(CONNECTION_FLAGS.lowBandwidth | CONNECTION_FLAGS.highBandwidth)).to.equal('03 00 00 00');
      expect(formatFlags(0x0102)).to.equal('02 01 00 00');
      expect(flagsText.parse('06 00 00 00')).to.equal(6);
      expect(flagsText.parse('02 01 00 00')).to.equal(0x0102);
      expect(flagsText.parse('ff 00 00 80')).to.equal(0x800000ff);
      expect(formatFlags(0x800000ff)).to.equal('FF 00 00 80');
      for (const text of ['0x02', '06 00 00', '06000000', '06 00 00 00 00', 'GG 00 00 00']) expect(flagsText.safeParse(text).success, text).to.equal(false);
    });

    it('managementPointUrl gives a bare origin the documented path and keeps a given path', () => {
      expect(managementPointUrl('http://dm.acme.example').href).to.equal('http://dm.acme.example/devicemgmt/server.aspx');
      expect(managementPointUrl('https://dm.acme.example:8443/').href).to.equal('https://dm.acme.example:8443/devicemgmt/server.aspx');
      expect(managementPointUrl('http://127.0.0.1:8080/sms/dm.aspx').href).to.equal('http://127.0.0.1:8080/sms/dm.aspx');
    });

    it("deviceTimestamp has the documentation sample's shape, M/D/YYYY h:mm:ss AM|PM", () => {
      expect(deviceTimestamp(utc(2004, 7, 3, 21, 5, 11))).to.equal('7/3/2004 9:05:11 PM');
      expect(deviceTimestamp(utc(2024, 1, 1, 0, 0, 7))).to.equal('1/1/2024 12:00:07 AM');
      expect(deviceTimestamp(utc(2024, 12, 31, 12, 30))).to.equal('12/31/2024 12:30:00 PM');
      expect(deviceTimestamp(utc(2024, 10, 5, 11, 59, 59))).to.equal('10/5/2024 11:59:59 AM');
    });

    it('header names are the documented ones, lower case; actions are the documented tokens', () => {
      expect(Object.values(HEADERS)).to.have.members([
        'x-device-uuid',
        'x-device-auth',
        'x-device-timestamp',
        'x-device-client-version',
        'x-device-action',
        'x-device-reporttype',
        'x-device-fullyqualifiedfilename',
      ]);
      expect(ACTIONS).to.include.members(['Poll', 'InstructionRequest', 'LocationRequest', 'Report']);
    });
  });

  describe('configuration item settings as provisioning documents (provisioning.ts)', () => {
    it('provisioningOf puts each setting kind under its provider, grouped by scope', () => {
      expect(provisioningOf(SETTINGS).characteristics).to.deep.equal([
        {
          type: 'Registry',
          parms: [],
          characteristics: [
            {
              type: 'HKLM\\Software\\Acme\\PickList',
              characteristics: [],
              parms: [
                { name: 'ScanTimeout', value: '30', datatype: 'string' },
                { name: 'Warehouse', value: 'North', datatype: 'string' },
              ],
            },
            { type: 'HKLM\\Software\\Microsoft\\Bluetooth\\Settings', characteristics: [], parms: [{ name: 'Discoverable', value: '0', datatype: 'string' }] },
          ],
        },
        {
          type: 'FileOperation',
          parms: [],
          characteristics: [
            { type: '\\Windows\\Profiles\\Warehouse.xml', characteristics: [], parms: [{ name: 'Present', value: 'true', datatype: 'boolean' }] },
            { type: '\\Temp\\old.cab', characteristics: [], parms: [{ name: 'Present', value: 'false', datatype: 'boolean' }] },
          ],
        },
        { type: 'Settings', characteristics: [], parms: [{ name: 'PasswordType', value: 'PIN or strong', datatype: 'string' }] },
      ]);
    });

    it('settingsOf is its inverse, through the wire', () => {
      expect(settingsOf(provisioningDocument.decode(provisioningDocument.encode(provisioningOf(SETTINGS))))).to.deep.equal(SETTINGS);
      for (const setting of SETTINGS) expect(settingsOf(provisioningOf([setting]))).to.deep.equal([setting]);
    });

    it('settingsOf refuses a provider the device does not have', () => {
      const doc = provisioningDocument.decode(
        '<wap-provisioningdoc><characteristic type="BrowserFavorite"><characteristic type="Acme"><parm name="URL" value="http://acme.example/" /></characteristic></characteristic></wap-provisioningdoc>',
      );
      expect(() => settingsOf(doc)).to.throw(/"BrowserFavorite" is not a provider/);
    });
  });
});
