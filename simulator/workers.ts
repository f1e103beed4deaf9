import { Worker } from 'node:worker_threads';
import { lockStateDir } from './device-state-store.js';
import { createLogger } from '../src/logging.js';
import { InputFileError } from '../src/input-file.js';
import type { RunWatcher } from './dashboard/sampler.js';
import type { FleetProgress, FleetSlice } from './fleet.js';
import { LatencyRecorder, type EncodedLatency } from './latency.js';
import { runHere, type FleetJob } from './fleet-job.js';
import { withSiteSide } from './live-fleet.js';
import { mergeReports } from './report-merge.js';
import type { FleetReport } from './report.js';

/** What one worker thread is asked to run: its slice of the job. */
export type WorkerJob = FleetJob & { slice: FleetSlice };

type ProgressMessage = { type: 'progress'; progress: FleetProgress; elapsedMs: number };
type ReportMessage = { type: 'report'; report: FleetReport; latency: EncodedLatency };
export type WorkerMessage = ProgressMessage | ReportMessage | { type: 'failed'; error: { file: string; field: string; reason: string } | string };
/** What the main thread tells a worker: stop where you are, between two pieces of work. */
export type ToWorkerMessage = { type: 'stop' };

export interface WorkerRun {
  workers: number;
  /** This process's shard of the fleet (`--shard`), which the workers split further; the whole fleet when absent. */
  shard?: FleetSlice;
  /** Where the merged request latency goes: a shard publishes its histograms. */
  latency?: LatencyRecorder;
  /** Called with the fleet's progress summed over the workers, and the least elapsed time among them. */
  onProgress?: (progress: FleetProgress, elapsedMs: number) => void;
  /** The live dashboard: it watches a fleet in this thread, so only a run with one worker has one. */
  watcher?: RunWatcher;
}

/**
 * A worker's young generation, where V8 puts new objects: a fleet makes short-lived ones by the thousand a second
 * (statechart snapshots, requests, answers), and V8's default fills so often that collecting it took an eighth of a
 * back-to-back fleet's CPU. Client ÷ site CPU per poll in interleaved 4 s runs: 1.32 by default against 1.15 at 128 MB
 * (five pairs); then 1.19 at 128, 1.11 at 256, 1.10 at 512 (four rounds): 256 MB is most of the gain for half the
 * memory of 512.
 */
const YOUNG_GENERATION_MB = 256;

// Resolved as the module loads: in mocha's process (tsx's loader), `import.meta.resolve` called later from a
// function was not a function.
const TSX_API = import.meta.resolve('tsx/esm/api');

/**
 * A worker thread running a TypeScript module, with the young generation a fleet needs: every fleet thread, and the
 * benchmark's. It registers tsx (found from here, whatever the working directory), then loads the module.
 * (`execArgv: ['--import', 'tsx']` does not reach a worker on Node 20.)
 */
export function fleetThread(module: URL, workerData: unknown): Worker {
  const bootstrap = `import(${JSON.stringify(TSX_API)}).then(({ register }) => { register(); return import(${JSON.stringify(module.href)}); })`;
  return new Worker(bootstrap, { eval: true, workerData, resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB } });
}

function runSlice(worker: Worker, index: number, onProgress: (message: ProgressMessage) => void) {
  return new Promise<ReportMessage>((resolve, reject) => {
    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'progress') {
        onProgress(message);
      } else if (message.type === 'report') {
        resolve(message);
        void worker.terminate();
      } else {
        const { error } = message;
        reject(typeof error === 'string' ? new Error(error) : new InputFileError(error.file, error.field, error.reason));
      }
    });
    worker.on('error', reject);
    worker.on('exit', (code) => {
      reject(new Error(`worker ${index} exited (code ${code}) without a report`));
    });
  });
}

/** How long a worker asked to stop has to exit before it is terminated. */
const STOP_GRACE_MS = 5_000;

/** Settles when the worker exits: made as it starts, so that an exit before anyone waits for it is not missed. */
function exitOf(worker: Worker): Promise<void> {
  return new Promise((resolve) => {
    worker.once('exit', () => {
      resolve();
    });
  });
}

