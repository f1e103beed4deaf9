/**
 * A device's changes over its platform's base image (files or registry keys), by key: the value it wrote, or null
 * where it removed one the base has. One run's working copy: copied at its first write, so a run that only reads (as
 * inventory does) copies nothing, and devices opened with the same changes share them until one writes.
 */
export class ChangesOverBase<T> {
  private copied = false;

  constructor(
    private changes: Readonly<Record<string, T | null>>,
    private readonly base: ReadonlyMap<string, T>,
  ) {}

  /** The changes as they stand: after the run, the new state to keep. */
  get current(): Readonly<Record<string, T | null>> {
    return this.changes;
  }

  /** Writes `value` at `key`; removing what the base never had leaves no change at all. */
  put(key: string, value: T | null): void {
    if (!this.copied) {
      this.changes = { ...this.changes };
      this.copied = true;
    }
    const changes = this.changes as Record<string, T | null>;
    if (value === null && !this.base.has(key)) Reflect.deleteProperty(changes, key);
    else changes[key] = value;
  }
}
