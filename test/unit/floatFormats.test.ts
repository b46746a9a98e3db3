import * as assert from 'assert';
import {
  bfloat16BitsToFloat32,
  float16BitsToFloat32,
  Float8Format,
  float32ToBfloat16Bits,
  float32ToFloat16Bits,
  float32ToFloat4e2m1Bits,
  float32ToFloat8Bits,
  float4e2m1BitsToFloat32,
  float8BitsToFloat32,
} from '../../src/core/onnx/floatFormats';

// Small helpers over single values keep the expectations readable.
const f16 = (h: number): number => float16BitsToFloat32(Uint16Array.of(h))[0];
const toF16 = (x: number): number => float32ToFloat16Bits([x])[0];
const bf16 = (h: number): number => bfloat16BitsToFloat32(Uint16Array.of(h))[0];
const toBf16 = (x: number): number => float32ToBfloat16Bits([x])[0];
const f8 = (format: Float8Format, code: number): number => float8BitsToFloat32(format, Uint8Array.of(code))[0];
const toF8 = (format: Float8Format, x: number, saturate = true): number => float32ToFloat8Bits(format, [x], saturate)[0];
const f4 = (code: number): number => float4e2m1BitsToFloat32(Uint8Array.of(code))[0];
const toF4 = (x: number): number => float32ToFloat4e2m1Bits([x])[0];

const hex = (n: number): string => `0x${n.toString(16)}`;

function f32FromBits(bits: number): number {
  return new Float32Array(Uint32Array.of(bits).buffer)[0];
}
function bitsOfF32(x: number): number {
  return new Uint32Array(Float32Array.of(x).buffer)[0];
}
/** Neighbouring float32 values, to probe either side of a rounding midpoint. */
function nextUp(x: number): number {
  assert.ok(x > 0);
  return f32FromBits(bitsOfF32(x) + 1);
}
function nextDown(x: number): number {
  assert.ok(x > 0);
  return f32FromBits(bitsOfF32(x) - 1);
}

/** Strips the sign bit from the code of a negated input, checking that it is set. */
function negatedCode(code: number, signBit: number): number {
  assert.strictEqual(code & signBit, signBit, `${hex(code)} must carry the sign`);
  return code & ~signBit;
}

function assertSameValue(actual: number, expected: number, message?: string): void {
  if (Number.isNaN(expected)) assert.ok(Number.isNaN(actual), message ?? `expected NaN, got ${actual}`);
  else assert.ok(Object.is(actual, expected), message ?? `expected ${expected}, got ${actual}`);
}

/**
 * Checks round to nearest even exhaustively: for every pair of adjacent non-negative finite
 * codes (given in increasing order of value) the exact midpoint must go to the code with an even
 * low bit, and the float32 values just beside the midpoint to the nearer code.
 */
function checkMidpoints(ascendingCodes: number[], decode: (code: number) => number, encode: (x: number) => number): void {
  for (let i = 0; i + 1 < ascendingCodes.length; i++) {
    const lo = ascendingCodes[i];
    const hi = ascendingCodes[i + 1];
    const mid = (decode(lo) + decode(hi)) / 2;
    assert.strictEqual(Math.fround(mid), mid, `midpoint ${mid} must be a float32`);
    const even = (lo & 1) === 0 ? lo : hi;
    assert.strictEqual(encode(mid), even, `midpoint of ${hex(lo)} and ${hex(hi)}`);
    assert.strictEqual(encode(nextDown(mid)), lo, `just below midpoint of ${hex(lo)}, ${hex(hi)}`);
    assert.strictEqual(encode(nextUp(mid)), hi, `just above midpoint of ${hex(lo)}, ${hex(hi)}`);
  }
}

