// The string syntaxes of k8s.io/apimachinery/pkg/util/validation: each
// function returns Go's messages for a bad value, empty when it is valid.
// Label keys and values come from ../selectors.ts, which already holds them.

import { isIP, isIPv4, isIPv6 } from 'node:net';

const DNS1123_LABEL_FMT = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_LABEL_RE = new RegExp(`^${DNS1123_LABEL_FMT}$`);
const DNS1123_SUBDOMAIN_FMT = `${DNS1123_LABEL_FMT}(\\.${DNS1123_LABEL_FMT})*`;
const DNS1123_SUBDOMAIN_RE = new RegExp(`^${DNS1123_SUBDOMAIN_FMT}$`);
const DNS1035_LABEL_FMT = '[a-z]([-a-z0-9]*[a-z0-9])?';
const DNS1035_LABEL_RE = new RegExp(`^${DNS1035_LABEL_FMT}$`);
const CONFIG_KEY_FMT = '[-._a-zA-Z0-9]+';
const CONFIG_KEY_RE = new RegExp(`^${CONFIG_KEY_FMT}$`);
const ENV_VAR_FMT = '[-._a-zA-Z][-._a-zA-Z0-9]*';
const ENV_VAR_RE = new RegExp(`^${ENV_VAR_FMT}$`);
const PERCENT_FMT = '[0-9]+%';
const PERCENT_RE = new RegExp(`^${PERCENT_FMT}$`);

/** Go's RegexError, including its doubled space before "or". */
export function regexError(msg: string, re: string, ...examples: string[]): string {
  if (examples.length === 0) return `${msg} (regex used for validation is '${re}')`;
  let out = `${msg} (e.g. `;
  examples.forEach((e, i) => {
    if (i > 0) out += ' or ';
    out += `'${e}', `;
  });
  return `${out}regex used for validation is '${re}')`;
}

export function maxLenError(n: number): string {
  return `must be no more than ${n} characters`;
}

export function dns1123LabelErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 63) errs.push(maxLenError(63));
  if (!DNS1123_LABEL_RE.test(value)) {
    // A valid subdomain of the right length can only be wrong for its dots.
    if (DNS1123_SUBDOMAIN_RE.test(value)) errs.push('must not contain dots');
    else
      errs.push(
        regexError(
          "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
          DNS1123_LABEL_FMT,
          'my-name',
          '123-abc',
        ),
      );
  }
  return errs;
}

export function dns1123SubdomainErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 253) errs.push(maxLenError(253));
  if (!DNS1123_SUBDOMAIN_RE.test(value)) {
    errs.push(
      regexError(
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
        DNS1123_SUBDOMAIN_FMT,
        'example.com',
      ),
    );
  }
  return errs;
}

export function dns1035LabelErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 63) errs.push(maxLenError(63));
  if (!DNS1035_LABEL_RE.test(value)) {
    errs.push(
      regexError(
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character",
        DNS1035_LABEL_FMT,
        'my-name',
        'abc-123',
      ),
    );
  }
  return errs;
}

/** A name checker: `prefix` is true for generateName, whose trailing '-' is allowed. */
export type NameCheck = (name: string, prefix: boolean) => string[];

// Go's maskTrailingDash: a generateName prefix may end in '-'.
const masked = (name: string, prefix: boolean): string =>
  prefix && name.length > 1 && name.endsWith('-') ? `${name.slice(0, -1)}a` : name;

export const nameIsDNSSubdomain: NameCheck = (name, prefix) =>
  dns1123SubdomainErrors(masked(name, prefix));
export const nameIsDNSLabel: NameCheck = (name, prefix) => dns1123LabelErrors(masked(name, prefix));
export const nameIsDNS1035Label: NameCheck = (name, prefix) =>
  dns1035LabelErrors(masked(name, prefix));

function chDirPrefixErrors(value: string): string[] {
  if (value === '.') return ["must not be '.'"];
  if (value === '..') return ["must not be '..'"];
  if (value.startsWith('..')) return ["must not start with '..'"];
  return [];
}

/** A ConfigMap or Secret data key. */
export function configMapKeyErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 253) errs.push(maxLenError(253));
  if (!CONFIG_KEY_RE.test(value)) {
    errs.push(
      regexError(
        "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
        CONFIG_KEY_FMT,
        'key.name',
        'KEY_NAME',
        'key-name',
      ),
    );
  }
  errs.push(...chDirPrefixErrors(value));
  return errs;
}

export function envVarNameErrors(value: string): string[] {
  const errs: string[] = [];
  if (!ENV_VAR_RE.test(value)) {
    errs.push(
      regexError(
        "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit",
        ENV_VAR_FMT,
        'my.env-name',
        'MY_ENV.NAME',
        'MyEnvName1',
      ),
    );
  }
  errs.push(...chDirPrefixErrors(value));
  return errs;
}

/** An IANA_SVC_NAME: the names container ports and targetPorts may carry. */
export function portNameErrors(port: string): string[] {
  const errs: string[] = [];
  if (port.length > 15) errs.push(maxLenError(15));
  if (!/^[-a-z0-9]+$/.test(port))
    errs.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  if (!/[a-z]/.test(port)) errs.push('must contain at least one letter (a-z)');
  if (port.includes('--')) errs.push('must not contain consecutive hyphens');
  if (port.startsWith('-') || port.endsWith('-')) errs.push('must not begin or end with a hyphen');
  return errs;
}

export function portNumErrors(port: number): string[] {
  return port >= 1 && port <= 65535 ? [] : ['must be between 1 and 65535, inclusive'];
}

export function inclusiveRangeError(lo: number, hi: number): string {
  return `must be between ${lo} and ${hi}, inclusive`;
}

export function ipErrors(value: string): string[] {
  return isIP(value) === 0 ? ['must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'] : [];
}

/** Addresses an endpoint may not point at (Go's ValidateNonSpecialIP). */
export function specialIPErrors(value: string): string[] {
  if (isIPv4(value)) {
    const [a = 0, b = 0, c = 0] = value.split('.').map(Number);
    if (value === '0.0.0.0') return ['may not be unspecified (0.0.0.0, ::)'];
    if (a === 127) return ['may not be in the loopback range (127.0.0.0/8, ::1/128)'];
    if (a === 169 && b === 254)
      return ['may not be in the link-local range (169.254.0.0/16, fe80::/10)'];
    if (a === 224 && b === 0 && c === 0) {
      return ['may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)'];
    }
    return [];
  }
  if (isIPv6(value)) {
    const v = value.toLowerCase();
    if (v === '::') return ['may not be unspecified (0.0.0.0, ::)'];
    if (v === '::1') return ['may not be in the loopback range (127.0.0.0/8, ::1/128)'];
    if (/^fe[89ab]/.test(v))
      return ['may not be in the link-local range (169.254.0.0/16, fe80::/10)'];
    if (v.startsWith('ff02:'))
      return ['may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)'];
  }
  return [];
}

export function cidrErrors(value: string): string[] {
  const msg = ['must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)'];
  const slash = value.indexOf('/');
  if (slash < 0) return msg;
  const ip = value.slice(0, slash);
  const bits = value.slice(slash + 1);
  const family = isIP(ip);
  if (family === 0 || !/^[0-9]{1,3}$/.test(bits)) return msg;
  return Number(bits) <= (family === 4 ? 32 : 128) ? [] : msg;
}

export function percentErrors(value: string): string[] {
  return PERCENT_RE.test(value)
    ? []
    : [
        regexError(
          "a valid percent string must be a numeric string followed by an ending '%'",
          PERCENT_FMT,
          '1%',
          '93%',
        ),
      ];
}
