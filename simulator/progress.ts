import { SingleBar } from 'cli-progress';
import type { FleetProgress } from './fleet.js';
import { duration } from './report.js';

/**
 * A progress bar on stderr for long runs: simulated time against the run's length, and devices by state. Only
 * on a terminal, so pipes and CI logs stay clean.
 */
export function progressBar(totalMs: number): { update: (fleet: FleetProgress, simulatedMs: number) => void; stop: () => void } | null {
  if (!process.stderr.isTTY) return null;
  const bar = new SingleBar({
    stream: process.stderr,
    format: '{bar} {time} simulated | {cycled}/{devices} devices cycled | {states} | {asleep} asleep',
    hideCursor: true,
    clearOnComplete: true,
  });
  bar.start(totalMs, 0, { time: '0s', cycled: 0, devices: 0, states: '', asleep: 0 });
  return {
    update: (fleet, simulatedMs) => {
      bar.update(Math.min(simulatedMs, totalMs), {
        time: duration(simulatedMs / 1000),
        cycled: fleet.cycled,
        devices: fleet.devices,
        states: Object.entries(fleet.states)
          .map(([state, count]) => `${state} ${count}`)
          .join(', '),
        asleep: fleet.asleep,
      });
    },
    stop: () => {
      bar.stop();
    },
  };
}
