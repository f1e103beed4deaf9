// Section: replay speed. A day (bench/day.yaml) of a large fleet in replay time, in N worker threads: simulated
// seconds per wall second, and the exchanges per second that takes.
import { loadScenario } from '../simulator/scenario.js';
import { runInWorkers } from '../simulator/workers.js';
import { round, section } from './section.js';

export interface ReplayDayFigures {
  devices: number;
  hours: number;
  workers: number;
  wallSeconds: number;
  simulatedSecondsPerWallSecond: number;
  requestsPerSecond: number;
  statusRecordsStored: number | null;
}

await section(async ({ devices, hours, workers }: { devices: number; hours: number; workers: number }): Promise<ReplayDayFigures> => {
  const scenario = await loadScenario('bench/day.yaml');
  scenario.devices = devices;
  scenario.durationMs = hours * 3_600_000;
  const report = await runInWorkers({ kind: 'replay', scenario, options: { limitMs: scenario.durationMs }, logLevel: 'error' }, { workers });
  const requests = Object.values(report.latency).reduce((sum, endpoint) => sum + endpoint.count, 0);
  return {
    devices,
    hours,
    workers,
    wallSeconds: round(report.wallSeconds),
    simulatedSecondsPerWallSecond: Math.round((hours * 3600) / report.wallSeconds),
    requestsPerSecond: Math.round(requests / report.wallSeconds),
    statusRecordsStored: report.status.stored,
  };
});
