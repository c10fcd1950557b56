// One compose file as text: parsed with the `yaml` library (merge keys on, as
// Compose allows `<<: *anchor`), every string value interpolated, and the
// node tree kept so that errors and warnings can name file:line:column for
// any path in the model.

import {
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  visit,
  type Document,
  type Node,
} from 'yaml';
import { CliError } from '../commands/errors.js';
import { interpolate, InterpolationError, type Env } from './interpolate.js';

export type Path = readonly (string | number)[];

/** `services.web.ports[0]` */
export function pathText(path: Path): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${p}` : p;
  return out;
}

export class ComposeSource {
  private readonly lineCounter = new LineCounter();
  private readonly doc: Document;

  /** Parses `text`; `name` is how errors name the file (the path as the user gave it). */
  constructor(
    readonly name: string,
    text: string,
    env: Env,
  ) {
    this.doc = parseDocument(text, {
      lineCounter: this.lineCounter,
      prettyErrors: false,
      merge: true,
      uniqueKeys: true,
    });
    const first = this.doc.errors[0];
    if (first) {
      const pos = this.lineCounter.linePos(first.pos[0]);
      const message = first.message.replace(/ at line \d+, column \d+:?[\s\S]*$/, '');
      throw new CliError(`${name}:${pos.line}:${pos.col}: ${message}`);
    }
    // Interpolation applies to values, never to keys, as in Compose.
    visit(this.doc, {
      Scalar: (key, node) => {
        if (key === 'key' || typeof node.value !== 'string') return;
        try {
          node.value = interpolate(node.value, env);
        } catch (err) {
          if (!(err instanceof InterpolationError)) throw err;
          const pos = this.lineCounter.linePos(node.range?.[0] ?? 0);
          throw new CliError(`${name}:${pos.line}:${pos.col}: ${err.message}`);
        }
      },
    });
  }

  /** The document as plain data (aliases and merge keys resolved). */
  value(): unknown {
    return this.doc.toJS({ maxAliasCount: 1000 });
  }

  /** The node at `path` and, when the last step is a map key, that key's node. */
  private nodeAt(path: Path): { node: Node | undefined; key: Node | undefined } {
    let node: unknown = this.doc.contents;
    let key: Node | undefined;
    for (const step of path) {
      key = undefined;
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === step);
        if (!pair) return { node: undefined, key: undefined };
        key = pair.key as Node;
        node = pair.value;
      } else if (isSeq(node) && typeof step === 'number') {
        node = node.items[step];
        if (node === undefined) return { node: undefined, key: undefined };
      } else return { node: undefined, key: undefined };
    }
    return { node: (node as Node | null) ?? undefined, key };
  }

  /**
   * "file:line:col" of the value at `path` (or of its key, for `which: 'key'`),
   * else of the nearest ancestor the file spells out (merge keys hide some).
   */
  at(path: Path, which: 'value' | 'key' = 'value'): string {
    for (let n = path.length; n >= 0; n--) {
      const { node, key } = this.nodeAt(path.slice(0, n));
      const range = (n === path.length && which === 'value' ? (node ?? key) : (key ?? node))?.range;
      if (range) {
        const pos = this.lineCounter.linePos(range[0]);
        return `${this.name}:${pos.line}:${pos.col}`;
      }
    }
    return `${this.name}:1:1`;
  }

  /** "file:line" of the key at `path` (for warnings about a key). */
  lineOf(path: Path): string {
    for (let n = path.length; n >= 0; n--) {
      const { node, key } = this.nodeAt(path.slice(0, n));
      const range = (key ?? node)?.range;
      if (range) return `${this.name}:${this.lineCounter.linePos(range[0]).line}`;
    }
    return `${this.name}:1`;
  }

  /** How a scalar was written (to read `mode: 0440` as octal, as Compose does). */
  sourceText(path: Path): string | undefined {
    const { node } = this.nodeAt(path);
    return isScalar(node) && typeof node.source === 'string' ? node.source : undefined;
  }
}
