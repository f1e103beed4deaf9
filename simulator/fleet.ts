import type { DeviceProfile } from '../src/agent/device-profile.js';
import { startHandheld, type Handheld } from '../src/agent/handheld.js';
import { memoryOf } from '../src/agent/machine.js';
import type { SiteConnection } from '../src/agent/site-connection.js';
import { outboxSize } from '../src/agent/status-outbox.js';
import type { Logger } from '../src/logging.js';
import type { Random } from '../src/random.js';
import type { DeviceStateStore } from './device-state-store.js';

/** Which share of a fleet one worker runs (`--workers`): device i belongs to worker i mod `of`. */
export interface FleetSlice {
  index: number;
  of: number;
}

export function inSlice<T>(all: T[], slice: FleetSlice | undefined): T[] {
  return slice === undefined ? all : all.filter((_, i) => i % slice.of === slice.index);
}

/** What a progress display shows of a fleet (summed over workers). */
export interface FleetProgress {
  devices: number;
  cycled: number;
  states: Record<string, number>;
}

export interface FleetOptions {
  profiles: DeviceProfile[];
  connection: SiteConnection;
  random: Random;
  logger: Logger;
  /** First polls are spread uniformly over this window from now, so the fleet does not stampede the site. */
  staggerMs: number;
  /** Where devices remember their outboxes across simulator restarts (`--state-dir`). */
  stateStore?: DeviceStateStore;
}

/** Many handhelds in one process: one actor each, sharing the connection (and its clock) and the root logger. */
export class Fleet {
  readonly handhelds: Handheld[];
  /** Devices through a whole poll cycle begun since `roundSince`: polled, handled offers, reported, idle again. */
  private readonly cycled = new Set<string>();
  private roundSince = -Infinity;

  constructor(options: FleetOptions) {
    const start = options.connection.clock.now();
    this.handhelds = options.profiles.map((profile) => {
      const store = options.stateStore;
      const memory = store?.load(profile.id);
      const handheld = startHandheld({
        profile,
        ...(memory && { memory }),
        firstPollAt: start + Math.round(options.random.next() * options.staggerMs),
        deps: {
          connection: options.connection,
          random: options.random.fork(),
          logger: options.logger.child({ device: profile.id }),
        },
      });
      let remembered = memory?.outbox;
      handheld.subscribe((snapshot) => {
        const { lastPollAt, outbox } = snapshot.context;
        // The outbox changes whenever a record is made or delivered: that is when the device's memory must be saved.
        if (store && outbox !== remembered) {
          store.save(profile.id, memoryOf(snapshot.context));
          remembered = outbox;
        }
        if (snapshot.value === 'idle' && lastPollAt !== null && lastPollAt >= this.roundSince && outboxSize(outbox) === 0) this.cycled.add(profile.id);
      });
      return handheld;
    });
  }

  get size(): number {
    return this.handhelds.length;
  }

  /** Starts counting a new round: only poll cycles begun from `since` (e.g. after a site change) count. */
  startRound(since: number): void {
    this.roundSince = since;
    this.cycled.clear();
  }

  /** Every device has finished a poll cycle begun in this round. */
  get roundComplete(): boolean {
    return this.cycled.size === this.handhelds.length;
  }

  get devicesCycled(): number {
    return this.cycled.size;
  }

  /** Status records (messages and compliance results) the devices generated, and how many await delivery. */
  statusCounts(): { generated: number; pending: number } {
    let generated = 0;
    let pending = 0;
    for (const handheld of this.handhelds) {
      const { seq, outbox } = handheld.getSnapshot().context;
      generated += seq;
      pending += outboxSize(outbox);
    }
    return { generated, pending };
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

  /** Devices by platform. */
  platformCounts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const handheld of this.handhelds) {
      const { platform } = handheld.getSnapshot().context.profile;
      counts[platform] = (counts[platform] ?? 0) + 1;
    }
    return counts;
  }

  progress(): FleetProgress {
    return { devices: this.size, cycled: this.devicesCycled, states: this.stateCounts() };
  }

  stop(): void {
    for (const handheld of this.handhelds) handheld.stop();
  }
}
