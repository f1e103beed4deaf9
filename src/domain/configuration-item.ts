import { z } from 'zod';
import { mobilePlatformSchema } from './platform.js';

/** One setting of a configuration item and the value the item expects. */
export const settingSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('registry'), key: z.string().min(1), valueName: z.string().min(1), expected: z.string() }),
  z.strictObject({ kind: z.literal('file'), path: z.string().min(1), expected: z.enum(['present', 'absent']) }),
  z.strictObject({ kind: z.literal('setting'), name: z.string().min(1), expected: z.string() }),
]);

export const configurationItemSchema = z.strictObject({
  id: z.string().min(1),
  name: z.string().min(1),
  platforms: z.array(mobilePlatformSchema).min(1),
  /** When true the client sets non-compliant settings to the expected value, then re-evaluates. */
  remediate: z.boolean().default(false),
  settings: z.array(settingSchema).min(1),
});

export type Setting = z.infer<typeof settingSchema>;
export type ConfigurationItem = z.infer<typeof configurationItemSchema>;

/** Where a setting lives in the device's state, e.g. `registry:HKLM\Software\Foo\Bar`. */
export function settingAddress(setting: Setting): string {
  switch (setting.kind) {
    case 'registry':
      return `registry:${setting.key}\\${setting.valueName}`;
    case 'file':
      return `file:${setting.path}`;
    case 'setting':
      return `setting:${setting.name}`;
  }
}

/** The value a setting must read for compliance, in the same string form the device state holds. */
export function expectedValue(setting: Setting): string | undefined {
  if (setting.kind === 'file') return setting.expected === 'present' ? 'present' : undefined;
  return setting.expected;
}

/** The file a configuration item's provisioning document has in its package's content. */
export const configurationItemFile = (itemId: string) => `${itemId}.xml`;

export const COMPLIANCE_STATES = ['compliant', 'remediated', 'nonCompliant', 'notApplicable'] as const;
export type ComplianceState = (typeof COMPLIANCE_STATES)[number];
