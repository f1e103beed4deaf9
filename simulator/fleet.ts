import type { DeviceProfile } from '../src/agent/device-profile.js';
import { startHandheld, type Handheld } from '../src/agent/handheld.js';
import type { PollScheduler } from '../src/agent/poll-scheduler.js';
import type { SiteConnection } from '../src/agent/site-connection.js';
import { outboxSize } from '../src/agent/status-outbox.js';
import type { Logger } from '../src/logging.js';
import type { Random } from '../src/random.js';

export interface FleetOptions {
  profiles: DeviceProfile[];
  connection: SiteConnection;
  scheduler: PollScheduler;
  random: Random;
  logger: Logger;
  /** First polls are spread uniformly over this window from now, so the fleet does not stampede the site. */
  staggerMs: number;
}

/** Many handhelds in one process: one actor each, sharing the connection, scheduler and root logger. */
export class Fleet {
  readonly handhelds: Handheld[];
  /** Devices that have been through at least one whole poll cycle: polled, handled offers, reported, idle again. */
  private readonly cycled = new Set<string>();

  constructor(options: FleetOptions) {
    const start = options.connection.clock.now();
    this.handhelds = options.profiles.map((profile) => {
      const handheld = startHandheld({
        profile,
        firstPollAt: start + Math.round(options.random.next() * options.staggerMs),
        deps: {
          connection: options.connection,
          scheduler: options.scheduler,
          random: options.random.fork(),
          logger: options.logger.child({ device: profile.id }),
        },
      });
      handheld.subscribe((snapshot) => {
        if (snapshot.value === 'idle' && snapshot.context.lastPollAt !== null && outboxSize(snapshot.context.outbox) === 0) this.cycled.add(profile.id);
      });
      return handheld;
    });
  }

  get size(): number {
    return this.handhelds.length;
  }

  /** Every device has finished its first poll cycle: one distribution round is over. */
  get roundComplete(): boolean {
    return this.cycled.size === this.handhelds.length;
  }

  get devicesCycled(): number {
    return this.cycled.size;
  }

  /** Devices by top-level statechart state (`offer` for any stage of handling an advertisement). */
  stateCounts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const handheld of this.handhelds) {
      const value = handheld.getSnapshot().value;
      const state = typeof value === 'string' ? value : Object.keys(value)[0]!;
      counts[state] = (counts[state] ?? 0) + 1;
    }
    return counts;
  }

  stop(): void {
    for (const handheld of this.handhelds) handheld.stop();
  }
}
