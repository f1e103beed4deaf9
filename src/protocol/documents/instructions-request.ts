/** Instruction request (reference §5.1): one per package the device needs; the id is an attribute here. */
import { z } from 'zod';
import { DECLARATION, attributes, decodeDocument, el, one } from '../xml.js';
import { DM_NAMESPACE } from '../wire.js';

const schema = z.object({ Package: one(attributes({ ID: z.string().min(1, 'must not be empty') })) }).transform((d) => ({ packageId: d.Package.ID }));

export type InstructionsRequest = z.output<typeof schema>;

export const instructionsRequest = {
  encode: (doc: InstructionsRequest): string => DECLARATION + el('InstructionsRequest', { xmlns: DM_NAMESPACE }, el('Package', { ID: doc.packageId })),
  decode: (xml: unknown): InstructionsRequest => decodeDocument('InstructionsRequest', xml, schema),
};