describe('floatFormats', () => {
  describe('float16', () => {
    it('decodes hand-computed patterns', () => {
      assertSameValue(f16(0x3c00), 1);
      assertSameValue(f16(0xc000), -2);
      assertSameValue(f16(0x7bff), 65504);
      assertSameValue(f16(0x0400), 2 ** -14);
      assertSameValue(f16(0x0001), 2 ** -24);
      assertSameValue(f16(0x03ff), 1023 * 2 ** -24);
      assertSameValue(f16(0x3555), 0.333251953125);
      assertSameValue(f16(0x0000), 0);
      assertSameValue(f16(0x8000), -0);
      assertSameValue(f16(0x7c00), Infinity);
      assertSameValue(f16(0xfc00), -Infinity);
      assertSameValue(f16(0x7e00), NaN);
      assertSameValue(f16(0x7c01), NaN); // signalling NaN must not turn into Inf
      assertSameValue(f16(0xfe00), NaN);
    });

    it('encodes hand-computed values', () => {
      assert.strictEqual(toF16(1), 0x3c00);
      assert.strictEqual(toF16(-2), 0xc000);
      assert.strictEqual(toF16(1 / 3), 0x3555);
      assert.strictEqual(toF16(65504), 0x7bff);
      assert.strictEqual(toF16(2 ** -14), 0x0400);
      assert.strictEqual(toF16(2 ** -24), 0x0001);
      assert.strictEqual(toF16(0), 0x0000);
      assert.strictEqual(toF16(-0), 0x8000);
      assert.strictEqual(toF16(-(2 ** -30)), 0x8000); // underflow keeps the sign
      assert.strictEqual(toF16(Infinity), 0x7c00);
      assert.strictEqual(toF16(-Infinity), 0xfc00);
    });

    it('rounds ties to even and overflows to Inf', () => {
      assert.strictEqual(toF16(1 + 2 ** -11), 0x3c00); // tie between 0x3c00 and 0x3c01
      assert.strictEqual(toF16(1 + 3 * 2 ** -11), 0x3c02); // tie between 0x3c01 and 0x3c02
      assert.strictEqual(toF16(2 ** -25), 0x0000); // half the smallest subnormal
      assert.strictEqual(toF16(nextUp(2 ** -25)), 0x0001);
      assert.strictEqual(toF16(3 * 2 ** -25), 0x0002);
      assert.strictEqual(toF16(2 ** -14 - 2 ** -25), 0x0400); // subnormal rounds up to normal
      assert.strictEqual(toF16(65519), 0x7bff);
      assert.strictEqual(toF16(65520), 0x7c00); // tie past the max goes to the even code, Inf
      assert.strictEqual(toF16(1e6), 0x7c00);
      assert.strictEqual(toF16(-1e6), 0xfc00);
      assert.strictEqual(toF16(3.4028234663852886e38), 0x7c00);
    });

    it('keeps NaN a quiet NaN, including payloads only a Float32Array carries', () => {
      const input = new Float32Array(Uint32Array.of(0x7fc00000, 0x7f800001, 0xff800001, 0x7f802000).buffer);
      const out = float32ToFloat16Bits(input);
      for (const h of out) {
        assert.strictEqual(h & 0x7e00, 0x7e00, `${hex(h)} must be a quiet NaN`);
      }
      assert.strictEqual(out[2] & 0x8000, 0x8000);
      assert.strictEqual(out[3], 0x7e01); // top payload bits survive
      assert.strictEqual(toF16(NaN) & 0x7e00, 0x7e00);
    });

    it('round-trips all 65536 patterns', () => {
      const all = new Uint16Array(65536);
      for (let i = 0; i < all.length; i++) all[i] = i;
      const values = float16BitsToFloat32(all);
      const back = float32ToFloat16Bits(values);
      for (let h = 0; h < 65536; h++) {
        const isNaN = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
        if (isNaN) {
          assert.ok(Number.isNaN(values[h]), hex(h));
          assert.strictEqual(back[h] & 0x7e00, 0x7e00, hex(h));
          assert.strictEqual(back[h] & 0x8000, h & 0x8000, hex(h));
        } else {
          assert.strictEqual(back[h], h, `${hex(h)} -> ${values[h]} -> ${hex(back[h])}`);
        }
      }
    });

    it('rounds every midpoint between adjacent finite values to even', () => {
      const codes = Array.from({ length: 0x7c00 }, (_, i) => i);
      checkMidpoints(codes, f16, toF16);
      checkMidpoints(codes, f16, (x) => negatedCode(toF16(-x), 0x8000));
    });
  });

  describe('bfloat16', () => {
    it('decodes hand-computed patterns', () => {
      assertSameValue(bf16(0x3f80), 1);
      assertSameValue(bf16(0xc000), -2);
      assertSameValue(bf16(0x3f81), 1.0078125);
      assertSameValue(bf16(0x0001), 2 ** -133);
      assertSameValue(bf16(0x8000), -0);
      assertSameValue(bf16(0x7f80), Infinity);
      assertSameValue(bf16(0xff80), -Infinity);
      assertSameValue(bf16(0x7fc0), NaN);
      assertSameValue(bf16(0x7f81), NaN);
    });

    it('encodes with round to nearest even on the dropped bits', () => {
      assert.strictEqual(toBf16(1), 0x3f80);
      assert.strictEqual(toBf16(1.0078125), 0x3f81);
      assert.strictEqual(toBf16(1.00390625), 0x3f80); // 1 + 2^-8: tie, stays even
      assert.strictEqual(toBf16(1.01171875), 0x3f82); // 1 + 3 * 2^-8: tie, rounds up to even
      assert.strictEqual(toBf16(nextUp(1.00390625)), 0x3f81);
      assert.strictEqual(toBf16(1 / 3), 0x3eab);
      assert.strictEqual(toBf16(-0), 0x8000);
      assert.strictEqual(toBf16(Infinity), 0x7f80);
      assert.strictEqual(toBf16(-Infinity), 0xff80);
      assert.strictEqual(toBf16(3.4028234663852886e38), 0x7f80); // RNE past the max is Inf
      assert.strictEqual(toBf16(-3.4028234663852886e38), 0xff80);
    });

    it('keeps NaN a NaN even when the payload sits in the dropped half', () => {
      const input = new Float32Array(Uint32Array.of(0x7f800001, 0xff800001, 0x7fc00000).buffer);
      const out = float32ToBfloat16Bits(input);
      assert.deepStrictEqual(Array.from(out), [0x7fc0, 0xffc0, 0x7fc0]);
      assert.strictEqual(toBf16(NaN) & 0x7fc0, 0x7fc0);
    });

    it('round-trips all 65536 patterns', () => {
      const all = new Uint16Array(65536);
      for (let i = 0; i < all.length; i++) all[i] = i;
      const values = bfloat16BitsToFloat32(all);
      const back = float32ToBfloat16Bits(values);
      for (let h = 0; h < 65536; h++) {
        if ((h & 0x7f80) === 0x7f80 && (h & 0x7f) !== 0) {
          assert.ok(Number.isNaN(values[h]), hex(h));
          assert.strictEqual(back[h], h | 0x40, hex(h));
        } else {
          assert.strictEqual(back[h], h, hex(h));
        }
      }
    });

    it('rounds every midpoint between adjacent finite values to even', () => {
      checkMidpoints(
        Array.from({ length: 0x7f80 }, (_, i) => i),
        bf16,
        toBf16,
      );
    });
  });

  describe('float8', () => {
    interface Case {
      format: Exclude<Float8Format, 'e8m0'>;
      maxCode: number;
      max: number;
      one: number;
      isNaN: (code: number) => boolean;
      infCode?: number;
      uz: boolean;
    }
    const cases: Case[] = [
      { format: 'e4m3fn', maxCode: 0x7e, max: 448, one: 0x38, isNaN: (c) => (c & 0x7f) === 0x7f, uz: false },
      { format: 'e4m3fnuz', maxCode: 0x7f, max: 240, one: 0x40, isNaN: (c) => c === 0x80, uz: true },
      {
        format: 'e5m2',
        maxCode: 0x7b,
        max: 57344,
        one: 0x3c,
        isNaN: (c) => (c & 0x7f) > 0x7c,
        infCode: 0x7c,
        uz: false,
      },
      { format: 'e5m2fnuz', maxCode: 0x7f, max: 57344, one: 0x40, isNaN: (c) => c === 0x80, uz: true },
    ];

    it('decodes hand-computed E4M3FN patterns', () => {
      assertSameValue(f8('e4m3fn', 0x38), 1);
      assertSameValue(f8('e4m3fn', 0x7e), 448);
      assertSameValue(f8('e4m3fn', 0xfe), -448);
      assertSameValue(f8('e4m3fn', 0x08), 2 ** -6); // smallest normal
      assertSameValue(f8('e4m3fn', 0x07), 7 * 2 ** -9); // largest subnormal
      assertSameValue(f8('e4m3fn', 0x01), 2 ** -9);
      assertSameValue(f8('e4m3fn', 0x80), -0);
      assertSameValue(f8('e4m3fn', 0x7f), NaN);
      assertSameValue(f8('e4m3fn', 0xff), NaN);
      assertSameValue(f8('e4m3fn', 0x78), 256); // S.1111.000 is a number, not Inf
    });

    it('decodes hand-computed E4M3FNUZ patterns', () => {
      assertSameValue(f8('e4m3fnuz', 0x40), 1);
      assertSameValue(f8('e4m3fnuz', 0x7f), 240);
      assertSameValue(f8('e4m3fnuz', 0xff), -240);
      assertSameValue(f8('e4m3fnuz', 0x08), 2 ** -7);
      assertSameValue(f8('e4m3fnuz', 0x01), 2 ** -10);
      assertSameValue(f8('e4m3fnuz', 0x80), NaN);
    });

    it('decodes hand-computed E5M2 patterns', () => {
      assertSameValue(f8('e5m2', 0x3c), 1);
      assertSameValue(f8('e5m2', 0x7b), 57344);
      assertSameValue(f8('e5m2', 0x04), 2 ** -14);
      assertSameValue(f8('e5m2', 0x01), 2 ** -16);
      assertSameValue(f8('e5m2', 0x80), -0);
      assertSameValue(f8('e5m2', 0x7c), Infinity);
      assertSameValue(f8('e5m2', 0xfc), -Infinity);
      for (const c of [0x7d, 0x7e, 0x7f, 0xfd, 0xfe, 0xff]) assertSameValue(f8('e5m2', c), NaN, hex(c));
    });

    it('decodes hand-computed E5M2FNUZ patterns', () => {
      assertSameValue(f8('e5m2fnuz', 0x40), 1);
      assertSameValue(f8('e5m2fnuz', 0x7f), 57344);
      assertSameValue(f8('e5m2fnuz', 0x7c), 32768);
      assertSameValue(f8('e5m2fnuz', 0x04), 2 ** -15);
      assertSameValue(f8('e5m2fnuz', 0x01), 2 ** -17);
      assertSameValue(f8('e5m2fnuz', 0x80), NaN);
    });

    for (const c of cases) {
      describe(c.format, () => {
        it('encodes zero, one and the max', () => {
          assert.strictEqual(toF8(c.format, 1), c.one);
          assert.strictEqual(toF8(c.format, -1), c.one | 0x80);
          assert.strictEqual(toF8(c.format, c.max), c.maxCode);
          assert.strictEqual(toF8(c.format, -c.max), c.maxCode | 0x80);
          assert.strictEqual(toF8(c.format, 0), 0);
          // FNUZ has no -0: 0x80 is its NaN.
          assert.strictEqual(toF8(c.format, -0), c.uz ? 0 : 0x80);
          assert.strictEqual(toF8(c.format, -(2 ** -30)), c.uz ? 0 : 0x80);
        });

        it('round-trips all 256 patterns', () => {
          const all = Uint8Array.from({ length: 256 }, (_, i) => i);
          const values = float8BitsToFloat32(c.format, all);
          for (const saturate of [true, false]) {
            const back = float32ToFloat8Bits(c.format, values, saturate);
            for (let code = 0; code < 256; code++) {
              if (c.isNaN(code)) {
                assert.ok(Number.isNaN(values[code]), hex(code));
                assert.ok(c.isNaN(back[code]), `${hex(code)} -> ${hex(back[code])}`);
              } else if (c.infCode !== undefined && (code & 0x7f) === c.infCode) {
                const expected = saturate ? (code & 0x80) | c.maxCode : code;
                assert.strictEqual(back[code], expected, hex(code));
              } else {
                assert.strictEqual(back[code], code, `${hex(code)} -> ${values[code]}`);
              }
            }
          }
        });

        it('maps NaN to NaN with and without saturation', () => {
          for (const saturate of [true, false]) {
            assert.ok(c.isNaN(toF8(c.format, NaN, saturate)));
            assert.ok(c.isNaN(toF8(c.format, -NaN, saturate)));
          }
        });

        it('saturates out-of-range values and infinities to ±max', () => {
          for (const x of [c.max * 2, 1e30, 3.4028234663852886e38, Infinity]) {
            assert.strictEqual(toF8(c.format, x, true), c.maxCode, `${x}`);
            assert.strictEqual(toF8(c.format, -x, true), c.maxCode | 0x80, `${-x}`);
          }
        });

        it('without saturation gives Inf for E5M2 and NaN otherwise', () => {
          for (const x of [c.max * 2, 1e30, Infinity]) {
            const pos = toF8(c.format, x, false);
            const neg = toF8(c.format, -x, false);
            if (c.infCode !== undefined) {
              assert.strictEqual(pos, c.infCode);
              assert.strictEqual(neg, c.infCode | 0x80);
            } else {
              assert.ok(c.isNaN(pos), `${x} -> ${hex(pos)}`);
              assert.ok(c.isNaN(neg), `${-x} -> ${hex(neg)}`);
            }
          }
        });

        it('decides overflow after rounding', () => {
          // Halfway between max and the next (missing) value, the even neighbour is past the max,
          // except for E4M3FN whose max mantissa 110 is already even.
          const maxValue = f8(c.format, c.maxCode);
          const step = maxValue - f8(c.format, c.maxCode - 1);
          const beyond = maxValue + step / 2;
          assert.strictEqual(toF8(c.format, nextDown(beyond), false), c.maxCode);
          const tie = toF8(c.format, beyond, false);
          if (c.format === 'e4m3fn') assert.strictEqual(tie, c.maxCode);
          else assert.strictEqual(tie, c.infCode ?? 0x80);
          assert.strictEqual(toF8(c.format, beyond, true), c.maxCode);
          const above = toF8(c.format, nextUp(beyond), false);
          assert.ok(c.infCode !== undefined ? above === c.infCode : c.isNaN(above), hex(above));
        });

        it('rounds every midpoint between adjacent finite values to even', () => {
          const codes = Array.from({ length: c.maxCode + 1 }, (_, i) => i);
          checkMidpoints(
            codes,
            (code) => f8(c.format, code),
            (x) => toF8(c.format, x),
          );
          if (!c.uz) {
            checkMidpoints(
              codes,
              (code) => f8(c.format, code),
              (x) => negatedCode(toF8(c.format, -x), 0x80),
            );
          }
        });
      });
    }

    it('matches a brute-force nearest search on random float32 values', () => {
      let seed = 12345;
      const random = (): number => {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        return seed;
      };
      for (const c of cases) {
        const table = float8BitsToFloat32(
          c.format,
          Uint8Array.from({ length: 256 }, (_, i) => i),
        );
        const xs: number[] = [];
        while (xs.length < 5000) {
          // Exponents from below the smallest subnormal up to the max.
          const exponent = 127 - 22 + (random() % 40);
          const x = f32FromBits((exponent << 23) | (random() & 0x7fffff));
          if (x <= c.max) xs.push(x);
        }
        const got = float32ToFloat8Bits(c.format, xs);
        xs.forEach((x, i) => {
          let best = 0;
          for (let code = 1; code <= c.maxCode; code++) {
            const d = Math.abs(table[code] - x);
            const bestD = Math.abs(table[best] - x);
            if (d < bestD || (d === bestD && (code & 1) === 0)) best = code;
          }
          assert.strictEqual(got[i], best, `${c.format} ${x}`);
        });
      }
    });

    describe('e8m0', () => {
      it('decodes hand-computed patterns', () => {
        assertSameValue(f8('e8m0', 0x7f), 1);
        assertSameValue(f8('e8m0', 0x80), 2);
        assertSameValue(f8('e8m0', 0x7e), 0.5);
        assertSameValue(f8('e8m0', 0x00), 2 ** -127);
        assertSameValue(f8('e8m0', 0xfe), 2 ** 127);
        assertSameValue(f8('e8m0', 0xff), NaN);
      });

      it('round-trips all 256 patterns', () => {
        const all = Uint8Array.from({ length: 256 }, (_, i) => i);
        const values = float8BitsToFloat32('e8m0', all);
        for (const saturate of [true, false]) {
          assert.deepStrictEqual(Array.from(float32ToFloat8Bits('e8m0', values, saturate)), Array.from(all));
        }
        for (let code = 0; code < 255; code++) assert.strictEqual(values[code], 2 ** (code - 127));
      });

      it('rounds to the nearest power of two, ties up', () => {
        assert.strictEqual(toF8('e8m0', 1), 0x7f);
        assert.strictEqual(toF8('e8m0', nextDown(1.5)), 0x7f);
        assert.strictEqual(toF8('e8m0', 1.5), 0x80);
        assert.strictEqual(toF8('e8m0', 3), 0x81);
        assert.strictEqual(toF8('e8m0', 0.75), 0x7f);
        assert.strictEqual(toF8('e8m0', 1000), 0x89); // 1024
        assert.strictEqual(toF8('e8m0', 2 ** -127), 0x00);
        assert.strictEqual(toF8('e8m0', 2 ** -140), 0x00); // nearest representable is 2^-127
        assert.strictEqual(toF8('e8m0', 1.5 * 2 ** -127), 0x01);
        assert.strictEqual(toF8('e8m0', nextDown(1.5 * 2 ** -127)), 0x00);
        assert.strictEqual(toF8('e8m0', 2 ** -126), 0x01);
        assert.strictEqual(toF8('e8m0', 1.25 * 2 ** 127), 0xfe);
      });

      it('saturates or gives NaN for values it cannot represent', () => {
        for (const x of [0, -0, -1, -Infinity]) {
          assert.strictEqual(toF8('e8m0', x, true), 0x00, `${x}`);
          assert.strictEqual(toF8('e8m0', x, false), 0xff, `${x}`);
        }
        for (const x of [1.5 * 2 ** 127, Infinity]) {
          assert.strictEqual(toF8('e8m0', x, true), 0xfe, `${x}`);
          assert.strictEqual(toF8('e8m0', x, false), 0xff, `${x}`);
        }
        assert.strictEqual(toF8('e8m0', NaN, true), 0xff);
        assert.strictEqual(toF8('e8m0', NaN, false), 0xff);
      });
    });

    it('rejects unknown formats', () => {
      assert.throws(() => float32ToFloat8Bits('e3m4' as Float8Format, [1]), /unknown float8 format/);
      assert.throws(() => float8BitsToFloat32('e3m4' as Float8Format, Uint8Array.of(1)), /unknown/);
    });
  });

  describe('float4e2m1', () => {
    it('decodes all 16 codes', () => {
      const expected = [0, 0.5, 1, 1.5, 2, 3, 4, 6, -0, -0.5, -1, -1.5, -2, -3, -4, -6];
      const got = float4e2m1BitsToFloat32(Uint8Array.from({ length: 16 }, (_, i) => i));
      expected.forEach((v, i) => assertSameValue(got[i], v, `code ${i}`));
    });

    it('ignores the high nibble', () => {
      assertSameValue(f4(0xf3), 1.5);
      assertSameValue(f4(0x2f), -6);
    });

    it('encodes representable values exactly and round-trips all codes', () => {
      const codes = Uint8Array.from({ length: 16 }, (_, i) => i);
      assert.deepStrictEqual(Array.from(float32ToFloat4e2m1Bits(float4e2m1BitsToFloat32(codes))), Array.from(codes));
    });

    it('rounds ties to even', () => {
      assert.strictEqual(toF4(0.25), 0x0);
      assert.strictEqual(toF4(0.75), 0x2);
      assert.strictEqual(toF4(1.25), 0x2);
      assert.strictEqual(toF4(1.75), 0x4);
      assert.strictEqual(toF4(2.5), 0x4);
      assert.strictEqual(toF4(3.5), 0x6);
      assert.strictEqual(toF4(5), 0x6);
      assert.strictEqual(toF4(-5), 0xe);
      assert.strictEqual(toF4(nextUp(5)), 0x7);
      assert.strictEqual(toF4(nextUp(0.25)), 0x1);
      const codes = [0, 1, 2, 3, 4, 5, 6, 7];
      checkMidpoints(codes, f4, toF4);
    });

    it('saturates, keeps signed zero and maps NaN to +6 as the ONNX Cast table says', () => {
      assert.strictEqual(toF4(7), 0x7);
      assert.strictEqual(toF4(1e30), 0x7);
      assert.strictEqual(toF4(-1e30), 0xf);
      assert.strictEqual(toF4(Infinity), 0x7);
      assert.strictEqual(toF4(-Infinity), 0xf);
      assert.strictEqual(toF4(NaN), 0x7);
      assert.strictEqual(toF4(-0), 0x8);
      assert.strictEqual(toF4(-0.1), 0x8);
      assert.strictEqual(toF4(0.1), 0x0);
    });
  });

  describe('output buffers and inputs', () => {
    it('writes into a given output and returns it', () => {
      const out16 = new Uint16Array(3).fill(0xffff);
      assert.strictEqual(float32ToFloat16Bits([1, 2], out16), out16);
      assert.deepStrictEqual(Array.from(out16), [0x3c00, 0x4000, 0xffff]);

      const outF = new Float32Array(2);
      assert.strictEqual(float16BitsToFloat32(Uint16Array.of(0x3c00, 0x4000), outF), outF);
      assert.deepStrictEqual(Array.from(outF), [1, 2]);

      // A view with a byte offset must be written at its own offset.
      const backing = new Float32Array(4);
      const view = backing.subarray(2);
      float8BitsToFloat32('e4m3fn', Uint8Array.of(0x38, 0x7e), view);
      assert.deepStrictEqual(Array.from(backing), [0, 0, 1, 448]);

      const out8 = new Uint8Array(2);
      assert.strictEqual(float32ToFloat8Bits('e5m2', [1, -1], true, out8), out8);
      assert.deepStrictEqual(Array.from(out8), [0x3c, 0xbc]);
    });

    it('rejects an output that is too short', () => {
      assert.throws(() => float32ToFloat16Bits([1, 2], new Uint16Array(1)), RangeError);
      assert.throws(() => bfloat16BitsToFloat32(Uint16Array.of(1, 2), new Float32Array(1)), RangeError);
      assert.throws(() => float32ToFloat4e2m1Bits([1, 2], new Uint8Array(1)), RangeError);
    });

    it('treats plain arrays, Float64Arrays and Float32Array views alike', () => {
      const xs = [0.1, -3.75, 1e-5, 60000, 1 / 3];
      const expected = Array.from(float32ToFloat16Bits(Float32Array.from(xs)));
      assert.deepStrictEqual(Array.from(float32ToFloat16Bits(xs)), expected);
      assert.deepStrictEqual(Array.from(float32ToFloat16Bits(Float64Array.from(xs))), expected);
      const backing = new Float32Array(xs.length + 1);
      backing.set(xs, 1);
      assert.deepStrictEqual(Array.from(float32ToFloat16Bits(backing.subarray(1))), expected);
    });
  });
});
