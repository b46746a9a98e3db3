// Writes schemas/distill.schema.json, the JSON Schema VS Code validates `*.distill.json` with, from
// the spec's one description (src/shared/distillSpecSchema.ts). `npm run schema` runs this; a unit
// test fails when the committed file differs from what this writes.
import * as fs from 'fs';
import * as path from 'path';
import { DistillSpecSchema } from '../src/shared/distillSpecSchema';

export const DISTILL_SCHEMA_FILE = path.join(__dirname, '..', '..', 'schemas', 'distill.schema.json');

type Node = { [keyword: string]: unknown };

/**
 * Plain JSON of a schema node. A union told apart by a `discriminator` key becomes one object whose
 * key lists every value (with each alternative's description) and an if/then per value: the editor
 * then completes the key and reports problems against the one alternative that applies.
 */
function plain(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(plain);
  if (typeof node !== 'object' || node === null) return node;
  const { discriminator, anyOf, ...rest } = node as Node;
  if (typeof discriminator === 'string') {
    const alternatives = (anyOf as Node[]).map((m) => plain(m) as Node & { properties: Record<string, Node> });
    return {
      ...(plain(rest) as Node),
      type: 'object',
      required: [discriminator],
      properties: {
        [discriminator]: {
          type: 'string',
          enum: alternatives.map((m) => m.properties[discriminator].const),
          enumDescriptions: alternatives.map((m) => m.description),
        },
      },
      allOf: alternatives.map((m) => ({ if: { properties: { [discriminator]: { const: m.properties[discriminator].const } } }, then: m })),
    };
  }
  return Object.fromEntries(Object.entries(node as Node).map(([k, v]) => [k, plain(v)]));
}

/** The file's text, byte for byte. */
export function distillSchemaText(): string {
  const document = {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://onnx-compress/schemas/distill.schema.json',
    ...(plain(DistillSpecSchema) as Node),
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}

if (require.main === module) {
  fs.writeFileSync(DISTILL_SCHEMA_FILE, distillSchemaText());
  console.log(`wrote ${path.relative(process.cwd(), DISTILL_SCHEMA_FILE)}`);
}
