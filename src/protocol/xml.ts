/**
 * The XML both sides of the wire share: a conforming parser (saxes) read through zod schemas, and a
 * writer of plain XML (no DTD, no CDATA, no comments, no prefixes) that the CE client's limited parser takes.
 *
 * Elements are matched on their local names and namespaces are ignored, as the reference asks of both sides:
 * devices send `http://…/DeviceManagement.xsd`, documentation pages show `https://…`, and captured replies have none.
 */
import { SaxesParser } from 'saxes';
import { z } from 'zod';
import { issuePath } from '../domain/validation.js';

/** A document that did not decode: which document, which field, and why. */
export class ProtocolError extends Error {
  constructor(
    readonly document: string,
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${document}: ${field || '(document)'}: ${reason}`);
    this.name = 'ProtocolError';
  }
}

/**
 * An element as a schema reads it: attributes under `$`, its own text under `#`, and every child element by local
 * name, always as an array. Each schema says for itself which children repeat (`one`, `optional`, `many`).
 */
export interface XmlNode {
  $: Record<string, string>;
  '#': string;
  [child: string]: XmlNode[] | Record<string, string> | string;
}

const localName = (name: string) => name.slice(name.indexOf(':') + 1);

const LONE_SURROGATE = /\p{Cs}/u;
const lineAt = (text: string, index: number) => text.slice(0, index).split('\n').length;

/**
 * The root element of a document, read by a conforming streaming parser (saxes): not well-formed input is refused
 * with its line. Elements become XmlNodes as the parser meets them, with no document tree in between.
 */
export function parseRoot(document: string, xml: unknown): { name: string; node: XmlNode } {
  if (typeof xml !== 'string' || xml.trim() === '') throw new ProtocolError(document, '', 'body is empty or not text');
  // XML's characters exclude surrogates, which saxes lets through when alone (text decoded from UTF-8 has none).
  const surrogate = LONE_SURROGATE.exec(xml);
  if (surrogate) throw new ProtocolError(document, `line ${lineAt(xml, surrogate.index)}`, 'not well-formed XML: a lone surrogate is not an XML character');
  const parser = new SaxesParser();
  let root: { name: string; node: XmlNode } | undefined;
  // The open elements, innermost last, each with the text read so far directly inside it.
  const open: { node: XmlNode; text: string }[] = [];
  parser.on('opentag', (tag) => {
    const attributes: Record<string, string> = {};
    for (const name in tag.attributes) {
      if (name !== 'xmlns' && !name.startsWith('xmlns:')) attributes[localName(name)] = tag.attributes[name] as string;
    }
    const node: XmlNode = { $: attributes, '#': '' };
    const name = localName(tag.name);
    const parent = open.at(-1)?.node;
    if (parent === undefined) root = { name, node };
    else {
      const list = parent[name];
      if (Array.isArray(list)) list.push(node);
      else parent[name] = [node];
    }
    open.push({ node, text: '' });
  });
  const addText = (text: string) => {
    const current = open.at(-1);
    if (current) current.text += text;
  };
  parser.on('text', addText);
  parser.on('cdata', addText);
  parser.on('closetag', () => {
    const closed = open.pop();
    if (closed) closed.node['#'] = closed.text.trim();
  });
  try {
    parser.write(xml).close();
  } catch (error) {
    throw new ProtocolError(document, `line ${parser.line}`, `not well-formed XML: ${(error as Error).message}`);
  }
  if (!root) throw new ProtocolError(document, '', 'no root element');
  return root;
}

/**
 * Decodes a document whose root must be `root`, through `schema`. A document read on every request may also have a
 * `quickly` reader (see `quick` below): what it reads is the document; where it meets what it does not expect, the
 * schema decides, and names what is wrong.
 */
export function decodeDocument<T>(root: string, xml: unknown, schema: z.ZodType<T>, quickly?: (node: XmlNode) => T): T {
  const parsed = parseRoot(root, xml);
  if (parsed.name !== root) throw new ProtocolError(root, '', `expected root element <${root}>, got <${parsed.name}>`);
  if (quickly) {
    try {
      return quickly(parsed.node);
    } catch (error) {
      if (error !== UNEXPECTED) throw error;
    }
  }
  return decodeNode(root, parsed.node, schema);
}

export function decodeNode<T>(document: string, node: XmlNode, schema: z.ZodType<T>): T {
  const result = schema.safeParse(node);
  if (result.success) return result.data;
  const [issue] = result.error.issues;
  if (!issue) throw new ProtocolError(document, '', 'is not valid');
  // Paths read like XPath: `Settings/ClientSettings/PollInterval`, `Package/@ID`, with array indexes dropped.
  const field = issuePath(issue)
    .filter((segment) => typeof segment !== 'number' && segment !== '#')
    .map((segment) => (segment === '$' ? '@' : String(segment)))
    .join('/')
    .replace('@/', '@');
  throw new ProtocolError(document, field, issue.message);
}

// --- schema helpers: one per shape the documents use ------------------------------------------------------------

/** A schema read from an element; the helpers below hand it the element it reads. */
type Reads<S extends z.ZodType> = z.ZodType<z.output<S>, XmlNode>;
const reads = <S extends z.ZodType>(schema: S) => schema as unknown as Reads<S>;

const node = z.custom<XmlNode>((value) => typeof value === 'object' && value !== null);

/** Exactly one child element. */
export const one = <S extends z.ZodType>(schema: S) =>
  z
    .array(node, { error: 'element is missing' })
    .refine((list) => list.length === 1, 'element must appear once')
    .transform((list) => list[0])
    .pipe(reads(schema));
/** At most one child element; null when absent. */
export const optional = <S extends z.ZodType>(schema: S) =>
  z
    .array(node)
    .optional()
    .refine((list) => (list?.length ?? 0) <= 1, 'element must appear at most once')
    .transform((list) => list?.[0] ?? null)
    .pipe(reads(schema).nullable());
/** Any number of child elements. */
export const many = <S extends z.ZodType>(schema: S) =>
  z
    .array(node)
    .default([])
    .pipe(z.array(reads(schema)));

/** An element's text content, validated by `schema`. */
export const text = <T = string>(schema: z.ZodType<T, string> = z.string() as unknown as z.ZodType<T, string>) =>
  z.object({ '#': schema }).transform((n) => n['#']);
/** An element's attributes, validated by `shape`. */
export const attributes = <T extends z.ZodRawShape>(shape: T) => z.object({ $: z.object(shape) }).transform((n) => n.$);

export const integer = z
  .string()
  .trim()
  .regex(/^-?\d+$/, 'must be an integer')
  .transform(Number);
/** Booleans are written lower case; the capture's `True` (a Python artefact) is read too. */
export const boolean = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => v === 'true' || v === 'false', 'must be true or false')
  .transform((v) => v === 'true');
/** `Yes`/`No`, as the client database spells `Required`. */
export const yesNo = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => v === 'yes' || v === 'no', 'must be Yes or No')
  .transform((v) => v === 'yes');

