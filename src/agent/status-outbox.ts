import { PARAMETER, type DeviceStatusMessage } from '../domain/device-status.js';
import type { Credentials, SiteConnection } from './site-connection.js';

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

/**
 * Delivers the outbox as one Status document, in the order the messages were recorded, so the site sees a
 * download before the program it started. Delivery is at least once; the site de-duplicates by Sequence.
 */
export async function deliverOutbox(connection: SiteConnection, credentials: Credentials, outbox: Outbox): Promise<Delivery> {
  if (outbox.length === 0) return { delivered: [], error: null };
  try {
    await connection.reportStatus(credentials, [...outbox]);
    return { delivered: outbox.map(sequenceOf), error: null };
  } catch (error) {
    return { delivered: [], error: `Status: ${(error as Error).message}` };
  }
}
