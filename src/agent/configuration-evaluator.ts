import { expectedValue, settingAddress, type ComplianceState, type ConfigurationItem } from '../domain/configuration-item.js';
import type { MobilePlatform } from '../domain/platform.js';

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
 * Evaluates each configuration item against the device's settings. An item for another platform is not
 * applicable; a non-compliant item that allows remediation has its settings set to the expected values and is
 * reported as remediated; otherwise it stays non-compliant.
 */
export function evaluateConfiguration(items: ConfigurationItem[], platform: MobilePlatform, current: Record<string, string>): ConfigurationEvaluation {
  const settings = { ...current };
  const results = items.map((item): ItemEvaluation => {
    if (!item.platforms.includes(platform)) return { itemId: item.id, state: 'notApplicable' };
    const drifted = item.settings.filter((setting) => settings[settingAddress(setting)] !== expectedValue(setting));
    if (drifted.length === 0) return { itemId: item.id, state: 'compliant' };
    if (!item.remediate) return { itemId: item.id, state: 'nonCompliant' };
    for (const setting of drifted) {
      const value = expectedValue(setting);
      if (value === undefined) delete settings[settingAddress(setting)];
      else settings[settingAddress(setting)] = value;
    }
    return { itemId: item.id, state: 'remediated' };
  });
  return { results, settings };
}
