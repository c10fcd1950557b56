// Builds the API server: a fastify instance with Kubernetes' content types,
// authentication, Status errors, health endpoints, discovery and the resource
// routes. build() does not listen, so tests can inject() requests; the
// control plane command calls listen().

import {
  fastify,
  LogController,
  type FastifyError,
  type FastifyInstance,
  type FastifyServerOptions,
} from 'fastify';
import { parse as parseYaml } from 'yaml';
import type { Logger } from 'pino';
import { ApiError } from './status.js';
import type { Registry } from './registry/registry.js';
import { registerResourceRoutes, type ResourceRoutesOptions } from './routes/resource-routes.js';
import { registerDiscovery } from './discovery.js';
import { runHealthChecks, type HealthCheck } from '../metrics/health.js';

/** etcd's default request size: a bigger object could never be stored anyway. */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

export interface Authenticator {
  /** Returns the user name, or undefined when the request carries no valid credentials. */
  authenticate(
    headers: Record<string, string | string[] | undefined>,
    peerCertificate?: Buffer,
  ): string | undefined;
}

export interface ApiServerOptions {
  registry: Registry;
  authenticator?: Authenticator;
  https?: { key: string; cert: string; ca?: string };
  logger?: Logger | false;
  version: string;
  /** Readiness beyond "the process is up": etcd reachable and caches synced. */
  ready?: () => Promise<string | undefined>;
  /** Named checks of /readyz (listed by ?verbose, as Kubernetes does); run after ready. */
  readyChecks?: readonly HealthCheck[];
  /** Named checks of /livez and /healthz (and /readyz). */
  liveChecks?: readonly HealthCheck[];
  /**
   * Called first on the new app, before authentication: metrics hooks that
   * must see every request, and their /metrics route (served behind authentication).
   */
  instrument?: (app: FastifyInstance) => void;
  podLogs?: ResourceRoutesOptions['podLogs'];
  watchMetrics?: ResourceRoutesOptions['watchMetrics'];
}

/** Paths any client may read without credentials, as Kubernetes' public-info-viewer role allows. */
const PUBLIC_PATHS = new Set(['/healthz', '/livez', '/readyz', '/version']);

const JSON_TYPES = [
  'application/json',
  'application/merge-patch+json',
  'application/json-patch+json',
  'application/strategic-merge-patch+json',
];

export async function buildApiServer(opts: ApiServerOptions): Promise<FastifyInstance> {
  const serverOpts: FastifyServerOptions & { https?: unknown } = {
    bodyLimit: MAX_BODY_BYTES,
    ...(opts.logger ? { loggerInstance: opts.logger } : { logger: false }),
    // One log line per request costs more than the request on the hot path; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    // Watches stay open for as long as the client wants.
    requestTimeout: 0,
    return503OnClosing: true,
    routerOptions: { ignoreTrailingSlash: true },
  };
  if (opts.https) {
    serverOpts.https = {
      key: opts.https.key,
      cert: opts.https.cert,
      // Node agents and clients may present certificates; bearer tokens work without.
      ...(opts.https.ca ? { ca: opts.https.ca, requestCert: true, rejectUnauthorized: false } : {}),
    };
  }
  const app = fastify(serverOpts as FastifyServerOptions);
  opts.instrument?.(app);

  app.removeAllContentTypeParsers();
  app.addContentTypeParser(JSON_TYPES, { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, body === '' ? undefined : JSON.parse(body as string));
    } catch (err) {
      done(
        new ApiError(
          'BadRequest',
          `the body of the request could not be decoded as JSON: ${(err as Error).message}`,
        ),
        undefined,
      );
    }
  });
  app.addContentTypeParser(
    ['application/yaml', 'application/apply-patch+yaml'],
    { parseAs: 'string' },
    (_req, body, done) => {
      try {
        done(null, parseYaml(body as string, { maxAliasCount: 100 }));
      } catch (err) {
        done(
          new ApiError(
            'BadRequest',
            `the body of the request could not be decoded as YAML: ${(err as Error).message}`,
          ),
          undefined,
        );
      }
    },
  );

  app.setErrorHandler((err: FastifyError | ApiError, req, reply) => {
    const apiErr = toApiError(err);
    if (apiErr.code >= 500) req.log.error({ err }, 'request failed');
    void reply.code(apiErr.code).type('application/json').send(apiErr.toStatus());
  });
  app.setNotFoundHandler((_req, reply) => {
    const e = new ApiError('NotFound', 'the server could not find the requested resource', {});
    void reply.code(404).send(e.toStatus());
  });

  if (opts.authenticator) {
    const authn = opts.authenticator;
    app.addHook('onRequest', async (req) => {
      const path = req.url.split('?')[0] ?? '';
      if (PUBLIC_PATHS.has(path)) return;
      const socket = req.raw.socket as {
        getPeerCertificate?: () => { raw?: Buffer };
        authorized?: boolean;
      };
      const peer =
        socket.authorized && socket.getPeerCertificate
          ? socket.getPeerCertificate().raw
          : undefined;
      const user = authn.authenticate(req.headers, peer);
      if (!user) throw new ApiError('Unauthorized', 'Unauthorized');
    });
  }

  const live = opts.liveChecks ?? [];
  const ready: HealthCheck[] = [
    ...live,
    ...(opts.ready ? [{ name: 'etcd', check: opts.ready }] : []),
    ...(opts.readyChecks ?? []),
  ];
  for (const [path, checks] of [
    ['healthz', live],
    ['livez', live],
    ['readyz', ready],
  ] as const) {
    app.get(`/${path}`, async (req, reply) => {
      const q = req.url.indexOf('?');
      const answer = await runHealthChecks(path, checks, q < 0 ? '' : req.url.slice(q + 1));
      return reply.code(answer.status).type('text/plain; charset=utf-8').send(answer.body);
    });
  }

  await registerDiscovery(app, { gitVersion: opts.version });
  await registerResourceRoutes(app, {
    registry: opts.registry,
    ...(opts.podLogs ? { podLogs: opts.podLogs } : {}),
    ...(opts.watchMetrics ? { watchMetrics: opts.watchMetrics } : {}),
  });
  return app;
}

/** Fastify's own errors (body too large, bad media type, bad JSON) as Kubernetes Status codes. */
function toApiError(err: FastifyError | ApiError): ApiError {
  if (err instanceof ApiError) return err;
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError('RequestEntityTooLarge', 'Request entity too large: limit is 3145728');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      // Notably application/vnd.kubernetes.protobuf, which kubectl's typed
      // commands (create configmap, run, expose) send: Shoal speaks JSON only.
      return new ApiError(
        'UnsupportedMediaType',
        `the body of the request was in an unknown format - accepted media types include: ${JSON_TYPES.join(', ')}, application/yaml, application/apply-patch+yaml`,
      );
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ApiError('BadRequest', 'the body of the request was empty');
  }
  if (err.statusCode === 400) return new ApiError('BadRequest', err.message);
  if (err.statusCode === 404) return new ApiError('NotFound', err.message);
  if (err.statusCode === 405) return new ApiError('MethodNotAllowed', err.message);
  return new ApiError('InternalError', `Internal error occurred: ${err.message}`, undefined, {
    cause: err,
  });
}
