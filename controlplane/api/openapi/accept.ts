// A small parser of the HTTP Accept header, enough for the content negotiation
// discovery and OpenAPI do: media types with parameters (aggregated discovery
// is asked for as `application/json;g=apidiscovery.k8s.io;v=v2;as=...`), in
// order of preference.

export interface MediaRange {
  type: string;
  subtype: string;
  params: Record<string, string>;
  q: number;
}

/** The ranges of an Accept header, most preferred first; an absent header accepts anything. */
export function parseAccept(header: string | undefined): MediaRange[] {
  if (header === undefined || header.trim() === '')
    return [{ type: '*', subtype: '*', params: {}, q: 1 }];
  const ranges: MediaRange[] = [];
  for (const part of header.split(',')) {
    const [mt = '', ...rawParams] = part.split(';').map((s) => s.trim());
    const [type = '', subtype = ''] = mt.toLowerCase().split('/');
    if (!type || !subtype) continue;
    const params: Record<string, string> = {};
    let q = 1;
    for (const p of rawParams) {
      const eq = p.indexOf('=');
      if (eq <= 0) continue;
      const key = p.slice(0, eq).trim().toLowerCase();
      const value = p
        .slice(eq + 1)
        .trim()
        .replace(/^"(.*)"$/, '$1');
      if (key === 'q') q = Number.parseFloat(value);
      else params[key] = value;
    }
    if (!(q > 0)) continue;
    ranges.push({ type, subtype, params, q });
  }
  // Array.prototype.sort is stable, so equal q keeps the client's order.
  return ranges.sort((a, b) => b.q - a.q);
}

/** Whether a range admits plain JSON (application/json without a profile, or a wildcard). */
export function admitsJson(r: MediaRange): boolean {
  const typeOk = r.type === '*' || r.type === 'application';
  const subOk = r.subtype === '*' || r.subtype === 'json';
  return typeOk && subOk && r.params.as === undefined;
}
