/** Instruction request (reference §5.1): one per package the device needs; the id is an attribute here. */
import { z } from 'zod';
import { DECLARATION, attributes, decodeDocument, el, one, quick, type XmlNode } from '../xml.js';
import { DM_NAMESPACE } from '../wire.js';

/** The document's schema: what decides a request the quick reader does not take, and what that reader must agree with. */
export const instructionsRequestSchema = z
  .object({ Package: one(attributes({ ID: z.string().min(1, 'must not be empty') })) })
  .transform((d) => ({ packageId: d.Package.ID }));

/** What the schema reads, read by the quick helpers: one request per package a device is offered. */
const readQuickly = (request: XmlNode): InstructionsRequest => ({ packageId: quick.nonEmpty(quick.one(request.Package).$.ID) });

export type InstructionsRequest = z.output<typeof instructionsRequestSchema>;

export const instructionsRequest = {
  encode: (doc: InstructionsRequest): string => DECLARATION + el('InstructionsRequest', { xmlns: DM_NAMESPACE }, el('Package', { ID: doc.packageId })),
  decode: (xml: unknown): InstructionsRequest => decodeDocument('InstructionsRequest', xml, instructionsRequestSchema, readQuickly),
};
