import { provisioningDocument, type ProvisioningDocument } from '../protocol/documents/provisioning.js';
import { DecodeCache } from './decode-cache.js';

/**
 * Provisioning documents decoded once per distinct text: every device of a rollout reads the same ones (a CAB's
 * `_setup.xml`, a configuration item's document), and parsing them was a tenth of a device's CPU in a lifecycle.
 * Shared by every device, so frozen (see DecodeCache); a document that does not decode throws for each device.
 */
export const decodeProvisioningDocument: (text: string) => ProvisioningDocument = new DecodeCache(provisioningDocument.decode).get;
