import { PARAMETER, type DeviceStatusMessage } from '../domain/device-status.js';
import { isUnauthorized, type Credentials, type SiteConnection } from './site-connection.js';

/** Status messages a device has recorded but the site has not yet taken, oldest first. */
export type Outbox = readonly DeviceStatusMessage[];

export const EMPTY_OUTBOX: Outbox = Object.freeze([]);

/** A message's Sequence parameter: unique per device, the key the site de-duplicates by. */
export const sequenceOf = (message: DeviceStatusMessage) => message.parameters[PARAMETER.sequence] ?? '';

/** Removes what the site took; anything recorded meanwhile stays. */
export function withoutDelivered(outbox: Outbox, delivered: ReadonlySet<string>): Outbox {
  return outbox.filter((m) => !delivered.has(sequenceOf(m)));
}

export interface Delivery {
  /** Sequences of the messages the site took. */
  delivered: string[];
  /** Why the document was not taken, if it was not; its messages stay in the outbox for the next delivery. */
  error: string | null;
}

/** Most messages in one Status document: a device back from a long outage sends its backlog in documents this size. */
export const DELIVERY_BATCH = 250;

/**
 * Delivers the outbox as Status documents of at most DELIVERY_BATCH messages, in the order the messages were
 * recorded, so the site sees a download before the program it started. Delivery is at least once; the site
 * de-duplicates by Sequence. A 401 is thrown, not returned: the device must re-establish its identity first.
 */
export async function deliverOutbox(connection: SiteConnection, credentials: Credentials, outbox: Outbox): Promise<Delivery> {
  const delivered: string[] = [];
  for (let start = 0; start < outbox.length; start += DELIVERY_BATCH) {
    const batch = outbox.slice(start, start + DELIVERY_BATCH);
    try {
      await connection.reportStatus(credentials, [...batch]);
    } catch (error) {
      if (isUnauthorized(error)) throw error;
      return { delivered, error: `Status: ${(error as Error).message}` };
    }
    delivered.push(...batch.map(sequenceOf));
  }
  return { delivered, error: null };
}
