/**
 * Decodes a kind of document once per distinct text. A fleet's devices receive many documents word for word (the
 * policy of an unchanged site, one advertisement's instructions), and decoding is a pure function of the text, so
 * each device gets what its own decode would have given. The value is shared by every device that receives the
 * same text, so it is frozen: a device that tried to change it would throw rather than change its neighbours'.
 * A document that does not decode is not kept; it throws for every device that receives it.
 *
 * Bounded: the oldest text is forgotten first. Distinct texts come from distinct policies (collections, versions),
 * which a site has few of.
 */
export class DecodeCache<T> {
  private readonly decoded = new Map<string, T>();
  /** The text last asked for: a fleet mostly receives the same one again, and comparing it costs less than hashing it. */
  private last: { text: string; value: T } | undefined;

  constructor(
    private readonly decode: (text: string) => T,
    private readonly capacity = 256,
  ) {}

  /** Bound, so a connection hands it to every exchange as it is, with no closure per request. */
  readonly get = (text: string): T => {
    if (this.last?.text === text) return this.last.value;
    let value = this.decoded.get(text);
    if (value === undefined) {
      value = deepFreeze(this.decode(text));
      if (this.decoded.size >= this.capacity) {
        const oldest = this.decoded.keys().next();
        if (!oldest.done) this.decoded.delete(oldest.value);
      }
      this.decoded.set(text, value);
    }
    this.last = { text, value };
    return value;
  };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
