// Compose's scalar formats (durations, byte sizes, CPU counts, command
// strings, port specs) turned into Kubernetes' (seconds, quantities, argv,
// ServicePorts). Each parser returns undefined or a reason for bad input; the
// converter adds the file:line.

const DURATION_UNITS: Record<string, number> = {
  ns: 1e-9,
  us: 1e-6,
  µs: 1e-6,
  ms: 1e-3,
  s: 1,
  m: 60,
  h: 3600,
};

/** A Compose duration ("1m30s", "10s", "500ms", "2h") in seconds; undefined if it is not one. */
export function parseComposeDuration(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  let rest = value.trim();
  let total = 0;
  while (rest) {
    const m = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/.exec(rest);
    if (!m) return undefined;
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return total;
}

/** Whole seconds for a probe field: rounded up, at least `min` (Kubernetes wants periodSeconds ≥ 1). */
export function wholeSeconds(seconds: number, min = 1): number {
  return Math.max(min, Math.ceil(seconds - 1e-9));
}

const BYTE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1024 ** 4,
};

/** A Compose byte value (bytes as a number, or "512m", "1.5g", "100kb": binary units, as Docker reads them). */
export function parseByteValue(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return Math.round(value);
  if (typeof value !== 'string') return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
  const unit = BYTE_UNITS[(m?.[2] ?? '').toLowerCase()];
  if (!m || unit === undefined) return undefined;
  return Math.round(Number(m[1]) * unit);
}

/** Bytes as the shortest exact Kubernetes quantity: 536870912 → "512Mi". */
export function bytesQuantity(bytes: number): string {
  for (const [suffix, size] of [
    ['Ti', 1024 ** 4],
    ['Gi', 1024 ** 3],
    ['Mi', 1024 ** 2],
    ['Ki', 1024],
  ] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${suffix}`;
  }
  return String(bytes);
}

/** Compose `cpus` ("0.5", 2) as a Kubernetes CPU quantity ("500m", "2"); undefined if not a positive number. */
export function cpuQuantity(value: unknown): string | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : NaN;
  if (!Number.isFinite(n) || n <= 0) return undefined;
  const milli = Math.round(n * 1000);
  return milli % 1000 === 0 ? String(milli / 1000) : `${milli}m`;
}

/**
 * Splits a command string the way Compose does (shell-like words, quotes and
 * backslashes, no expansion), e.g. `sh -c "echo hi"` → ["sh", "-c", "echo hi"].
 */
export function shellSplit(text: string): string[] | undefined {
  const out: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else word += c;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === '\\' && i + 1 < text.length && '"\\$`'.includes(text[i + 1]!))
        word += text[++i];
      else word += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < text.length) {
      word += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote) return undefined;
  if (inWord) out.push(word);
  return out;
}

export interface PortSpec {
  target: number;
  /** The host port, when published. */
  published?: number;
  hostIp?: string;
  protocol: 'TCP' | 'UDP' | 'SCTP';
  name?: string;
}

function portNumber(text: string): number | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return n >= 1 && n <= 65535 ? n : undefined;
}

/** "80" or "8000-8002" → the ports in it. */
function portRange(text: string): number[] | undefined {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text);
  if (!m) return undefined;
  const lo = portNumber(m[1]!);
  const hi = m[2] === undefined ? lo : portNumber(m[2]);
  if (lo === undefined || hi === undefined || hi < lo) return undefined;
  return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
}

export function protocolOf(text: string | undefined): PortSpec['protocol'] | undefined {
  const p = (text ?? 'tcp').toLowerCase();
  return p === 'tcp' ? 'TCP' : p === 'udp' ? 'UDP' : p === 'sctp' ? 'SCTP' : undefined;
}

/**
 * Compose's short port syntax: `[[HOST_IP:]PUBLISHED:]TARGET[/PROTOCOL]`, each
 * port possibly a range ("8000-8001:80-81"). Returns a reason string when bad.
 */
export function parseShortPort(value: string | number): PortSpec[] | string {
  const text = String(value).trim();
  const slash = text.lastIndexOf('/');
  const protocol = protocolOf(slash >= 0 ? text.slice(slash + 1) : undefined);
  if (!protocol) return `unknown protocol "${text.slice(slash + 1)}" (tcp, udp or sctp)`;
  const spec = slash >= 0 ? text.slice(0, slash) : text;
  const colon = spec.lastIndexOf(':');
  const targets = portRange(colon >= 0 ? spec.slice(colon + 1) : spec);
  if (!targets) return 'the container port must be a port number or range';
  if (colon < 0) return targets.map((target) => ({ target, protocol }));
  const head = spec.slice(0, colon);
  let hostIp: string | undefined;
  let publishedText = head;
  const ipEnd = head.startsWith('[') ? head.indexOf(']') + 1 : head.lastIndexOf(':');
  if (head.startsWith('[') || head.includes(':')) {
    hostIp = head.slice(0, ipEnd).replace(/^\[|\]$/g, '');
    publishedText = head.slice(ipEnd).replace(/^:/, '');
    if (!/^[0-9a-fA-F.:]+$/.test(hostIp)) return `"${hostIp}" is not an IP address`;
  }
  if (publishedText === '')
    return targets.map((target) => ({ target, protocol, ...(hostIp ? { hostIp } : {}) }));
  const published = portRange(publishedText);
  if (!published) return 'the published port must be a port number or range';
  if (published.length !== targets.length && published.length !== 1)
    return 'the published and container port ranges differ in length';
  return targets.map((target, i) => ({
    target,
    published: published[published.length === 1 ? 0 : i]!,
    protocol,
    ...(hostIp ? { hostIp } : {}),
  }));
}

/** An `expose` entry: "3000", "3000-3005", "3000/udp". */
export function parseExpose(value: string | number): PortSpec[] | string {
  const text = String(value).trim();
  const [port, proto] = text.split('/');
  const protocol = protocolOf(proto);
  if (!protocol) return `unknown protocol "${proto ?? ''}" (tcp, udp or sctp)`;
  const targets = portRange(port ?? '');
  if (!targets) return 'expected a port number or range';
  return targets.map((target) => ({ target, protocol }));
}

export { portNumber, portRange };