// --- quick readers: the schema helpers' happy path, without zod ----------------------------------------------------
// A document every request carries is read with these first: zod costs as much as parsing, and nearly every document
// is one the schema takes. Each reads what its helper reads, and throws UNEXPECTED where the helper could refuse;
// decodeDocument then hands the document to the schema, for its error. test/quick-readers.test.ts holds them equal.

/** One instance, made once: throwing it costs no stack trace, and nothing but decodeDocument ever sees it. */
const UNEXPECTED = new Error('not what the quick reader expects');

/** A node's children of one name, as a quick reader finds them: an array of elements, or undefined when none. */
export type Children = XmlNode[string] | undefined;
const elementsOf = (value: Children) => value as XmlNode[] | undefined;

export const quick = {
  /** `one`: the only element. */
  one(value: Children): XmlNode {
    const list = elementsOf(value);
    if (list?.length !== 1) throw UNEXPECTED;
    return list[0] as XmlNode;
  },
  /** `optional`: the only element, or null when there is none. */
  optional(value: Children): XmlNode | null {
    return value === undefined ? null : quick.one(value);
  },
  /** `many`: every element. */
  many: (value: Children): XmlNode[] => elementsOf(value) ?? [],
  /** A list that must not be empty. */
  some<T>(list: T[]): T[] {
    if (list.length === 0) throw UNEXPECTED;
    return list;
  },
  /** `one(text())`: the text of the only element. */
  text: (value: Children): string => quick.one(value)['#'],
  /** `one(text(z.string().min(1)))`: the text of the only element, which must not be empty. */
  nonEmptyText(value: Children): string {
    const text = quick.text(value);
    if (text === '') throw UNEXPECTED;
    return text;
  },
  /** `optional(text())`: the text of the only element, or null when there is none. */
  optionalText: (value: Children): string | null => quick.optional(value)?.['#'] ?? null,
  /** `z.string()` of an attribute: present. */
  attribute(value: string | undefined): string {
    if (value === undefined) throw UNEXPECTED;
    return value;
  },
  /** `z.string().min(1)` of an attribute: present and not empty. */
  nonEmpty(value: string | undefined): string {
    if (!value) throw UNEXPECTED;
    return value;
  },
  /** `integer`. */
  integer(value: string | undefined): number {
    const trimmed = quick.attribute(value).trim();
    if (!/^-?\d+$/.test(trimmed)) throw UNEXPECTED;
    return Number(trimmed);
  },
  /** A text read by `parse`, which throws what it cannot read (wire.ts's dateText and durationText). */
  parsed<T>(value: string | undefined, parse: (text: string) => T): T {
    const text = quick.attribute(value);
    try {
      return parse(text);
    } catch {
      throw UNEXPECTED;
    }
  },
};

// --- writing ---------------------------------------------------------------------------------------------------

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
const SPECIAL = /[&<>"']/;
/** Most values have nothing to escape: those are written as they are, without a replace. */
export const escape = (value: string | number) => {
  const text = String(value);
  return SPECIAL.test(text) ? text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c) : text;
};

type Attributes = Record<string, string | number | undefined>;

/** One element: `el('Package', { ID: id })` is `<Package ID="…" />`; children are already-written XML. */
export function el(name: string, attrs: Attributes | null, ...children: (string | null | undefined | false)[]): string {
  // Plain loops, not entries/filter/join: every document of every exchange is written through here.
  let start = `<${name}`;
  if (attrs) {
    for (const key in attrs) {
      const value = attrs[key];
      if (value !== undefined) start += ` ${key}="${escape(value)}"`;
    }
  }
  let content = '';
  for (const child of children) if (typeof child === 'string') content += child;
  return content === '' ? `${start} />` : `${start}>${content}</${name}>`;
}

/** An element holding only text. */
export const textEl = (name: string, value: string | number) => `<${name}>${escape(value)}</${name}>`;

export const DECLARATION = '<?xml version="1.0" encoding="utf-8" ?>';
