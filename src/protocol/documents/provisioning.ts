/**
 * Provisioning document (reference §16): `wap-provisioningdoc`, the documented way to set a CE device's settings
 * through DMProcessConfigXML. mlc-sim ships each configuration item of a configuration package as one such
 * document: its settings as `parm`s under a provider's `characteristic`, which the device evaluates (as a query)
 * and, where the item allows remediation, processes.
 */
import { z } from 'zod';
import type { Setting } from '../../domain/configuration-item.js';
import { DECLARATION, decodeDocument, el, many } from '../xml.js';

export interface Parm {
  name: string;
  value: string;
  datatype?: string;
}

export interface Characteristic {
  type: string;
  characteristics: Characteristic[];
  parms: Parm[];
}

const parm = z
  .object({ $: z.object({ name: z.string().min(1, 'must not be empty'), value: z.string().default(''), datatype: z.string().optional() }) })
  .transform(({ $: p }): Parm => ({ name: p.name, value: p.value, ...(p.datatype !== undefined && { datatype: p.datatype }) }));

const characteristic: z.ZodType<Characteristic> = z.lazy(() =>
  z
    .object({ $: z.object({ type: z.string().min(1, 'must not be empty') }), characteristic: many(characteristic), parm: many(parm) })
    .transform((c) => ({ type: c.$.type, characteristics: c.characteristic, parms: c.parm })),
);

const schema = z.object({ characteristic: many(characteristic) }).transform((d) => ({ characteristics: d.characteristic }));

export type ProvisioningDocument = z.output<typeof schema>;

function writeCharacteristic(c: Characteristic): string {
  return el(
    'characteristic',
    { type: c.type },
    ...c.characteristics.map(writeCharacteristic),
    ...c.parms.map((p) => el('parm', { name: p.name, value: p.value, datatype: p.datatype })),
  );
}

export const provisioningDocument = {
  encode: (doc: ProvisioningDocument): string => DECLARATION + el('wap-provisioningdoc', { version: '1.1' }, ...doc.characteristics.map(writeCharacteristic)),
  decode: (xml: unknown): ProvisioningDocument => decodeDocument('wap-provisioningdoc', xml, schema),
};

// --- configuration item settings as provisioning ------------------------------------------------------------------
// Registry values go through the documented Registry provider; a file's presence and a named device setting have
// no provider in the reference, so they use FileOperation (as on Windows Mobile) and a `Settings` provider of ours.

/** A configuration item's settings as the document that sets them. */
export function provisioningOf(settings: Setting[]): ProvisioningDocument {
  const providers = new Map<string, Map<string, Parm[]>>();
  const add = (provider: string, scope: string, p: Parm) => {
    let scopes = providers.get(provider);
    if (!scopes) providers.set(provider, (scopes = new Map<string, Parm[]>()));
    const parms = scopes.get(scope);
    if (parms) parms.push(p);
    else scopes.set(scope, [p]);
  };
  for (const s of settings) {
    if (s.kind === 'registry') add('Registry', s.key, { name: s.valueName, value: s.expected, datatype: 'string' });
    else if (s.kind === 'file') add('FileOperation', s.path, { name: 'Present', value: String(s.expected === 'present'), datatype: 'boolean' });
    else add('Settings', '', { name: s.name, value: s.expected, datatype: 'string' });
  }
  return {
    characteristics: [...providers].map(([type, scopes]) => ({
      type,
      characteristics: [...scopes].filter(([scope]) => scope !== '').map(([scope, parms]) => ({ type: scope, characteristics: [], parms })),
      parms: scopes.get('') ?? [],
    })),
  };
}

/** The settings a provisioning document sets: the inverse of provisioningOf. Unknown providers are refused. */
export function settingsOf(doc: ProvisioningDocument): Setting[] {
  const settings: Setting[] = [];
  for (const provider of doc.characteristics) {
    const scoped = provider.characteristics.flatMap((scope) => scope.parms.map((p) => ({ scope: scope.type, parm: p })));
    const top = provider.parms.map((p) => ({ scope: '', parm: p }));
    for (const { scope, parm: p } of [...top, ...scoped]) {
      if (provider.type === 'Registry') settings.push({ kind: 'registry', key: scope, valueName: p.name, expected: p.value });
      else if (provider.type === 'FileOperation') settings.push({ kind: 'file', path: scope, expected: p.value === 'true' ? 'present' : 'absent' });
      else if (provider.type === 'Settings') settings.push({ kind: 'setting', name: p.name, expected: p.value });
      else throw new Error(`characteristic type "${provider.type}" is not a provider this device has`);
    }
  }
  return settings;
}
