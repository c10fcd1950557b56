// kubectl's JSONPath templates (`-o jsonpath='{.items[*].metadata.name}'`):
// text with {expressions}; fields (.a.b, ['a.b'], escaped dots), indexes
// ([0], [-1], [*]), filters ([?(@.type=="Ready")]), {range …}{end} and
// quoted literals such as {"\n"}. Several results print space-separated.

import { CliError } from './errors.js';

type Step =
  | { t: 'field'; name: string }
  | { t: 'all' }
  | { t: 'index'; i: number }
  | { t: 'filter'; path: Step[]; op: '==' | '!=' | 'exists'; value?: string };

type Node =
  | { t: 'text'; text: string }
  | { t: 'expr'; path: Step[] }
  | { t: 'range'; path: Step[]; body: Node[] };

function parsePath(src: string, template: string): Step[] {
  const steps: Step[] = [];
  let i = 0;
  const s = src.trim();
  if (s.startsWith('@')) i = 1;
  while (i < s.length) {
    const c = s[i]!;
    if (c === '.') {
      i++;
      let name = '';
      while (i < s.length && s[i] !== '.' && s[i] !== '[') {
        if (s[i] === '\\' && i + 1 < s.length) i++;
        name += s[i];
        i++;
      }
      if (name) steps.push({ t: 'field', name });
    } else if (c === '[') {
      const end = s.indexOf(']', s[i + 1] === '?' ? s.indexOf(')', i) : i);
      if (end < 0) throw new CliError(`jsonpath ${template}: unclosed [`);
      const inner = s.slice(i + 1, end).trim();
      i = end + 1;
      if (inner === '*') steps.push({ t: 'all' });
      else if (/^-?\d+$/.test(inner)) steps.push({ t: 'index', i: Number(inner) });
      else if (/^'.*'$|^".*"$/.test(inner)) steps.push({ t: 'field', name: inner.slice(1, -1) });
      else {
        const m = /^\?\(\s*(@[^=!]*?)\s*(?:(==|!=)\s*(?:"([^"]*)"|'([^']*)'|(\S+)))?\s*\)$/.exec(
          inner,
        );
        if (!m) throw new CliError(`jsonpath ${template}: cannot parse [${inner}]`);
        steps.push({
          t: 'filter',
          path: parsePath(m[1]!, template),
          op: (m[2] as '==' | '!=' | undefined) ?? 'exists',
          value: m[3] ?? m[4] ?? m[5],
        });
      }
    } else if (c === ' ') {
      i++;
    } else {
      throw new CliError(`jsonpath ${template}: unexpected "${c}" in {${src}}`);
    }
  }
  return steps;
}

function parseTemplate(template: string): Node[] {
  const root: Node[] = [];
  const stack: Node[][] = [root];
  let i = 0;
  while (i < template.length) {
    const open = template.indexOf('{', i);
    const top = stack[stack.length - 1]!;
    if (open < 0) {
      top.push({ t: 'text', text: template.slice(i) });
      break;
    }
    if (open > i) top.push({ t: 'text', text: template.slice(i, open) });
    const close = template.indexOf('}', open);
    if (close < 0) throw new CliError(`jsonpath ${template}: unclosed {`);
    const inner = template.slice(open + 1, close).trim();
    i = close + 1;
    if (/^".*"$|^'.*'$/s.test(inner)) {
      top.push({
        t: 'text',
        text: JSON.parse(`"${inner.slice(1, -1).replace(/"/g, '\\"')}"`) as string,
      });
    } else if (inner.startsWith('range ')) {
      const node: Node = { t: 'range', path: parsePath(inner.slice(6), template), body: [] };
      top.push(node);
      stack.push(node.body);
    } else if (inner === 'end') {
      if (stack.length === 1) throw new CliError(`jsonpath ${template}: {end} without {range}`);
      stack.pop();
    } else {
      top.push({ t: 'expr', path: parsePath(inner, template) });
    }
  }
  if (stack.length !== 1) throw new CliError(`jsonpath ${template}: {range} without {end}`);
  return root;
}

function evaluate(path: Step[], values: unknown[]): unknown[] {
  let cur = values;
  for (const step of path) {
    const next: unknown[] = [];
    for (const v of cur) {
      if (step.t === 'field') {
        if (v && typeof v === 'object' && !Array.isArray(v) && step.name in v) {
          next.push((v as Record<string, unknown>)[step.name]);
        }
      } else if (step.t === 'all') {
        if (Array.isArray(v)) next.push(...(v as unknown[]));
        else if (v && typeof v === 'object') next.push(...Object.values(v));
      } else if (step.t === 'index') {
        if (Array.isArray(v)) {
          const item: unknown = v.at(step.i);
          if (item !== undefined) next.push(item);
        }
      } else if (Array.isArray(v)) {
        for (const item of v as unknown[]) {
          const got = evaluate(step.path, [item]);
          const ok =
            step.op === 'exists'
              ? got.length > 0
              : step.op === '=='
                ? got.some((g) => String(g) === step.value)
                : !got.some((g) => String(g) === step.value);
          if (ok) next.push(item);
        }
      }
    }
    cur = next;
  }
  return cur;
}

function show(v: unknown): string {
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

function render(nodes: Node[], data: unknown): string {
  let out = '';
  for (const n of nodes) {
    if (n.t === 'text') out += n.text;
    else if (n.t === 'expr') out += evaluate(n.path, [data]).map(show).join(' ');
    else for (const item of evaluate(n.path, [data])) out += render(n.body, item);
  }
  return out;
}

/** Renders a kubectl JSONPath template against one object (or a List). */
export function jsonpath(template: string, data: unknown): string {
  return render(parseTemplate(template), data);
}
