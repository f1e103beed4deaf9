/**
 * The stub site's bounds against floods: what one misbehaving client (or a typo in a load test) can take from
 * the machine. Each has a flag on `serve` (README: Reliability); a fleet's embedded site keeps the defaults.
 */
export interface SiteLimits {
  /** A request whose headers and body have not all arrived by then is answered 408 and its socket closed. */
  requestTimeoutMs: number;
  /** Connections open at once; one more is answered 429 and closed. */
  maxConnections: number;
  /** Devices the site knows in all; a poll from one more gets 403. */
  maxDevices: number;
  /** Devices first known from one source address; a poll from one more gets 403. */
  maxDevicesPerSource: number;
  /** Status messages in one Status document; a longer one is 413 (a device sends at most DELIVERY_BATCH). */
  maxStatusMessagesPerDocument: number;
}

export type DeviceLimits = Pick<SiteLimits, 'maxDevices' | 'maxDevicesPerSource'>;

export const DEFAULT_SITE_LIMITS: SiteLimits = {
  requestTimeoutMs: 30_000,
  // A fleet shares a few hundred keep-alive sockets per worker; 10,000 leaves room for many fleets.
  maxConnections: 10_000,
  // The project's goal is a million handhelds against one site: twice that, then no more.
  maxDevices: 2_000_000,
  maxDevicesPerSource: 2_000_000,
  maxStatusMessagesPerDocument: 1_000,
};
