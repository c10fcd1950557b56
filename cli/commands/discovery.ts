// Resolving what users type (po, deploy, deployments.apps, Deployment) and what
// manifests say (apiVersion + kind) to API resources, through the server's
// discovery documents (/api/v1, /apis, /apis/<group>/<version>) the way kubectl
// does, so the CLI knows no kind the server does not serve.

import type { KubeClient } from './client.js';
import { CliError } from './errors.js';

export interface ApiResource {
  group: string;
  version: string;
  /** "v1" or "apps/v1". */
  apiVersion: string;
  kind: string;
  /** The plural, the URL segment. */
  name: string;
  singularName: string;
  namespaced: boolean;
  shortNames: string[];
  verbs: string[];
  categories: string[];
}

interface ResourceList {
  groupVersion?: string;
  resources?: {
    name: string;
    singularName?: string;
    namespaced: boolean;
    kind: string;
    verbs?: string[];
    shortNames?: string[];
    categories?: string[];
  }[];
}

interface GroupList {
  groups?: { name: string; versions?: { groupVersion: string; version: string }[] }[];
}

export class Discovery {
  private resources: Promise<ApiResource[]> | undefined;

  constructor(private readonly client: KubeClient) {}

  /** Every served resource (no subresources), fetched once per command. */
  all(): Promise<ApiResource[]> {
    this.resources ??= this.load();
    return this.resources;
  }

  private async load(): Promise<ApiResource[]> {
    const groups = await this.client.request<GroupList>({ path: '/apis' });
    const lists = await Promise.all([
      this.client
        .request<ResourceList>({ path: '/api/v1' })
        .then((l) => ({ l, group: '', version: 'v1' })),
      ...(groups.groups ?? []).flatMap((g) =>
        (g.versions ?? []).map((v) =>
          this.client
            .request<ResourceList>({ path: `/apis/${v.groupVersion}` })
            .then((l) => ({ l, group: g.name, version: v.version })),
        ),
      ),
    ]);
    const out: ApiResource[] = [];
    for (const { l, group, version } of lists) {
      for (const r of l.resources ?? []) {
        if (r.name.includes('/')) continue;
        out.push({
          group,
          version,
          apiVersion: group ? `${group}/${version}` : version,
          kind: r.kind,
          name: r.name,
          singularName: r.singularName || r.kind.toLowerCase(),
          namespaced: r.namespaced,
          shortNames: r.shortNames ?? [],
          verbs: r.verbs ?? [],
          categories: r.categories ?? [],
        });
      }
    }
    return out;
  }

  /** What a user typed: plural, singular, short name or Kind, optionally ".group". */
  async resolve(typed: string): Promise<ApiResource> {
    const all = await this.all();
    const lower = typed.toLowerCase();
    const dot = lower.indexOf('.');
    const candidates: [string, string | undefined][] = [[lower, undefined]];
    if (dot > 0) candidates.push([lower.slice(0, dot), lower.slice(dot + 1)]);
    for (const [name, group] of candidates) {
      const inGroup = all.filter((r) => group === undefined || r.group === group);
      const found =
        inGroup.find((r) => r.name === name) ??
        inGroup.find((r) => r.singularName === name) ??
        inGroup.find((r) => r.shortNames.includes(name)) ??
        inGroup.find((r) => r.kind.toLowerCase() === name);
      if (found) return found;
    }
    throw new CliError(`the server doesn't have a resource type "${typed}"`);
  }

  /** The resources in a category (`all`), or undefined when no resource claims it. */
  async category(typed: string): Promise<ApiResource[] | undefined> {
    const found = (await this.all()).filter((r) => r.categories.includes(typed.toLowerCase()));
    return found.length ? found : undefined;
  }

  /** What a manifest says. */
  async forKind(apiVersion: string, kind: string): Promise<ApiResource> {
    const all = await this.all();
    const found = all.find((r) => r.apiVersion === apiVersion && r.kind === kind);
    if (!found) throw new CliError(`no matches for kind "${kind}" in version "${apiVersion}"`);
    return found;
  }
}

/** The URL path of a collection or, with a name, of one object. */
export function resourcePath(r: ApiResource, namespace: string | undefined, name?: string): string {
  const base = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  const ns =
    r.namespaced && namespace !== undefined ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${base}${ns}/${r.name}${name !== undefined ? `/${encodeURIComponent(name)}` : ''}`;
}

/** kubectl's way of naming an object in result lines: "deployment.apps/web", "configmap/x". */
export function objectRef(r: { kind: string; group: string }, name: string): string {
  return `${r.kind.toLowerCase()}${r.group ? `.${r.group}` : ''}/${name}`;
}
