import { createWriteStream, type WriteStream } from 'node:fs';
import { deviceUuidOf } from '../src/agent/device-identity.js';
import type { DeviceProfile } from '../src/agent/device-profile.js';
import type { SiteConnectionOptions, WireExchange } from '../src/agent/site-connection.js';

export interface WireLogOptions {
  file: string;
  /** Log the first this many devices; all when absent. */
  devices?: number;
}

/**
 * `--wire-log FILE`: every device-management exchange of the first N devices as one JSON line (device, action,
 * status, request and response headers and bodies, milliseconds), so a tester can see what the fleet said.
 */
export class WireLog {
  private readonly out: WriteStream;
  private readonly devices: Set<string> | null;
  private failure: Error | null = null;

  constructor(
    readonly file: string,
    profiles: readonly Pick<DeviceProfile, 'id'>[],
    /** How many devices, from the first, to log; all when undefined. */
    limit?: number,
  ) {
    this.out = createWriteStream(file, { flags: 'w' });
    this.out.on('error', (error) => (this.failure = error));
    this.devices = limit === undefined ? null : new Set(profiles.slice(0, limit).map(deviceUuidOf));
  }

  /** The connection options that feed this log. */
  get hooks(): Pick<SiteConnectionOptions, 'onWire' | 'wireLogFilter'> {
    return {
      onWire: (exchange: WireExchange) => this.out.write(`${JSON.stringify(exchange)}\n`),
      wireLogFilter: (uuid: string) => this.devices === null || this.devices.has(uuid),
    };
  }

  /** Flushes the file; rejects if it could not be written. */
  close(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.out.end(() => {
        if (this.failure) reject(new Error(`--wire-log ${this.file}: ${this.failure.message}`));
        else resolve();
      });
    });
  }
}
