// Label and field selectors as pure functions: the `?labelSelector=` and
// `?fieldSelector=` grammars, the metav1.LabelSelector object controllers read
// from specs, and the field set each kind offers to field selectors.
//
// The parsers follow k8s.io/apimachinery's pkg/labels/selector.go and
// pkg/fields/selector.go token for token, including their quirks (values of a
// set are sorted and deduplicated, `x in ()` means the empty value, field
// selector values are not trimmed), because clients send whatever the Go
// server accepts. Error texts are the Go ones, so a client sees the message it
// would get from a real apiserver.

import type { KubeObject } from './objects.js';
import { isRecord } from './objects.js';
import { ApiError } from './status.js';

// ---------------------------------------------------------------------------
// Label key and value syntax (apimachinery pkg/api/validate/content)

const LABEL_KEY_FMT = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const LABEL_KEY_RE = new RegExp(`^${LABEL_KEY_FMT}$`);
const LABEL_KEY_MSG =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_FMT = `(${LABEL_KEY_FMT})?`;
const LABEL_VALUE_RE = new RegExp(`^${LABEL_VALUE_FMT}$`);
const LABEL_VALUE_MSG =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const DNS1123_LABEL_FMT = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_SUBDOMAIN_FMT = `${DNS1123_LABEL_FMT}(\\.${DNS1123_LABEL_FMT})*`;
const DNS1123_SUBDOMAIN_RE = new RegExp(`^${DNS1123_SUBDOMAIN_FMT}$`);
const DNS1123_SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";

/** Go's RegexError, including its doubled space before "or". */
function regexError(msg: string, re: string, ...examples: string[]): string {
  if (examples.length === 0) return `${msg} (regex used for validation is '${re}')`;
  let out = `${msg} (e.g. `;
  examples.forEach((e, i) => {
    if (i > 0) out += ' or ';
    out += `'${e}', `;
  });
  return `${out}regex used for validation is '${re}')`;
}

// Go measures lengths in bytes; only matters for non-ASCII, which fails the
// charset check anyway, but the message then lists both problems like Go does.
const byteLength = (s: string): number => Buffer.byteLength(s, 'utf8');

function dns1123SubdomainErrors(value: string): string[] {
  const errs: string[] = [];
  if (byteLength(value) > 253) errs.push('must be no more than 253 bytes');
  if (!DNS1123_SUBDOMAIN_RE.test(value)) {
    errs.push(regexError(DNS1123_SUBDOMAIN_MSG, DNS1123_SUBDOMAIN_FMT, 'example.com'));
  }
  return errs;
}

