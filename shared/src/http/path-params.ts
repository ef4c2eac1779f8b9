import type { Request } from 'express';

interface StackLayer {
  route?: { path?: unknown };
  handle?: { stack?: StackLayer[] };
}

/**
 * True for the error express's router throws when a path parameter holds a malformed percent
 * escape (`/v1/jobs/%E0%A4%A`): a URIError it marks 400 while matching routes, before any handler.
 */
export function isPathDecodeError(err: unknown): err is URIError {
  return err instanceof URIError && (err as { status?: unknown }).status === 400;
}

/**
 * The names of the parameters of `req`'s route whose raw value is not a well-formed percent
 * encoding. The router failed before naming the route, so the app's route templates are matched
 * against the raw path here, segment by segment (`:name` takes one segment). Empty when no route
 * template fits.
 */
export function malformedPathParams(req: Request): string[] {
  const segments = req.originalUrl.split('?')[0].split('/');
  const names = new Set<string>();
  for (const template of routePaths((req.app as unknown as { router?: { stack?: StackLayer[] } }).router?.stack ?? [])) {
    const parts = template.split('/');
    if (parts.length !== segments.length) continue;
    const bad: string[] = [];
    const fits = parts.every((p, i) => {
      if (!p.startsWith(':')) return p === segments[i];
      if (!decodes(segments[i])) bad.push(p.slice(1));
      return true;
    });
    if (fits) bad.forEach((n) => names.add(n));
  }
  return [...names];
}

function decodes(segment: string): boolean {
  try {
    decodeURIComponent(segment);
    return true;
  } catch {
    return false;
  }
}

/** Every string route path of the app, nested routers included (they are mounted at the root here). */
function routePaths(stack: StackLayer[], out: string[] = []): string[] {
  for (const layer of stack) {
    if (typeof layer.route?.path === 'string') out.push(layer.route.path);
    else if (Array.isArray(layer.handle?.stack)) routePaths(layer.handle.stack, out);
  }
  return out;
}
