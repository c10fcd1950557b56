// Compose's variable interpolation and its dotenv format (`.env`, env_file):
// pure functions, so the rules read as a table in the tests.

/** Thrown for `${VAR?message}` on an unset variable and for malformed references; the caller adds file:line. */
export class InterpolationError extends Error {
  override readonly name = 'InterpolationError';
}

export type Env = Readonly<Record<string, string | undefined>>;

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

/**
 * Replaces `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?err}`,
 * `${VAR?err}`, `${VAR:+alt}` and `${VAR+alt}` as the Compose Specification
 * defines them; `$$` is a literal `$`. Defaults may nest references.
 */
export function interpolate(text: string, env: Env): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c !== '$') {
      out += c;
      i++;
      continue;
    }
    const next = text[i + 1];
    if (next === '$') {
      out += '$';
      i += 2;
      continue;
    }
    if (next === '{') {
      const end = closingBrace(text, i + 2);
      if (end < 0) throw new InterpolationError(`invalid interpolation format in "${text}"`);
      out += expandBraced(text.slice(i + 2, end), env, text);
      i = end + 1;
      continue;
    }
    const m = NAME.exec(text.slice(i + 1));
    if (!m) {
      // A lone `$` (e.g. "costs 5$") stays as written, as compose leaves it.
      out += '$';
      i++;
      continue;
    }
    out += env[m[0]] ?? '';
    i += 1 + m[0].length;
  }
  return out;
}

function closingBrace(text: string, from: number): number {
  let depth = 1;
  for (let j = from; j < text.length; j++) {
    if (text[j] === '{') depth++;
    else if (text[j] === '}' && --depth === 0) return j;
  }
  return -1;
}

function expandBraced(body: string, env: Env, whole: string): string {
  const m = NAME.exec(body);
  if (!m) throw new InterpolationError(`invalid interpolation format in "${whole}"`);
  const name = m[0];
  const rest = body.slice(name.length);
  const value = env[name];
  if (rest === '') return value ?? '';
  const op = /^(:?)([-?+])/.exec(rest);
  if (!op) throw new InterpolationError(`invalid interpolation format in "${whole}"`);
  const arg = rest.slice(op[0].length);
  // With the colon, an empty value counts as unset.
  const unset = op[1] ? value === undefined || value === '' : value === undefined;
  switch (op[2]) {
    case '-':
      return unset ? interpolate(arg, env) : (value ?? '');
    case '+':
      return unset ? '' : interpolate(arg, env);
    default:
      if (unset)
        throw new InterpolationError(
          `required variable ${name} is missing a value${arg ? `: ${interpolate(arg, env)}` : ''}`,
        );
      return value ?? '';
  }
}

/**
 * Parses the dotenv format Compose reads for `.env` and `env_file`: KEY=VALUE
 * lines, `#` comments, an optional `export `, single quotes literal, double
 * quotes with \n \t \" \\ escapes; a bare `KEY` line is an empty value.
 * Returns the pairs in file order; throws with the 1-based line number.
 */
export function parseDotEnv(text: string): { key: string; value: string; line: number }[] {
  const out: { key: string; value: string; line: number }[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, idx) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*(?:=\s*(.*))?$/.exec(line);
    if (!m) throw new InterpolationError(`line ${idx + 1}: "${raw}" is not KEY=VALUE`);
    const key = m[1]!;
    let value = m[2] ?? '';
    if (value.startsWith("'")) {
      const end = value.indexOf("'", 1);
      value = end > 0 ? value.slice(1, end) : value.slice(1);
    } else if (value.startsWith('"')) {
      let v = '';
      let j = 1;
      for (; j < value.length && value[j] !== '"'; j++) {
        if (value[j] === '\\' && j + 1 < value.length) {
          const e = value[++j]!;
          v += e === 'n' ? '\n' : e === 't' ? '\t' : e === 'r' ? '\r' : e;
        } else v += value[j];
      }
      value = v;
    } else {
      // An unquoted value ends at " #" (an inline comment).
      const hash = value.search(/\s#/);
      if (hash >= 0) value = value.slice(0, hash);
      value = value.trim();
    }
    out.push({ key, value, line: idx + 1 });
  });
  return out;
}
