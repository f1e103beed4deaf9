// A site connection decodes each distinct poll response, instructions and package location once and hands the
// value to every device that receives the same text (src/agent/decode-cache.ts). Shared values must be frozen,
// so one device cannot change what its neighbours hold.
import { expect } from 'chai';
import { DecodeCache } from '../src/agent/decode-cache.js';
import { instructions, type Instructions } from '../src/protocol/documents/instructions.js';
import { pollResponse, type PollResponse } from '../src/protocol/documents/poll-response.js';
import { ProtocolError } from '../src/protocol/xml.js';

const HOUR = 3_600_000;

function policy(pollIntervalHours: number): string {
  return pollResponse.encode({
    client: { pollServer: 'dm.acme.example', pollIntervalMs: pollIntervalHours * HOUR, failureRetryCount: 5, failureRetryIntervalMs: 180_000 },
    softwareInventory: {
      enabled: true,
      intervalMs: 24 * HOUR,
      fileFilters: [{ filter: '*.exe', path: '\\Program Files', recursive: true, excludeCompressed: false, excludeEncrypted: false }],
    },
    fileCollection: { enabled: false, intervalMs: 7 * 24 * HOUR, fileFilters: [] },
    machineInventory: { enabled: true, intervalMs: 24 * HOUR, fileFilters: [] },
    packages: ['MLC00001'],
  });
}

const INSTRUCTIONS = instructions.encode({
  id: 'MLC00001',
  required: true,
  name: 'Install',
  shortDescription: 'Rollout',
  longDescription: 'Field Inventory, version 3',
  packageSize: 1536,
  flags: 0x03,
  startTime: Date.UTC(2024, 4, 1),
  recurrence: null,
  localDestination: '\\Temp\\MLC00001',
  commandLine: 'wceload.exe /noui fi.cab',
  sourceFiles: true,
  extension: {
    advertisement: { id: 'MLC20001', name: 'Rollout', revision: 7, expiresAt: null },
    content: { packageId: 'MLC00001', version: 3, packageType: 0, sha256: 'ab'.repeat(32) },
    program: { name: 'Install', flags: 0, maxRunTimeMinutes: 15, platforms: ['Windows CE 6.0'], successExitCodes: [0] },
    configurationItems: [],
  },
});

/** A cache over a real decoder that counts how often it decodes. */
function counting<T>(decode: (text: string) => T, capacity?: number) {
  const counted = { decodes: 0 };
  const cache = new DecodeCache<T>((text) => {
    counted.decodes++;
    return decode(text);
  }, capacity);
  return { cache, counted };
}

describe('documents the devices of one connection share (DecodeCache)', () => {
  it('decodes a text once and gives every receiver the value its own decode would give', () => {
    const { cache, counted } = counting<PollResponse>(pollResponse.decode);
    const first = cache.get(policy(1));
    expect(cache.get(policy(1))).to.equal(first);
    expect(first).to.deep.equal(pollResponse.decode(policy(1)));
    expect(counted.decodes).to.equal(1);
    expect(cache.get(policy(4)).client!.pollIntervalMs).to.equal(4 * HOUR);
    expect(counted.decodes).to.equal(2);
  });

  it('freezes the shared value to its leaves', () => {
    const { cache } = counting<PollResponse>(pollResponse.decode);
    const shared = cache.get(policy(1));
    expect(() => {
      (shared.client as { pollIntervalMs: number }).pollIntervalMs = 1;
    }).to.throw(TypeError);
    expect(() => shared.packages.push('MLC00002')).to.throw(TypeError);
    expect(() => {
      (shared.softwareInventory!.fileFilters[0] as { recursive: boolean }).recursive = false;
    }).to.throw(TypeError);
    expect(cache.get(policy(1))).to.deep.equal(pollResponse.decode(policy(1)));
  });

  it('freezes the instructions extension too, down to its lists', () => {
    const { cache } = counting<Instructions>(instructions.decode);
    const shared = cache.get(INSTRUCTIONS);
    expect(() => shared.extension!.program!.successExitCodes.push(3010)).to.throw(TypeError);
    expect(() => {
      (shared.extension!.advertisement as { revision: number }).revision = 8;
    }).to.throw(TypeError);
    expect(Object.isFrozen(instructions.decode(INSTRUCTIONS)), 'a decode of its own is not frozen').to.equal(false);
  });

  it('keeps nothing of a document that does not decode: every receiver gets the error', () => {
    const { cache, counted } = counting<PollResponse>(pollResponse.decode);
    const broken = policy(1).replace('0000-00-00 01:00:00', '1:00:00');
    expect(() => cache.get(broken)).to.throw(ProtocolError, /PollInterval/);
    expect(() => cache.get(broken)).to.throw(ProtocolError, /PollInterval/);
    expect(counted.decodes).to.equal(2);
  });

  it('holds at most its capacity, forgetting the oldest text first', () => {
    const { cache, counted } = counting<PollResponse>(pollResponse.decode, 2);
    cache.get(policy(1));
    cache.get(policy(2));
    cache.get(policy(3));
    cache.get(policy(3));
    cache.get(policy(2));
    expect(counted.decodes, 'the two newest are kept').to.equal(3);
    cache.get(policy(1));
    expect(counted.decodes, 'the oldest was forgotten').to.equal(4);
  });

  it('is bound, so a connection can hand get over on its own', () => {
    const { cache, counted } = counting<PollResponse>(pollResponse.decode);
    const { get } = cache;
    expect(get(policy(2)).packages).to.deep.equal(['MLC00001']);
    expect(cache.get(policy(2))).to.equal(get(policy(2)));
    expect(counted.decodes).to.equal(1);
  });
});
