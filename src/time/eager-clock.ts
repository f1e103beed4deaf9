import { Heap } from 'heap-js';
import type { Clock } from './clock.js';

interface EagerTimer {
  ms: number;
  callback: () => void;
  cancelled: boolean;
}

/**
 * Time that never waits: real `now()`, and every timer fires in the same turn of the event loop. A fleet on this
 * clock polls again as soon as its last cycle ends, and programs finish at once: the fleet as fast as possible
 * (`fleet --back-to-back`, and the throughput benchmark).
 *
 * Timers set together (in one run of code and its microtasks) are put in order of delay and each is given an
 * immediate of its own: Node runs the microtasks between two immediates, so a race between delays keeps its winner
 * (a program shorter than its maximum run time settles, and its state machine clears the longer timer, before that
 * timer's immediate runs). The immediates run in the turn they were set in, so a device whose answer came in polls
 * again in that turn, and a fleet keeps all its requests in flight.
 *
 * With a horizon, a timer of that delay or longer never fires: a device's next poll an hour away waits for ever, so
 * each device makes one poll cycle (the lifecycle benchmark, set against autocannon sending one lifecycle per
 * device), while its program's run time and retries still pass at once.
 */
export class EagerClock implements Clock {
  /** Shortest delay on top: a fleet of 100,000 can set its timers together. */
  private readonly waiting = new Heap<EagerTimer>((a, b) => a.ms - b.ms);
  private scheduled = false;

  constructor(private readonly options: { horizonMs?: number } = {}) {}

  now(): number {
    return Date.now();
  }

  setTimeout(callback: () => void, ms: number): EagerTimer {
    const timer = { ms, callback, cancelled: false };
    if (ms >= (this.options.horizonMs ?? Infinity)) return timer;
    this.waiting.push(timer);
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => {
        this.fireWaiting();
      });
    }
    return timer;
  }

  clearTimeout(handle: unknown): void {
    if (handle) (handle as EagerTimer).cancelled = true;
  }

  track<T>(work: Promise<T>): Promise<T> {
    return work;
  }

  /** Hands every waiting timer, shortest delay first, to an immediate of its own. */
  private fireWaiting(): void {
    this.scheduled = false;
    for (let timer = this.waiting.pop(); timer !== undefined; timer = this.waiting.pop()) {
      const due = timer;
      setImmediate(() => {
        if (!due.cancelled) due.callback();
      });
    }
  }
}
