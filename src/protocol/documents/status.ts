/**
 * Download event status (reference §8): one or more `StatusMessage`s, each a package id, a message id and a
 * timestamp, with `Parameter`s for anything more. The same schema carries every message id.
 */
import { z } from 'zod';
import { DECLARATION, decodeDocument, el, escape, integer, many } from '../xml.js';
import { DM_NAMESPACE, dateText, formatDate } from '../wire.js';

const message = z
  .object({
    $: z.object({ packageID: z.string().min(1, 'must not be empty'), messageID: integer, timestamp: dateText }),
    Parameter: many(z.object({ $: z.object({ name: z.string().min(1, 'must not be empty') }), '#': z.string() })),
  })
  .transform((m) => ({
    packageId: m.$.packageID,
    messageId: m.$.messageID,
    time: m.$.timestamp,
    parameters: Object.fromEntries(m.Parameter.map((p) => [p.$.name, p['#']])),
  }));

const schema = z
  .object({ StatusMessage: many(message).refine((list) => list.length > 0, 'at least one StatusMessage is required') })
  .transform((d) => ({ messages: d.StatusMessage }));

export type StatusDocument = z.output<typeof schema>;
export type WireStatusMessage = StatusDocument['messages'][number];

export const statusDocument = {
  encode: (doc: StatusDocument): string =>
    DECLARATION +
    el(
      'Status',
      { xmlns: DM_NAMESPACE },
      ...doc.messages.map((m) =>
        el(
          'StatusMessage',
          { packageID: m.packageId, messageID: m.messageId, timestamp: formatDate(m.time) },
          ...Object.entries(m.parameters).map(([name, value]) => el('Parameter', { name }, escape(value))),
        ),
      ),
    ),
  decode: (xml: unknown): StatusDocument => decodeDocument('Status', xml, schema),
};
