// The HTTPS client the kube commands share. KubeConfig (client-node) loads the
// kubeconfig, picks the context and supplies TLS and credentials; requests
// themselves go through node:https because the commands need what the typed
// clients hide: Table content negotiation, apply-patch content types, raw
// watch streams and the server's Warning headers.

import { request as httpsRequest, type RequestOptions } from 'node:https';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { ApiStatusError, CliError } from './errors.js';
import type { KubeIO } from './io.js';

/** The flags every kube command takes. */
export interface ConnectionFlags {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

export interface RequestSpec {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  accept?: string;
}

export interface WatchHandle {
  /** Resolves when the server ends the stream or stop() is called. */
  done: Promise<void>;
  stop(): void;
}

export interface WatchEvent {
  type: string;
  object: Record<string, unknown>;
}

/** The kubeconfig files to read: --kubeconfig, else $KUBECONFIG (a path list), else ~/.kube/config. */
export function kubeconfigPaths(flag: string | undefined, env: KubeIO['env']): string[] {
  if (flag) return [flag];
  const fromEnv = (env.KUBECONFIG ?? '').split(delimiter).filter(Boolean);
  if (fromEnv.length) return fromEnv.filter((p) => existsSync(p));
  return [join(env.HOME ?? homedir(), '.kube', 'config')];
}

/** Loads and merges the kubeconfig files; the first file's current-context wins, as in kubectl. */
export function loadKubeConfig(flags: ConnectionFlags, env: KubeIO['env']): KubeConfig {
  const paths = kubeconfigPaths(flags.kubeconfig, env);
  const kc = new KubeConfig();
  let loaded = false;
  for (const p of paths) {
    if (!existsSync(p)) {
      if (flags.kubeconfig) throw new CliError(`stat ${p}: no such file or directory`);
      continue;
    }
    const one = new KubeConfig();
    try {
      one.loadFromFile(p);
    } catch (err) {
      throw new CliError(`${p}: ${(err as Error).message}`);
    }
    if (!loaded) {
      kc.loadFromString(one.exportConfig());
      loaded = true;
    } else {
      kc.mergeConfig(one, true);
    }
  }
  if (!loaded) {
    throw new CliError(
      'no kubeconfig found: pass --kubeconfig, set KUBECONFIG, or run `shoal cluster up`',
    );
  }
  if (flags.context) {
    if (!kc.getContextObject(flags.context))
      throw new CliError(`context "${flags.context}" does not exist`);
    kc.setCurrentContext(flags.context);
  }
  return kc;
}

export class KubeClient {
  readonly namespace: string;
  /** Whether -n was given: commands that default to "all of the context's namespace" differ. */
  readonly explicitNamespace: boolean;

  constructor(
    readonly kc: KubeConfig,
    flags: ConnectionFlags,
    private readonly warn: (text: string) => void,
  ) {
    const ctx = kc.getContextObject(kc.getCurrentContext());
    this.namespace = flags.namespace ?? ctx?.namespace ?? 'default';
    this.explicitNamespace = flags.namespace !== undefined;
  }

  static connect(flags: ConnectionFlags, io: KubeIO): KubeClient {
    return new KubeClient(loadKubeConfig(flags, io.env), flags, (t) => io.err(t));
  }

  get server(): string {
    const cluster = this.kc.getCurrentCluster();
    if (!cluster) throw new CliError('the current context names no cluster');
    return cluster.server;
  }

  private async options(spec: RequestSpec, body: string | undefined): Promise<RequestOptions> {
    const url = new URL(this.server.replace(/\/$/, '') + spec.path);
    for (const [k, v] of Object.entries(spec.query ?? {})) {
      if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
    }
    if (url.protocol !== 'https:')
      throw new CliError(`${this.server}: only https:// servers are supported`);
    const headers: Record<string, string> = {
      Accept: spec.accept ?? 'application/json',
      'User-Agent': 'shoal',
    };
    if (body !== undefined) {
      headers['Content-Type'] = spec.contentType ?? 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(body));
    }
    const opts: RequestOptions = {
      method: spec.method ?? 'GET',
      hostname: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port || 443,
      path: url.pathname + url.search,
      headers,
    };
    await this.kc.applyToHTTPSOptions(opts);
    return opts;
  }

  /** One request; a non-2xx answer becomes an ApiStatusError carrying the server's message. */
  async request<T = Record<string, unknown>>(spec: RequestSpec): Promise<T> {
    const text = await this.requestText(spec);
    return (text ? JSON.parse(text) : {}) as T;
  }

  async requestText(spec: RequestSpec): Promise<string> {
    const body = spec.body === undefined ? undefined : JSON.stringify(spec.body);
    const opts = await this.options(spec, body);
    return new Promise<string>((resolve, reject) => {
      const req = httpsRequest(opts, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          this.reportWarnings(res.headers.warning);
          const text = Buffer.concat(chunks).toString('utf8');
          const code = res.statusCode ?? 0;
          if (code >= 200 && code < 300) resolve(text);
          else reject(ApiStatusError.fromResponse(code, text));
        });
      });
      req.on('error', (err) => reject(connectionError(this.server, err)));
      if (body !== undefined) req.write(body);
      req.end();
    });
  }

  /**
   * A streaming GET: calls onChunk with each piece of the body (logs -f) until
   * the server ends it or stop() is called.
   */
  async stream(spec: RequestSpec, onChunk: (text: string) => void): Promise<WatchHandle> {
    const opts = await this.options(spec, undefined);
    let stopped = false;
    let abort = (): void => undefined;
    const done = new Promise<void>((resolve, reject) => {
      const req = httpsRequest(opts, (res) => {
        const code = res.statusCode ?? 0;
        if (code < 200 || code >= 300) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            reject(ApiStatusError.fromResponse(code, Buffer.concat(chunks).toString('utf8'))),
          );
          return;
        }
        res.setEncoding('utf8');
        res.on('data', (c: string) => onChunk(c));
        res.on('end', () => resolve());
        res.on('close', () => resolve());
        res.on('error', (err) => (stopped ? resolve() : reject(err)));
      });
      req.on('error', (err) => (stopped ? resolve() : reject(connectionError(this.server, err))));
      abort = () => {
        stopped = true;
        req.destroy();
        resolve();
      };
      req.end();
    });
    return { done, stop: () => abort() };
  }

  /** A watch: newline-delimited JSON events, each handed to onEvent. */
  async watch(spec: RequestSpec, onEvent: (ev: WatchEvent) => void): Promise<WatchHandle> {
    let buffer = '';
    return this.stream({ ...spec, query: { ...spec.query, watch: true } }, (chunk) => {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        if (line) onEvent(JSON.parse(line) as WatchEvent);
      }
    });
  }

  private reportWarnings(header: string | string[] | undefined): void {
    const list = header === undefined ? [] : Array.isArray(header) ? header : [header];
    for (const w of list) {
      // RFC 7234 warn-code warn-agent "text": print the text, as kubectl does.
      const m = /^\d{3} \S+ "((?:[^"\\]|\\.)*)"/.exec(w);
      this.warn(`Warning: ${m ? m[1]!.replace(/\\(.)/g, '$1') : w}\n`);
    }
  }
}

function connectionError(server: string, err: Error): CliError {
  return new CliError(`cannot reach the API server at ${server}: ${err.message}`, 1, {
    cause: err,
  });
}
