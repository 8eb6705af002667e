// docs/reference/api.md, rendered from the OpenAPI document (src/docs/openapi-document.ts): one section
// per tag, one entry per operation. Pure: the same document always renders the same text, which is
// what test/docs/reference-fresh.test.ts compares against the committed file.
import { join } from 'node:path';
import { projectRoot } from '../build/layout.ts';

export const referencePath = join(projectRoot, 'docs', 'reference', 'api.md');

type Schema = {
  $ref?: string;
  type?: string | string[];
  format?: string;
  enum?: unknown[];
  const?: unknown;
  nullable?: boolean;
  description?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  additionalProperties?: boolean | Schema;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number | boolean;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  default?: unknown;
};
type Parameter = { name: string; in: string; required?: boolean; description?: string; schema?: Schema };
type Media = Record<string, { schema?: Schema }>;
type Operation = {
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  deprecated?: boolean;
  security?: unknown[];
  parameters?: Parameter[];
  requestBody?: { required?: boolean; description?: string; content?: Media };
  responses?: Record<string, { description?: string; content?: Media }>;
};
type Document = {
  info?: { title?: string; description?: string };
  tags?: { name: string; description?: string }[];
  paths?: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
};

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];
/** Nested fields are listed this deep (`a.b.c`); deeper ones are summarised by their type. */
const MAX_DEPTH = 3;
/** An enum longer than this is listed once per operation rather than in every cell. */
const SHORT_ENUM = 16;

