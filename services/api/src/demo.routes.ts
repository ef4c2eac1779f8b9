import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Router, type RequestHandler } from 'express';
import { NotFoundError } from '@vod-ingest/shared';

const PAGE_FILES = ['index.html', 'demo.js', 'demo.css', 'upload-client.js', 'ali-oss-global.js'] as const;

/**
 * Every file of the demo page by its name under `/demo/`: the page itself (services/api/public/demo,
 * beside both src/ and dist/) and Alibaba's browser SDKs exactly as npm ships them — ali-oss's
 * browser build (global `OSS`) and aliyun-upload-vod's (global `AliyunUpload`).
 */
export function demoFiles(): Record<string, string> {
  const require = createRequire(import.meta.url);
  const page = Object.fromEntries(PAGE_FILES.map((f) => [f, fileURLToPath(new URL(`../public/demo/${f}`, import.meta.url))]));
  return {
    ...page,
    'aliyun-oss-sdk.min.js': require.resolve('ali-oss/dist/aliyun-oss-sdk.min.js'),
    'aliyun-upload-vod.js': require.resolve('aliyun-upload-vod/dist/aliyun-upload-vod.js'),
  };
}

// Scripts only from here; the SDK's telemetry beacons (images to Alibaba, with file names) are not loaded.
const headers = {
  'content-security-policy': "default-src 'self'; connect-src *; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-cache',
};

/**
 * `GET /demo/`: a page that uploads a file to VOD through a direct upload with Alibaba's web
 * upload SDK. It needs no authentication (the API key stays in the URL fragment, in the
 * browser): mount it before `requireApiKey`.
 */
export function demoRoutes(): Router {
  const files = demoFiles();
  const router = Router();
  const send =
    (name: string): RequestHandler =>
    (_req, res, next) =>
      res.sendFile(files[name], { headers }, (err) => err && next(err));
  // Routing is not strict: this route matches `/demo` and `/demo/`; the page's relative links need the slash.
  router.get('/demo', (req, res, next) => (req.path.endsWith('/') ? send('index.html')(req, res, next) : res.redirect(301, '/demo/')));
  router.get('/demo/:file', (req, res, next) => {
    const name = String(req.params.file);
    if (!Object.hasOwn(files, name)) return next(new NotFoundError('No such file', 'ROUTE_NOT_FOUND'));
    send(name)(req, res, next);
  });
  return router;
}
