import { hash } from 'node:crypto';

/**
 * A GUID-shaped id (upper-case hex, as devices write them) derived from a name: the same name always gives the
 * same id, so a seed names the same devices and a site names the same packages every run. One-shot `hash` rather
 * than a Hash object: it costs half as much, and every device of a fleet derives its UUID when it starts.
 */
export function guidOf(name: string): string {
  const hex = hash('sha1', name).slice(0, 32).toUpperCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
