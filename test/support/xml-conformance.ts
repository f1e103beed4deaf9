// Validates device-management documents against the hand-written schemas in test/conformance/xsd, which come from
// the protocol reference only (dm-protocol.md). libxml2-wasm keeps its objects in WebAssembly memory: every
// document parsed here is disposed; the compiled schemas are cached for the life of the process.
import { readFileSync } from 'node:fs';
import { XmlDocument, XmlLibError, XsdValidator } from 'libxml2-wasm';

const XSD_DIR = new URL('../conformance/xsd/', import.meta.url);

/** The roots there is a schema for; a schema's file is named after its root. */
const ROOTS = new Set([
  'DevicePoll',
  'PollResponse',
  'InstructionsRequest',
  'Instructions',
  'PackageLocationRequest',
  'PackageLocation',
  'Status',
  'FileReport',
  'Inventory',
  'wap-provisioningdoc',
]);

// Compiled schemas, with the parsed schema document each keeps pointers into; never disposed.
const validators = new Map<string, { schema: XmlDocument; validator: XsdValidator }>();

function validatorFor(root: string): XsdValidator {
  let entry = validators.get(root);
  if (!entry) {
    const schema = XmlDocument.fromString(readFileSync(new URL(`${root}.xsd`, XSD_DIR), 'utf8'));
    try {
      entry = { schema, validator: XsdValidator.fromDoc(schema) };
    } catch (error) {
      schema.dispose();
      throw error;
    }
    validators.set(root, entry);
  }
  return entry.validator;
}

// The prolog (declaration, comments, processing instructions, doctype) and the root's start tag.
const ROOT_START_TAG = /^((?:\s|<\?[\s\S]*?\?>|<!--[\s\S]*?-->|<!DOCTYPE[^>]*>)*)(<([^\s/>]+)[^>]*>)/;
// Only the default namespace of the device-management documents, in either spelling (section 14, row 2).
const DM_DEFAULT_NAMESPACE = /\s+xmlns\s*=\s*(["'])https?:\/\/www\.microsoft\.com\/DeviceManagement\.xsd\1/;

function messagesOf(error: unknown): string[] {
  if (error instanceof XmlLibError && error.details.length > 0) {
    // Level 1 is a warning (e.g. "No precomputed value available" after a facet error): noise next to the errors.
    const errors = error.details.filter((d) => d.level > 1);
    return (errors.length > 0 ? errors : error.details).map((d) => `line ${d.line}: ${d.message.trim()}`);
  }
  return [error instanceof Error ? error.message : String(error)];
}

/** Validates one document against the schema named after its root; no errors means valid. */
export function validateDocument(xml: string): { root: string; errors: string[] } {
  const start = ROOT_START_TAG.exec(xml);
  const prolog = start?.[1] ?? '';
  const startTag = start?.[2] ?? '';
  const text = start ? prolog + startTag.replace(DM_DEFAULT_NAMESPACE, '') + xml.slice(prolog.length + startTag.length) : xml;
  let root = (start?.[3] ?? '').replace(/^.*:/, '');
  let doc: XmlDocument;
  try {
    doc = XmlDocument.fromString(text);
  } catch (error) {
    return { root, errors: messagesOf(error) };
  }
  try {
    root = doc.root.name;
    if (!ROOTS.has(root)) return { root, errors: [`no schema for a document whose root is <${root}>`] };
    validatorFor(root).validate(doc);
    return { root, errors: [] };
  } catch (error) {
    return { root, errors: messagesOf(error) };
  } finally {
    doc.dispose();
  }
}

/** Throws an error naming `what`, the root and the first errors unless the document is valid. */
export function assertValid(xml: string, what: string): void {
  const { root, errors } = validateDocument(xml);
  if (errors.length > 0) {
    throw new Error(`${what}: <${root || '?'}> does not conform to the reference schema:\n  ${errors.slice(0, 5).join('\n  ')}`);
  }
}

/** The machine inventory classes a real device sent (reference §13.3), in its order: three file systems. */
export const CAPTURED_INVENTORY_ITEMS = [
  'Device_System',
  'Device_OS',
  'Device_Network',
  'Device_Power',
  'Device_Display',
  'Device_Memory',
  'Device_FileSystem',
  'Device_FileSystem',
  'Device_FileSystem',
] as const;
