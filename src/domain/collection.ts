import { z } from 'zod';
import { platformSchema } from './platform.js';

/** A collection holds devices named explicitly, devices matching a rule, or both (a union, as in ConfigMgr). */
export const collectionSchema = z
  .strictObject({
    id: z.string().min(1),
    name: z.string().min(1),
    members: z.array(z.string().min(1)).default([]),
    rule: z
      .strictObject({
        platforms: z.array(platformSchema).min(1).optional(),
        allDevices: z.boolean().optional(),
      })
      .optional(),
  })
  .refine((c) => c.members.length > 0 || c.rule !== undefined, { message: 'needs members, a rule, or both' });

export type Collection = z.infer<typeof collectionSchema>;

export interface CollectionCandidate {
  id: string;
  /** As the device names it (Identification/Platform): a platform mlc-sim does not know matches no platform rule. */
  platform: string;
}

export function isMember(collection: Collection, device: CollectionCandidate): boolean {
  if (collection.members.includes(device.id)) return true;
  const rule = collection.rule;
  if (!rule) return false;
  if (rule.allDevices) return true;
  return rule.platforms?.some((platform) => platform === device.platform) ?? false;
}