/**
 * Asks a worker to exit between two pieces of its work, and terminates it only if it has not within STOP_GRACE_MS.
 * `exited` is its exitOf: a worker that has already exited (the one that failed, say) is not waited for again.
 * Terminated in the middle of its work, a worker could be cut off between making a zlib stream and initialising it
 * (a CAB being inflated), and Node 20 then aborts the whole process when it collects the stream.
 */
async function stopWorker(worker: Worker, exited: Promise<void>): Promise<void> {
  worker.postMessage({ type: 'stop' } satisfies ToWorkerMessage);
  const grace = setTimeout(() => void worker.terminate(), STOP_GRACE_MS);
  await exited;
  clearTimeout(grace);
}

/**
 * Runs a fleet across worker threads, one slice of the devices each, so a fleet uses every core. A replay's
 * slices each replay against a site of their own (devices never share site state but advertisement targeting, so
 * the counts add up); a live fleet's slices all load the one server under test, whose side is read once at the end.
 */
export async function runInWorkers(job: FleetJob, run: WorkerRun): Promise<FleetReport> {
  const started = performance.now();
  const progress: ProgressMessage[] = [];
  const onProgress = (index: number) => (message: ProgressMessage) => {
    progress[index] = message;
    if (!run.onProgress || progress.filter(Boolean).length < run.workers) return;
    const states: Record<string, number> = {};
    for (const { progress: p } of progress) for (const [state, count] of Object.entries(p.states)) states[state] = (states[state] ?? 0) + count;
    run.onProgress(
      {
        devices: progress.reduce((n, m) => n + m.progress.devices, 0),
        cycled: progress.reduce((n, m) => n + m.progress.cycled, 0),
        states,
        asleep: progress.reduce((n, m) => n + m.progress.asleep, 0),
      },
      Math.min(...progress.map((m) => m.elapsedMs)),
    );
  };
  const shard = run.shard ?? { index: 0, of: 1 };
  const workers = Array.from({ length: run.workers }, (_, index) => {
    // Worker w of shard s takes the devices i with i mod (shards × workers) = s + w × shards: they make up the shard.
    const workerData: WorkerJob = { ...job, slice: { index: shard.index + index * shard.of, of: shard.of * run.workers } };
    return fleetThread(new URL('./fleet-worker.ts', import.meta.url), workerData);
  });
  const exits = new Map(workers.map((worker) => [worker, exitOf(worker)]));
  let results: ReportMessage[];
  try {
    results = await Promise.all(workers.map((worker, index) => runSlice(worker, index, onProgress(index))));
  } catch (error) {
    // One slice failed (bad input, say): the others' results would be a partial report, so stop them too.
    await Promise.all([...exits].map(([worker, exited]) => stopWorker(worker, exited)));
    throw error;
  }
  const latency = run.latency ?? new LatencyRecorder();
  for (const result of results) latency.merge(result.latency);
  const report = mergeReports(
    results.map((r) => r.report),
    latency.summary(),
    (performance.now() - started) / 1000,
  );
  // A shard of a live fleet leaves the server's side to whoever merges the shards: it is the whole server's.
  return job.kind === 'live' && run.shard === undefined ? withSiteSide(report, job.options.serverUrl, createLogger(job.logLevel)) : report;
}

/**
 * Runs a job in this thread, or split across worker threads when more than one is asked for. Its `--state-dir` is
 * locked for the run: a second fleet on the same directory is refused rather than losing records to this one.
 *
 * One worker stays here, with V8's default young generation (a lifecycle fleet spends about a tenth more CPU a
 * request than in a fleet thread): the live dashboard watches the fleet itself, device by device, so it must be in
 * this thread, and a fleet moved to a thread of its own only without it made `--dashboard` cost a run 12 % of its
 * polls (bench/dashboard.ts). `NODE_OPTIONS=--max-semi-space-size=85` gives this thread about a fleet thread's.
 */
export async function runFleetJob(job: FleetJob, run: WorkerRun): Promise<FleetReport> {
  const lock = job.options.stateDir === undefined ? undefined : lockStateDir(job.options.stateDir);
  try {
    if (run.workers > 1) return await runInWorkers(job, run);
    return await runHere(job, {
      logger: createLogger(job.logLevel),
      ...(run.onProgress && { onProgress: run.onProgress }),
      ...(run.shard && { slice: run.shard }),
      ...(run.latency && { latency: run.latency }),
      ...(run.watcher && { watcher: run.watcher }),
    });
  } finally {
    lock?.release();
  }
}
