import { mkdtemp, readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { createActor } from 'xstate';
import { DEFAULT_DEVICE_SETTINGS } from '../src/domain/client-settings.js';
import { DEVICE_MESSAGE } from '../src/domain/device-status.js';
import { CONNECTION_FLAGS } from '../src/domain/eligibility.js';
import { handheldMachine } from '../src/agent/machine.js';
import type { WireExchange } from '../src/agent/site-connection.js';
import type { SitePort } from '../src/agent/site-line.js';
import type { Outbox } from '../src/agent/status-outbox.js';
import { silentLogger } from '../src/logging.js';
import { seededRandom } from '../src/random.js';
import { SimulatedClock } from '../src/time/simulated-clock.js';
import { replayScenario } from '../simulator/replay.js';
import { loadScenario, type TimelineAction } from '../simulator/scenario.js';
import { Timeline } from '../simulator/timeline.js';
import { writeScenario } from './support/scenario-file.js';
import { simulatedReport } from './support/simulated-report.js';
import { profile } from './support/test-site.js';

/** Faults that hit about three requests in ten: which ones is the site's only random decision. */
const PARTIAL_FAULTS = [
  '  - { at: "00:00", action: fault, fault: { endpoint: Poll, kind: http-error, status: 500, rate: 0.3 } }',
  '  - { at: "00:00", action: fault, fault: { endpoint: Content, kind: http-error, status: 503, rate: 0.3 } }',
  '  - { at: "00:00", action: fault, fault: { endpoint: Status, kind: reset, rate: 0.3 } }',
];

/**
 * The same scenario, its requests held back in real time on their way to the site: every request to `endpoint`
 * that the partial faults spare waits 0-15 ms of real time, a different wait for each (a latency fault, added after
 * the others so their ids stay the same). In simulated time nothing changes; the order requests of the same
 * simulated second reach the site in does.
 */
async function scenarioHolding(endpoint: string | null): Promise<string> {
  return writeScenario(
    'Partial faults',
    ['devices: 60', 'seed: 5', 'staggerMinutes: 2', 'duration: "03:00"'],
    [
      ...PARTIAL_FAULTS,
      ...(endpoint === null ? [] : [`  - { at: "00:00", action: fault, fault: { endpoint: ${endpoint}, kind: latency, latencyMs: { min: 0, max: 15 } } }`]),
      // A site change in the middle: in place for every device request of its second, whichever arrives first.
      '  - at: "01:00"',
      '    action: advertise',
      '    advertisement: { id: MLC20009, name: Late driver, collectionId: MLC-ALLMOB, packageId: MLC00002, programName: Install scanner driver, mandatory: true }',
    ],
  );
}

describe('exact replays', function () {
  this.timeout(120_000);

  it('gives byte-identical reports for a seed with partial faults, however the requests of a second interleave', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mlc-sim-exact-'));
    const runs: { report: string; order: string[]; perDevice: Record<string, string[]> }[] = [];
    for (const [i, endpoint] of [null, 'Poll', 'InstructionRequest', 'LocationRequest', 'Status', 'Content'].entries()) {
      const wireLog = path.join(dir, `wire-${i}.jsonl`);
      const report = await replayScenario(await loadScenario(await scenarioHolding(endpoint)), {
        limitMs: 24 * 3_600_000,
        logger: silentLogger(),
        wireLog: { file: wireLog },
      });
      if (i === 0) {
        // The faults hit some requests of each endpoint, not all.
        for (const name of ['Poll', 'Content', 'Status']) expect(report.latency[name]!.errors, name).to.be.above(0).and.below(report.latency[name]!.count);
      }
      const exchanges = (await readFile(wireLog, 'utf8'))
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as WireExchange);
      const perDevice: Record<string, string[]> = {};
      for (const e of exchanges) (perDevice[e.device] ??= []).push(`${e.action} ${e.status}`);
      runs.push({ report: simulatedReport(report), order: exchanges.map((e) => `${e.device} ${e.action} ${e.status}`), perDevice });
    }
    const [unheld, ...held] = runs;
    for (const [i, run] of held.entries()) {
      // The fleet's exchanges came in another order...
      expect(run.order, `run ${i + 1}: the order of exchanges`).to.not.deep.equal(unheld!.order);
      // ...but each device had the same exchanges with the same answers, in the same order, and the report is the same.
      expect(run.perDevice, `run ${i + 1}: each device's exchanges`).to.deep.equal(unheld!.perDevice);
      expect(run.report, `run ${i + 1}: the report`).to.equal(unheld!.report);
    }
  });

  it('sends a device’s requests of one action one at a time, in the order it made them', async () => {
    // A program whose file is not in the package fails at once, while the delivery its start asked for is still out:
    // the device then has a second delivery to make. The site must get the two in that order, not both at once.
    const clock = new SimulatedClock();
    const deliveries: { outbox: Outbox; inFlight: number }[] = [];
    let inFlight = 0;
    const later = <T>(value: T) => clock.track(new Promise<T>((resolve) => setTimeout(resolve, 20, value)));
    const site: SitePort = {
      clock,
      server: 'fake://site',
      poll: () =>
        later({
          policy: { client: DEFAULT_DEVICE_SETTINGS.client, softwareInventory: null, fileCollection: null, machineInventory: null, packages: ['PKG-1'] },
          auth: 'token',
          timestamp: 't',
        }),
      instructions: () =>
        later({
          id: 'PKG-1',
          required: true,
          name: 'App',
          shortDescription: '',
          longDescription: '',
          packageSize: 100,
          flags: CONNECTION_FLAGS.lowBandwidth | CONNECTION_FLAGS.highBandwidth,
          startTime: null,
          recurrence: null,
          localDestination: '\\Temp\\PKG1',
          commandLine: 'wceload.exe /noui Missing.cab',
          sourceFiles: true,
          extension: null,
        }),
      locate: () => later({ packageId: 'PKG-1', locations: [{ metric: 1, httpUrl: 'http://dp/pkg.tar', smbPath: null, directoryService: null, subnets: [] }] }),
      download: () => later({ bytes: 100, files: [{ name: 'App.cab', data: Buffer.from('MSCF') }], documents: {} }),
      deliver: async (_credentials, outbox) => {
        deliveries.push({ outbox, inFlight: ++inFlight });
        const delivery = await later({ delivered: outbox.map((m) => m.parameters.Sequence ?? ''), error: null });
        inFlight--;
        return delivery;
      },
      report: (_credentials, reports) => later(reports.map((r) => r.type)),
    };
    const device = createActor(handheldMachine, { input: { profile: profile(), deps: { site, random: seededRandom(1), logger: silentLogger() } }, clock });
    device.start();
    await clock.advance(60_000);
    device.stop();
    expect(deliveries.map((d) => d.outbox.map((m) => m.messageId))).to.deep.equal([
      [DEVICE_MESSAGE.downloadStarting, DEVICE_MESSAGE.downloadSucceeded],
      [DEVICE_MESSAGE.downloadStarting, DEVICE_MESSAGE.downloadSucceeded, DEVICE_MESSAGE.executionFailed],
    ]);
    expect(deliveries.map((d) => d.inFlight)).to.deep.equal([1, 1]);
    expect(device.getSnapshot().context.outbox).to.have.length(0);
  });

  it('puts a site change of a second in place before any device request of that second goes out', async () => {
    const clock = new SimulatedClock();
    const order: string[] = [];
    const device = (name: string) => () => order.push(name);
    clock.setTimeout(device('device A polls'), 1000);
    // Set after device A's timer, and its work takes real time: still in place before either device asks.
    clock.setTimeout(() => void clock.track(new Promise((resolve) => setTimeout(resolve, 30)).then(() => order.push('site change applied'))), 1000, true);
    clock.setTimeout(device('device B polls'), 1000);
    await clock.advance(1000);
    expect(order).to.deep.equal(['site change applied', 'device A polls', 'device B polls']);
  });

  it('applies timeline actions of the same moment one after another, in the order of the file', async () => {
    // An admin API that is slow to answer the first request: an action sent before it answered would overtake it.
    const arrivals: string[] = [];
    const admin = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        const { endpoint } = JSON.parse(body) as { endpoint: string };
        arrivals.push(`${endpoint} in`);
        setTimeout(
          () => {
            arrivals.push(`${endpoint} out`);
            response.writeHead(201, { 'content-type': 'application/json' }).end('{}');
          },
          arrivals.length === 1 ? 50 : 0,
        );
      });
    });
    await new Promise<void>((resolve) => admin.listen(0, '127.0.0.1', resolve));
    try {
      const clock = new SimulatedClock();
      const fault = (endpoint: 'Poll' | 'Status' | 'Content'): TimelineAction => ({
        at: 60_000,
        action: 'fault',
        fault: { endpoint, kind: 'http-error', status: 503, retryAfterSeconds: 120, latencyMs: { min: 0, max: 0 }, bytesPerSecond: 4096, rate: 0.3 },
      });
      const applied: string[] = [];
      const timeline = new Timeline([fault('Poll'), fault('Status'), fault('Content')], {
        clock,
        serverUrl: `http://127.0.0.1:${(admin.address() as AddressInfo).port}`,
        start: clock.now(),
        deviceIds: [],
        logger: silentLogger(),
        onApplied: (action) => applied.push(action.action === 'fault' ? action.fault.endpoint : action.action),
        site: { stop: () => Promise.resolve(), restart: () => Promise.resolve() },
      });
      await clock.advance(60_000);
      expect(timeline.done).to.equal(true);
      expect(arrivals).to.deep.equal(['Poll in', 'Poll out', 'Status in', 'Status out', 'Content in', 'Content out']);
      expect(applied).to.deep.equal(['Poll', 'Status', 'Content']);
    } finally {
      await new Promise((resolve) => admin.close(resolve));
    }
  });
});
