import { expect } from 'chai';
import { DecodeCache } from '../src/agent/decode-cache.js';
import { pollResponse, ProtocolError, type PollResponse } from '../src/protocol/documents.js';
import { TestSite } from './support/test-site.js';

const SETTINGS = { pollIntervalMs: 3_600_000, failureRetryCount: 5, failureRetryIntervalMs: 180_000, enableSoftwareDistribution: true };

function policy(policyVersion: number): string {
  return pollResponse.encode({
    policyVersion,
    unchanged: false,
    settings: SETTINGS,
    offers: [{ advertisementId: 'MLC20001', packageId: 'MLC00001', packageVersion: 1, revision: 1 }],
  });
}

/** A cache over the real poll response decoder that counts how often it decodes. */
function countingCache(capacity?: number) {
  const counted = { decodes: 0 };
  const cache = new DecodeCache<PollResponse>((text) => {
    counted.decodes++;
    return pollResponse.decode(text);
  }, capacity);
  return { cache, counted };
}

describe('documents the devices of one connection share (DecodeCache, the poll document)', () => {
  it('decodes a text once and gives every receiver the value its own decode would give', () => {
    const { cache, counted } = countingCache();
    const first = cache.get(policy(3));
    const second = cache.get(policy(3));
    expect(second).to.equal(first);
    expect(first).to.deep.equal(pollResponse.decode(policy(3)));
    expect(counted.decodes).to.equal(1);
    expect(cache.get(policy(4)).policyVersion).to.equal(4);
    expect(counted.decodes).to.equal(2);
  });

  it('freezes the shared value to its leaves, so no device can change what its neighbours hold', () => {
    const { cache } = countingCache();
    const shared = cache.get(policy(3));
    expect(() => {
      (shared.settings as { pollIntervalMs: number }).pollIntervalMs = 1;
    }).to.throw(TypeError);
    expect(() => (shared.offers as unknown[]).push({})).to.throw(TypeError);
    expect(() => {
      (shared.offers[0] as { revision: number }).revision = 2;
    }).to.throw(TypeError);
    expect(cache.get(policy(3)).settings.pollIntervalMs).to.equal(3_600_000);
  });

  it('keeps nothing of a document that does not decode: every receiver gets the error', () => {
    const { cache, counted } = countingCache();
    const broken = policy(3).slice(0, 80);
    expect(() => cache.get(broken)).to.throw(ProtocolError);
    expect(() => cache.get(broken)).to.throw(ProtocolError);
    expect(counted.decodes).to.equal(2);
  });

  it('forgets the oldest text first when full', () => {
    const { cache, counted } = countingCache(2);
    cache.get(policy(1));
    cache.get(policy(2));
    cache.get(policy(3));
    expect(counted.decodes).to.equal(3);
    cache.get(policy(3));
    cache.get(policy(2));
    expect(counted.decodes, 'the two newest are kept').to.equal(3);
    cache.get(policy(1));
    expect(counted.decodes, 'the oldest was forgotten').to.equal(4);
  });

  it('still tells the site which policy version each device holds, though devices share their poll documents', async () => {
    const site = await TestSite.start();
    try {
      const register = async (uuid: string) => {
        const credentials = { uuid, authToken: null as string | null };
        credentials.authToken = await site.connection.register({ uuid, name: uuid, platform: 'Windows Mobile 6.5', osVersion: '5.2.21234' });
        return credentials;
      };
      const [a, b] = [await register('WM-A'), await register('WM-B')];
      const current = (await site.connection.poll(a, null)).policyVersion;
      expect((await site.connection.poll(a, current)).unchanged).to.equal(true);
      expect((await site.connection.poll(b, null)).unchanged, 'a first poll after one at the current version').to.equal(false);
      expect((await site.connection.poll(b, current - 1)).unchanged, 'an older version').to.equal(false);
      expect((await site.connection.poll(a, current)).unchanged).to.equal(true);
    } finally {
      await site.stop();
    }
  });

  it('lets the devices of one connection share the policy and instructions they were sent', async () => {
    const site = await TestSite.start();
    try {
      await site.advertise({ id: 'TST20001', packageId: 'TST00001', programName: 'Install' });
      const devices = [site.startDevice({ id: 'WM-0001' }, 1), site.startDevice({ id: 'WM-0002' }, 2)];
      await site.clock.advance(10 * 60_000);
      const [a, b] = devices.map((device) => device.getSnapshot().context);
      expect(a!.settings).to.equal(b!.settings);
      expect(a!.offers).to.equal(b!.offers);
      expect(a!.current!.instruction).to.equal(b!.current!.instruction);
      expect(await site.messageIds('TST20001', 'WM-0002')).to.include(10008);
    } finally {
      await site.stop();
    }
  });
});
