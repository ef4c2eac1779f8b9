import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { openApiDocument } from '../src/openapi/document.js';

type Obj = Record<string, any>;

// ajv-formats is CommonJS: its default export arrives wrapped under ESM.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv2020) => Ajv2020;

const DOC_ID = 'openapi.json';
const doc = openApiDocument() as Obj;
const ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
addFormats(ajv);
ajv.addSchema(doc, DOC_ID);

const escape = (s: string) => s.replaceAll('~', '~0').replaceAll('/', '~1');

/** Path templates of the document as patterns; literal paths first (`/demo/` before `/demo/{file}`). */
const templates = Object.keys(doc.paths)
  .map((template) => ({
    template,
    params: (template.match(/\{/g) ?? []).length,
    pattern: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`),
  }))
  .sort((a, b) => a.params - b.params);

/** The document's path template for a request path, if any. */
export function templateOf(urlPath: string): string | undefined {
  const pathname = urlPath.split('?')[0];
  return templates.find((t) => t.pattern.test(pathname))?.template;
}

const validators = new Map<string, ValidateFunction>();
function validatorAt(pointer: string): ValidateFunction {
  let v = validators.get(pointer);
  if (!v) {
    v = ajv.compile({ $ref: `${DOC_ID}#${pointer}` });
    validators.set(pointer, v);
  }
  return v;
}

function problemsOf(v: ValidateFunction, body: unknown): string | undefined {
  if (v(body)) return undefined;
  return ajv.errorsText(v.errors, { dataVar: 'body', separator: '; ' });
}

/**
 * What is wrong with a reply of the api against the OpenAPI document, or undefined when it fits:
 * the path and method are documented, the status is one of the operation's, and a JSON body
 * matches that answer's schema. An error answer of a path or method the document does not have
 * (a probe of an unknown route) need only be the error envelope.
 */
export function replyProblem(method: string, urlPath: string, status: number, contentType: string | null, body: unknown): string | undefined {
  const where = `${method} ${urlPath} → ${status}`;
  const template = templateOf(urlPath);
  const op = template ? doc.paths[template][method.toLowerCase()] : undefined;
  const isJson = /^application\/json\b/i.test(contentType ?? '');
  if (!template || !op) {
    if (status < 400) return `${where}: the OpenAPI document has no ${method} ${template ?? urlPath}`;
    const problem = isJson ? problemsOf(validatorAt('/components/schemas/Error'), body) : 'not JSON';
    return problem && `${where}: not the error envelope: ${problem}`;
  }
  const response = op.responses[String(status)] ?? op.responses.default;
  if (!response) return `${where}: status ${status} is not documented for ${method} ${template} (documented: ${Object.keys(op.responses).join(', ')})`;
  const content = response.content as Obj | undefined;
  if (!content) return body === undefined ? undefined : `${where}: documented without a body, but one came`;
  if (!isJson) {
    return Object.keys(content).some((type) => (contentType ?? '').startsWith(type))
      ? undefined
      : `${where}: content-type ${contentType} is not one of ${Object.keys(content).join(', ')}`;
  }
  if (!content['application/json']) return `${where}: JSON came; documented: ${Object.keys(content).join(', ')}`;
  const pointer = `/paths/${escape(template)}/${method.toLowerCase()}/responses/${status in op.responses ? status : 'default'}/content/application~1json/schema`;
  const problem = problemsOf(validatorAt(pointer), body);
  return problem && `${where}: the body does not match the OpenAPI document: ${problem}`;
}
