// Serves the OpenAPI v3 documents the way kube-apiserver does: /openapi/v3 is
// an index naming each group version's document with its hash; a document
// asked for with the current hash is immutable and cacheable for a year, an
// outdated hash redirects to the current one, and If-None-Match saves the
// transfer. Only JSON is served; OpenAPI v2 (which kubectl asks for in
// protobuf, and only needs when the server lacks fieldValidation) answers 404.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../status.js';
import { admitsJson, parseAccept } from './accept.js';
import { buildDocuments, hashOf, type GroupVersionDocument } from './document.js';

export interface OpenApiOptions {
  /** Shown as the documents' info.version, e.g. v1.32.0+shoal-0.1.0. */
  serverVersion: string;
}

const ONE_YEAR_MS = 365 * 24 * 3600 * 1000;

function etagMatches(req: FastifyRequest, etag: string): boolean {
  const header = req.headers['if-none-match'];
  if (!header) return false;
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}

function sendStatus(reply: FastifyReply, err: ApiError): FastifyReply {
  return reply.code(err.code).type('application/json').send(JSON.stringify(err.toStatus()));
}

export function registerOpenApi(app: FastifyInstance, opts: OpenApiOptions): void {
  const docs = buildDocuments(opts.serverVersion);
  const index = JSON.stringify({
    paths: Object.fromEntries(
      docs.map((d) => [d.path, { serverRelativeURL: `/openapi/v3/${d.path}?hash=${d.hash}` }]),
    ),
  });
  const indexEtag = `"${hashOf(index)}"`;

  app.get('/openapi/v3', async (req, reply) => {
    void reply.header('ETag', indexEtag).header('Cache-Control', 'no-cache, private');
    if (etagMatches(req, indexEtag)) return reply.code(304).send();
    return reply.type('application/json').send(index);
  });

  for (const doc of docs) {
    app.get(`/openapi/v3/${doc.path}`, async (req, reply) => serveDocument(req, reply, doc));
  }

  app.get('/openapi/v2', async (_req, reply) =>
    sendStatus(
      reply,
      new ApiError('NotFound', 'the server could not find the requested resource', {}),
    ),
  );
}

async function serveDocument(
  req: FastifyRequest,
  reply: FastifyReply,
  doc: GroupVersionDocument,
): Promise<FastifyReply> {
  void reply.header('Vary', 'Accept');
  if (!parseAccept(req.headers.accept).some(admitsJson)) {
    return sendStatus(
      reply,
      new ApiError(
        'NotAcceptable',
        'only the following media types are accepted: application/json',
        {},
      ),
    );
  }
  const etag = `"${doc.hash}"`;
  const hash = (req.query as Record<string, string | undefined>).hash;
  if (hash !== undefined && hash !== '') {
    if (hash !== doc.hash) {
      // The client holds an old index: send it to the current document.
      return reply.redirect(`/openapi/v3/${doc.path}?hash=${doc.hash}`, 301);
    }
    void reply
      .header('Cache-Control', 'public, immutable')
      .header('Expires', new Date(Date.now() + ONE_YEAR_MS).toUTCString());
  } else {
    void reply.header('Cache-Control', 'no-cache, private');
  }
  void reply.header('ETag', etag);
  if (etagMatches(req, etag)) return reply.code(304).send();
  return reply.type('application/json').send(doc.body);
}
