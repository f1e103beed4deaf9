import { expect } from 'chai';
import { XMLParser } from 'fast-xml-parser';
import {
  CLIENT_NAME,
  CLIENT_VERSION,
  complianceReport,
  errorDocument,
  instructionRequest,
  instructionResponse,
  NAMESPACE,
  packageLocationRequest,
  packageLocationResponse,
  pollRequest,
  pollResponse,
  ProtocolError,
  registrationRequest,
  registrationResponse,
  reportResponse,
  statusReport,
  type InstructionResponse,
  type PollResponse,
  type StatusReport,
} from '../src/protocol/documents.js';

const T0 = Date.parse('2009-06-01T08:00:00.123Z');

const SETTINGS = { pollIntervalMs: 3_600_000, failureRetryCount: 5, failureRetryIntervalMs: 180_000, enableSoftwareDistribution: true };

const INSTRUCTION_BASE: Omit<InstructionResponse, 'program' | 'configurationItems'> = {
  advertisement: {
    id: 'MLC20001',
    name: 'Field Inventory rollout',
    revision: 7,
    mandatory: true,
    availableAt: Date.parse('2009-05-01T00:00:00Z'),
    expiresAt: Date.parse('2009-12-31T23:59:59Z'),
    deviceFlags: 0x01000000,
  },
  package: { id: 'MLC00001', name: 'Field Inventory 2.1', version: 3, packageType: 0, size: 1536, sha256: 'ab'.repeat(32) },
};

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

