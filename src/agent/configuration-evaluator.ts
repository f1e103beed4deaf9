import { fromPromise } from 'xstate';
import { expectedValue, settingAddress, type ComplianceState, type Setting } from '../domain/configuration-item.js';
import type { InstructionsExtension } from '../protocol/documents/instructions.js';
import { settingsOf } from '../protocol/documents/provisioning.js';
import { decodeProvisioningDocument } from './provisioning-documents.js';

/** A configuration item as it reaches the device: its metadata from the instructions, its settings from its document. */
export interface DeliveredItem {
  id: string;
  platforms: readonly string[];
  remediate: boolean;
  settings: Setting[];
}

export interface ItemEvaluation {
  itemId: string;
  state: ComplianceState;
}

export interface ConfigurationEvaluation {
  results: ItemEvaluation[];
  /** The device's settings after remediation. */
  settings: Record<string, string>;
}

/**
 * The items of a downloaded configuration package: each one's provisioning document, read from the content. A
 * missing or unreadable document fails the whole package, naming the item and the file.
 */
export function deliveredItems(items: InstructionsExtension['configurationItems'], documents: Readonly<Record<string, string>>): DeliveredItem[] {
  return items.map((item) => {
    const text = documents[item.file];
    if (text === undefined) throw new Error(`configuration item ${item.id}: the package has no ${item.file}`);
    try {
      return { id: item.id, platforms: item.platforms, remediate: item.remediate, settings: settingsOf(decodeProvisioningDocument(text)) };
    } catch (error) {
      throw new Error(`configuration item ${item.id}: ${item.file}: ${(error as Error).message}`, { cause: error });
    }
  });
}

/**
 * Evaluates each configuration item against the device's settings, as DMProcessConfigXML would: a query first, then
 * processing where the item allows remediation. An item for another platform is not applicable; a non-compliant
 * item that allows remediation has its settings set to the expected values and is reported as remediated;
 * otherwise it stays non-compliant.
 */
export function evaluateConfiguration(items: readonly DeliveredItem[], platform: string, current: Readonly<Record<string, string>>): ConfigurationEvaluation {
  const settings = new Map(Object.entries(current));
  const results = items.map((item): ItemEvaluation => {
    if (!item.platforms.includes(platform)) return { itemId: item.id, state: 'notApplicable' };
    const drifted = item.settings.filter((setting) => settings.get(settingAddress(setting)) !== expectedValue(setting));
    if (drifted.length === 0) return { itemId: item.id, state: 'compliant' };
    if (!item.remediate) return { itemId: item.id, state: 'nonCompliant' };
    for (const setting of drifted) {
      const value = expectedValue(setting);
      if (value === undefined) settings.delete(settingAddress(setting));
      else settings.set(settingAddress(setting), value);
    }
    return { itemId: item.id, state: 'remediated' };
  });
  return { results, settings: Object.fromEntries(settings) };
}

/** What a device evaluates when a configuration package has downloaded. */
export interface ConfigurationToApply {
  items: InstructionsExtension['configurationItems'];
  /** The package's files by name: each item's provisioning document among them. */
  documents: Readonly<Record<string, string>>;
  platform: string;
  /** The device's settings before. */
  settings: Readonly<Record<string, string>>;
}

/**
 * The statechart's actor for it. Async, so that a missing or unreadable document (thrown by deliveredItems) rejects:
 * the offer's onError, where the package fails and the device goes on.
 */
// eslint-disable-next-line @typescript-eslint/require-await -- async so that a throw rejects (see above)
export const configurationEvaluator = fromPromise<ConfigurationEvaluation, ConfigurationToApply>(async ({ input }) =>
  evaluateConfiguration(deliveredItems(input.items, input.documents), input.platform, input.settings),
);
