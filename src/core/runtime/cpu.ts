// What the CPU offers to onnxruntime's integer kernels. Without VNNI, x86 kernels multiply
// uint8 activations by int8 weights with an instruction whose int16 sums saturate, which costs
// accuracy; 7-bit weights (reduce range) avoid it.
import * as fs from 'fs';

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
