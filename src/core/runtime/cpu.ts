// What the CPU offers to onnxruntime's integer kernels. Without VNNI, x86 kernels multiply
// uint8 activations by int8 weights with an instruction whose int16 sums saturate, which costs
// accuracy; 7-bit weights (reduce range) avoid it. With VNNI the products are summed in int32:
// the fused model computes exactly what its Q/DQ pairs say (docs/cpu-integer-paths.md).
import * as fs from 'fs';
import type { QuantSettings } from '../../shared/quantResult';

/** true/false on x86 Linux, undefined where it cannot be told. */
export function cpuHasVnni(): boolean | undefined {
  if (process.arch !== 'x64' || process.platform !== 'linux') return undefined;
  try {
    const info = fs.readFileSync('/proc/cpuinfo', 'utf8');
    return /\b(avx512_vnni|avx_vnni)\b/.test(info);
  } catch {
    return undefined;
  }
}

/**
 * What onnxruntime's uint8 x int8 kernels will do with these weights on a CPU with (true) or
 * without (false) VNNI, for the run's report; null when nothing needs saying (other types, an
 * unknown CPU, or 7-bit weights on a CPU without VNNI, which is the right choice there).
 */
export function integerPathNote(vnni: boolean | undefined, s: Pick<QuantSettings, 'activationType' | 'weightType' | 'reduceRange'>): string | null {
  if (vnni === undefined || s.activationType !== 'uint8' || s.weightType !== 'int8') return null;
  if (vnni) {
    return s.reduceRange
      ? 'this CPU has VNNI: its uint8 x int8 kernels do not saturate, so 7-bit weights (reduce range) only cost accuracy here; keep them only for CPUs without VNNI'
      : "this CPU has VNNI: onnxruntime's uint8 x int8 kernels compute the Q/DQ model exactly here; a CPU with AVX2 alone saturates the 16-bit sums of these full-range int8 weights and gives other results, so quantize with --reduce-range for such CPUs";
  }
  return s.reduceRange
    ? null
    : 'this CPU has no VNNI: onnxruntime multiplies uint8 activations by int8 weights with saturating 16-bit sums here, so the fused model does not compute what its Q/DQ pairs say; --reduce-range (7-bit weights) avoids it';
}
