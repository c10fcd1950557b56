// /healthz, /livez and /readyz as Kubernetes serves them: a list of named
// checks, "ok" when all pass, 503 naming the failures otherwise, and with
// ?verbose every check on its own line ("[+]etcd ok", "[-]informers failed:
// reason withheld"). ?exclude=NAME skips a check, as kube-apiserver allows.
// Shared by the API server, the control plane's plain metrics listener and
// the node agent, so they answer alike.

export interface HealthCheck {
  name: string;
  /** undefined when healthy, else why not (logged by the caller, not sent to anonymous clients). */
  check(): Promise<string | undefined> | string | undefined;
}

export interface HealthAnswer {
  status: 200 | 503;
  body: string;
}

function paramValues(query: string, name: string): string[] | undefined {
  if (query === '') return undefined;
  const out: string[] = [];
  let found = false;
  for (const part of query.split('&')) {
    const eq = part.indexOf('=');
    const k = decodeURIComponent(eq < 0 ? part : part.slice(0, eq));
    if (k !== name) continue;
    found = true;
    out.push(decodeURIComponent(eq < 0 ? '' : part.slice(eq + 1)));
  }
  return found ? out : undefined;
}

/**
 * Runs every check (in parallel; one that throws counts as failed) and renders
 * the answer for endpoint ("healthz", "livez" or "readyz") given the URL's
 * query string (without "?").
 */
export async function runHealthChecks(
  endpoint: string,
  checks: readonly HealthCheck[],
  query: string,
): Promise<HealthAnswer> {
  const verbose = paramValues(query, 'verbose') !== undefined;
  const excluded = new Set(paramValues(query, 'exclude') ?? []);
  const active = checks.filter((c) => !excluded.has(c.name));
  const results = await Promise.all(
    active.map(async (c) => {
      try {
        return await c.check();
      } catch (err) {
        return err instanceof Error ? err.message : String(err);
      }
    }),
  );
  const failed = results.some((r) => r !== undefined);
  if (!failed && !verbose) return { status: 200, body: 'ok' };
  const lines = ['[+]ping ok'];
  active.forEach((c, i) => {
    lines.push(results[i] === undefined ? `[+]${c.name} ok` : `[-]${c.name} failed: ${results[i]}`);
  });
  for (const name of excluded) lines.push(`[+]${name} excluded: ok`);
  lines.push(failed ? `${endpoint} check failed` : `${endpoint} check passed`);
  return { status: failed ? 503 : 200, body: lines.join('\n') + '\n' };
}
