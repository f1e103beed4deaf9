/**
 * Machine inventory report (reference §10.2, `X-Device-ReportType: MachineInventory`): hardware classes and their
 * properties, with no XML declaration and no namespace, as real devices send it.
 */
import { z } from 'zod';
import { decodeDocument, el, escape, many, quick, type XmlNode } from '../xml.js';

const shape = z.object({
  $: z.object({ type: z.string().optional() }),
  InventoryItem: many(
    z.object({
      $: z.object({ name: z.string().min(1, 'must not be empty') }),
      Property: many(z.object({ $: z.object({ name: z.string().min(1, 'must not be empty') }), '#': z.string() })),
    }),
  ),
});

const toInventory = (d: z.output<typeof shape>) => ({
  type: d.$.type ?? 'machine',
  items: d.InventoryItem.map((item) => ({ name: item.$.name, properties: item.Property.map((p) => [p.$.name, p['#']] as [string, string]) })),
});

/** The document's schema: what decides a report the quick reader does not take, and what that reader must agree with. */
export const machineInventorySchema = shape.transform(toInventory);

/** What the schema reads, read by the quick helpers: the largest document a device sends, once a day. */
const readQuickly = (inventory: XmlNode): MachineInventory =>
  toInventory({
    $: { type: inventory.$.type },
    InventoryItem: quick.many(inventory.InventoryItem).map((item) => ({
      $: { name: quick.nonEmpty(item.$.name) },
      Property: quick.many(item.Property).map((p) => ({ $: { name: quick.nonEmpty(p.$.name) }, '#': p['#'] })),
    })),
  });

export type MachineInventory = ReturnType<typeof toInventory>;
export type InventoryItem = MachineInventory['items'][number];

export const machineInventory = {
  encode: (doc: MachineInventory): string =>
    el(
      'Inventory',
      { type: doc.type },
      ...doc.items.map((item) => el('InventoryItem', { name: item.name }, ...item.properties.map(([name, value]) => el('Property', { name }, escape(value))))),
    ),
  decode: (xml: unknown): MachineInventory => decodeDocument('Inventory', xml, machineInventorySchema, readQuickly),
};
