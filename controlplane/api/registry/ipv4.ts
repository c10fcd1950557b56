// IPv4 arithmetic for the allocators (service addresses, pod CIDRs): dotted
// quads as unsigned 32-bit numbers, CIDRs as { base, prefix }.

export interface Ipv4Cidr {
  /** The network address as an unsigned 32-bit number. */
  base: number;
  prefix: number;
  /** How many addresses it spans. */
  size: number;
}

const QUAD = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** The address as a number, or undefined when it is not a dotted quad. */
export function ipv4ToInt(ip: string): number | undefined {
  const m = QUAD.exec(ip);
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  if (octets.some((o) => o > 255)) return undefined;
  return octets.reduce((a, o) => a * 256 + o, 0);
}

export function intToIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

/** Parses a.b.c.d/len with the host bits cleared; throws a one-line error naming `what`. */
export function parseIpv4Cidr(cidr: string, what = 'CIDR'): Ipv4Cidr {
  const [addr = '', len = ''] = cidr.split('/');
  const ip = ipv4ToInt(addr);
  const prefix = /^\d{1,2}$/.test(len) ? Number(len) : NaN;
  if (ip === undefined || !(prefix >= 0 && prefix <= 32)) {
    throw new Error(`${what} ${JSON.stringify(cidr)} is not an IPv4 CIDR (a.b.c.d/len)`);
  }
  const size = 2 ** (32 - prefix);
  return { base: ip - (ip % size), prefix, size };
}

export function formatCidr(c: Pick<Ipv4Cidr, 'base' | 'prefix'>): string {
  return `${intToIpv4(c.base)}/${c.prefix}`;
}

export function cidrContains(c: Ipv4Cidr, ip: number): boolean {
  return ip >= c.base && ip < c.base + c.size;
}