describe('wire protocol documents', () => {
  describe('encode then decode gives back the same document', () => {
    it('registration request', () => {
      const doc = { device: { uuid: 'WM-0001', name: 'handheld-1', platform: 'Windows Mobile 6.5' as const, osVersion: '5.2.21234' } };
      expect(registrationRequest.decode(registrationRequest.encode(doc))).to.deep.equal(doc);
    });

    it('registration response', () => {
      const doc = { authToken: '0123456789abcdef01234567' };
      expect(registrationResponse.decode(registrationResponse.encode(doc))).to.deep.equal(doc);
    });

    it('poll request without a policy version (first poll)', () => {
      expect(pollRequest.decode(pollRequest.encode({ policyVersion: null }))).to.deep.equal({ policyVersion: null });
    });

    it('poll request with a policy version, including 0', () => {
      expect(pollRequest.decode(pollRequest.encode({ policyVersion: 42 }))).to.deep.equal({ policyVersion: 42 });
      expect(pollRequest.decode(pollRequest.encode({ policyVersion: 0 }))).to.deep.equal({ policyVersion: 0 });
    });

    it('poll request carries the device management namespace and the client name and version', () => {
      const xml = pollRequest.encode({ policyVersion: 3 });
      const parsed = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(xml) as {
        DevicePoll: { xmlns: string; Client: { Name: string; Version: string }; PolicyVersion: number };
      };
      expect(parsed.DevicePoll.xmlns).to.equal('http://www.microsoft.com/DeviceManagement.xsd');
      expect(NAMESPACE).to.equal('http://www.microsoft.com/DeviceManagement.xsd');
      expect(parsed.DevicePoll.Client).to.deep.equal({ Name: 'SMS Device Management', Version: '2.5.0.0' });
      expect([CLIENT_NAME, CLIENT_VERSION]).to.deep.equal(['SMS Device Management', '2.5.0.0']);
      expect(parsed.DevicePoll.PolicyVersion).to.equal(3);
      expect(xml.startsWith('<?xml version="1.0" encoding="utf-8"?>')).to.equal(true);
    });

    it('poll response with no offers', () => {
      const doc: PollResponse = { policyVersion: 12, unchanged: true, settings: SETTINGS, offers: [] };
      expect(pollResponse.decode(pollResponse.encode(doc))).to.deep.equal(doc);
    });

    it('poll response with two offers and non-default settings', () => {
      const doc: PollResponse = {
        policyVersion: 13,
        unchanged: false,
        settings: { pollIntervalMs: 26 * 3_600_000 + 61_000, failureRetryCount: 0, failureRetryIntervalMs: 30_000, enableSoftwareDistribution: false },
        offers: [
          { advertisementId: 'MLC20001', packageId: 'MLC00001', packageVersion: 1, revision: 5 },
          { advertisementId: 'MLC20004', packageId: 'MLC00004', packageVersion: 2, revision: 13 },
        ],
      };
      expect(pollResponse.decode(pollResponse.encode(doc))).to.deep.equal(doc);
    });

    it('instruction request', () => {
      expect(instructionRequest.decode(instructionRequest.encode({ advertisementId: 'MLC20001' }))).to.deep.equal({ advertisementId: 'MLC20001' });
    });

    it('instruction response with a program', () => {
      const doc: InstructionResponse = {
        ...INSTRUCTION_BASE,
        program: {
          name: 'Install Field Inventory',
          commandLine: 'wceload.exe /noui "Field Inventory.cab"',
          flags: 0x100,
          platforms: ['Windows Mobile 6.1', 'Windows Mobile 6.5'],
          maxRunTimeMinutes: 15,
          successExitCodes: [0, 3010],
        },
        configurationItems: [],
      };
      expect(instructionResponse.decode(instructionResponse.encode(doc))).to.deep.equal(doc);
    });

    it('instruction response with a single platform and exit code, and no expiry', () => {
      const doc: InstructionResponse = {
        ...INSTRUCTION_BASE,
        advertisement: { ...INSTRUCTION_BASE.advertisement, expiresAt: null, mandatory: false, deviceFlags: 0x04000000 },
        program: { name: 'Setup', commandLine: 'setup.exe', flags: 0, platforms: ['Windows XP'], maxRunTimeMinutes: 120, successExitCodes: [0] },
        configurationItems: [],
      };
      expect(instructionResponse.decode(instructionResponse.encode(doc))).to.deep.equal(doc);
    });

    it('instruction response with configuration items of all three setting kinds', () => {
      const doc: InstructionResponse = {
        ...INSTRUCTION_BASE,
        package: { id: 'MLC00004', name: 'Handheld Security Baseline', version: 1, packageType: 6, size: 0, sha256: '' },
        program: null,
        configurationItems: [
          {
            id: 'CI-PASSWORD',
            name: 'Password policy',
            platforms: ['Windows Mobile 6.5'],
            remediate: true,
            settings: [
              { kind: 'setting', name: 'PasswordType', expected: 'PIN or strong' },
              { kind: 'setting', name: 'PasswordHistory', expected: '4' },
            ],
          },
          {
            id: 'CI-MIXED',
            name: 'Registry and file',
            platforms: ['Windows Mobile 6.1', 'Windows CE 6.0'],
            remediate: false,
            settings: [
              { kind: 'registry', key: 'HKLM\\Software\\Microsoft\\Bluetooth\\Settings', valueName: 'Discoverable', expected: '0' },
              { kind: 'file', path: '\\Windows\\Profiles\\Warehouse.xml', expected: 'present' },
            ],
          },
        ],
      };
      expect(instructionResponse.decode(instructionResponse.encode(doc))).to.deep.equal(doc);
    });

    it('package location request', () => {
      const doc = { packageId: 'MLC00001', version: 4 };
      expect(packageLocationRequest.decode(packageLocationRequest.encode(doc))).to.deep.equal(doc);
    });

    it('package location response', () => {
      const doc = {
        sources: [
          { type: 'SMB' as const, metric: 1, location: '\\\\MLC-DP01\\SMSPKGC$\\MLC00001' },
          { type: 'HTTP' as const, metric: 2, location: 'http://127.0.0.1:8080/SMS_DP_SMSPKG$/MLC00001/4.tar' },
        ],
      };
      expect(packageLocationResponse.decode(packageLocationResponse.encode(doc))).to.deep.equal(doc);
    });

    for (const type of ['DownloadEventStatus', 'SoftwareDistributionStatus'] as const) {
      it(`status report (${type}) with details, taking the device id from the caller`, () => {
        const doc: StatusReport = {
          messages: [
            {
              id: 'WM-0001:MLC20001:1',
              deviceId: 'WM-0001',
              advertisementId: 'MLC20001',
              packageId: 'MLC00001',
              messageId: type === 'DownloadEventStatus' ? 11031 : 10008,
              time: T0,
              details: { ExitCode: '0', DurationSeconds: '30', Note: 'a "quoted" <value> & more' },
            },
            { id: 'WM-0001:MLC20001:2', deviceId: 'WM-0001', advertisementId: 'MLC20001', packageId: 'MLC00001', messageId: 10002, time: T0 + 1, details: {} },
          ],
        };
        const xml = statusReport.encode(type, doc);
        expect(xml).to.match(new RegExp(`<${type}[ >]`));
        expect(statusReport.decode(type, 'WM-0001', xml)).to.deep.equal(doc);
      });
    }

    it('compliance report', () => {
      const doc = {
        results: [
          { id: 'r1', deviceId: 'WM-0002', advertisementId: 'MLC20004', packageId: 'MLC00004', itemId: 'CI-PASSWORD', state: 'remediated' as const, time: T0 },
          { id: 'r2', deviceId: 'WM-0002', advertisementId: 'MLC20004', packageId: 'MLC00004', itemId: 'CI-BLUETOOTH', state: 'nonCompliant' as const, time: T0 + 5 },
        ],
      };
      expect(complianceReport.decode('WM-0002', complianceReport.encode(doc))).to.deep.equal(doc);
    });

    it('report response', () => {
      expect(reportResponse.decode(reportResponse.encode({ accepted: 3, duplicates: 0 }))).to.deep.equal({ accepted: 3, duplicates: 0 });
      expect(reportResponse.decode(reportResponse.encode({ accepted: 0, duplicates: 7 }))).to.deep.equal({ accepted: 0, duplicates: 7 });
    });
  });

  describe('decoder errors name the document, the field and the reason', () => {
    const goodPoll = pollResponse.encode({ policyVersion: 3, unchanged: false, settings: SETTINGS, offers: [] });

    it('rejects an empty body', () => {
      for (const body of ['', '   ', undefined, Buffer.from('<PollResponse/>')]) {
        const error = protocolError(() => pollResponse.decode(body));
        expect(error.document).to.equal('PollResponse');
        expect(error.field).to.equal('');
        expect(error.reason).to.match(/empty or not text/);
      }
    });

    it('rejects non-XML garbage', () => {
      const error = protocolError(() => registrationResponse.decode('<RegistrationResponse><Auth Token="x"></RegistrationResponse'));
      expect(error.document).to.equal('RegistrationResponse');
      expect(error.field).to.match(/^line \d+$/);
      expect(error.reason).to.match(/^not well-formed XML/);
      const plain = protocolError(() => pollResponse.decode('{"policyVersion": 3}'));
      expect(plain.document).to.equal('PollResponse');
      expect(plain.reason).to.match(/^not well-formed XML/);
    });

    it('rejects a document a conforming parser would refuse, with its line', () => {
      const cases = {
        'a duplicate attribute': goodPoll.replace('Unchanged="false"', 'Unchanged="false" Unchanged="true"'),
        'an undefined entity': goodPoll.replace('<Packages/>', '<Packages>&nbsp;</Packages>'),
        'content after the root element': `${goodPoll}<PollResponse/>`,
        'an unclosed start tag': goodPoll.slice(0, goodPoll.indexOf('<Packages/>') + 4),
        'a second line with the fault': goodPoll.replace('<Packages/>', '\n<Packages>'),
      };
      for (const [fault, body] of Object.entries(cases)) {
        const error = protocolError(() => pollResponse.decode(body));
        expect(error.field, fault).to.match(/^line \d+$/);
        expect(error.reason, fault).to.match(/^not well-formed XML: /);
      }
      expect(protocolError(() => pollResponse.decode(cases['a second line with the fault'])).field).to.equal('line 2');
    });

    it('reads repeated elements as lists wherever the protocol allows them, and nowhere else', () => {
      const offers = [1, 2].map((n) => ({ advertisementId: `MLC2000${n}`, packageId: `MLC0000${n}`, packageVersion: 1, revision: n }));
      expect(pollResponse.decode(pollResponse.encode({ policyVersion: 3, unchanged: false, settings: SETTINGS, offers: offers.slice(0, 1) })).offers).to.have.length(1);
      expect(pollResponse.decode(pollResponse.encode({ policyVersion: 3, unchanged: false, settings: SETTINGS, offers })).offers).to.deep.equal(offers);
      const twoPackages = instructionResponse
        .encode({ ...INSTRUCTION_BASE, program: null, configurationItems: [] })
        .replace(/(<Package [^>]*\/>)/, '$1$1');
      expect(protocolError(() => instructionResponse.decode(twoPackages)).field).to.equal('Package');
    });

    it('rejects the wrong root element, naming both', () => {
      const error = protocolError(() => pollResponse.decode(registrationResponse.encode({ authToken: 'abc' })));
      expect(error.document).to.equal('PollResponse');
      expect(error.field).to.equal('');
      expect(error.reason).to.include('<PollResponse>').and.include('<RegistrationResponse>');
    });

    it('rejects a missing required attribute', () => {
      const error = protocolError(() => pollResponse.decode(goodPoll.replace(/ PolicyVersion="3"/, '')));
      expect(error.document).to.equal('PollResponse');
      expect(error.field).to.equal('@PolicyVersion');
      const registration = registrationRequest.encode({ device: { uuid: 'WM-0001', name: 'h', platform: 'Windows CE 6.0', osVersion: '6.0' } });
      const uuid = protocolError(() => registrationRequest.decode(registration.replace(/ UUID="WM-0001"/, '')));
      expect(uuid.document).to.equal('DeviceRegistration');
      expect(uuid.field).to.equal('Device.@UUID');
      // An element left with no attributes at all parses as empty: the error then names the element.
      const token = protocolError(() => registrationResponse.decode(registrationResponse.encode({ authToken: 'abc' }).replace(/ Token="abc"/, '')));
      expect(token.document).to.equal('RegistrationResponse');
      expect(token.field).to.include('Auth');
    });

    it('rejects a non-integer attribute', () => {
      const error = protocolError(() => pollResponse.decode(goodPoll.replace('PolicyVersion="3"', 'PolicyVersion="three"')));
      expect(error.field).to.include('PolicyVersion');
      expect(error.reason).to.equal('must be an integer');
      const request = protocolError(() => pollRequest.decode(pollRequest.encode({ policyVersion: 5 }).replace('>5<', '>5.5<')));
      expect(request.document).to.equal('DevicePoll');
      expect(request.field).to.equal('PolicyVersion');
      expect(request.reason).to.equal('must be an integer');
    });

    it('rejects a bad value deep in a document', () => {
      const doc: InstructionResponse = { ...INSTRUCTION_BASE, program: null, configurationItems: [] };
      const error = protocolError(() => instructionResponse.decode(instructionResponse.encode(doc).replace('ab'.repeat(32), 'not-a-hash')));
      expect(error.document).to.equal('InstructionResponse');
      expect(error.field).to.equal('Package.@Hash');
      expect(error.reason).to.equal('must be a SHA-256 hex digest');
      const report = statusReport.encode('SoftwareDistributionStatus', {
        messages: [{ id: 'm1', deviceId: 'D', advertisementId: 'A', packageId: 'P', messageId: 10002, time: T0, details: {} }],
      });
      const time = protocolError(() => statusReport.decode('SoftwareDistributionStatus', 'D', report.replace(/Time="[^"]+"/, 'Time="yesterday"')));
      expect(time.document).to.equal('SoftwareDistributionStatus');
      expect(time.field).to.equal('StatusMessage.0.@Time');
      expect(time.reason).to.equal('must be an ISO 8601 time');
    });

    it('reports an Error document from the peer, with its code and message', () => {
      const error = protocolError(() => pollResponse.decode(errorDocument.encode({ code: 'Rejected', message: 'device WM-9 is not registered' })));
      expect(error.document).to.equal('PollResponse');
      expect(error.field).to.equal('');
      expect(error.reason).to.include('<Error>').and.include('Error Rejected: device WM-9 is not registered');
      expect(error.message).to.include('PollResponse');
    });
  });
});
