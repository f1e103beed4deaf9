import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../src/logging.js';
import { agreeOnShardCount, connectRedis, CoordinationError, HEARTBEAT_MS, runKeys, type Heartbeat, type RunLink } from './coordination.js';
import { LatencyRecorder } from './latency.js';
import type { FleetReport } from './report.js';
import { mergeShardReports, type ShardReport, type ShardsSummary } from './shard.js';

export interface CoordinateOptions {
  of: number;
  /** A shard whose heartbeat stands still this long is lost: killed, evicted, or its machine gone. */
  staleMs: number;
  /** Shards that have not registered by then never will: the run is given up. */
  registerTimeoutMs: number;
  logger: Logger;
  /** Where the live figures go, once a second. */
  print: (line: string) => void;
}

/** What the coordinator knows of one shard. */
interface Watched {
  beat: Heartbeat | null;
  /** When (coordinator's clock, so shards' clocks need not agree) its heartbeat last moved. */
  movedAt: number;
  report: ShardReport | null;
  lost: string | null;
}

/**
 * Watches a run's shards through Redis and merges them: live figures every second (devices, poll cycles, latency
 * percentiles from the summed histograms), then one report of every shard that finished. A shard whose heartbeat
 * stops is named lost, in the report and the exit code, rather than left out silently.
 */
export async function coordinateRun(link: RunLink, options: CoordinateOptions): Promise<FleetReport & { shards: ShardsSummary }> {
  const client = await connectRedis(link);
  const keys = runKeys(link.runId);
  const indexes = Array.from({ length: options.of }, (_, index) => index);
  try {
    await agreeOnShardCount(client, link, options.of);
    const started = Date.now();
    for (;;) {
      const registered = await client.sCard(keys.registered);
      if (registered >= options.of) break;
      if (Date.now() - started > options.registerTimeoutMs) {
        const present = new Set(await client.sMembers(keys.registered));
        const missing = indexes.filter((i) => !present.has(String(i)));
        throw new CoordinationError(`run ${link.runId}: shards ${missing.join(', ')} never registered in ${options.registerTimeoutMs / 1000} s`);
      }
      options.print(`waiting for shards: ${registered} of ${options.of} registered`);
      await sleep(HEARTBEAT_MS);
    }
    const watched: Watched[] = indexes.map(() => ({ beat: null, movedAt: Date.now(), report: null, lost: null }));
    for (;;) {
      const now = Date.now();
      // Only the shards still running: a finished shard's report (every device's history) is read once.
      const running = watched.flatMap((shard, index) => (shard.report || shard.lost ? [] : [{ shard, index }]));
      const beats = await client.mGet(running.map((r) => keys.heartbeat(r.index)));
      const reports = await client.mGet(running.map((r) => keys.report(r.index)));
      const failures = await client.mGet(running.map((r) => keys.failure(r.index)));
      for (const [at, { shard, index }] of running.entries()) {
        const report = reports[at];
        if (typeof report === 'string') {
          shard.report = JSON.parse(report) as ShardReport;
          continue;
        }
        const failure = failures[at];
        if (typeof failure === 'string') {
          shard.lost = `failed: ${failure}`;
          continue;
        }
        const text = beats[at];
        const beat = typeof text === 'string' ? (JSON.parse(text) as Heartbeat) : null;
        if (beat && beat.beat !== shard.beat?.beat) {
          shard.beat = beat;
          shard.movedAt = now;
        } else if (now - shard.movedAt > options.staleMs) {
          shard.lost = `stopped publishing ${Math.round((now - shard.movedAt) / 1000)} s ago, without a report`;
          options.logger.warn('shard lost', { shard: index, reason: shard.lost });
        }
      }
      options.print(liveLine(watched, options.of, (now - started) / 1000));
      if (watched.every((s) => s.report || s.lost)) break;
      await sleep(HEARTBEAT_MS);
    }
    const finished = watched.flatMap((s) => (s.report ? [s.report] : []));
    const lost = watched.flatMap((s, index) => (s.lost ? [{ index, reason: s.lost }] : []));
    if (finished.length === 0)
      throw new CoordinationError(`run ${link.runId}: every shard was lost (${lost.map((l) => `${l.index}: ${l.reason}`).join('; ')})`);
    return await mergeShardReports(finished, options.of, lost, options.logger);
  } finally {
    client.destroy();
  }
}

/** The run's figures so far, summed over the shards' latest heartbeats (and the reports of those finished). */
function liveLine(watched: readonly Watched[], of: number, seconds: number): string {
  const latency = new LatencyRecorder();
  let devices = 0;
  let cycled = 0;
  for (const shard of watched) {
    const progress = shard.report ? { devices: shard.report.devices, cycled: shard.report.devicesCycled } : shard.beat?.progress;
    devices += progress?.devices ?? 0;
    cycled += progress?.cycled ?? 0;
    latency.merge(shard.report?.shard.histograms ?? shard.beat?.histograms ?? {});
  }
  const done = watched.filter((s) => s.report).length;
  const lost = watched.filter((s) => s.lost).length;
  const poll = latency.summary().Poll;
  const polls = poll ? ` · Poll p50 ${poll.p50Ms} ms p99 ${poll.p99Ms} ms (${poll.count} requests)` : '';
  return `${Math.round(seconds)} s · shards ${of - done - lost} running, ${done} done, ${lost} lost · ${devices} devices, ${cycled} cycled${polls}`;
}
