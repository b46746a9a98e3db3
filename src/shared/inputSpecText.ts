// Per-input specs written in the text form the CLI's --input and the wizard read
// (src/core/data/inputSpecs.ts parses it), for the report and the wizard to show.
import type { InputSpec } from './quantResult';

/** The text parseInputSpecs reads back ("ids=shape:batch,16; ids=range:0,95"). */
export function formatInputSpecs(specs: Record<string, InputSpec>): string {
  const items: string[] = [];
  for (const [name, s] of Object.entries(specs)) {
    if (s.shape) items.push(`${name}=shape:${s.shape.join(',')}`);
    if (s.batchAxis !== undefined) items.push(`${name}=batch:${s.batchAxis ?? 'none'}`);
    if (s.range) items.push(`${name}=range:${s.range.join(',')}`);
    if (s.normal) items.push(`${name}=normal:${s.normal.join(',')}`);
    if (s.value !== undefined) items.push(`${name}=value:${s.value}`);
  }
  return items.join('; ');
}
