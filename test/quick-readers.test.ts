// The quick readers (src/protocol/xml.ts `quick`) read the documents every request carries without their schemas:
// for any document, a decoder with its quick reader must give what its schema alone gives, the same value or the
// same refusal. Documents here are the golden ones and the agent's own, each with every element left out, given
// twice, emptied, or joined by one the schema does not know.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { identificationOf } from '../src/agent/device-identity.js';
import { devicePoll, devicePollSchema } from '../src/protocol/documents/device-poll.js';
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

describe('quick readers give what their schemas give', () => {
  it('DevicePoll: the golden polls, the agent’s, and each with one element changed', () => {
    const agentPoll = devicePoll.encode({
      managementSystem: { ...MANAGEMENT_SYSTEM },
      identification: identificationOf(profile({ id: 'HH-00042' })),
      connection: { authorizationToken: 'a1b2c3', timestamp: '6/1/2009 8:00:00 AM' },
    });
    const documents = [golden('DevicePoll.xml'), golden('DevicePoll-capture.xml'), agentPoll].flatMap((xml) => [xml, ...variants(xml)]);
    let refused = 0;
    for (const xml of documents) {
      const expected = outcome(() => decodeDocument('DevicePoll', xml, devicePollSchema));
      if ('refused' in (expected as object)) refused++;
      expect(
        outcome(() => devicePoll.decode(xml)),
        xml,
      ).to.deep.equal(expected);
    }
    // The variants reach both sides: polls the schema takes, and polls it refuses.
    expect(refused).to.be.above(10);
    expect(documents.length - refused).to.be.above(10);
  });
});
