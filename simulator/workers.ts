import { Worker } from 'node:worker_threads';
import { createLogger, type LogLevel } from '../src/logging.js';
import { InputFileError } from '../src/server/site-file.js';
import type { FleetProgress, FleetSlice } from './fleet.js';
import { LatencyRecorder, type EncodedLatency } from './latency.js';
import { withSiteSide, type LiveFleetOptions } from './live-fleet.js';
import type { ReplayOptions } from './replay.js';
import { mergeReports } from './report-merge.js';
import type { FleetReport } from './report.js';
import type { Scenario } from './scenario.js';

type Unshared = 'logger' | 'onProgress' | 'slice' | 'latency';

/** What a worker thread is asked to run: its slice of a replay or of a live fleet. Plain data, copied to the thread. */
export type WorkerJob = { slice: FleetSlice; logLevel: LogLevel } & (
  | { kind: 'replay'; scenario: Scenario; options: Omit<ReplayOptions, Unshared> }
  | { kind: 'live'; options: Omit<LiveFleetOptions, Unshared> }
);

export type WorkerMessage =
  | { type: 'progress'; progress: FleetProgress; elapsedMs: number }
  | { type: 'report'; report: FleetReport; latency: EncodedLatency }
  | { type: 'failed'; error: { file: string; field: string; reason: string } | string };

/** A job before it is sliced. */
type Job = WorkerJob extends infer J ? (J extends WorkerJob ? Omit<J, 'slice'> : never) : never;

export interface WorkerRun {
  workers: number;
  /** Called with the fleet's progress summed over the workers, and the least elapsed time among them. */
  onProgress?: (progress: FleetProgress, elapsedMs: number) => void;
}

// A worker runs TypeScript as the main thread does: it registers tsx (found from here, whatever the working
// directory), then loads the worker module. (`execArgv: ['--import', 'tsx']` does not reach a worker on Node 20.)
const WORKER_BOOTSTRAP = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})
  .then(({ register }) => { register(); return import(${JSON.stringify(new URL('./fleet-worker.ts', import.meta.url).href)}); })`;

function runSlice(job: WorkerJob, onProgress: (message: Extract<WorkerMessage, { type: 'progress' }>) => void) {
  return new Promise<Extract<WorkerMessage, { type: 'report' }>>((resolve, reject) => {
    const worker = new Worker(WORKER_BOOTSTRAP, { eval: true, workerData: job });
    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'progress') onProgress(message);
      else if (message.type === 'report') {
        resolve(message);
        void worker.terminate();
      }
      else reject(typeof message.error === 'string' ? new Error(message.error) : new InputFileError(message.error.file, message.error.field, message.error.reason));
    });
    worker.on('error', reject);
    worker.on('exit', (code) => reject(new Error(`worker ${job.slice.index} exited (code ${code}) without a report`)));
  });
}

/**
 * Runs a fleet across worker threads, one slice of the devices each, so a fleet uses every core. A replay's
 * slices each replay against a site of their own (devices never share site state but advertisement targeting, so
 * the counts add up); a live fleet's slices all load the one server under test, whose side is read once at the end.
 */
export async function runInWorkers(job: Job, run: WorkerRun): Promise<FleetReport> {
  const started = performance.now();
  const progress: Extract<WorkerMessage, { type: 'progress' }>[] = [];
  const onProgress = (index: number) => (message: Extract<WorkerMessage, { type: 'progress' }>) => {
    progress[index] = message;
    if (!run.onProgress || progress.filter(Boolean).length < run.workers) return;
    const states: Record<string, number> = {};
    for (const { progress: p } of progress) for (const [state, count] of Object.entries(p.states)) states[state] = (states[state] ?? 0) + count;
    run.onProgress(
      { devices: progress.reduce((n, m) => n + m.progress.devices, 0), cycled: progress.reduce((n, m) => n + m.progress.cycled, 0), states },
      Math.min(...progress.map((m) => m.elapsedMs)),
    );
  };
  const results = await Promise.all(
    Array.from({ length: run.workers }, (_, index) => runSlice({ ...job, slice: { index, of: run.workers } } as WorkerJob, onProgress(index))),
  );
  const latency = new LatencyRecorder();
  for (const result of results) latency.merge(result.latency);
  const report = mergeReports(
    results.map((r) => r.report),
    latency.summary(),
    (performance.now() - started) / 1000,
  );
  return job.kind === 'live' ? withSiteSide(report, job.options.serverUrl, createLogger(job.logLevel)) : report;
}
