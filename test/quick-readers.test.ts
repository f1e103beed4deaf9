// The quick readers (src/protocol/xml.ts `quick`) read the documents every request carries without their schemas:
// for any document, a decoder with its quick reader must give what its schema alone gives, the same value or the
// same refusal. Documents here are the golden ones and the agent's own, each with every element left out, given
// twice, emptied, or joined by one the schema does not know.
import { expect } from 'chai';
import type { z } from 'zod';
import { readFileSync } from 'node:fs';
import { identificationOf } from '../src/agent/device-identity.js';
import { devicePoll, devicePollSchema } from '../src/protocol/documents/device-poll.js';
import { instructionsRequest, instructionsRequestSchema } from '../src/protocol/documents/instructions-request.js';
import { packageLocationRequest, packageLocationRequestSchema } from '../src/protocol/documents/package-location-request.js';
import { machineInventory, machineInventorySchema } from '../src/protocol/documents/machine-inventory.js';
import { statusDocument, statusSchema } from '../src/protocol/documents/status.js';
import { MANAGEMENT_SYSTEM } from '../src/protocol/wire.js';
import { decodeDocument } from '../src/protocol/xml.js';
import { profile } from './support/test-site.js';

const golden = (file: string) => readFileSync(new URL(`./conformance/golden/${file}`, import.meta.url), 'utf8');

/** The document with one element changed: each element (by its first start tag) left out, doubled, emptied, or joined. */
function variants(xml: string): string[] {
  const out: string[] = [];
  for (const [, name] of xml.matchAll(/<(\w+)[\s>]/g)) {
    const start = xml.indexOf(`<${name}`);
    const close = `</${name}>`;
    const end = xml.indexOf(close, start);
    if (end < 0) continue;
    const element = xml.slice(start, end + close.length);
    const open = element.slice(0, element.indexOf('>') + 1);
    out.push(
      xml.replace(element, ''),
      xml.replace(element, element + element),
      xml.replace(element, `${open}${close}`),
      xml.replace(element, `${element}<Unknown>x</Unknown>`),
      xml.replace(element, `${open}<${name}>nested</${name}>${close}`),
    );
  }
  return out;
}

/** What a decoder gives: its value, or its refusal's message. */
function outcome(decode: () => unknown): unknown {
  try {
    return { value: decode() };
  } catch (error) {
    return { refused: (error as Error).message };
  }
}

/** Every document, and each with one element changed, decodes with its quick reader as with its schema alone. */
function expectAgreement(root: string, documents: string[], decode: (xml: string) => unknown, schema: z.ZodType): void {
  const all = documents.flatMap((xml) => [xml, ...variants(xml)]);
  let refused = 0;
  for (const xml of all) {
    const expected = outcome(() => decodeDocument(root, xml, schema));
    if ('refused' in (expected as object)) refused++;
    expect(
      outcome(() => decode(xml)),
      xml,
    ).to.deep.equal(expected);
  }
  // The variants reach both sides: documents the schema takes, and documents it refuses.
  expect(refused, 'refused').to.be.above(0);
  expect(all.length - refused, 'taken').to.be.above(0);
}

describe('quick readers give what their schemas give', () => {
  it('DevicePoll: the golden polls and the agent’s', () => {
    const agentPoll = devicePoll.encode({
      managementSystem: { ...MANAGEMENT_SYSTEM },
      identification: identificationOf(profile({ id: 'HH-00042' })),
      connection: { authorizationToken: 'a1b2c3', timestamp: '6/1/2009 8:00:00 AM' },
    });
    expectAgreement('DevicePoll', [golden('DevicePoll.xml'), golden('DevicePoll-capture.xml'), agentPoll], devicePoll.decode, devicePollSchema);
  });

  it('Status: the golden one, and messages with attributes out of shape', () => {
    const xml = golden('Status.xml');
    const attributeBreaks = [
      xml.replace(/packageID="[^"]*"/, 'packageID=""'),
      xml.replace(/messageID="[^"]*"/, 'messageID=" 11031 "'),
      xml.replace(/messageID="[^"]*"/, 'messageID="1e3"'),
      xml.replace(/ messageID="[^"]*"/, ''),
      xml.replace(/timestamp="[^"]*"/, 'timestamp="2024-02-30 06:30:02"'),
      xml.replace(/timestamp="[^"]*"/, 'timestamp=" 2024-09-14 06:30:02 "'),
      xml.replace(/ name="[^"]*"/, ' name=""'),
    ];
    expectAgreement('Status', [xml, ...attributeBreaks], statusDocument.decode, statusSchema);
  });

  it('Inventory: the captured one, and items and properties without their names', () => {
    const xml = golden('Inventory-capture.xml');
    const breaks = [
      xml.replace('<Inventory type="machine">', '<Inventory>'),
      xml.replace(/ name="[^"]*"/, ' name=""'),
      xml.replace(/ name="[^"]*"/, ''),
      xml.replace(/(<Property) name="[^"]*"/, '$1 name=""'),
    ];
    expectAgreement('Inventory', [xml, ...breaks], machineInventory.decode, machineInventorySchema);
  });

  it('InstructionsRequest and PackageLocationRequest: the golden ones and the agent’s', () => {
    const requests = [
      golden('InstructionsRequest.xml'),
      instructionsRequest.encode({ packageId: 'A1B2' }),
      golden('InstructionsRequest.xml').replace(/ID="[^"]*"/, 'ID=""'),
    ];
    expectAgreement('InstructionsRequest', requests, instructionsRequest.decode, instructionsRequestSchema);
    const location = golden('PackageLocationRequest.xml');
    const locations = [
      location,
      location.replace(/ subnet="[^"]*"/, ''),
      location.replace(/ address="[^"]*"/, ''),
      packageLocationRequest.encode({ packageId: 'A1B2', clientLocation: { directoryService: '', ipAddresses: [] } }),
    ];
    expectAgreement('PackageLocationRequest', locations, packageLocationRequest.decode, packageLocationRequestSchema);
  });
});