/** Problems with a label key (`[prefix/]name`), empty when it is valid. */
export function labelKeyErrors(key: string): string[] {
  const errs: string[] = [];
  const parts = key.split('/');
  let name: string;
  if (parts.length === 1) {
    name = parts[0] ?? '';
  } else if (parts.length === 2) {
    const prefix = parts[0] ?? '';
    name = parts[1] ?? '';
    if (prefix.length === 0) errs.push('prefix part must be non-empty');
    else errs.push(...dns1123SubdomainErrors(prefix).map((m) => `prefix part ${m}`));
  } else {
    return [
      `a valid label key ${regexError(LABEL_KEY_MSG, LABEL_KEY_FMT, 'MyName', 'my.name', '123-abc')}` +
        " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    ];
  }
  if (name.length === 0) errs.push('name part must be non-empty');
  else if (byteLength(name) > 63) errs.push('name part must be no more than 63 bytes');
  if (!LABEL_KEY_RE.test(name)) {
    errs.push(
      `name part ${regexError(LABEL_KEY_MSG, LABEL_KEY_FMT, 'MyName', 'my.name', '123-abc')}`,
    );
  }
  return errs;
}

/** Problems with a label value, empty when it is valid (the empty string is). */
export function labelValueErrors(value: string): string[] {
  const errs: string[] = [];
  if (byteLength(value) > 63) errs.push('must be no more than 63 bytes');
  if (!LABEL_VALUE_RE.test(value)) {
    errs.push(regexError(LABEL_VALUE_MSG, LABEL_VALUE_FMT, 'MyValue', 'my_value', '12345'));
  }
  return errs;
}

/** field.Invalid(path, value, detail).Error(); arrays print as JSON like Go's json.Marshal. */
function invalidValue(path: string, value: string | string[] | null, detail: string): string {
  return `${path}: Invalid value: ${JSON.stringify(value)}: ${detail}`;
}

/** utilerrors.Aggregate's Error(): one message bare, several in brackets, duplicates dropped. */
function aggregate(msgs: string[]): string {
  const unique = [...new Set(msgs)];
  return unique.length === 1 ? (unique[0] ?? '') : `[${unique.join(', ')}]`;
}

// ---------------------------------------------------------------------------
// Requirements

export type LabelSelectorOperator =
  | 'In'
  | 'NotIn'
  | 'Exists'
  | 'DoesNotExist'
  | 'Equals'
  | 'NotEquals'
  // `a>1` and `a<1`: the string grammar accepts them (integer comparison), the
  // metav1.LabelSelector object does not.
  | 'Gt'
  | 'Lt';

export interface LabelSelectorRequirement {
  key: string;
  operator: LabelSelectorOperator;
  values: string[];
}

/** The metav1.LabelSelector object as specs carry it. */
export interface LabelSelectorObject {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** Thrown inside the parsers; the exported functions turn it into a 400. */
class SelectorError extends Error {
  override readonly name = 'SelectorError';
}

const INT64 = /^[+-]?[0-9]+$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function parseInt64(s: string): bigint | undefined {
  if (!INT64.test(s)) return undefined;
  const n = BigInt(s);
  return n < INT64_MIN || n > INT64_MAX ? undefined : n;
}

/**
 * labels.NewRequirement: checks the key, the value count for the operator
 * and every value. `values` null stands for Go's nil slice (it prints `null`).
 */
function newRequirement(
  key: string,
  operator: LabelSelectorOperator,
  values: string[] | null,
): LabelSelectorRequirement {
  const errs: string[] = [];
  const vals = values ?? [];
  const keyErrs = labelKeyErrors(key);
  if (keyErrs.length > 0) errs.push(invalidValue('key', key, keyErrs.join('; ')));
  switch (operator) {
    case 'In':
    case 'NotIn':
      if (vals.length === 0) {
        errs.push(
          invalidValue('values', values, "for 'in', 'notin' operators, values set can't be empty"),
        );
      }
      break;
    case 'Equals':
    case 'NotEquals':
      if (vals.length !== 1) {
        errs.push(
          invalidValue('values', values, 'exact-match compatibility requires one single value'),
        );
      }
      break;
    case 'Exists':
    case 'DoesNotExist':
      if (vals.length !== 0) {
        errs.push(
          invalidValue('values', values, 'values set must be empty for exists and does not exist'),
        );
      }
      break;
    case 'Gt':
    case 'Lt':
      if (vals.length !== 1) {
        errs.push(
          invalidValue('values', values, "for 'Gt', 'Lt' operators, exactly one value is required"),
        );
      }
      vals.forEach((v, i) => {
        if (parseInt64(v) === undefined) {
          errs.push(
            invalidValue(
              `values[${i}]`,
              v,
              "for 'Gt', 'Lt' operators, the value must be an integer",
            ),
          );
        }
      });
      break;
  }
  vals.forEach((v, i) => {
    const valueErrs = labelValueErrors(v);
    if (valueErrs.length > 0) {
      errs.push(invalidValue(`values[${i}][${key}]`, v, valueErrs.join('; ')));
    }
  });
  if (errs.length > 0) throw new SelectorError(aggregate(errs));
  return { key, operator, values: vals };
}

/** Go sorts requirements by key with sort.Sort; a stable sort gives the same order. */
function sortByKey(reqs: LabelSelectorRequirement[]): LabelSelectorRequirement[] {
  return reqs
    .map((r, i) => ({ r, i }))
    .sort((a, b) => (a.r.key < b.r.key ? -1 : a.r.key > b.r.key ? 1 : a.i - b.i))
    .map(({ r }) => r);
}

// ---------------------------------------------------------------------------
// The string grammar (labels.Parse)

type Token =
  | 'error'
  | 'end'
  | 'closedPar'
  | 'comma'
  | 'doesNotExist'
  | 'doubleEquals'
  | 'equals'
  | 'greaterThan'
  | 'identifier'
  | 'in'
  | 'lessThan'
  | 'notEquals'
  | 'notIn'
  | 'openPar';

const STRING_TO_TOKEN: ReadonlyMap<string, Token> = new Map([
  [')', 'closedPar'],
  [',', 'comma'],
  ['!', 'doesNotExist'],
  ['==', 'doubleEquals'],
  ['=', 'equals'],
  ['>', 'greaterThan'],
  ['in', 'in'],
  ['<', 'lessThan'],
  ['!=', 'notEquals'],
  ['notin', 'notIn'],
  ['(', 'openPar'],
]);

/** How Go spells the binary operators in "expected: …" messages. */
const BINARY_OPERATORS = 'in, notin, =, ==, !=, gt, lt';

const isWhitespace = (ch: string): boolean =>
  ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n';
const isSpecialSymbol = (ch: string): boolean => '=!(),><'.includes(ch) && ch.length === 1;

interface Item {
  tok: Token;
  lit: string;
}

/**
 * Go's Lexer. read() yields NUL at the end of input and, like Go, for a NUL
 * byte inside it, which therefore ends the current token.
 */
class Lexer {
  private pos = 0;
  constructor(private readonly s: string) {}

  private read(): string {
    if (this.pos < this.s.length) return this.s[this.pos++] ?? '\0';
    return '\0';
  }

  private unread(): void {
    this.pos--;
  }

  private scanIdOrKeyword(): Item {
    let buf = '';
    for (;;) {
      const ch = this.read();
      if (ch === '\0') break;
      if (isSpecialSymbol(ch) || isWhitespace(ch)) {
        this.unread();
        break;
      }
      buf += ch;
    }
    return { tok: STRING_TO_TOKEN.get(buf) ?? 'identifier', lit: buf };
  }

  // Longest run of special symbols that still spells an operator: "!=" not "!".
  private scanSpecialSymbol(): Item {
    let last: Item | undefined;
    let buf = '';
    for (;;) {
      const ch = this.read();
      if (ch === '\0') break;
      if (!isSpecialSymbol(ch)) {
        this.unread();
        break;
      }
      buf += ch;
      const tok = STRING_TO_TOKEN.get(buf);
      if (tok !== undefined) {
        last = { tok, lit: buf };
      } else if (last !== undefined) {
        this.unread();
        break;
      }
    }
    return last ?? { tok: 'error', lit: `error expected: keyword found '${buf}'` };
  }

  lex(): Item {
    let ch = this.read();
    while (isWhitespace(ch)) ch = this.read();
    if (ch === '\0') return { tok: 'end', lit: '' };
    this.unread();
    return isSpecialSymbol(ch) ? this.scanSpecialSymbol() : this.scanIdOrKeyword();
  }
}

// In a values position the words "in" and "notin" are plain identifiers:
// `x in (in)` selects the value "in".
type Context = 'keyAndOperator' | 'values';

class Parser {
  private readonly items: Item[] = [];
  private position = 0;

  constructor(input: string) {
    const lexer = new Lexer(input);
    for (;;) {
      const item = lexer.lex();
      this.items.push(item);
      if (item.tok === 'end') break;
    }
  }

  private lookahead(ctx: Context): Item {
    return this.adjust(this.items[this.position], ctx);
  }

  private consume(ctx: Context): Item {
    return this.adjust(this.items[this.position++], ctx);
  }

  private adjust(item: Item | undefined, ctx: Context): Item {
    // The token list always ends with 'end' and the grammar never reads past it.
    const it = item ?? { tok: 'end', lit: '' };
    if (ctx === 'values' && (it.tok === 'in' || it.tok === 'notIn')) {
      return { tok: 'identifier', lit: it.lit };
    }
    return it;
  }

  parse(): LabelSelectorRequirement[] {
    const reqs: LabelSelectorRequirement[] = [];
    for (;;) {
      const { tok, lit } = this.lookahead('values');
      if (tok === 'identifier' || tok === 'doesNotExist') {
        let r: LabelSelectorRequirement;
        try {
          r = this.parseRequirement();
        } catch (e) {
          if (e instanceof SelectorError) {
            throw new SelectorError(`unable to parse requirement: ${e.message}`);
          }
          throw e;
        }
        reqs.push(r);
        const next = this.consume('values');
        if (next.tok === 'end') return reqs;
        if (next.tok === 'comma') {
          const after = this.lookahead('values');
          if (after.tok !== 'identifier' && after.tok !== 'doesNotExist') {
            throw new SelectorError(`found '${after.lit}', expected: identifier after ','`);
          }
          continue;
        }
        throw new SelectorError(`found '${next.lit}', expected: ',' or 'end of string'`);
      }
      if (tok === 'end') return reqs;
      throw new SelectorError(`found '${lit}', expected: !, identifier, or 'end of string'`);
    }
  }

  private parseRequirement(): LabelSelectorRequirement {
    const { key, operator } = this.parseKeyAndInferOperator();
    if (operator === 'Exists' || operator === 'DoesNotExist') {
      return newRequirement(key, operator, []);
    }
    const op = this.parseOperator();
    const values = op === 'In' || op === 'NotIn' ? this.parseValues() : this.parseExactValue();
    // sets.String.List(): sorted, without duplicates.
    return newRequirement(key, op, [...new Set(values)].sort());
  }

  private parseKeyAndInferOperator(): { key: string; operator: LabelSelectorOperator | '' } {
    let operator: LabelSelectorOperator | '' = '';
    let item = this.consume('values');
    if (item.tok === 'doesNotExist') {
      operator = 'DoesNotExist';
      item = this.consume('values');
    }
    if (item.tok !== 'identifier') {
      throw new SelectorError(`found '${item.lit}', expected: identifier`);
    }
    const keyErrs = labelKeyErrors(item.lit);
    if (keyErrs.length > 0) {
      // The Go parser has no field path here, which prints as "<nil>".
      throw new SelectorError(invalidValue('<nil>', item.lit, keyErrs.join('; ')));
    }
    const next = this.lookahead('values').tok;
    if ((next === 'end' || next === 'comma') && operator !== 'DoesNotExist') operator = 'Exists';
    return { key: item.lit, operator };
  }

  private parseOperator(): LabelSelectorOperator {
    const { tok, lit } = this.consume('keyAndOperator');
    switch (tok) {
      case 'in':
        return 'In';
      case 'equals':
      case 'doubleEquals':
        return 'Equals';
      case 'greaterThan':
        return 'Gt';
      case 'lessThan':
        return 'Lt';
      case 'notIn':
        return 'NotIn';
      case 'notEquals':
        return 'NotEquals';
      default:
        throw new SelectorError(`found '${lit}', expected: ${BINARY_OPERATORS}`);
    }
  }

  private parseValues(): string[] {
    const open = this.consume('values');
    if (open.tok !== 'openPar') throw new SelectorError(`found '${open.lit}' expected: '('`);
    const { tok, lit } = this.lookahead('values');
    if (tok === 'identifier' || tok === 'comma') {
      const values = this.parseIdentifiersList();
      // Go reports the token it looked at before the list, not the offending one.
      if (this.consume('values').tok !== 'closedPar') {
        throw new SelectorError(`found '${lit}', expected: ')'`);
      }
      return values;
    }
    if (tok === 'closedPar') {
      this.consume('values');
      return [''];
    }
    throw new SelectorError(`found '${lit}', expected: ',', ')' or identifier`);
  }

  // A comma-separated list whose empty elements stand for the empty value.
  private parseIdentifiersList(): string[] {
    const values: string[] = [];
    for (;;) {
      const { tok, lit } = this.consume('values');
      if (tok === 'identifier') {
        values.push(lit);
        const next = this.lookahead('values');
        if (next.tok === 'comma') continue;
        if (next.tok === 'closedPar') return values;
        throw new SelectorError(`found '${next.lit}', expected: ',' or ')'`);
      }
      if (tok === 'comma') {
        if (values.length === 0) values.push('');
        const next = this.lookahead('values').tok;
        if (next === 'closedPar') {
          values.push('');
          return values;
        }
        if (next === 'comma') values.push('');
        continue;
      }
      throw new SelectorError(`found '${lit}', expected: ',', or identifier`);
    }
  }

  private parseExactValue(): string[] {
    const next = this.lookahead('values').tok;
    if (next === 'end' || next === 'comma') return [''];
    const { tok, lit } = this.consume('values');
    if (tok === 'identifier') return [lit];
    throw new SelectorError(`found '${lit}', expected: identifier`);
  }
}

function badRequest(e: unknown): unknown {
  return e instanceof SelectorError
    ? new ApiError('BadRequest', e.message, undefined, { cause: e })
    : e;
}

/**
 * Parses the `?labelSelector=` syntax into requirements sorted by key; the
 * empty string selects everything ([]). Throws ApiError BadRequest with
 * Kubernetes' message on a syntax or key/value error.
 */
export function parseLabelSelector(s: string): LabelSelectorRequirement[] {
  try {
    return sortByKey(new Parser(s).parse());
  } catch (e) {
    throw badRequest(e);
  }
}

/** Kubernetes semantics: `!=` and `notin` also match objects without the key. */
export function matchesLabels(
  reqs: readonly LabelSelectorRequirement[],
  labels: Record<string, string> | undefined,
): boolean {
  const set = labels ?? {};
  return reqs.every((r) => requirementMatches(r, set));
}

function requirementMatches(r: LabelSelectorRequirement, labels: Record<string, string>): boolean {
  const has = Object.hasOwn(labels, r.key);
  const value = has ? labels[r.key] : undefined;
  switch (r.operator) {
    case 'In':
    case 'Equals':
      return value !== undefined && r.values.includes(value);
    case 'NotIn':
    case 'NotEquals':
      return value === undefined || !r.values.includes(value);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    case 'Gt':
    case 'Lt': {
      if (value === undefined || r.values.length !== 1) return false;
      const actual = parseInt64(value);
      const bound = parseInt64(r.values[0] ?? '');
      if (actual === undefined || bound === undefined) return false;
      return r.operator === 'Gt' ? actual > bound : actual < bound;
    }
  }
}

// ---------------------------------------------------------------------------
// metav1.LabelSelector (LabelSelectorAsSelector)

const OBJECT_OPERATORS: Readonly<Record<string, LabelSelectorOperator>> = {
  In: 'In',
  NotIn: 'NotIn',
  Exists: 'Exists',
  DoesNotExist: 'DoesNotExist',
};

/**
 * The metav1.LabelSelector object as controllers use it: null or undefined
 * selects nothing ('nothing'), an empty selector selects everything ([]).
 * Throws ApiError BadRequest on an unknown operator or a bad key, value or
 * value count.
 */
export function fromLabelSelector(
  sel: LabelSelectorObject | undefined | null,
): LabelSelectorRequirement[] | 'nothing' {
  if (sel === null || sel === undefined) return 'nothing';
  const matchLabels = Object.entries(sel.matchLabels ?? {});
  const matchExpressions = sel.matchExpressions ?? [];
  if (matchLabels.length + matchExpressions.length === 0) return [];
  try {
    const reqs = matchLabels.map(([k, v]) => newRequirement(k, 'Equals', [v]));
    for (const expr of matchExpressions) {
      const op = Object.hasOwn(OBJECT_OPERATORS, expr.operator)
        ? OBJECT_OPERATORS[expr.operator]
        : undefined;
      if (op === undefined) {
        throw new SelectorError(
          `${JSON.stringify(expr.operator)} is not a valid label selector operator`,
        );
      }
      // Go copies the values into a nil slice, so a missing or empty list prints as null.
      const values = expr.values !== undefined && expr.values.length > 0 ? [...expr.values] : null;
      reqs.push(newRequirement(expr.key, op, values));
    }
    return sortByKey(reqs);
  } catch (e) {
    throw badRequest(e);
  }
}

function formatRequirement(r: LabelSelectorRequirement): string {
  // Several values print sorted, as Go's safeSort does, without reordering the input.
  const values = r.values.length === 1 ? (r.values[0] ?? '') : [...r.values].sort().join(',');
  switch (r.operator) {
    case 'Exists':
      return r.key;
    case 'DoesNotExist':
      return `!${r.key}`;
    case 'Equals':
      return `${r.key}=${values}`;
    case 'NotEquals':
      return `${r.key}!=${values}`;
    case 'In':
      return `${r.key} in (${values})`;
    case 'NotIn':
      return `${r.key} notin (${values})`;
    case 'Gt':
      return `${r.key}>${values}`;
    case 'Lt':
      return `${r.key}<${values}`;
  }
}

function isRequirementList(
  sel: readonly LabelSelectorRequirement[] | LabelSelectorObject | undefined | null,
): sel is readonly LabelSelectorRequirement[] {
  return Array.isArray(sel);
}

/**
 * The string form of a selector, as Selector.String() prints it (the scale
 * subresource's status.selector): `app=web,tier in (a,b)`. Takes parsed
 * requirements or a metav1.LabelSelector; selecting nothing or everything
 * both print as "". Throws like fromLabelSelector on an invalid object.
 */
export function formatLabelSelector(
  sel: readonly LabelSelectorRequirement[] | LabelSelectorObject | undefined | null,
): string {
  const reqs = isRequirementList(sel) ? sel : fromLabelSelector(sel);
  return reqs === 'nothing' ? '' : reqs.map(formatRequirement).join(',');
}

// ---------------------------------------------------------------------------
// Field selectors (fields.ParseSelector plus the apiserver's field label check)

export interface FieldRequirement {
  field: string;
  operator: '=' | '!=';
  value: string;
}

/** Splits on commas that no backslash escapes. */
function splitTerms(s: string): string[] {
  if (s.length === 0) return [];
  const terms: string[] = [];
  let start = 0;
  let inSlash = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (inSlash) inSlash = false;
    else if (c === '\\') inSlash = true;
    else if (c === ',') {
      terms.push(s.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(s.slice(start));
  return terms;
}

// Checked in this order at each position, so `a!=b` is not read as `a!` = `b`.
const TERM_OPERATORS = ['!=', '==', '='] as const;

function splitTerm(term: string): { lhs: string; op: string; rhs: string } | undefined {
  for (let i = 0; i < term.length; i++) {
    for (const op of TERM_OPERATORS) {
      if (term.startsWith(op, i)) {
        return { lhs: term.slice(0, i), op, rhs: term.slice(i + op.length) };
      }
    }
  }
  return undefined;
}

function unescapeValue(s: string): string {
  if (!/[\\,=]/.test(s)) return s;
  let out = '';
  let inSlash = false;
  for (const c of s) {
    if (inSlash) {
      if (c !== '\\' && c !== ',' && c !== '=') {
        throw new SelectorError(`invalid field selector: invalid escape sequence: \\${c}`);
      }
      out += c;
      inSlash = false;
      continue;
    }
    if (c === '\\') inSlash = true;
    else if (c === ',' || c === '=') {
      // Go prints the rune with %v, i.e. its code point number.
      throw new SelectorError(
        `invalid field selector: unescaped character in value: ${c.codePointAt(0)}`,
      );
    } else out += c;
  }
  if (inSlash) throw new SelectorError('invalid field selector: invalid escape sequence: \\');
  return out;
}

/** Legacy names the apiserver rewrites (old v1 clients send spec.host for pods). */
const FIELD_ALIASES: Readonly<Record<string, string>> = { 'spec.host': 'spec.nodeName' };

/**
 * Parses `?fieldSelector=`: comma-joined `f=v`, `f==v`, `f!=v`, with `\,`
 * `\=` `\\` escapes in values; terms come back sorted, as Go sorts them.
 * Nothing is trimmed: Kubernetes takes spaces literally. Throws ApiError
 * BadRequest on a syntax error or a field not in `supported`.
 */
export function parseFieldSelector(s: string, supported: readonly string[]): FieldRequirement[] {
  try {
    const terms = splitTerms(s).sort();
    const reqs: FieldRequirement[] = [];
    for (const term of terms) {
      if (term === '') continue;
      const parts = splitTerm(term);
      if (parts === undefined) {
        throw new SelectorError(`invalid selector: '${s}'; can't understand '${term}'`);
      }
      reqs.push({
        field: parts.lhs,
        operator: parts.op === '!=' ? '!=' : '=',
        value: unescapeValue(parts.rhs),
      });
    }
    // The apiserver converts field labels only after the whole string parsed.
    return reqs.map((r) => {
      if (!supported.includes(r.field)) {
        throw new SelectorError(`field label not supported: ${r.field}`);
      }
      const alias = Object.hasOwn(FIELD_ALIASES, r.field) ? FIELD_ALIASES[r.field] : undefined;
      return alias === undefined ? r : { ...r, field: alias };
    });
  } catch (e) {
    throw badRequest(e);
  }
}

/** A field absent from the set counts as "", as fields.Set.Get does. */
export function matchesFields(
  reqs: readonly FieldRequirement[],
  fields: Record<string, string>,
): boolean {
  return reqs.every((r) => {
    const value = Object.hasOwn(fields, r.field) ? (fields[r.field] ?? '') : '';
    return r.operator === '=' ? value === r.value : value !== r.value;
  });
}

// ---------------------------------------------------------------------------
// Field sets per kind (the registries' ToSelectableFields and the field label
// conversion functions of pkg/apis/*/v1)

const META_FIELDS = ['metadata.name', 'metadata.namespace'] as const;

// Kinds missing here get Kubernetes' default: metadata.name and
// metadata.namespace only. That includes ReplicaSet: its registry computes
// status.replicas but apps/v1 registers no conversion for it, so the server
// rejects it whatever the docs' table says (kubernetes/kubernetes#135136).
const SUPPORTED_FIELDS: Readonly<Record<string, readonly string[]>> = {
  Pod: [
    ...META_FIELDS,
    'spec.nodeName',
    'spec.restartPolicy',
    'spec.schedulerName',
    'spec.serviceAccountName',
    'spec.hostNetwork',
    'status.phase',
    'status.podIP',
    // Accepted but absent from the pod's field set, so it only ever equals "".
    'status.podIPs',
    'status.nominatedNodeName',
    'spec.host',
  ],
  // Cluster-scoped kinds with their own conversion do not accept metadata.namespace.
  Node: ['metadata.name', 'spec.unschedulable'],
  Namespace: ['metadata.name', 'status.phase'],
  ReplicationController: [...META_FIELDS, 'status.replicas'],
  Event: [
    ...META_FIELDS,
    'involvedObject.kind',
    'involvedObject.namespace',
    'involvedObject.name',
    'involvedObject.uid',
    'involvedObject.apiVersion',
    'involvedObject.resourceVersion',
    'involvedObject.fieldPath',
    'reason',
    'reportingComponent',
    'source',
    'type',
  ],
  Secret: [...META_FIELDS, 'type'],
  Service: [...META_FIELDS, 'spec.clusterIP', 'spec.type'],
  Job: [...META_FIELDS, 'status.successful'],
};

/** The field names `kind` accepts in a field selector. */
export function supportedFields(kind: string): readonly string[] {
  return Object.hasOwn(SUPPORTED_FIELDS, kind)
    ? (SUPPORTED_FIELDS[kind] ?? META_FIELDS)
    : META_FIELDS;
}

function child(obj: unknown, ...path: string[]): unknown {
  let cur = obj;
  for (const p of path) {
    if (!isRecord(cur) || !Object.hasOwn(cur, p)) return undefined;
    cur = cur[p];
  }
  return cur;
}

// Go reads typed structs, so an absent field is its zero value: "" for
// strings, "false" for bools, "0" for integers.
const str = (obj: unknown, ...path: string[]): string => {
  const v = child(obj, ...path);
  return typeof v === 'string' ? v : '';
};
const bool = (obj: unknown, ...path: string[]): string =>
  child(obj, ...path) === true ? 'true' : 'false';
const int = (obj: unknown, ...path: string[]): string => {
  const v = child(obj, ...path);
  return typeof v === 'number' && Number.isFinite(v) ? String(Math.trunc(v)) : '0';
};

function podIP(pod: KubeObject): string {
  const ips = child(pod, 'status', 'podIPs');
  if (Array.isArray(ips) && ips.length > 0) return str(ips[0], 'ip');
  return str(pod, 'status', 'podIP');
}

/**
 * The field set Kubernetes matches field selectors against for an object of
 * `kind`; missing values are "" (so `spec.nodeName=` selects unbound pods).
 */
export function fieldsOf(kind: string, obj: KubeObject): Record<string, string> {
  const fields: Record<string, string> = {
    'metadata.name': obj.metadata.name ?? '',
    'metadata.namespace': obj.metadata.namespace ?? '',
  };
  switch (kind) {
    case 'Pod':
      Object.assign(fields, {
        'spec.nodeName': str(obj, 'spec', 'nodeName'),
        'spec.restartPolicy': str(obj, 'spec', 'restartPolicy'),
        'spec.schedulerName': str(obj, 'spec', 'schedulerName'),
        'spec.serviceAccountName': str(obj, 'spec', 'serviceAccountName'),
        'spec.hostNetwork': bool(obj, 'spec', 'hostNetwork'),
        'status.phase': str(obj, 'status', 'phase'),
        'status.podIP': podIP(obj),
        'status.nominatedNodeName': str(obj, 'status', 'nominatedNodeName'),
      });
      break;
    case 'Node':
      fields['spec.unschedulable'] = bool(obj, 'spec', 'unschedulable');
      break;
    case 'Namespace':
      fields['status.phase'] = str(obj, 'status', 'phase');
      break;
    case 'ReplicationController':
      fields['status.replicas'] = int(obj, 'status', 'replicas');
      break;
    case 'Event':
      Object.assign(fields, {
        'involvedObject.kind': str(obj, 'involvedObject', 'kind'),
        'involvedObject.namespace': str(obj, 'involvedObject', 'namespace'),
        'involvedObject.name': str(obj, 'involvedObject', 'name'),
        'involvedObject.uid': str(obj, 'involvedObject', 'uid'),
        'involvedObject.apiVersion': str(obj, 'involvedObject', 'apiVersion'),
        'involvedObject.resourceVersion': str(obj, 'involvedObject', 'resourceVersion'),
        'involvedObject.fieldPath': str(obj, 'involvedObject', 'fieldPath'),
        reason: str(obj, 'reason'),
        reportingComponent: str(obj, 'reportingComponent'),
        // events.k8s.io writers set only the reporting controller; Kubernetes
        // falls back to it so `source=` finds their events too.
        source: str(obj, 'source', 'component') || str(obj, 'reportingComponent'),
        type: str(obj, 'type'),
      });
      break;
    case 'Secret':
      fields['type'] = str(obj, 'type');
      break;
    case 'Service':
      fields['spec.clusterIP'] = str(obj, 'spec', 'clusterIP');
      fields['spec.type'] = str(obj, 'spec', 'type');
      break;
    case 'Job':
      fields['status.successful'] = int(obj, 'status', 'succeeded');
      break;
  }
  return fields;
}
