/**
 * Machine inventory report (reference §10.2, `X-Device-ReportType: MachineInventory`): hardware classes and their
 * properties, with no XML declaration and no namespace, as real devices send it.
 */
import { z } from 'zod';
import { decodeDocument, el, escape, many } from '../xml.js';

const schema = z
  .object({
    $: z.object({ type: z.string().optional() }),
    InventoryItem: many(
      z.object({
        $: z.object({ name: z.string().min(1, 'must not be empty') }),
        Property: many(z.object({ $: z.object({ name: z.string().min(1, 'must not be empty') }), '#': z.string() })),
      }),
    ),
  })
  .transform((d) => ({
    type: d.$.type ?? 'machine',
    items: d.InventoryItem.map((item) => ({ name: item.$.name, properties: item.Property.map((p) => [p.$.name, p['#']] as [string, string]) })),
  }));

export type MachineInventory = z.output<typeof schema>;
export type InventoryItem = MachineInventory['items'][number];

export const machineInventory = {
  encode: (doc: MachineInventory): string =>
    el(
      'Inventory',
      { type: doc.type },
      ...doc.items.map((item) => el('InventoryItem', { name: item.name }, ...item.properties.map(([name, value]) => el('Property', { name }, escape(value))))),
    ),
  decode: (xml: unknown): MachineInventory => decodeDocument('Inventory', xml, schema),
};
