// Section: what the shared document codecs (src/protocol/documents) cost per document, decoding and encoding, on the
// golden documents of test/conformance: the CPU every exchange spends on XML on each side of the wire. Decoding is
// also shown as parsing alone (parseRoot), the rest being the schema or quick reader. Each figure is the median of
// `rounds` timed runs of `perRound` calls, after a warm-up.
import { readFileSync } from 'node:fs';
import { devicePoll } from '../src/protocol/documents/device-poll.js';
import { fileReport } from '../src/protocol/documents/file-report.js';
import { instructionsRequest } from '../src/protocol/documents/instructions-request.js';
import { instructions } from '../src/protocol/documents/instructions.js';
import { machineInventory } from '../src/protocol/documents/machine-inventory.js';
import { packageLocationRequest } from '../src/protocol/documents/package-location-request.js';
import { packageLocation } from '../src/protocol/documents/package-location.js';
import { pollResponse } from '../src/protocol/documents/poll-response.js';
import { provisioningDocument } from '../src/protocol/documents/provisioning.js';
import { statusDocument } from '../src/protocol/documents/status.js';
import { parseRoot } from '../src/protocol/xml.js';
import { round, section } from './section.js';

export interface CodecParams {
  rounds: number;
  perRound: number;
}

/** Microseconds per document, each a median over the rounds. */
export interface CodecFigures {
  parseMicros: number;
  decodeMicros: number;
  encodeMicros: number;
}

interface Codec<T> {
  decode: (xml: unknown) => T;
  encode: (doc: T) => string;
}

const golden = (file: string) => readFileSync(new URL(`../test/conformance/golden/${file}`, import.meta.url), 'utf8');

/** A document's figures, from its golden file and its codec. */
const measured =
  <T>(name: string, codec: Codec<T>, file: string) =>
  (params: CodecParams): [string, CodecFigures] => {
    const xml = golden(file);
    const doc = codec.decode(xml);
    const figures = {
      parseMicros: microsPerCall(() => parseRoot(name, xml), params),
      decodeMicros: microsPerCall(() => codec.decode(xml), params),
      encodeMicros: microsPerCall(() => codec.encode(doc), params),
    };
    return [name, figures];
  };

/** Each document with its codec, the site's first (devices send them), then the devices' (the site sends them). */
const DOCUMENTS = [
  measured('DevicePoll', devicePoll, 'DevicePoll.xml'),
  measured('Status', statusDocument, 'Status.xml'),
  measured('InstructionsRequest', instructionsRequest, 'InstructionsRequest.xml'),
  measured('PackageLocationRequest', packageLocationRequest, 'PackageLocationRequest.xml'),
  measured('Inventory', machineInventory, 'Inventory-capture.xml'),
  measured('FileReport', fileReport, 'FileReport.xml'),
  measured('PollResponse', pollResponse, 'PollResponse.xml'),
  measured('Instructions', instructions, 'Instructions.xml'),
  measured('PackageLocation', packageLocation, 'PackageLocation.xml'),
  measured('wap-provisioningdoc', provisioningDocument, 'wap-provisioningdoc-set.xml'),
];

/** Microseconds of CPU per call of `fn`: the median of `rounds` runs of `perRound` calls, after one untimed run. */
function microsPerCall(fn: () => unknown, { rounds, perRound }: CodecParams): number {
  const runs: number[] = [];
  for (let r = 0; r <= rounds; r++) {
    const before = process.cpuUsage();
    for (let i = 0; i < perRound; i++) fn();
    const used = process.cpuUsage(before);
    if (r > 0) runs.push((used.user + used.system) / perRound);
  }
  runs.sort((a, b) => a - b);
  return round(runs[Math.floor(runs.length / 2)] ?? 0, 2);
}

export const measureCodecs = (params: CodecParams): Record<string, CodecFigures> => Object.fromEntries(DOCUMENTS.map((measure) => measure(params)));

void section(async (params: CodecParams) => {
  const figures = measureCodecs(params);
  console.table(figures);
  return Promise.resolve(figures);
});
