import { Heap } from 'heap-js';
import cron, { type ScheduledTask } from 'node-cron';
import type { Clock } from './clock.js';

interface CronTimer {
  /** The epoch second the timer is due in. */
  second: number;
  callback: () => void;
}

/**
 * Real time for live fleets. One node-cron task, ticking every second, fires every device timer that is due (polls,
 * retries, program run times, restarts), so 100,000 idle handhelds hold one timer, not 100,000. Timers have
 * one-second resolution, like ConfigMgr's schedules and the simulated clock.
 */
export class CronClock implements Clock {
  /** Due second → the timers due in it. */
  private readonly due = new Map<number, Set<CronTimer>>();
  /** The seconds that have timers, earliest first: a tick looks at the seconds due, not at every pending one. */
  private readonly seconds = new Heap<number>((a, b) => a - b);
  private task: ScheduledTask | null = null;

  now(): number {
    return Date.now();
  }

  setTimeout(callback: () => void, ms: number): CronTimer {
    const timer = { second: Math.ceil((Date.now() + Math.max(0, ms)) / 1000), callback };
    let bucket = this.due.get(timer.second);
    if (!bucket) {
      this.due.set(timer.second, (bucket = new Set()));
      this.seconds.push(timer.second);
    }
    bucket.add(timer);
    // A tick that came late (a busy event loop) fires everything due since: no timer is lost, so no warning either.
    this.task ??= cron.schedule(
      '* * * * * *',
      () => {
        this.tick();
      },
      { name: 'mlc-sim device timers', suppressMissedWarning: true },
    );
    return timer;
  }

  clearTimeout(handle: unknown): void {
    const timer = handle as CronTimer | undefined;
    if (timer) this.due.get(timer.second)?.delete(timer);
  }

  track<T>(work: Promise<T>): Promise<T> {
    return work;
  }

  /** Fires the timers of every second up to now, earliest second first: O(timers due), whatever is pending. */
  private tick(): void {
    const now = Math.floor(Date.now() / 1000);
    for (let second = this.seconds.peek(); second !== undefined && second <= now; second = this.seconds.peek()) {
      this.seconds.pop();
      const bucket = this.due.get(second);
      this.due.delete(second);
      if (bucket) for (const timer of bucket) timer.callback();
    }
  }

  /** Drops every pending timer and the cron task. */
  stop(): void {
    this.due.clear();
    this.seconds.clear();
    void this.task?.destroy();
    this.task = null;
  }
}
