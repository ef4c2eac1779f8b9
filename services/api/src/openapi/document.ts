import { COMPONENTS } from './common.js';
import { schemaComponents } from './components.js';
import { paths } from './paths.js';

export type OpenApiDocument = Record<string, unknown> & { paths: Record<string, Record<string, unknown>> };

let built: OpenApiDocument | undefined;

/**
 * The api's OpenAPI 3.1 document. Request bodies and query parameters are generated from the zod
 * schemas the routes validate with; replies from the zod schemas in responses.schema.ts. Built once.
 */
export function openApiDocument(): OpenApiDocument {
  built ??= {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: {
      title: 'vod-ingest api',
      version: '0.1.0',
      description:
        'Ingest jobs for backend systems, and the "AppServer" endpoints (STS tokens, VOD upload auth, direct uploads) for web and mobile apps that upload with Alibaba\'s SDKs. Every error is `{"error":{"code","message","details"}}`. Byte-length and Unicode rules of text fields (VOD\'s limits) are checked beyond what the schemas below can say.',
    },
    servers: [{ url: '/' }],
    security: [{ apiKey: [] }],
    tags: [
      { name: 'jobs', description: 'Ingest jobs' },
      { name: 'uploads', description: 'Direct uploads from browsers and apps' },
      { name: 'credentials', description: "Credentials for Alibaba's upload SDKs" },
      { name: 'vod-events', description: "VOD's event notifications" },
      { name: 'operations', description: 'Health, metrics, queue dashboard' },
      { name: 'docs', description: 'This document, its page, the demo' },
    ],
    paths: paths() as OpenApiDocument['paths'],
    components: { schemas: schemaComponents(), ...COMPONENTS },
  };
  return built;
}
