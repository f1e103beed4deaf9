import { readFile } from 'node:fs/promises';
import { InvalidArgumentError } from 'commander';
import { InputFileError } from '../src/input-file.js';
import { createLogger, type Logger } from '../src/logging.js';
import { HEARTBEAT_MS, ShardLink, type RunLink } from './coordination.js';
import type { FleetJob } from './fleet-job.js';
import type { FleetProgress, FleetSlice } from './fleet.js';
import { LatencyRecorder, type EncodedLatency } from './latency.js';
import { withSiteSide } from './live-fleet.js';
import { mergeReports } from './report-merge.js';
import type { FleetReport } from './report.js';
import type { Threshold } from './thresholds.js';
import { runFleetJob, type WorkerRun } from './workers.js';

/** Exit code of a merged report that lacks a shard: its figures are of fewer devices than the run had. */
export const SHARD_LOST_EXIT_CODE = 4;

/** What a shard adds to its report so that reports of shards can be merged: which shard, and its raw histograms. */
export interface ShardPart {
  index: number;
  of: number;
  /** Request latency as HdrHistogram's compressed encoding: percentiles of the union are read from their sum. */
  histograms: EncodedLatency;
  /** The server a live fleet's shards load together: its side is read once, after every shard. Null in a replay. */
  serverUrl: string | null;
}

/** What a merged report says of its shards: every one merged, or which are missing and why. */
export interface ShardsSummary {
  of: number;
  merged: number[];
  lost: { index: number; reason: string }[];
}

/** A shard report: a fleet report of one shard's devices, with what merging needs. */
export type ShardReport = FleetReport & { shard: ShardPart };

/** `--shard I/N`: the devices whose index mod N is I. */
export function parseShard(value: string): FleetSlice {
  const match = /^(\d+)\/(\d+)$/.exec(value.trim());
  const index = Number(match?.[1]);
  const of = Number(match?.[2]);
  if (!match || of < 1 || index >= of) throw new InvalidArgumentError(`--shard must be I/N with 0 <= I < N, e.g. 0/4, got "${value}"`);
  return { index, of };
}

/**
 * `--shards N` in a Kubernetes Indexed Job: the index is the pod's, from JOB_COMPLETION_INDEX as the Job controller
 * sets it (0 to completions - 1).
 */
export function shardOfIndexedJob(of: number, environment: NodeJS.ProcessEnv = process.env): FleetSlice {
  const value = environment.JOB_COMPLETION_INDEX;
  if (value === undefined) throw new InvalidArgumentError('--shards N takes the shard index from JOB_COMPLETION_INDEX, which is not set (use --shard I/N)');
  return parseShard(`${value}/${of}`);
}

/** The options of run and fleet that make them a shard. */
export interface ShardOptions {
  shard?: FleetSlice;
  shards?: number;
  coordinator?: string;
  runId: string;
  threshold?: Threshold[];
}

/** The shard a command runs, from `--shard` or `--shards`, or none for the whole fleet. */
function shardOf(options: ShardOptions): FleetSlice | undefined {
  if (options.shard && options.shards !== undefined) throw new InvalidArgumentError('--shard I/N and --shards N are two ways to say the same: give one');
  return options.shards === undefined ? options.shard : shardOfIndexedJob(options.shards);
}

/** How long a shard waits at the start barrier for the others to register before it gives up. */
const BARRIER_TIMEOUT_MS = 10 * 60_000;

/**
 * Runs one shard of a job: its devices only (split further across `run.workers`), reporting its raw histograms. With
 * a coordinator, it first waits for every shard at the start barrier, publishes a heartbeat every second while it runs,
 * and leaves its report in Redis for the coordinator.
 */
export async function runShard(job: FleetJob, run: WorkerRun & { shard: FleetSlice }, coordinator?: RunLink): Promise<ShardReport> {
  const logger = createLogger(job.logLevel);
  const latency = new LatencyRecorder();
  const link = coordinator && (await ShardLink.join(coordinator, run.shard));
  try {
    await link?.waitForStart(BARRIER_TIMEOUT_MS);
    let progress: FleetProgress | null = null;
    const heartbeat =
      link &&
      setInterval(() => {
        // A heartbeat that cannot be written is the coordinator's to notice; the shard's own run goes on.
        link.publish(progress, latency.export()).catch((error: unknown) => {
          logger.warn('heartbeat not published', { error: String(error) });
        });
      }, HEARTBEAT_MS);
    let report: FleetReport;
    try {
      report = await runFleetJob(job, {
        ...run,
        latency,
        onProgress: (now, elapsedMs) => {
          progress = now;
          run.onProgress?.(now, elapsedMs);
        },
      });
    } finally {
      clearInterval(heartbeat);
    }
    const serverUrl = job.kind === 'live' ? job.options.serverUrl : null;
    const shardReport: ShardReport = { ...report, shard: { ...run.shard, histograms: latency.export(), serverUrl } };
    await link?.finish(shardReport);
    return shardReport;
  } catch (error) {
    // Best effort: a shard that cannot say why is still found lost when its heartbeat stops, only later.
    await link?.fail(error instanceof Error ? error.message : String(error)).catch(() => undefined);
    throw error;
  } finally {
    link?.close();
  }
}

