/**
 * Download event status (reference §8): one or more `StatusMessage`s, each a package id, a message id and a
 * timestamp, with `Parameter`s for anything more. The same schema carries every message id.
 */
import { z } from 'zod';
import { DECLARATION, decodeDocument, el, escape, integer, many, quick, type XmlNode } from '../xml.js';
import { DM_NAMESPACE, dateText, formatDate, parseDate } from '../wire.js';

const messageShape = z.object({
  $: z.object({ packageID: z.string().min(1, 'must not be empty'), messageID: integer, timestamp: dateText }),
  Parameter: many(z.object({ $: z.object({ name: z.string().min(1, 'must not be empty') }), '#': z.string() })),
});

const toMessage = (m: z.output<typeof messageShape>) => ({
  packageId: m.$.packageID,
  messageId: m.$.messageID,
  time: m.$.timestamp,
  parameters: Object.fromEntries(m.Parameter.map((p) => [p.$.name, p['#']])),
});

/** The document's schema: what decides a document the quick reader does not take, and what that reader must agree with. */
export const statusSchema = z
  .object({ StatusMessage: many(messageShape.transform(toMessage)).refine((list) => list.length > 0, 'at least one StatusMessage is required') })
  .transform((d) => ({ messages: d.StatusMessage }));

/** What the schema reads, read by the quick helpers: every status a device sends comes through here. */
function readQuickly(status: XmlNode): StatusDocument {
  const messages = quick.many(status.StatusMessage).map((m) =>
    toMessage({
      $: { packageID: quick.nonEmpty(m.$.packageID), messageID: quick.integer(m.$.messageID), timestamp: quick.parsed(m.$.timestamp, parseDate) },
      Parameter: quick.many(m.Parameter).map((p) => ({ $: { name: quick.nonEmpty(p.$.name) }, '#': p['#'] })),
    }),
  );
  return { messages: quick.some(messages) };
}

export type StatusDocument = z.output<typeof statusSchema>;
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
  decode: (xml: unknown): StatusDocument => decodeDocument('Status', xml, statusSchema, readQuickly),
};
