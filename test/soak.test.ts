import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { WireExchange } from '../src/agent/site-connection.js';
import { silentLogger } from '../src/logging.js';
import { FAULT_ENDPOINTS } from '../src/admin/contract.js';
import { replayScenario } from '../simulator/replay.js';
import { loadScenario } from '../simulator/scenario.js';
import { writeScenario } from './support/scenario-file.js';
import { validateDocument } from './support/xml-conformance.js';

/** The answers that carry a document; the site answers Status and Report with an empty 200. */
const ANSWERED_WITH_A_DOCUMENT = new Set(['Poll', 'InstructionRequest', 'LocationRequest']);

describe('soak: a fleet through four hours of 20% server errors and cut connections, in replay time', function () {
  this.timeout(120_000);
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mlc-sim-soak-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('ends with every status message each device generated stored by the site exactly once, every document on the wire valid', async () => {
    const faults = FAULT_ENDPOINTS.flatMap((endpoint) => [
      `  - { at: "00:00", until: "04:00", action: fault, fault: { endpoint: ${endpoint}, kind: http-error, status: 503, rate: 0.2 } }`,
      `  - { at: "00:00", until: "04:00", action: fault, fault: { endpoint: ${endpoint}, kind: reset, rate: 0.2 } }`,
    ]);
    const file = await writeScenario('Soak', ['devices: 150', 'seed: 5', 'staggerMinutes: 60', 'duration: "08:00"'], faults);
    const wireLog = path.join(dir, 'wire.jsonl');
    const report = await replayScenario(await loadScenario(file), { limitMs: 0, logger: silentLogger(), wireLog: { file: wireLog } });

    // The faults really struck every endpoint...
    for (const endpoint of ['Poll', 'InstructionRequest', 'LocationRequest', 'Content', 'Status']) {
      expect(report.latency[endpoint]?.errors, endpoint).to.be.above(0);
    }
    // ...and still, counted on both sides, nothing was lost and nothing counted twice.
    expect(report.status.pending).to.equal(0);
    expect(report.status.generated).to.be.above(800);
    expect(report.status.stored).to.equal(report.status.generated);
    // Every targeted device of every program advertisement ended in a state the console counts.
    for (const ad of report.advertisements.filter((a) => a.programName !== null)) {
      expect(ad.received, ad.id).to.equal(ad.targeted);
      expect(ad.succeeded + ad.failed + ad.notApplicable, ad.id).to.equal(ad.targeted);
    }

    // Every exchange of every device, as it crossed the wire: each request a document that conforms to the
    // reference (a collected file is raw bytes, not a document), each answer that came whole the document
    // the reference asks for, or nothing for status and reports. What else came back is an injected fault.
    const exchanges = (await readFile(wireLog, 'utf8'))
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as WireExchange);
    const invalid: string[] = [];
    const check = (xml: string, what: string) => {
      const { root, errors } = validateDocument(xml);
      if (errors.length > 0) invalid.push(`${what}: <${root}>: ${errors.slice(0, 3).join('; ')}\n    ${xml.slice(0, 300)}`);
    };
    const seen: Record<string, { requests: number; documents: number; faults: number; cut: number }> = {};
    for (const exchange of exchanges) {
      const what = `${exchange.device} ${exchange.action}`;
      const count = (seen[exchange.action] ??= { requests: 0, documents: 0, faults: 0, cut: 0 });
      count.requests++;
      if (exchange.action !== 'Report/FileCollection') check(exchange.request.body, `${what} request`);
      if (exchange.response === null) {
        count.cut++;
      } else if (exchange.status === 200) {
        if (ANSWERED_WITH_A_DOCUMENT.has(exchange.action)) {
          check(exchange.response.body, `${what} answer`);
          count.documents++;
        } else {
          expect(exchange.response.body, `${what} answer`).to.equal('');
        }
      } else {
        expect(exchange.status, `${what}: ${exchange.response.body}`).to.equal(503);
        expect(exchange.response.body, what).to.match(/^fault \d+ injected on /);
        count.faults++;
      }
    }
    expect(invalid, `${invalid.length} documents do not conform:\n${invalid.slice(0, 10).join('\n')}`).to.deep.equal([]);
    // The log is the whole fleet's traffic: every device, every kind of exchange, documents and faults alike.
    expect(new Set(exchanges.map((e) => e.device)).size).to.equal(150);
    for (const action of ['Poll', 'InstructionRequest', 'LocationRequest', 'Status', 'Report/MachineInventory', 'Report/SoftwareInventory']) {
      expect(seen[action]?.requests, action).to.be.above(0);
    }
    for (const action of ANSWERED_WITH_A_DOCUMENT) {
      expect(seen[action]!.documents, action).to.be.above(0);
      expect(seen[action]!.faults + seen[action]!.cut, action).to.be.above(0);
    }
    // Nothing crossed the wire unlogged: the log holds as many exchanges as the fleet timed, endpoint by endpoint.
    for (const [endpoint, { count }] of Object.entries(report.latency)) {
      if (endpoint !== 'Content') expect(seen[endpoint]?.requests, endpoint).to.equal(count);
    }
  });
});
