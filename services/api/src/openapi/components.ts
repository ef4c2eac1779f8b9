import { z } from 'zod';
import { jobRequestSchema } from '@vod-ingest/shared';
import { directUploadAuthBody } from '../credentials.routes.js';
import { listQuery } from '../jobs.routes.js';
import { uploadAuthBody } from '../upload-auth.schema.js';
import { uploadBody } from '../uploads.routes.js';
import * as replies from './responses.schema.js';

type JsonSchema = Record<string, unknown>;

/** The request bodies, exactly the zod schemas the routes validate with, as the client sends them. */
const REQUESTS = {
  JobRequest: jobRequestSchema,
  UploadRequest: uploadBody,
  UploadAuthRequest: uploadAuthBody,
  DirectUploadAuthRequest: directUploadAuthBody,
  VodEvent: replies.vodEventSchema,
};

/** The replies (responses.schema.ts), as the api sends them. */
const RESPONSES = {
  Error: replies.errorEnvelope,
  JobView: replies.jobViewSchema,
  JobListPage: replies.jobListPageSchema,
  UploadView: replies.uploadViewSchema,
  UploadCreated: replies.uploadCreatedSchema,
  StsToken: replies.stsTokenSchema,
  UploadAuthReply: replies.uploadAuthReplySchema,
  VodEventAck: replies.vodEventAckSchema,
  Health: replies.healthSchema,
  Readiness: replies.readinessSchema,
};

export const ref = (name: keyof typeof REQUESTS | keyof typeof RESPONSES) => ({ $ref: `#/components/schemas/${name}` });

const options = (io: 'input' | 'output') => ({
  target: 'draft-2020-12' as const,
  io,
  // Refinements (byte lengths, Unicode checks) have no JSON Schema form; the zod schema still applies them.
  unrepresentable: 'any' as const,
  uri: (id: string) => `#/components/schemas/${id}`,
});

/** Each schema as a component: registered schemas referenced by `$ref`, the rest inline. */
function componentsOf(entries: Record<string, z.ZodType>, io: 'input' | 'output'): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(entries)) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, options(io)) as { schemas: Record<string, JsonSchema> };
  // `$id`/`$schema` per component: the document's dialect (2020-12) already applies, and a `$id` with a fragment is invalid.
  return Object.fromEntries(Object.entries(schemas).map(([id, { $id: _id, $schema: _s, ...schema }]) => [id, schema]));
}

/** `components.schemas`: requests in their input form, replies in their output form. */
export function schemaComponents(): Record<string, JsonSchema> {
  return { ...componentsOf(REQUESTS, 'input'), ...componentsOf(RESPONSES, 'output') };
}

/** `GET /v1/jobs`'s query parameters, from the route's own zod schema. */
export function listQueryParameters(): JsonSchema[] {
  const json = z.toJSONSchema(listQuery, { target: 'draft-2020-12', io: 'input' }) as { properties: Record<string, JsonSchema>; required?: string[] };
  return Object.entries(json.properties).map(([name, schema]) => ({
    name,
    in: 'query',
    required: json.required?.includes(name) ?? false,
    schema,
  }));
}