/** GitHub's heading anchor: lower case, punctuation dropped, spaces as dashes. */
export function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\r?\n+/g, ' ').trim();
const code = (text: string) => '`' + text.replace(/`/g, "'") + '`';

/** `document`: an OpenAPI 3 document as /openapi.json serves it. */
export function renderApiReference(document: object): string {
  const doc = document as Document;
  const resolve = (s: Schema | undefined): Schema | undefined => {
    let seen = 0;
    while (s?.$ref && seen++ < 16) s = doc.components?.schemas?.[s.$ref.replace('#/components/schemas/', '')];
    return s;
  };

  const typeOf = (raw: Schema | undefined): string => {
    const s = resolve(raw);
    if (!s) return 'any';
    const variants = s.anyOf ?? s.oneOf;
    if (variants) return [...new Set(variants.map(typeOf))].join(' or ');
    if (s.allOf) return s.allOf.map(typeOf).join(' and ');
    if (s.const !== undefined) return code(JSON.stringify(s.const));
    if (s.enum) return s.enum.length > SHORT_ENUM ? `one of ${s.enum.length} values` : s.enum.map((v) => code(JSON.stringify(v))).join(' \\| ');
    const types = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
    let name = types.filter((t) => t !== 'null').join(' or ') || (s.properties ? 'object' : 'any');
    if (name === 'array') name = `${typeOf(s.items)}[]`;
    if (s.format && s.format !== 'regex') name += ` (${s.format})`;
    if (s.nullable || types.includes('null')) name += ' or null';
    return name;
  };

  const boundsOf = (raw: Schema | undefined): string => {
    const s = resolve(raw);
    if (!s) return '';
    const out: string[] = [];
    const range = (lo: number | undefined, hi: number | undefined, unit: string) => {
      if (lo !== undefined && hi !== undefined) out.push(`${lo}–${hi}${unit}`);
      else if (lo !== undefined) out.push(`≥ ${lo}${unit}`);
      else if (hi !== undefined) out.push(`≤ ${hi}${unit}`);
    };
    // zod's integers carry the safe-integer range as bounds: not a limit anyone chose.
    const chosen = (n: number | undefined) => (n !== undefined && Math.abs(n) < Number.MAX_SAFE_INTEGER ? n : undefined);
    range(chosen(s.minimum), chosen(s.maximum), '');
    range(s.minLength, s.maxLength, ' chars');
    range(s.minItems, s.maxItems, ' items');
    // Patterns that only spell a format (date-time) say nothing the format does not.
    if (s.pattern && !s.format && s.pattern.length <= 60) out.push(`pattern ${code(s.pattern)}`);
    if (s.default !== undefined) out.push(`default ${code(JSON.stringify(s.default))}`);
    if (s.type === 'array' && resolve(s.items)?.enum && resolve(s.items)!.enum!.length > SHORT_ENUM) {
      out.push(`each one of: ${resolve(s.items)!.enum!.map((v) => String(v)).join(', ')}`);
    } else if (s.enum && s.enum.length > SHORT_ENUM) out.push(`one of: ${s.enum.map((v) => String(v)).join(', ')}`);
    return out.join('; ');
  };

  /** Rows `field | type | required | notes` for an object schema, nested fields as `a.b` and `a[].b`. */
  const fieldRows = (raw: Schema | undefined, prefix = '', depth = 0): string[] => {
    const s = resolve(raw);
    if (!s) return [];
    const variants = s.anyOf ?? s.oneOf ?? s.allOf;
    if (variants && !s.properties) {
      // A union of object shapes (a connection per kind): each shape's fields, once.
      const seen = new Set<string>();
      return variants.flatMap((v) => fieldRows(v, prefix, depth)).filter((row) => !seen.has(row) && seen.add(row));
    }
    const rows: string[] = [];
    for (const [name, propRaw] of Object.entries(s.properties ?? {})) {
      const prop = resolve(propRaw);
      const path = prefix + name;
      const notes = [prop?.description, boundsOf(prop)].filter(Boolean).join('; ');
      rows.push(`| ${code(path)} | ${cell(typeOf(prop))} | ${s.required?.includes(name) ? 'yes' : ''} | ${cell(notes)} |`);
      if (depth + 1 >= MAX_DEPTH || !prop) continue;
      const inner = prop.type === 'array' || (Array.isArray(prop.type) && prop.type.includes('array')) ? resolve(prop.items) : prop;
      const innerPrefix = inner === prop ? `${path}.` : `${path}[].`;
      if (inner && (inner.properties || inner.anyOf || inner.oneOf)) rows.push(...fieldRows(inner, innerPrefix, depth + 1));
    }
    return rows;
  };

  const fieldTable = (schema: Schema | undefined): string[] => {
    const rows = fieldRows(schema);
    if (rows.length === 0) return [`A ${cell(typeOf(schema))}.`, ''];
    return ['| field | type | required | notes |', '|---|---|---|---|', ...rows, ''];
  };

  /** The stable `code` values a response schema declares (the error codes of that status). */
  const codesOf = (raw: Schema | undefined): string[] => {
    const s = resolve(raw);
    if (!s) return [];
    const variants = s.anyOf ?? s.oneOf;
    if (variants) return [...new Set(variants.flatMap(codesOf))];
    const c = resolve(s.properties?.code);
    if (!c) return [];
    if (c.enum) return c.enum.map(String);
    if (c.const !== undefined) return [String(c.const)];
    return [];
  };

  const jsonSchemaOf = (content: Media | undefined): { type: string; schema?: Schema } | undefined => {
    const entries = Object.entries(content ?? {});
    if (entries.length === 0) return undefined;
    const [type, media] = entries.find(([t]) => t === 'application/json') ?? entries[0]!;
    return { type, schema: media.schema };
  };

  const operations: { tag: string; method: string; path: string; op: Operation }[] = [];
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of METHODS) {
      const op = item[method];
      if (op) operations.push({ tag: op.tags?.[0] ?? 'other', method, path, op });
    }
  }
  const declared = (doc.tags ?? []).map((t) => t.name);
  const tags = [...new Set([...declared, ...operations.map((o) => o.tag).sort()])].filter((t) => operations.some((o) => o.tag === t));
  const headingOf = (o: (typeof operations)[number]) => `${o.method.toUpperCase()} ${o.path}`;

  const out: string[] = [
    '# API reference',
    '',
    '<!-- Generated by `npm run docs:reference` from the OpenAPI document the API serves at /openapi.json. Do not edit: change the route schemas, then regenerate. -->',
    '',
    `${doc.info?.title ?? 'The API'}: ${doc.info?.description ?? ''}. Generated from the OpenAPI document the API serves at`,
    '`/openapi.json` (interactive at `/docs`), so it lists exactly the routes, fields and codes the code declares.',
    'Every route takes `Authorization: Bearer <account API key>` (or the admin token, or a console session) unless it says otherwise.',
    'Refusals are `{code, message}` ([concepts/errors](../concepts/errors.md)).',
    '',
  ];
  for (const tag of tags) {
    out.push(`- **${tag}**: ${operations.filter((o) => o.tag === tag).map((o) => `[${code(headingOf(o))}](#${anchorOf(headingOf(o))})`).join(', ')}`);
  }
  out.push('');

  for (const tag of tags) {
    out.push(`## ${tag}`, '');
    const description = doc.tags?.find((t) => t.name === tag)?.description;
    if (description) out.push(description, '');
    for (const o of operations.filter((x) => x.tag === tag)) {
      const { op } = o;
      out.push(`### ${headingOf(o)}`, '');
      const facts = [`operationId: ${op.operationId ? code(op.operationId) : '—'}`];
      if (op.security && op.security.length === 0) facts.push('no token needed');
      if (op.deprecated) facts.push('**deprecated**');
      out.push(facts.join(' · '), '');
      if (op.summary) out.push(op.summary, '');
      if (op.description && op.description !== op.summary) out.push(op.description, '');

      const params = op.parameters ?? [];
      if (params.length > 0) {
        out.push('**Parameters**', '', '| name | in | type | required | notes |', '|---|---|---|---|---|');
        for (const p of params) {
          const notes = [p.description ?? resolve(p.schema)?.description, boundsOf(p.schema)].filter(Boolean).join('; ');
          out.push(`| ${code(p.name)} | ${p.in} | ${cell(typeOf(p.schema))} | ${p.required ? 'yes' : ''} | ${cell(notes)} |`);
        }
        out.push('');
      }

      const body = jsonSchemaOf(op.requestBody?.content);
      if (body) {
        out.push(`**Request body** (${code(body.type)}${op.requestBody?.required ? ', required' : ''})`, '');
        if (op.requestBody?.description) out.push(op.requestBody.description, '');
        if (resolve(body.schema)?.description) out.push(resolve(body.schema)!.description!, '');
        out.push(...fieldTable(body.schema));
      }

      out.push('**Responses**', '', '| status | description | codes |', '|---|---|---|');
      const responses = Object.entries(op.responses ?? {}).sort(([a], [b]) => a.localeCompare(b));
      for (const [status, r] of responses) {
        const media = jsonSchemaOf(r.content);
        const codes = codesOf(media?.schema).map(code).join(', ');
        const description = r.description && r.description !== 'Default Response' ? r.description : (resolve(media?.schema)?.description ?? '');
        out.push(`| ${status} | ${cell(description)} | ${codes} |`);
      }
      out.push('');
      for (const [status, r] of responses) {
        const media = jsonSchemaOf(r.content);
        if (!status.startsWith('2') || !media?.schema) continue;
        const rows = fieldRows(media.schema);
        if (rows.length === 0) continue;
        out.push(`<details><summary>${status} body fields</summary>`, '', '| field | type | required | notes |', '|---|---|---|---|', ...rows, '', '</details>', '');
      }
    }
  }
  return out.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd() + '\n';
}
