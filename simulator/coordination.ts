import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from 'redis';
import type { FleetProgress, FleetSlice } from './fleet.js';
import type { EncodedLatency } from './latency.js';
import type { ShardReport } from './shard.js';

/**
 * Shards of one run meet in a Redis: each registers, waits at a common start barrier, then publishes a heartbeat
 * (its progress and latency histograms) every second and its report at the end. A coordinator reads them (see
 * coordinator.ts). Keys live under `mlc-sim:<run id>:` and expire after a day.
 */

/** How often a shard publishes, and a coordinator reads. */
export const HEARTBEAT_MS = 1000;
const KEY_TTL_SECONDS = 86_400;
/** The barrier opens this long after the last shard registers, so every shard sees it before the start. */
const START_LEAD_MS = 1000;

/** Coordination that cannot go on: Redis unreachable, a run id reused, a barrier that never opened. One line. */
export class CoordinationError extends Error {}

export interface RunLink {
  /** The Redis, e.g. redis://redis:6379. */
  url: string;
  /** Names the run: shards and coordinator of one run give the same one, and a new run a new one. */
  runId: string;
}

export interface Heartbeat {
  /** Counts up with every heartbeat: a coordinator that sees it stand still knows the shard stopped. */
  beat: number;
  /** Null while waiting at the barrier. */
  progress: FleetProgress | null;
  histograms: EncodedLatency;
}

export const runKeys = (runId: string) => {
  const prefix = `mlc-sim:${runId}:`;
  return {
    shards: `${prefix}shards`,
    registered: `${prefix}registered`,
    start: `${prefix}start`,
    heartbeat: (index: number) => `${prefix}heartbeat:${index}`,
    report: (index: number) => `${prefix}report:${index}`,
    failure: (index: number) => `${prefix}failure:${index}`,
  };
};

/** A client that retries for half a minute: in a cluster the Redis may start after the shards. */
const redisClient = (url: string) =>
  createClient({
    url,
    socket: { connectTimeout: 5000, reconnectStrategy: (retries) => (retries >= 30 ? new CoordinationError('gave up after 30 tries') : 1000) },
  });

export type RedisConnection = ReturnType<typeof redisClient>;

export async function connectRedis(link: RunLink): Promise<RedisConnection> {
  const client = redisClient(link.url);
  let lastError: unknown = null;
  client.on('error', (error: unknown) => {
    lastError = error;
  });
  try {
    await client.connect();
  } catch (error) {
    throw new CoordinationError(`cannot reach Redis at ${link.url} (tried for 30 s: ${String(lastError ?? error)})`);
  }
  return client;
}

/** Records the run's shard count, or finds that it was recorded with another count (a mistake worth stopping for). */
export async function agreeOnShardCount(client: RedisConnection, link: RunLink, of: number): Promise<void> {
  const keys = runKeys(link.runId);
  await client.set(keys.shards, String(of), { NX: true, EX: KEY_TTL_SECONDS });
  const recorded = Number(await client.get(keys.shards));
  if (recorded !== of) throw new CoordinationError(`run ${link.runId} has ${recorded} shards, not ${of}: every shard and the coordinator must agree`);
}

/** One shard's line to its run: registration, the start barrier, heartbeats, its report. */
export class ShardLink {
  private beat = 0;
  private readonly keys;

  private constructor(
    private readonly client: RedisConnection,
    private readonly link: RunLink,
    private readonly shard: FleetSlice,
  ) {
    this.keys = runKeys(link.runId);
  }

  static async join(link: RunLink, shard: FleetSlice): Promise<ShardLink> {
    const client = await connectRedis(link);
    try {
      await agreeOnShardCount(client, link, shard.of);
      const keys = runKeys(link.runId);
      if ((await client.exists(keys.report(shard.index))) > 0)
        throw new CoordinationError(`run ${link.runId} already has a report of shard ${shard.index}: give this run a new --run-id`);
      await client.sAdd(keys.registered, String(shard.index));
      await client.expire(keys.registered, KEY_TTL_SECONDS);
    } catch (error) {
      client.destroy();
      throw error;
    }
    return new ShardLink(client, link, shard);
  }

  /** Waits, publishing heartbeats, until every shard has registered; all start at the same instant. */
  async waitForStart(timeoutMs: number): Promise<void> {
    const giveUpAt = Date.now() + timeoutMs;
    for (;;) {
      await this.publish(null, {});
      const registered = await this.client.sCard(this.keys.registered);
      if (registered >= this.shard.of) break;
      if (Date.now() > giveUpAt)
        throw new CoordinationError(`run ${this.link.runId}: only ${registered} of ${this.shard.of} shards registered in ${timeoutMs / 1000} s`);
      await sleep(200);
    }
    await this.client.set(this.keys.start, String(Date.now() + START_LEAD_MS), { NX: true, EX: KEY_TTL_SECONDS });
    const start = Number(await this.client.get(this.keys.start));
    await sleep(Math.max(0, start - Date.now()));
  }

  async publish(progress: FleetProgress | null, histograms: EncodedLatency): Promise<void> {
    const heartbeat: Heartbeat = { beat: ++this.beat, progress, histograms };
    await this.client.set(this.keys.heartbeat(this.shard.index), JSON.stringify(heartbeat), { EX: KEY_TTL_SECONDS });
  }

  async finish(report: ShardReport): Promise<void> {
    await this.client.set(this.keys.report(this.shard.index), JSON.stringify(report), { EX: KEY_TTL_SECONDS });
  }

  /** Says why this shard stopped without a report (bad input, say), so the coordinator need not wait to find out. */
  async fail(reason: string): Promise<void> {
    await this.client.set(this.keys.failure(this.shard.index), reason, { EX: KEY_TTL_SECONDS });
  }

  close(): void {
    this.client.destroy();
  }
}
