import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { WireExchange } from '../src/agent/site-connection.js';
import { silentLogger } from '../src/logging.js';
import { replayScenario } from '../simulator/replay.js';
import { loadScenario } from '../simulator/scenario.js';
import { writeScenario } from './support/scenario-file.js';
import { simulatedReport } from './support/simulated-report.js';

/** Every kind of fault, on the endpoints it applies to, and the site down for ten minutes. */
const EVERY_FAULT = [
  '  - { at: "00:00", until: "01:30", action: fault, fault: { endpoint: Poll, kind: retry-after, status: 503, retryAfterSeconds: 90, rate: 0.2 } }',
  '  - { at: "00:00", action: fault, fault: { endpoint: Poll, kind: latency, latencyMs: { min: 0, max: 2 }, rate: 0.2 } }',
  '  - { at: "00:00", action: fault, fault: { endpoint: InstructionRequest, kind: malformed, rate: 0.3 } }',
  '  - { at: "00:00", action: fault, fault: { endpoint: LocationRequest, kind: reset, rate: 0.3 } }',
  '  - { at: "00:00", action: fault, fault: { endpoint: Status, kind: reset, rate: 0.3 } }',
  '  - { at: "00:00", action: fault, fault: { endpoint: Report, kind: http-error, status: 500, rate: 0.3 } }',
  '  - { at: "00:00", action: fault, fault: { endpoint: Content, kind: corrupt-content, rate: 0.15 } }',
  '  - { at: "00:00", action: fault, fault: { endpoint: Content, kind: truncate-content, rate: 0.15 } }',
  '  - { at: "00:00", action: fault, fault: { endpoint: Content, kind: reset, rate: 0.15 } }',
  '  - { at: "00:00", action: fault, fault: { endpoint: Content, kind: trickle, bytesPerSecond: 4000000, rate: 0.15 } }',
  '  - { at: "02:00", action: siteDown, until: "02:10" }',
];

/**
 * One device's exchanges as the wire log has them, less the milliseconds and the headers HTTP itself adds, and with
 * what differs between any two sites: the tokens they issue (random) and their port.
 */
function exchangesByDevice(lines: string): Record<string, string[]> {
  const byDevice: Record<string, string[]> = {};
  for (const line of lines.trim().split('\n')) {
    const e = JSON.parse(line) as WireExchange;
    const answer = e.response && {
      status: e.status,
      headers: Object.fromEntries(
        Object.entries(e.response.headers).filter(([name]) => name.startsWith('x-device-') || name === 'retry-after' || name === 'content-type'),
      ),
      body: e.response.body,
    };
    const text = JSON.stringify({ action: e.action, request: e.request, answer, error: e.error });
    (byDevice[e.device] ??= []).push(text.replace(/\b[0-9a-f]{24}\b/g, '(token)').replace(/127\.0\.0\.1:\d+/g, '(site)'));
  }
  return byDevice;
}

describe('a replay without HTTP between the fleet and its embedded site', function () {
  this.timeout(180_000);

  it('gives the report and the exchanges it gives over loopback HTTP, through every kind of fault and an outage', async () => {
    const scenario = await writeScenario('Every fault', ['devices: 30', 'seed: 3', 'staggerMinutes: 30', 'duration: "04:00"'], EVERY_FAULT);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mlc-sim-transport-'));
    const runs = [];
    for (const overHttp of [false, true]) {
      const file = path.join(dir, `wire-${overHttp ? 'http' : 'embedded'}.jsonl`);
      const report = await replayScenario(await loadScenario(scenario), { limitMs: 24 * 3_600_000, logger: silentLogger(), wireLog: { file }, overHttp });
      runs.push({ report, exchanges: exchangesByDevice(await readFile(file, 'utf8')) });
    }
    const [embedded, http] = runs as [(typeof runs)[0], (typeof runs)[0]];
    // The faults struck: every device-management endpoint saw failures, and downloads were spoiled and tried again
    // (a spoiled download is a 200 or 206 on the wire: the device finds it cut short or not matching its hash).
    for (const endpoint of ['Poll', 'InstructionRequest', 'LocationRequest', 'Status', 'Report/MachineInventory']) {
      expect(embedded.report.latency[endpoint]!.errors, endpoint).to.be.above(0);
    }
    const downloaded = embedded.report.advertisements.flatMap((ad) => ad.messages).filter((m) => m.messageId === 11031);
    expect(embedded.report.latency.Content!.count).to.be.above(downloaded.reduce((sum, m) => sum + m.count, 0) + 10);
    const errors = Object.values(embedded.exchanges).flatMap((exchanges) => exchanges.filter((e) => e.includes('"error"')));
    expect(errors.join('\n')).to.include('ECONNREFUSED').and.include('SocketError: other side closed').and.include('ProtocolError: Instructions');
    expect(simulatedReport(embedded.report)).to.equal(simulatedReport(http.report));
    expect(Object.keys(embedded.exchanges)).to.have.length(30);
    for (const [device, exchanges] of Object.entries(http.exchanges)) expect(embedded.exchanges[device], device).to.deep.equal(exchanges);
  });
});
