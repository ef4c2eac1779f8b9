import { fileURLToPath } from 'node:url';
import { Router } from 'express';
import { NotFoundError } from '@vod-ingest/shared';
import { openApiDocument } from './document.js';

/** The reference page's files (services/api/public/docs, beside both src/ and dist/). */
const FILES: Record<string, string> = Object.fromEntries(
  ['index.html', 'docs.js', 'docs.css'].map((f) => [f, fileURLToPath(new URL(`../../public/docs/${f}`, import.meta.url))]),
);

const headers = {
  'content-security-policy': "default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-cache',
};

/**
 * `GET /openapi.json` (the api's OpenAPI 3.1 document) and `GET /docs` (a page that renders it
 * with a small script of its own, nothing from elsewhere). No authentication: mount before `requireApiKey`.
 */
export function openApiRoutes(): Router {
  const router = Router();
  const text = JSON.stringify(openApiDocument());
  router.get('/openapi.json', (_req, res) => void res.set('cache-control', 'no-cache').type('application/json').send(text));
  router.get('/docs', (_req, res, next) => res.sendFile(FILES['index.html'], { headers }, (err) => err && next(err)));
  router.get('/docs/:file', (req, res, next) => {
    const name = String(req.params.file);
    if (name === 'index.html' || !Object.hasOwn(FILES, name)) return next(new NotFoundError('No such file', 'ROUTE_NOT_FOUND'));
    res.sendFile(FILES[name], { headers }, (err) => err && next(err));
  });
  return router;
}