/** Runs the whole job, or the shard the options name (`--shard`, `--shards`), coordinated when `--coordinator` is given. */
export function runFleetOrShard(job: FleetJob, run: WorkerRun, options: ShardOptions): Promise<FleetReport> {
  const shard = shardOf(options);
  if (shard === undefined) {
    if (options.coordinator !== undefined) throw new InvalidArgumentError('--coordinator coordinates shards: give --shard I/N or --shards N too');
    return runFleetJob(job, run);
  }
  if (options.threshold !== undefined) throw new InvalidArgumentError('--threshold is judged on the merged figures: give it to merge or coordinate');
  return runShard(job, { ...run, shard }, options.coordinator === undefined ? undefined : { url: options.coordinator, runId: options.runId });
}

/** Reads a shard's report.json, as `mlc-sim merge` is given it. */
export async function readShardReport(file: string): Promise<ShardReport> {
  let report: Partial<ShardReport>;
  try {
    report = JSON.parse(await readFile(file, 'utf8')) as Partial<ShardReport>;
  } catch (error) {
    throw new InputFileError(file, '', `cannot be read as a report (${(error as Error).message})`);
  }
  if (report.shard === undefined) throw new InputFileError(file, 'shard', 'is not the report of a shard (run it with --shard I/N and --out)');
  return report as ShardReport;
}

/**
 * One report from the reports of a run's shards, as one process running every device would have written it:
 * counts and status add up (each shard's devices are its own), latency percentiles come from the summed
 * histograms, and a live fleet's server side is read once. Shards that did not report are named in `shards.lost`.
 */
export async function mergeShardReports(
  parts: readonly ShardReport[],
  of: number,
  lost: ShardsSummary['lost'],
  logger: Logger,
): Promise<FleetReport & { shards: ShardsSummary }> {
  const latency = new LatencyRecorder();
  for (const part of parts) latency.merge(part.shard.histograms);
  const merged = mergeReports(
    parts.map(({ shard: _shard, ...report }) => report),
    latency.summary(),
    Math.max(...parts.map((p) => p.wallSeconds)),
  );
  const serverUrl = parts[0]?.shard.serverUrl ?? null;
  const report = serverUrl === null ? merged : await withSiteSide(merged, serverUrl, logger);
  return { ...report, shards: { of, merged: parts.map((p) => p.shard.index).sort((a, b) => a - b), lost } };
}

/** Checks the reports are of one run's distinct shards; the shards none of them is are lost. */
export function checkShardSet(parts: readonly { file: string; report: ShardReport }[]): { of: number; lost: ShardsSummary['lost'] } {
  const [first] = parts;
  if (first === undefined) throw new InvalidArgumentError('merge needs at least one report');
  const { of } = first.report.shard;
  const seen = new Map<number, string>();
  for (const { file, report } of parts) {
    if (report.shard.of !== of) throw new InputFileError(file, 'shard.of', `is ${report.shard.of}, but ${first.file} is of ${of} shards`);
    if (report.seed !== first.report.seed) throw new InputFileError(file, 'seed', `is ${report.seed}, but ${first.file} has seed ${first.report.seed}`);
    const twin = seen.get(report.shard.index);
    if (twin !== undefined) throw new InputFileError(file, 'shard.index', `shard ${report.shard.index} is also ${twin}`);
    seen.set(report.shard.index, file);
  }
  const lost = Array.from({ length: of }, (_, index) => index)
    .filter((index) => !seen.has(index))
    .map((index) => ({ index, reason: 'no report' }));
  return { of, lost };
}

export function renderShards(shards: ShardsSummary): string {
  const head = `Shards: ${shards.merged.length} of ${shards.of} merged`;
  if (shards.lost.length === 0) return head;
  return [
    `${head}; LOST ${shards.lost.length}: the figures above are of the merged shards' devices only`,
    ...shards.lost.map((l) => `  shard ${l.index}/${shards.of}: ${l.reason}`),
  ].join('\n');
}
