// sandboxes/voiceoi.d.ts must mirror the event catalog (src/events/catalog.ts) field for field:
// engineers type-check their mappings against the first, the platform sends what the second says.
//
// Both sides are reduced to the same description ("{ call_id: string; lead_id?: string; … }"):
// the catalog through the JSON Schema it publishes (GET /v1/event-types), the .d.ts through its
// syntax tree. (A type-level comparison would need the compiler to evaluate zod's inferred types,
// which costs seconds per run.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import ts from 'typescript';
import { envelopeJsonSchema, eventTypes } from '../../src/events/catalog.ts';

interface JsonSchema {
  type?: string;
  const?: unknown;
  enum?: unknown[];
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: unknown;
}

/** "{ a: string; b?: number[]; … }": keys sorted, "…" when the object is open. */
function describeObject(fields: [name: string, optional: boolean, type: string][], open: boolean): string {
  const parts = fields.sort(([a], [b]) => a.localeCompare(b)).map(([name, optional, type]) => `${name}${optional ? '?' : ''}: ${type}`);
  if (open) parts.push('…');
  return `{ ${parts.join('; ')} }`;
}

function describeSchema(schema: JsonSchema): string {
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).sort().join(' | ');
  if (schema.type === 'array') return `${describeSchema(schema.items ?? {})}[]`;
  if (schema.type === 'object') {
    const required = new Set(schema.required ?? []);
    const fields = Object.entries(schema.properties ?? {}).map(([name, s]): [string, boolean, string] => [name, !required.has(name), describeSchema(s)]);
    // The catalog accepts extra fields on the wire; the user-facing types are closed on purpose (see
    // voiceoi.d.ts), so openness is not part of the comparison.
    return describeObject(fields, false);
  }
  return schema.type ?? 'unknown';
}

/** Reads the declarations inside `declare module 'voiceoi' { … }`. */
function declaredTypes(): { describe(name: string): string; unionMembers(name: string): string[] } {
  const text = readFileSync(new URL('../../sandboxes/voiceoi.d.ts', import.meta.url), 'utf8');
  const file = ts.createSourceFile('voiceoi.d.ts', text, ts.ScriptTarget.ES2022, true);
  const declarations = new Map<string, ts.InterfaceDeclaration | ts.TypeAliasDeclaration>();
  file.forEachChild(function visit(node) {
    if (ts.isInterfaceDeclaration(node) || ts.isTypeAliasDeclaration(node)) declarations.set(node.name.text, node);
    else node.forEachChild(visit);
  });
  const lookup = (name: string) => {
    const declaration = declarations.get(name);
    assert.ok(declaration, `voiceoi.d.ts declares no ${name}`);
    return declaration;
  };

  type Args = Map<string, ts.TypeNode>;
  const describeNode = (node: ts.TypeNode, args: Args): string => {
    if (node.kind === ts.SyntaxKind.StringKeyword) return 'string';
    if (node.kind === ts.SyntaxKind.NumberKeyword) return 'number';
    if (node.kind === ts.SyntaxKind.BooleanKeyword) return 'boolean';
    if (ts.isLiteralTypeNode(node) && ts.isStringLiteral(node.literal)) return JSON.stringify(node.literal.text);
    if (ts.isUnionTypeNode(node)) return node.types.map((t) => describeNode(t, args)).sort().join(' | ');
    if (ts.isArrayTypeNode(node)) return `${describeNode(node.elementType, args)}[]`;
    if (ts.isTypeReferenceNode(node) && ts.isIdentifier(node.typeName)) {
      const name = node.typeName.text;
      const bound = args.get(name);
      if (bound) return describeNode(bound, new Map());
      return describeDeclaration(lookup(name), node.typeArguments ?? []);
    }
    return `<unsupported ${ts.SyntaxKind[node.kind]}>`;
  };

  const describeDeclaration = (declaration: ts.InterfaceDeclaration | ts.TypeAliasDeclaration, typeArguments: readonly ts.TypeNode[]): string => {
    const args: Args = new Map((declaration.typeParameters ?? []).map((p, i) => [p.name.text, typeArguments[i]!]));
    if (ts.isTypeAliasDeclaration(declaration)) return describeNode(declaration.type, args);
    const fields = new Map<string, [string, boolean, string]>();
    let open = false;
    const collect = (decl: ts.InterfaceDeclaration, declArgs: Args) => {
      for (const clause of decl.heritageClauses ?? []) {
        for (const base of clause.types) {
          const baseDecl = lookup((base.expression as ts.Identifier).text);
          assert.ok(ts.isInterfaceDeclaration(baseDecl));
          const resolved = (base.typeArguments ?? []).map((t) => (ts.isTypeReferenceNode(t) && ts.isIdentifier(t.typeName) && declArgs.get(t.typeName.text)) || t);
          collect(baseDecl, new Map((baseDecl.typeParameters ?? []).map((p, i) => [p.name.text, resolved[i]!])));
        }
      }
      for (const member of decl.members) {
        if (ts.isIndexSignatureDeclaration(member)) open = true;
        if (ts.isPropertySignature(member) && member.type && ts.isIdentifier(member.name)) {
          fields.set(member.name.text, [member.name.text, member.questionToken !== undefined, describeNode(member.type, declArgs)]);
        }
      }
    };
    collect(declaration, args);
    return describeObject([...fields.values()], open);
  };

  return {
    describe: (name) => describeDeclaration(lookup(name), []),
    unionMembers: (name) => {
      const alias = lookup(name);
      assert.ok(ts.isTypeAliasDeclaration(alias) && ts.isUnionTypeNode(alias.type), `${name} is a union`);
      return alias.type.types.map((t) => {
        if (ts.isLiteralTypeNode(t) && ts.isStringLiteral(t.literal)) return t.literal.text;
        assert.ok(ts.isTypeReferenceNode(t) && ts.isIdentifier(t.typeName));
        return t.typeName.text;
      });
    },
  };
}

test('voiceoi.d.ts declares exactly the catalog: every type, every field, every optional', () => {
  const declared = declaredTypes();
  assert.deepEqual([...declared.unionMembers('EventType')].sort(), [...eventTypes].sort());

  // One interface per event in the VoiceOIEvent and OperationalEvent unions, keyed by the literal of its `type`.
  const byType = new Map<string, string>();
  for (const name of [...declared.unionMembers('VoiceOIEvent'), ...declared.unionMembers('OperationalEvent')]) {
    const description = declared.describe(name);
    const type = /type: "([a-z_.]+)"/.exec(description)?.[1];
    assert.ok(type, `${name} has a literal type`);
    byType.set(type, description);
  }
  for (const type of eventTypes) {
    assert.equal(byType.get(type), describeSchema(envelopeJsonSchema(type) as JsonSchema), `the ${type} event`);
  }
});
