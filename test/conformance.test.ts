// Conformance material written from the protocol reference (dm-protocol.md) only: hand-written schemas, golden
// documents and a reference server. Nothing here is derived from the implementation, so it can grade it.
import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { assertValid, validateDocument, CAPTURED_INVENTORY_ITEMS } from './support/xml-conformance.js';
import { startReferenceServer } from './support/reference-server.js';
import type { ReferencePackage, ReferenceServer } from './support/reference-server.js';

const GOLDEN = new URL('./conformance/golden/', import.meta.url);
const golden = (file: string) => readFileSync(new URL(file, GOLDEN), 'utf8');

const GOLDEN_ROOTS: Record<string, string> = {
  'DevicePoll.xml': 'DevicePoll',
  'DevicePoll-capture.xml': 'DevicePoll',
  'InstructionsRequest.xml': 'InstructionsRequest',
  'PackageLocationRequest.xml': 'PackageLocationRequest',
  'Status.xml': 'Status',
  'FileReport.xml': 'FileReport',
  'Inventory-capture.xml': 'Inventory',
  'PollResponse.xml': 'PollResponse',
  'PollResponse-capture.xml': 'PollResponse',
  'Instructions.xml': 'Instructions',
  'Instructions-recurring.xml': 'Instructions',
  'PackageLocation.xml': 'PackageLocation',
  'wap-provisioningdoc-set.xml': 'wap-provisioningdoc',
  'wap-provisioningdoc-query.xml': 'wap-provisioningdoc',
};

const EXTENSION = '<x:Hint xmlns:x="urn:mlc-sim:dm-extension"><x:Note>carried by the implementation</x:Note></x:Hint>';

function rejected(xml: string, mention: string): void {
  const { errors } = validateDocument(xml);
  expect(errors, 'expected the document to be rejected').to.have.length.above(0);
  expect(errors.join('\n')).to.contain(mention);
}

