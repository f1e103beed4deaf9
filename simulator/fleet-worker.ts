// One worker thread's share of a fleet (`--workers`): runs its slice and posts progress and its report back.
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger } from '../src/logging.js';
import { InputFileError } from '../src/input-file.js';
import type { FleetProgress } from './fleet.js';
import { LatencyRecorder } from './latency.js';
import { runHere } from './fleet-job.js';
import type { ToWorkerMessage, WorkerJob, WorkerMessage } from './workers.js';

if (parentPort === null) throw new Error('fleet-worker.ts runs only as a worker thread (see workers.ts)');
const port = parentPort;
const job = workerData as WorkerJob;
const post = (message: WorkerMessage) => {
  port.postMessage(message);
};
const logger = createLogger(job.logLevel).child({ worker: job.slice.index });
const latency = new LatencyRecorder();
// Asked to stop (another slice failed): exits here, between two tasks, never in the middle of one. Unreferenced, so
// listening does not keep a finished worker alive.
port.on('message', (_stop: ToWorkerMessage) => {
  process.exit(0);
});
port.unref();
const onProgress = (progress: FleetProgress, elapsedMs: number) => {
  post({ type: 'progress', progress, elapsedMs });
};

try {
  const report = await runHere(job, { slice: job.slice, latency, logger, onProgress });
  post({ type: 'report', report, latency: latency.export() });
} catch (error) {
  // Bad input must reach the user as the same clear error the single-threaded run gives.
  post({ type: 'failed', error: error instanceof InputFileError ? { file: error.file, field: error.field, reason: error.reason } : String(error) });
}
