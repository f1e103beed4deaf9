import { Heap } from 'heap-js';
import type { Clock } from './clock.js';

interface EagerTimer {
  ms: number;
  callback: () => void;
  cancelled: boolean;
}

/**
 * Time that never waits: real `now()`, and every timer fires on the next turn of the event loop. A fleet on this
 * clock polls again as soon as its last cycle ends, and programs finish at once: the fleet as fast as possible
 * (`fleet --back-to-back`, and the throughput benchmark). Waiting timers fire shortest delay first, one delay per
 * turn, so a race between delays keeps its winner: a program shorter than its maximum run time still succeeds
 * (its promise settles before the longer timer's turn comes).
 */
export class EagerClock implements Clock {
  /** Shortest delay on top: a fleet of 100,000 waits here at once, so no scanning of every timer per turn. */
  private readonly waiting = new Heap<EagerTimer>((a, b) => a.ms - b.ms);
  private scheduled = false;

  now(): number {
    return Date.now();
  }

  setTimeout(callback: () => void, ms: number): EagerTimer {
    const timer = { ms, callback, cancelled: false };
    this.waiting.push(timer);
    this.schedule();
    return timer;
  }

  clearTimeout(handle: unknown): void {
    if (handle) (handle as EagerTimer).cancelled = true;
  }

  track<T>(work: Promise<T>): Promise<T> {
    return work;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.fire());
  }

  /** Fires the waiting timers with the shortest delay; the rest wait for the next turn. */
  private fire(): void {
    this.scheduled = false;
    const due: EagerTimer[] = [];
    const shortest = this.waiting.peek()?.ms;
    while (this.waiting.length > 0 && this.waiting.peek()!.ms === shortest) due.push(this.waiting.pop()!);
    if (this.waiting.length > 0) this.schedule();
    for (const timer of due) if (!timer.cancelled) timer.callback();
  }
}