describe('conformance to the protocol reference (dm-protocol.md)', () => {
  describe('the golden documents', () => {
    it('are all listed here', () => {
      const files = readdirSync(GOLDEN).filter((f) => f.endsWith('.xml'));
      expect(files.sort()).to.deep.equal(Object.keys(GOLDEN_ROOTS).sort());
    });

    for (const [file, root] of Object.entries(GOLDEN_ROOTS)) {
      it(`${file} validates against ${root}.xsd`, () => {
        expect(validateDocument(golden(file))).to.deep.equal({ root, errors: [] });
      });
    }

    it('keep the capture shapes of section 13 (no declaration or namespace on the inventory, a stray space, no Domain/MAC)', () => {
      const poll = golden('DevicePoll-capture.xml');
      expect(poll)
        .to.contain('<NetworkAdapter >')
        .and.not.match(/<Domain>|<MAC>/);
      expect(poll.indexOf('<NetworkAdapter')).to.be.below(poll.indexOf('<CodePage>'));
      const inventory = golden('Inventory-capture.xml');
      expect(inventory.startsWith('<Inventory type="machine">')).to.equal(true);
      expect([...inventory.matchAll(/<InventoryItem name="([^"]+)"/g)].map((m) => m[1])).to.deep.equal([...CAPTURED_INVENTORY_ITEMS]);
      expect(golden('PollResponse-capture.xml'))
        .to.match(/^<PollResponse>/)
        .and.contain('<PollServer>203.0.113.9</PollServer>');
    });
  });

  describe('the schemas', () => {
    it('reject a Flags value that is not four space-separated hex bytes', () => {
      rejected(golden('Instructions.xml').replace('03 00 00 00', '0x02'), "'0x02'");
    });

    it('reject a duration not in the YYYY-MM-DD hh:mm:ss format', () => {
      rejected(golden('PollResponse.xml').replace('0000-00-00 04:00:00', '1:00:00'), "'1:00:00'");
    });

    it('reject an unknown element in Instructions/Package that has no foreign namespace', () => {
      rejected(golden('Instructions.xml').replace('</Package>', '<Priority>1</Priority></Package>'), 'Priority');
    });

    it('reject a StatusMessage without messageID', () => {
      rejected(golden('Status.xml').replace('messageID="11030" ', ''), 'messageID');
    });

    it('reject a PollResponse boolean that is not lower case', () => {
      rejected(golden('PollResponse.xml').replace('<Enabled>true</Enabled>', '<Enabled>True</Enabled>'), "'True'");
    });

    it('reject a package child given twice or a required one left out, whatever the order', () => {
      const instructions = golden('Instructions.xml');
      rejected(instructions.replace('<SourceFiles>', '<Flags>02 00 00 00</Flags><SourceFiles>'), 'Flags');
      rejected(instructions.replace(/<PackageSize>\d+<\/PackageSize>/, ''), 'PackageSize');
      const flags = '<Flags>03 00 00 00</Flags>';
      expect(validateDocument(instructions.replace(flags, '').replace('<SourceFiles>', `${flags}<SourceFiles>`)).errors).to.deep.equal([]);
    });

    it('accept a foreign-namespace extension element at the end of Instructions/Package, PollResponse and PackageLocation', () => {
      for (const [file, end] of [
        ['Instructions.xml', '</Package>'],
        ['PollResponse.xml', '</PollResponse>'],
        ['PackageLocation.xml', '</PackageLocation>'],
      ] as const) {
        expect(validateDocument(golden(file).replace(end, `${EXTENSION}${end}`)).errors, file).to.deep.equal([]);
      }
    });

    it('reject that extension anywhere else', () => {
      rejected(golden('Instructions.xml').replace('<SourceFiles>', `${EXTENSION}<SourceFiles>`), 'SourceFiles');
      rejected(golden('DevicePoll.xml').replace('<CodePage>', `${EXTENSION}<CodePage>`), 'Hint');
      rejected(golden('Status.xml').replace('</Status>', `${EXTENSION}</Status>`), 'Hint');
    });

    it('take the https spelling of the namespace too, but no other namespace, and no unknown root', () => {
      const poll = golden('DevicePoll.xml');
      expect(validateDocument(poll.replace('http://', 'https://')).errors).to.deep.equal([]);
      rejected(poll.replace('http://www.microsoft.com/DeviceManagement.xsd', 'urn:example'), 'DevicePoll');
      expect(validateDocument('<Foo/>')).to.deep.equal({ root: 'Foo', errors: ['no schema for a document whose root is <Foo>'] });
      expect(() => {
        assertValid('<Status/>', 'an empty status');
      }).to.throw(/an empty status: <Status>.*\n.*StatusMessage/);
    });
  });

  describe('the reference server (section 12)', () => {
    const UUID = '9C3D0000-0000-0000-0000-00616377656E';
    const pkg: ReferencePackage = {
      id: '7E5A9C21-4B3D-4F60-9A1E-2C8D0B6F4E13',
      name: 'Pick List 1.4',
      fileName: 'picklist.cab',
      content: Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 251)),
      localDestination: '\\Temp\\picklist',
      commandLine: '\\Windows\\wceload.exe /noui /delete 0 \\Temp\\picklist\\picklist.cab',
    };
    let server: ReferenceServer;

    before(async () => {
      server = await startReferenceServer({ packages: [pkg], pollInterval: '0000-00-00 00:30:00' });
    });
    after(() => server.close());

    async function post(action: string, body: string, headers: Record<string, string> = {}) {
      const res = await fetch(server.url, {
        method: 'POST',
        headers: { 'X-Device-UUID': UUID, 'X-Device-Action': action, ...headers },
        body,
      });
      return { status: res.status, headers: res.headers, text: await res.text() };
    }

    it('answers a poll with a PollResponse like the capture server: all four groups, no declaration, no namespace', async () => {
      const res = await post('Poll', golden('DevicePoll-capture.xml'));
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.equal('text/html; charset=utf-8');
      expect([...res.headers.keys()].filter((name) => name.startsWith('x-device'))).to.deep.equal([]);
      assertValid(res.text, 'the poll response');
      expect(res.text)
        .to.match(/^<PollResponse>/)
        .and.not.contain('xmlns');
      expect(res.text).to.contain('<PollServer>127.0.0.1</PollServer>').and.contain('<PollInterval>0000-00-00 00:30:00</PollInterval>');
      expect(res.text).to.contain(`<Package ID="${pkg.id}" />`);
      expect(server.devices.get(UUID)).to.deep.equal({
        ID: UUID,
        DeviceName: 'Acwen PDT-42',
        UserName: 'STOCKROOM\\ivanov',
        Platform: 'ACWEN PDT',
        Processor: '2336',
        CodePage: '866',
        SystemDefaultLCID: '1049',
        IPAddress: '198.51.100.23',
        IPSubnet: '255.255.255.0',
      });
    });

    it('dispatches on X-Device-Action case-insensitively', async () => {
      const res = await post('POLL', golden('DevicePoll.xml'));
      assertValid(res.text, 'the poll response to an upper-case action');
    });

    it('answers an instruction request with one Instructions/Package, ID as an element, and no extension', async () => {
      const res = await post('InstructionRequest', golden('InstructionsRequest.xml'));
      expect(res.status).to.equal(200);
      assertValid(res.text, 'the instructions');
      expect(res.text).to.contain(`<ID>${pkg.id}</ID>`).and.contain(`<PackageSize>${pkg.content.length}</PackageSize>`);
      expect(res.text).to.contain('<Flags>03 00 00 00</Flags>').and.contain('<StartTime UTC="true">');
      expect(res.text).to.not.contain('xmlns');
    });

    it('answers a location request with an HTTP URL on itself that serves the bytes, with Range support', async () => {
      const res = await post('LocationRequest', golden('PackageLocationRequest.xml'));
      assertValid(res.text, 'the package location');
      const url = /<URL>([^<]+)<\/URL>/.exec(res.text)?.[1] ?? '';
      expect(url).to.equal(`${server.origin}/content/${pkg.id}/${pkg.fileName}`);
      const whole = await fetch(url);
      expect(whole.status).to.equal(200);
      expect(Buffer.from(await whole.arrayBuffer()).equals(pkg.content)).to.equal(true);
      const rest = await fetch(url, { headers: { Range: 'bytes=4096-' } });
      expect(rest.status).to.equal(206);
      expect(rest.headers.get('content-range')).to.equal(`bytes 4096-4999/${pkg.content.length}`);
      expect(Buffer.from(await rest.arrayBuffer()).equals(pkg.content.subarray(4096))).to.equal(true);
    });

    it('records every status message, recognised by its root whatever the action says, and answers an empty 200', async () => {
      const before = server.statuses.length;
      const res = await post('DownloadEventStatus', golden('Status.xml'));
      expect(res).to.include({ status: 200, text: '' });
      expect(server.statuses.slice(before)).to.deep.equal([
        { uuid: UUID, packageID: pkg.id, messageID: 11030, timestamp: '2024-09-14 06:30:02', parameters: {} },
        { uuid: UUID, packageID: pkg.id, messageID: 11031, timestamp: '2024-09-14 06:31:45', parameters: { BytesReceived: '65536' } },
        {
          uuid: UUID,
          packageID: pkg.id,
          messageID: 11035,
          timestamp: '2024-09-14 06:32:10',
          parameters: { CommandLine: '\\Windows\\wceload.exe /noui /delete 0 \\Temp\\picklist\\picklist.cab', ExitCode: '0' },
        },
      ]);
      expect(server.unknown.filter((u) => u.action === 'DownloadEventStatus')).to.deep.equal([]);
    });

    it('records the machine inventory, software inventory and collected files', async () => {
      const inventory = golden('Inventory-capture.xml');
      expect(await post('Report', inventory, { 'X-Device-Reporttype': 'MachineInventory' })).to.include({ status: 200, text: '' });
      const software = golden('FileReport.xml');
      expect(await post('Report', software, { 'X-Device-ReportType': 'softwareinventory' })).to.include({ status: 200, text: '' });
      const file = '[Scanner]\r\nTimeout=30\r\n';
      const fileName = '\\Application\\scanner\\settings.ini';
      await post('Report', file, { 'X-Device-ReportType': 'FileCollection', 'X-Device-FullyQualifiedFilename': fileName });
      expect(server.reports).to.deep.equal([
        { uuid: UUID, type: 'MachineInventory', body: inventory },
        { uuid: UUID, type: 'SoftwareInventory', body: software },
        { uuid: UUID, type: 'FileCollection', body: file, fileName },
      ]);
    });

    it('answers an unknown action or report type with 200 and the capture server text, and records it', async () => {
      const res = await post('Frobnicate', '<Frobnicate/>');
      expect(res).to.include({ status: 200, text: 'Unknown X-Device-Action field: Frobnicate' });
      expect((await post('Report', '<X/>', { 'X-Device-ReportType': 'Telemetry' })).status).to.equal(200);
      expect(server.unknown).to.deep.include.members([
        { uuid: UUID, action: 'Frobnicate' },
        { uuid: UUID, action: 'Report/Telemetry' },
      ]);
    });

    it('refuses a request without X-Device-UUID with a 400', async () => {
      const res = await fetch(server.url, { method: 'POST', headers: { 'X-Device-Action': 'Poll' }, body: golden('DevicePoll.xml') });
      expect(res.status).to.equal(400);
    });

    it('answered every golden device document with a document that itself validates', () => {
      const answered = server.requests.filter((r) => r.responseBody.startsWith('<'));
      expect(answered.map((r) => r.root)).to.include.members(['DevicePoll', 'InstructionsRequest', 'PackageLocationRequest']);
      for (const r of answered) {
        assertValid(r.body, `the ${r.action} request`);
        assertValid(r.responseBody, `the answer to ${r.action}`);
      }
    });
  });
});
