import type { LogLevel } from '../src/logging.js';
import { runLiveFleet, type LiveFleetOptions } from './live-fleet.js';
import { replayScenario, type ReplayOptions } from './replay.js';
import type { FleetReport } from './report.js';
import type { Scenario } from './scenario.js';

/** What a thread gives a run of its own: logger, progress, its slice of the devices, where latency goes, its dashboard. */
type Unshared = 'logger' | 'onProgress' | 'slice' | 'latency' | 'watcher';

/** A replay or a live fleet to run: plain data, so a worker thread can get a copy. */
export type FleetJob = { logLevel: LogLevel } & (
  { kind: 'replay'; scenario: Scenario; options: Omit<ReplayOptions, Unshared> } | { kind: 'live'; options: Omit<LiveFleetOptions, Unshared> }
);

/** Runs a job (or a worker's slice of it) in this thread. */
export function runHere(job: FleetJob, here: Pick<ReplayOptions, Unshared>): Promise<FleetReport> {
  return job.kind === 'replay' ? replayScenario(job.scenario, { ...job.options, ...here }) : runLiveFleet({ ...job.options, ...here });
}
