import { expect } from 'chai';
import axios from 'axios';
import { DEVICE_ACTIONS, pollRequest, registrationRequest, REPORT_TYPES } from '../src/protocol/documents.js';
import { seededRandom, type Random } from '../src/random.js';
import { TestSite } from './support/test-site.js';

/** Random JSON: scalars, arrays and objects, sometimes with the field names the schemas use. */
function randomJson(random: Random, depth = 0): unknown {
  const names = ['id', 'name', 'packageId', 'programName', 'collectionId', 'source', 'platforms', 'settings', 'kind', 'endpoint', 'rate', 'expected', 'members', 'rule', '__proto__', 'constructor'];
  switch (random.int(0, depth > 2 ? 4 : 6)) {
    case 0:
      return null;
    case 1:
      return random.next() < 0.5;
    case 2:
      return [0, -1, 1e308, Number.MAX_SAFE_INTEGER + 2, 3.5, random.int(-1e6, 1e6)][random.int(0, 5)];
    case 3:
      return ['', 'MLC00001', 'TST00001', '../../etc', 'Windows Mobile 6.5', '0000-00-00 01:00:00', 'x'.repeat(random.int(0, 3000)), '\u0000\ud800<&>'][random.int(0, 7)];
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

describe('fuzz: random bodies at every endpoint get a 4xx, never a 5xx, and the site keeps serving', function () {
  this.timeout(60_000);
  let site: TestSite;
  before(async () => {
    site = await TestSite.start();
  });
  after(async () => site.stop());

  const ROUNDS = 150;
  const http = () => axios.create({ baseURL: site.server.url, validateStatus: () => true, transformRequest: (body: unknown) => body });

  it('admin API', async () => {
    const random = seededRandom(2024);
    const routes: [string, string][] = [
      ['post', '/admin/packages'],
      ['put', '/admin/packages/TST00001'],
      ['post', '/admin/programs'],
      ['post', '/admin/configuration-items'],
      ['put', '/admin/configuration-items/CI-PIN'],
      ['post', '/admin/collections'],
      ['post', '/admin/collections/ALL/members'],
      ['post', '/admin/advertisements'],
      ['patch', '/admin/advertisements/TST20001'],
      ['post', '/admin/faults'],
    ];
    for (const [method, url] of routes) {
      for (let round = 0; round < ROUNDS; round++) {
        const body = random.next() < 0.8 ? JSON.stringify(randomJson(random)) : randomBody(random, '{"id":"TST00009","name":"x"}');
        const response = await http().request({ method, url, data: body, headers: { 'content-type': 'application/json' } });
        expect(response.status, `${method} ${url} ${String(body).slice(0, 200)}`).to.be.below(500);
      }
    }
    for (let round = 0; round < ROUNDS; round++) {
      const response = await http().get('/admin/status-messages', { params: { [random.next() < 0.5 ? 'advertisementId' : 'bogus']: String(randomJson(random)).replace(/[\ud800-\udfff]/g, '?') } });
      expect(response.status).to.be.below(500);
    }
  });

  it('device management point, registered device or not', async () => {
    const random = seededRandom(1978);
    const register = registrationRequest.encode({ device: { uuid: 'FUZZ-1', name: 'fuzz', platform: 'Windows Mobile 6.5', osVersion: '5.2' } });
    const registered = await http().post('/DeviceManagement', register, { headers: { 'content-type': 'text/xml', 'x-device-uuid': 'FUZZ-1', 'x-device-action': 'Register' } });
    const token = /Token="([^"]+)"/.exec(String(registered.data))![1]!;
    const valid = pollRequest.encode({ policyVersion: 3 });
    for (const action of [...DEVICE_ACTIONS, 'Nonsense', '']) {
      for (let round = 0; round < ROUNDS; round++) {
        const headers: Record<string, string> = {
          'content-type': ['text/xml', 'application/xml', 'application/json', 'text/plain'][random.int(0, 3)]!,
          'x-device-uuid': random.next() < 0.8 ? 'FUZZ-1' : String(randomJson(random)).slice(0, 100),
          'x-device-action': action,
        };
        if (random.next() < 0.8) headers['x-device-auth'] = token;
        if (action === 'Report') headers['x-device-reporttype'] = [...REPORT_TYPES, 'Gossip'][random.int(0, 3)]!;
        const response = await http().post('/DeviceManagement', randomBody(random, valid), { headers });
        expect(response.status, `${action} ${headers['x-device-reporttype']} ${JSON.stringify(response.data).slice(0, 400)}`).to.be.below(500);
      }
    }
    for (let round = 0; round < ROUNDS; round++) {
      const response = await http().get(`/SMS_DP_SMSPKG$/TST00001/1.tar`, { headers: { range: String(randomBody(random, 'bytes=0-99')) } });
      expect(response.status).to.be.below(500);
    }
  });

  it('refuses package content from outside the content root', async () => {
    const response = await http().post('/admin/packages', JSON.stringify({ id: 'TST0000E', name: 'escape', source: '../../../etc' }), { headers: { 'content-type': 'application/json' } });
    expect(response.status).to.equal(400);
    expect(response.data).to.include({ field: 'source' });
    expect(response.data.reason).to.match(/outside the content root/);
  });

  it('still serves a well-formed poll afterwards', async () => {
    const register = registrationRequest.encode({ device: { uuid: 'FUZZ-2', name: 'fuzz', platform: 'Windows Mobile 6.5', osVersion: '5.2' } });
    const registered = await http().post('/DeviceManagement', register, { headers: { 'content-type': 'text/xml', 'x-device-uuid': 'FUZZ-2', 'x-device-action': 'Register' } });
    const token = /Token="([^"]+)"/.exec(String(registered.data))![1]!;
    const poll = await http().post('/DeviceManagement', pollRequest.encode({ policyVersion: null }), {
      headers: { 'content-type': 'text/xml', 'x-device-uuid': 'FUZZ-2', 'x-device-auth': token, 'x-device-action': 'Poll' },
    });
    expect(poll.status).to.equal(200);
    expect(String(poll.data)).to.include('<PollResponse');
  });
});
