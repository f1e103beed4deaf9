import os from 'node:os';

/**
 * The most a fleet asks of this machine, so a typo (`--devices 1e9`, `--workers 64`) is refused in a line instead of
 * running for minutes and dying out of memory. Devices: a live device costs about 8 KB (README: Benchmarks), and a
 * fleet may take half the machine's memory. Workers: more threads than twice the cores only add memory and switching.
 */
const BYTES_PER_DEVICE = 8 * 1024;

export function maxDevices(): number {
  return Math.floor(os.totalmem() / 2 / BYTES_PER_DEVICE / 1000) * 1000;
}

export function maxWorkers(): number {
  return 2 * os.availableParallelism();
}

/** Why a fleet of this size cannot run here, or null. */
export function fleetSizeProblem(devices: number, workers: number): string | null {
  const gb = (os.totalmem() / 2 ** 30).toFixed(0);
  if (devices > maxDevices()) {
    return `--devices ${devices}: more than this machine can hold (at most ${maxDevices().toLocaleString('en-US')}: about 8 KB a device, in half of its ${gb} GB)`;
  }
  if (workers > maxWorkers()) return `--workers ${workers}: more than twice this machine's ${os.availableParallelism()} cores (at most ${maxWorkers()})`;
  if (workers > devices) return `--workers ${workers}: more workers than the ${devices} devices to share between them`;
  return null;
}
