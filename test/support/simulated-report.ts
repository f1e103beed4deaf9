import type { FleetReport } from '../../simulator/report.js';

/**
 * A report as JSON without what the wall clock decides (`wallSeconds`, and the latency figures), but with how many
 * requests each endpoint had and how many failed, which the simulation decides. Two replays of a scenario with the
 * same seed give the same text, byte for byte. The fault windows are left out too: they restate the scenario's
 * timeline, which a spec may add a fault to that changes only the real time requests take.
 */
export function simulatedReport(report: FleetReport): string {
  const { wallSeconds: _wall, latency, windows: _windows, ...simulated } = report;
  const requests = Object.fromEntries(
    Object.entries(latency)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([endpoint, l]) => [endpoint, { count: l.count, errors: l.errors }]),
  );
  return JSON.stringify({ ...simulated, requests });
}
