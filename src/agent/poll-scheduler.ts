import cron, { type ScheduledTask } from 'node-cron';
import type { Clock } from '../time/clock.js';

/** Wakes a device for its next policy poll. */
export interface PollScheduler {
  /** Calls `due` at (or just after) `at`; the returned function cancels. */
  schedule(at: number, due: () => void): () => void;
  /** Cancels everything scheduled. */
  stop(): void;
}

/**
 * Real time: one node-cron task ticking every second wakes every device whose poll is due, so a fleet of 100,000
 * idle handhelds holds one timer, not 100,000. Polls are due with one-second resolution, like ConfigMgr's intervals.
 */
export class CronPollScheduler implements PollScheduler {
  /** Due second (epoch seconds) → callbacks due then. */
  private readonly due = new Map<number, Set<() => void>>();
  private task: ScheduledTask | null = null;

  schedule(at: number, due: () => void): () => void {
    const second = Math.ceil(at / 1000);
    let bucket = this.due.get(second);
    if (!bucket) this.due.set(second, (bucket = new Set()));
    bucket.add(due);
    this.task ??= cron.schedule('* * * * * *', () => this.tick(), { name: 'mlc-sim polls' });
    return () => bucket.delete(due);
  }

  private tick(): void {
    const now = Math.floor(Date.now() / 1000);
    for (const [second, bucket] of this.due) {
      if (second > now) continue;
      this.due.delete(second);
      for (const due of bucket) due();
    }
  }

  stop(): void {
    this.due.clear();
    void this.task?.destroy();
    this.task = null;
  }
}

/** Any clock, one timer per device: what replays and tests use, with the simulated clock. */
export class ClockPollScheduler implements PollScheduler {
  private readonly timers = new Set<unknown>();

  constructor(private readonly clock: Clock) {}

  schedule(at: number, due: () => void): () => void {
    const timer = this.clock.setTimeout(() => {
      this.timers.delete(timer);
      due();
    }, at - this.clock.now());
    this.timers.add(timer);
    return () => {
      this.timers.delete(timer);
      this.clock.clearTimeout(timer);
    };
  }

  stop(): void {
    for (const timer of this.timers) this.clock.clearTimeout(timer);
    this.timers.clear();
  }
}
