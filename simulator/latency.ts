import * as hdr from 'hdr-histogram-js';

export interface LatencySummary {
  count: number;
  errors: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

export type EncodedLatency = Record<string, { histogram: string; errors: number }>;

/**
 * Request latency per endpoint (device action, or Content for package downloads), in wall-clock time even in a
 * replay: what the server under test really took. HDR histograms keep memory flat however long the run.
 */
export class LatencyRecorder {
  private readonly endpoints = new Map<string, { histogram: hdr.Histogram; errors: number }>();

  private entry(endpoint: string) {
    let entry = this.endpoints.get(endpoint);
    if (!entry)
      this.endpoints.set(
        endpoint,
        (entry = { histogram: hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 }), errors: 0 }),
      );
    return entry;
  }

  record = (endpoint: string, ms: number, ok: boolean): void => {
    const entry = this.entry(endpoint);
    // Microseconds, so sub-millisecond loopback exchanges keep their resolution.
    entry.histogram.recordValue(Math.max(1, Math.round(ms * 1000)));
    if (!ok) entry.errors++;
  };

  /** Forgets everything recorded so far: what comes after a warm-up is measured alone. */
  reset(): void {
    this.endpoints.clear();
  }

  /** The histograms in HdrHistogram's compressed encoding, to send from a worker thread. */
  export(): EncodedLatency {
    return Object.fromEntries(
      [...this.endpoints].map(([endpoint, { histogram, errors }]) => [endpoint, { histogram: hdr.encodeIntoCompressedBase64(histogram), errors }]),
    );
  }

  /** Adds what another recorder (e.g. another worker's) measured: percentiles of the union, not averages of percentiles. */
  merge(encoded: EncodedLatency): void {
    for (const [endpoint, { histogram, errors }] of Object.entries(encoded)) {
      const entry = this.entry(endpoint);
      entry.histogram.add(hdr.decodeFromCompressedBase64(histogram));
      entry.errors += errors;
    }
  }

  summary(): Record<string, LatencySummary> {
    const round = (us: number) => Math.round(us) / 1000;
    return Object.fromEntries(
      [...this.endpoints.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([endpoint, { histogram, errors }]) => [
          endpoint,
          {
            count: histogram.totalCount,
            errors,
            p50Ms: round(histogram.getValueAtPercentile(50)),
            p95Ms: round(histogram.getValueAtPercentile(95)),
            p99Ms: round(histogram.getValueAtPercentile(99)),
            maxMs: round(histogram.maxValue),
          },
        ]),
    );
  }
}
