import * as assert from 'assert';
import Long from 'long';
import { TensorDataError } from '../../src/core/errors';
import { createMessage, decodeMessage, encodeMessage } from '../../src/core/onnx/codec';
import { DataType, dataTypeName, rawByteLength } from '../../src/core/onnx/dataTypes';
import { decodeModel } from '../../src/core/onnx/model';
import { float32ToBfloat16Bits, float32ToFloat16Bits } from '../../src/core/onnx/floatFormats';
import { makeTensor, pack4Bit, readTensor, tensorRawBytes, tensorStorage, toFloat32, type TensorValues } from '../../src/core/onnx/tensor';
import type { TensorProto } from '../../src/core/onnx/types';
import { createSession, ort } from '../../src/core/runtime/session';
import { GraphBuilder, modelBytes } from '../fixtures/builder';
import { runSession } from '../support/helpers';

const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;
const UINT64_MAX = 18446744073709551615n;

function bytesOf(values: Exclude<TensorValues, string[]>): Uint8Array {
  return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
}

function rawTensor(name: string, dataType: DataType, dims: number[], raw: Uint8Array): TensorProto {
  return createMessage<TensorProto>('TensorProto', { name, data_type: dataType, dims, raw_data: raw });
}

/** Through the wire and back, as a tensor read from a file is. */
function roundTrip(t: TensorProto): TensorProto {
  return decodeMessage<TensorProto>('TensorProto', encodeMessage('TensorProto', t));
}

function assertSameNumbers(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  assert.strictEqual(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const ok = Number.isNaN(expected[i]) ? Number.isNaN(actual[i]) : Object.is(actual[i], expected[i]);
    assert.ok(ok, `${what}[${i}]: expected ${expected[i]}, got ${actual[i]}`);
  }
}

function assertValues(actual: TensorValues, expected: TensorValues, what: string): void {
  assert.strictEqual(actual.constructor, expected.constructor, `${what}: array type`);
  assert.deepStrictEqual(Array.from(actual as ArrayLike<unknown>), Array.from(expected as ArrayLike<unknown>), what);
}

interface Case {
  type: DataType;
  dims: number[];
  /** The values readTensor returns. */
  values: Exclude<TensorValues, string[]>;
  /** raw_data (defaults to the values' bytes). */
  raw?: number[];
  /** What toFloat32 gives. */
  floats: number[];
}

// Every numeric element type, with values at the edges of its range, the raw_data bytes written
// by hand (little-endian; 4-bit: element 2i in the low nibble) and the float32 view of the values.
const CASES: Case[] = [
  { type: DataType.FLOAT, dims: [2, 2], values: Float32Array.of(1.5, -2, 0, 3.25), floats: [1.5, -2, 0, 3.25] },
  { type: DataType.UINT8, dims: [3], values: Uint8Array.of(0, 128, 255), raw: [0, 128, 255], floats: [0, 128, 255] },
  { type: DataType.INT8, dims: [3], values: Int8Array.of(-128, 0, 127), raw: [0x80, 0, 0x7f], floats: [-128, 0, 127] },
  { type: DataType.UINT16, dims: [2], values: Uint16Array.of(0, 65535), raw: [0, 0, 0xff, 0xff], floats: [0, 65535] },
  { type: DataType.INT16, dims: [2], values: Int16Array.of(-32768, 32767), raw: [0, 0x80, 0xff, 0x7f], floats: [-32768, 32767] },
  {
    type: DataType.INT32,
    dims: [2],
    values: Int32Array.of(-2147483648, 2147483647),
    raw: [0, 0, 0, 0x80, 0xff, 0xff, 0xff, 0x7f],
    floats: [-2147483648, 2147483648],
  },
  {
    type: DataType.INT64,
    dims: [3],
    values: BigInt64Array.of(INT64_MAX, INT64_MIN, -1n),
    raw: [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
    floats: [2 ** 63, -(2 ** 63), -1],
  },
  { type: DataType.BOOL, dims: [3], values: Uint8Array.of(1, 0, 1), raw: [1, 0, 1], floats: [1, 0, 1] },
  {
    type: DataType.FLOAT16,
    dims: [4],
    values: Uint16Array.of(0x3c00, 0xc000, 0x7bff, 0x0001),
    raw: [0, 0x3c, 0, 0xc0, 0xff, 0x7b, 1, 0],
    floats: [1, -2, 65504, 2 ** -24],
  },
  { type: DataType.DOUBLE, dims: [2], values: Float64Array.of(Math.PI, -1e300), floats: [Math.fround(Math.PI), -Infinity] },
  { type: DataType.UINT32, dims: [2], values: Uint32Array.of(0, 4294967295), raw: [0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff], floats: [0, 4294967296] },
  {
    type: DataType.UINT64,
    dims: [2],
    values: BigUint64Array.of(2n ** 53n + 1n, UINT64_MAX),
    raw: [1, 0, 0, 0, 0, 0, 0x20, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
    floats: [2 ** 53, 2 ** 64],
  },
  { type: DataType.COMPLEX64, dims: [2], values: Float32Array.of(1, 2, 3, -4), floats: [1, 2, 3, -4] },
  { type: DataType.COMPLEX128, dims: [1], values: Float64Array.of(1.5, -2.5), floats: [1.5, -2.5] },
  { type: DataType.BFLOAT16, dims: [3], values: Uint16Array.of(0x3f80, 0xc040, 0x4049), raw: [0x80, 0x3f, 0x40, 0xc0, 0x49, 0x40], floats: [1, -3, 3.140625] },
  // e4m3fn: bias 7, 0x7e is the largest finite value (448), 0x7f is NaN.
  { type: DataType.FLOAT8E4M3FN, dims: [4], values: Uint8Array.of(0x38, 0xc0, 0x7e, 0x7f), raw: [0x38, 0xc0, 0x7e, 0x7f], floats: [1, -2, 448, NaN] },
  // e4m3fnuz: bias 8, 0x80 (negative zero's code) is the only NaN.
  { type: DataType.FLOAT8E4M3FNUZ, dims: [3], values: Uint8Array.of(0x40, 0x80, 0x7f), raw: [0x40, 0x80, 0x7f], floats: [1, NaN, 240] },
  { type: DataType.FLOAT8E5M2, dims: [3], values: Uint8Array.of(0x3c, 0x7c, 0xc0), raw: [0x3c, 0x7c, 0xc0], floats: [1, Infinity, -2] },
  { type: DataType.FLOAT8E5M2FNUZ, dims: [2], values: Uint8Array.of(0x40, 0x80), raw: [0x40, 0x80], floats: [1, NaN] },
  { type: DataType.FLOAT8E8M0, dims: [4], values: Uint8Array.of(127, 128, 0, 0xff), raw: [127, 128, 0, 0xff], floats: [1, 2, 2 ** -127, NaN] },
  // 4-bit types: one element per byte when read, two per byte when stored (odd count: the last
  // byte's high nibble is padding).
  { type: DataType.UINT4, dims: [5], values: Uint8Array.of(1, 15, 0, 7, 9), raw: [0xf1, 0x70, 0x09], floats: [1, 15, 0, 7, 9] },
  { type: DataType.INT4, dims: [5], values: Int8Array.of(-8, -1, 0, 7, 3), raw: [0xf8, 0x70, 0x03], floats: [-8, -1, 0, 7, 3] },
  { type: DataType.FLOAT4E2M1, dims: [3], values: Uint8Array.of(0x2, 0x7, 0xf), raw: [0x72, 0x0f], floats: [1, 6, -6] },
];

describe('tensors', () => {
  describe('raw_data, every element type', () => {
    for (const c of CASES) {
      const name = dataTypeName(c.type);
      it(`${name}: reads raw_data, converts to float32 and writes the same bytes back`, () => {
        const raw = c.raw ? Uint8Array.from(c.raw) : bytesOf(c.values);
        assert.strictEqual(
          raw.length,
          rawByteLength(
            c.type,
            c.dims.reduce((a, b) => a * b, 1),
          ),
          'test case byte count',
        );
        for (const t of [rawTensor(`t_${name}`, c.type, c.dims, raw), roundTrip(rawTensor(`t_${name}`, c.type, c.dims, raw))]) {
          const data = readTensor(t);
          assert.strictEqual(data.name, `t_${name}`);
          assert.strictEqual(data.dataType, c.type);
          assert.deepStrictEqual(data.dims, c.dims);
          assertValues(data.values, c.values, `${name} values`);
          assertSameNumbers(toFloat32(data), c.floats, `${name} toFloat32`);
          assert.strictEqual(tensorStorage(t), 'raw');
        }
        const made = makeTensor({ name: 'm', dataType: c.type, dims: c.dims, values: c.values });
        assert.deepStrictEqual(Array.from(made.raw_data!), Array.from(raw), `${name}: makeTensor's raw_data`);
        assert.deepStrictEqual(made.dims.map(Number), c.dims);
        assertValues(readTensor(roundTrip(made)).values, c.values, `${name} makeTensor round trip`);
      });
    }

    it('strings: string_data, UTF-8, empty strings kept', () => {
      const t = makeTensor({ name: 's', dataType: DataType.STRING, dims: [3], values: ['a', 'héllo ✓', ''] });
      assert.strictEqual(t.raw_data, undefined);
      const data = readTensor(roundTrip(t));
      assert.deepStrictEqual(data.values, ['a', 'héllo ✓', '']);
      assert.throws(
        () => toFloat32(data),
        (e: unknown) => e instanceof TensorDataError && /string/.test(e.message) && e.message.includes("tensor 's'"),
      );
      assert.throws(() => tensorRawBytes(t), TensorDataError);
    });

    it("makeTensor copies the caller's array", () => {
      const values = Float32Array.of(1, 2);
      const t = makeTensor({ name: 'c', dataType: DataType.FLOAT, dims: [2], values });
      values[0] = 99;
      assert.deepStrictEqual(Array.from(readTensor(t).values as Float32Array), [1, 2]);
    });
  });

  describe('typed repeated fields', () => {
    function typed(name: string, type: DataType, dims: number[], fields: Partial<TensorProto>): TensorProto {
      // Encoded and decoded, so that int64 fields come back as Long as they do from a file.
      return roundTrip(createMessage<TensorProto>('TensorProto', { name, data_type: type, dims, ...fields }));
    }

    const cases: Array<{
      what: string;
      type: DataType;
      dims: number[];
      fields: Partial<TensorProto>;
      values: Exclude<TensorValues, string[]>;
      floats?: number[];
    }> = [
      { what: 'float_data (float)', type: DataType.FLOAT, dims: [3], fields: { float_data: [1.5, -0.25, 3e38] }, values: Float32Array.of(1.5, -0.25, 3e38) },
      { what: 'float_data (complex64)', type: DataType.COMPLEX64, dims: [1], fields: { float_data: [1, -2] }, values: Float32Array.of(1, -2) },
      {
        what: 'int32_data (int32)',
        type: DataType.INT32,
        dims: [3],
        fields: { int32_data: [-2147483648, 0, 2147483647] },
        values: Int32Array.of(-2147483648, 0, 2147483647),
      },
      { what: 'int32_data (int8)', type: DataType.INT8, dims: [2], fields: { int32_data: [-128, 127] }, values: Int8Array.of(-128, 127) },
      { what: 'int32_data (uint8)', type: DataType.UINT8, dims: [2], fields: { int32_data: [0, 255] }, values: Uint8Array.of(0, 255) },
      { what: 'int32_data (int16)', type: DataType.INT16, dims: [2], fields: { int32_data: [-32768, 32767] }, values: Int16Array.of(-32768, 32767) },
      { what: 'int32_data (uint16)', type: DataType.UINT16, dims: [2], fields: { int32_data: [0, 65535] }, values: Uint16Array.of(0, 65535) },
      { what: 'int32_data (bool)', type: DataType.BOOL, dims: [2], fields: { int32_data: [1, 0] }, values: Uint8Array.of(1, 0) },
      {
        what: 'int32_data (float16 bits)',
        type: DataType.FLOAT16,
        dims: [3],
        fields: { int32_data: [0x3c00, 0xc000, 0x7c00] },
        values: Uint16Array.of(0x3c00, 0xc000, 0x7c00),
        floats: [1, -2, Infinity],
      },
      {
        what: 'int32_data (bfloat16 bits)',
        type: DataType.BFLOAT16,
        dims: [2],
        fields: { int32_data: [0x3f80, 0xbf00] },
        values: Uint16Array.of(0x3f80, 0xbf00),
        floats: [1, -0.5],
      },
      {
        what: 'int32_data (float8e4m3fn bits)',
        type: DataType.FLOAT8E4M3FN,
        dims: [2],
        fields: { int32_data: [0x38, 0xb8] },
        values: Uint8Array.of(0x38, 0xb8),
        floats: [1, -1],
      },
      {
        what: 'int32_data (float8e5m2 bits)',
        type: DataType.FLOAT8E5M2,
        dims: [2],
        fields: { int32_data: [0x3c, 0x40] },
        values: Uint8Array.of(0x3c, 0x40),
        floats: [1, 2],
      },
      {
        what: 'int32_data (int4, packed bytes)',
        type: DataType.INT4,
        dims: [5],
        fields: { int32_data: [0xf8, 0x70, 0x03] },
        values: Int8Array.of(-8, -1, 0, 7, 3),
      },
      { what: 'int32_data (uint4, packed bytes)', type: DataType.UINT4, dims: [3], fields: { int32_data: [0xf1, 0x07] }, values: Uint8Array.of(1, 15, 7) },
      {
        what: 'int64_data (INT64_MAX and INT64_MIN exact)',
        type: DataType.INT64,
        dims: [4],
        fields: { int64_data: [Long.MAX_VALUE, Long.MIN_VALUE, Long.fromNumber(-1), Long.fromString('9007199254740993')] },
        values: BigInt64Array.of(INT64_MAX, INT64_MIN, -1n, 9007199254740993n),
      },
      { what: 'double_data (double)', type: DataType.DOUBLE, dims: [2], fields: { double_data: [Math.E, -1e-300] }, values: Float64Array.of(Math.E, -1e-300) },
      { what: 'double_data (complex128)', type: DataType.COMPLEX128, dims: [1], fields: { double_data: [0.1, 0.2] }, values: Float64Array.of(0.1, 0.2) },
      {
        what: 'uint64_data (uint32)',
        type: DataType.UINT32,
        dims: [2],
        fields: { uint64_data: [Long.fromNumber(0, true), Long.fromNumber(4294967295, true)] },
        values: Uint32Array.of(0, 4294967295),
      },
      {
        what: 'uint64_data (uint64 beyond 2^53)',
        type: DataType.UINT64,
        dims: [3],
        fields: { uint64_data: [Long.fromString('9007199254740993', true), Long.fromString('18446744073709551615', true), Long.fromNumber(7, true)] },
        values: BigUint64Array.of(2n ** 53n + 1n, UINT64_MAX, 7n),
      },
    ];

    for (const c of cases) {
      it(c.what, () => {
        const t = typed('typed', c.type, c.dims, c.fields);
        assert.strictEqual(t.raw_data, undefined);
        assert.strictEqual(tensorStorage(t), 'typed');
        const data = readTensor(t);
        assertValues(data.values, c.values, c.what);
        if (c.floats) assertSameNumbers(toFloat32(data), c.floats, `${c.what} toFloat32`);
        // The raw form of typed values is what raw_data would have held.
        const expectRaw = makeTensor({ name: 'x', dataType: c.type, dims: c.dims, values: c.values }).raw_data!;
        assert.deepStrictEqual(Array.from(tensorRawBytes(t)), Array.from(expectRaw), `${c.what}: raw bytes`);
      });
    }

    it('int64 values keep their exact value when handed in as decimal strings', () => {
      const t = typed('s', DataType.INT64, [2], { int64_data: ['9223372036854775807', '-9223372036854775808'] as unknown as Long[] });
      assertValues(readTensor(t).values, BigInt64Array.of(INT64_MAX, INT64_MIN), 'int64 from strings');
    });

    it('string_data', () => {
      const enc = new TextEncoder();
      const t = typed('s', DataType.STRING, [2, 1], { string_data: [enc.encode('x'), enc.encode('日本')] });
      assert.deepStrictEqual(readTensor(t).values, ['x', '日本']);
    });
  });

  describe('4-bit packing', () => {
    it('odd element counts: element 2i in the low nibble, the last high nibble zero', () => {
      for (const [type, vals, bytes] of [
        [DataType.INT4, Int8Array.of(-3), [0x0d]],
        [DataType.INT4, Int8Array.of(1, -2, 5), [0xe1, 0x05]],
        [DataType.UINT4, Uint8Array.of(15, 0, 10, 1, 2), [0x0f, 0x1a, 0x02]],
        [DataType.UINT4, Uint8Array.of(3, 12), [0xc3]],
      ] as Array<[DataType, Int8Array | Uint8Array, number[]]>) {
        const t = makeTensor({ name: 'p', dataType: type, dims: [vals.length], values: vals });
        assert.deepStrictEqual(Array.from(t.raw_data!), bytes, `${dataTypeName(type)} ${vals}`);
        assert.deepStrictEqual(Array.from(pack4Bit(vals)), bytes);
        assertValues(readTensor(roundTrip(t)).values, vals, `${dataTypeName(type)} ${vals} read back`);
      }
    });

    it('a garbage high nibble after the last element is ignored', () => {
      const t = rawTensor('g', DataType.INT4, [3], Uint8Array.of(0x21, 0xf3));
      assertValues(readTensor(t).values, Int8Array.of(1, 2, 3), 'int4 with padding nibble set');
    });

    it('the int4 range is -8..7 and uint4 0..15 after sign extension', () => {
      const all = Uint8Array.from({ length: 8 }, (_, i) => (2 * i) | ((2 * i + 1) << 4));
      const s = readTensor(rawTensor('s', DataType.INT4, [16], all)).values as Int8Array;
      assert.deepStrictEqual(Array.from(s), [0, 1, 2, 3, 4, 5, 6, 7, -8, -7, -6, -5, -4, -3, -2, -1]);
      const u = readTensor(rawTensor('u', DataType.UINT4, [16], all)).values as Uint8Array;
      assert.deepStrictEqual(
        Array.from(u),
        Array.from({ length: 16 }, (_, i) => i),
      );
    });

    it('a 4-bit tensor with too few packed bytes is refused', () => {
      assert.throws(
        () => readTensor(rawTensor('short4', DataType.UINT4, [5], Uint8Array.of(1, 2))),
        (e: unknown) => e instanceof TensorDataError && e.message.includes("tensor 'short4'") && /2 bytes/.test(e.message) && /needs 3/.test(e.message),
      );
      assert.throws(
        () => readTensor(roundTrip(createMessage<TensorProto>('TensorProto', { name: 'typed4', data_type: DataType.INT4, dims: [5], int32_data: [1, 2] }))),
        (e: unknown) => e instanceof TensorDataError && e.message.includes("tensor 'typed4'"),
      );
    });
  });

  describe('float16 and bfloat16 tensors', () => {
    it('float32 values encoded to bits, stored and read back as float32', () => {
      const src = [0, -0, 1, -1.5, 65504, 1e-7, 0.1];
      const h = makeTensor({ name: 'h', dataType: DataType.FLOAT16, dims: [src.length], values: float32ToFloat16Bits(src) });
      assert.strictEqual(h.raw_data!.length, 2 * src.length);
      const hf = toFloat32(readTensor(roundTrip(h)));
      // 0.1 in float16 is 0.0999755859375; 1e-7 is the subnormal 2 * 2^-24.
      assertSameNumbers(hf, [0, -0, 1, -1.5, 65504, 2 * 2 ** -24, 0.0999755859375], 'float16');
      const b = makeTensor({ name: 'b', dataType: DataType.BFLOAT16, dims: [src.length], values: float32ToBfloat16Bits(src) });
      const bf = toFloat32(readTensor(roundTrip(b)));
      // bfloat16 keeps float32's exponent: 65504 rounds to 65536, 0.1 to 0.10009765625.
      assertSameNumbers(bf, [0, -0, 1, -1.5, 65536, Math.fround(1.0011717677116394e-7), 0.10009765625], 'bfloat16');
    });
  });

  describe('empty tensors and scalars', () => {
    for (const dims of [[0], [2, 0, 3], [0, 0]]) {
      it(`a tensor of shape [${dims}] has no values`, () => {
        for (const type of [DataType.FLOAT, DataType.INT64, DataType.INT4, DataType.FLOAT16, DataType.BOOL]) {
          const values =
            type === DataType.INT64
              ? new BigInt64Array(0)
              : type === DataType.FLOAT
                ? new Float32Array(0)
                : type === DataType.FLOAT16
                  ? new Uint16Array(0)
                  : type === DataType.INT4
                    ? new Int8Array(0)
                    : new Uint8Array(0);
          const t = makeTensor({ name: 'e', dataType: type, dims, values });
          assert.strictEqual(t.raw_data!.length, 0);
          const back = roundTrip(t);
          const data = readTensor(back);
          assert.deepStrictEqual(data.dims, dims);
          assert.strictEqual(data.values.length, 0, dataTypeName(type));
          assert.strictEqual(toFloat32(data).length, 0);
        }
        // Written by a tool that leaves every data field out.
        const bare = roundTrip(createMessage<TensorProto>('TensorProto', { name: 'bare', data_type: DataType.FLOAT, dims }));
        assert.strictEqual(readTensor(bare).values.length, 0);
        const s = readTensor(roundTrip(makeTensor({ name: 'es', dataType: DataType.STRING, dims, values: [] })));
        assert.deepStrictEqual(s.values, []);
      });
    }

    it('a 0-d scalar has one value and no dims', () => {
      for (const [type, values] of [
        [DataType.FLOAT, Float32Array.of(2.5)],
        [DataType.INT64, BigInt64Array.of(INT64_MIN)],
        [DataType.INT4, Int8Array.of(-5)],
        [DataType.FLOAT16, Uint16Array.of(0x3c00)],
        [DataType.BOOL, Uint8Array.of(1)],
      ] as Array<[DataType, Exclude<TensorValues, string[]>]>) {
        const t = roundTrip(makeTensor({ name: 'scalar', dataType: type, dims: [], values }));
        assert.strictEqual(t.dims.length, 0);
        const data = readTensor(t);
        assert.deepStrictEqual(data.dims, []);
        assertValues(data.values, values, `scalar ${dataTypeName(type)}`);
      }
      const typedScalar = roundTrip(createMessage<TensorProto>('TensorProto', { name: 'ts', data_type: DataType.DOUBLE, dims: [], double_data: [7] }));
      assert.deepStrictEqual(Array.from(readTensor(typedScalar).values as Float64Array), [7]);
      assert.throws(
        () => makeTensor({ name: 'two', dataType: DataType.FLOAT, dims: [], values: Float32Array.of(1, 2) }),
        (e: unknown) => e instanceof TensorDataError && e.message.includes("tensor 'two'"),
      );
    });
  });

  describe('views over the model bytes', () => {
    it('aligned raw_data gives a view that shares memory; misaligned gives a correct copy', () => {
      const backing = new ArrayBuffer(64);
      const expected = [1.5, -2, 3, 1e-3];
      for (const [offset, aligned] of [
        [8, true],
        [4, true],
        [5, false],
        [2, false],
      ] as Array<[number, boolean]>) {
        const bytes = new Uint8Array(backing, offset, 16);
        bytes.set(new Uint8Array(Float32Array.from(expected).buffer));
        const values = readTensor(rawTensor('v', DataType.FLOAT, [4], bytes)).values as Float32Array;
        assert.deepStrictEqual(Array.from(values), expected.map(Math.fround), `offset ${offset}`);
        if (aligned) {
          assert.strictEqual(values.buffer, backing, `offset ${offset}: expected a view`);
          assert.strictEqual(values.byteOffset, offset);
          values[0] = 42; // shared: the model's bytes change too
          assert.strictEqual(new Float32Array(backing, offset, 1)[0], 42);
        } else {
          assert.notStrictEqual(values.buffer, backing, `offset ${offset}: expected a copy`);
          values[0] = 42; // a copy: the model's bytes stay
          assert.strictEqual(new DataView(backing).getFloat32(offset, true), Math.fround(expected[0]));
        }
      }
    });

    it('int64 needs 8-byte alignment for a view', () => {
      const backing = new ArrayBuffer(64);
      for (const offset of [8, 12]) {
        const bytes = new Uint8Array(backing, offset, 16);
        new DataView(backing).setBigInt64(offset, INT64_MIN, true);
        new DataView(backing).setBigInt64(offset + 8, 5n, true);
        const values = readTensor(rawTensor('i', DataType.INT64, [2], bytes)).values as BigInt64Array;
        assert.deepStrictEqual(Array.from(values), [INT64_MIN, 5n]);
        assert.strictEqual(values.buffer === backing, offset % 8 === 0, `offset ${offset}`);
      }
    });

    it("tensors of a decoded model are views into the model's buffer when aligned", () => {
      // The tensor's name length moves raw_data's position in the file through every alignment.
      let views = 0;
      let copies = 0;
      for (const name of ['a', 'ab', 'abc', 'abcd']) {
        const g = new GraphBuilder('g')
          .input('x', DataType.FLOAT, [4])
          .initializer(name, DataType.FLOAT, [4], Float32Array.of(1, 2, 3, 4))
          .node('Add', ['x', name], ['y'])
          .output('y', DataType.FLOAT, [4]);
        const file = modelBytes(g);
        const model = decodeModel(file);
        const t = model.proto.graph!.initializer[0];
        const values = readTensor(t).values as Float32Array;
        assert.deepStrictEqual(Array.from(values), [1, 2, 3, 4]);
        assert.strictEqual(t.raw_data!.buffer, file.buffer, 'raw_data is a view into the file bytes');
        if (t.raw_data!.byteOffset % 4 === 0) {
          views++;
          assert.strictEqual(values.buffer, file.buffer, `${name}: aligned, expected a view`);
        } else {
          copies++;
          assert.notStrictEqual(values.buffer, file.buffer, `${name}: misaligned, expected a copy`);
        }
      }
      assert.ok(views > 0 && copies > 0, `both cases seen (views ${views}, copies ${copies})`);
    });
  });

  describe('wrong byte counts and bad tensors', () => {
    const named =
      (name: string, ...patterns: RegExp[]) =>
      (e: unknown) => {
        assert.ok(e instanceof TensorDataError, `expected TensorDataError, got ${e}`);
        assert.ok(e.message.includes(`tensor '${name}'`), `message names the tensor: ${e.message}`);
        for (const p of patterns) assert.match(e.message, p);
        return true;
      };

    it('raw_data too short or too long', () => {
      assert.throws(() => readTensor(rawTensor('short', DataType.FLOAT, [3], new Uint8Array(10))), named('short', /10 bytes/, /needs 12/, /float32/));
      assert.throws(() => readTensor(rawTensor('long', DataType.INT64, [1], new Uint8Array(9))), named('long', /9 bytes/, /needs 8/));
      assert.throws(() => readTensor(rawTensor('f16', DataType.FLOAT16, [2, 2], new Uint8Array(7))), named('f16', /7 bytes/, /needs 8/));
      assert.throws(() => readTensor(rawTensor('c64', DataType.COMPLEX64, [2], new Uint8Array(8))), named('c64', /8 bytes/, /needs 16/));
    });

    it('typed fields with the wrong number of values', () => {
      const t = (name: string, f: Partial<TensorProto>, type: DataType, dims: number[]) =>
        roundTrip(createMessage<TensorProto>('TensorProto', { name, data_type: type, dims, ...f }));
      assert.throws(() => readTensor(t('fd', { float_data: [1, 2] }, DataType.FLOAT, [3])), named('fd', /2 values/, /needs 3/));
      assert.throws(() => readTensor(t('i64', { int64_data: [1] }, DataType.INT64, [2])), named('i64', /1 values/, /needs 2/));
      assert.throws(() => readTensor(t('u64', { uint64_data: [1, 2, 3] }, DataType.UINT64, [2])), named('u64', /3 values/));
      assert.throws(() => readTensor(t('dd', { double_data: [1] }, DataType.COMPLEX128, [1])), named('dd', /needs 2/));
      assert.throws(() => readTensor(t('str', { string_data: [new Uint8Array(1)] }, DataType.STRING, [2])), named('str', /1 strings/, /needs 2/));
    });

    it('makeTensor with a value count that does not fit the shape', () => {
      assert.throws(
        () => makeTensor({ name: 'mk', dataType: DataType.FLOAT, dims: [2, 3], values: new Float32Array(5) }),
        named('mk', /5 values/, /6 elements/),
      );
      assert.throws(() => makeTensor({ name: 'mk4', dataType: DataType.INT4, dims: [3], values: new Int8Array(4) }), named('mk4'));
    });

    it('makeTensor refuses a typed array of the wrong element size (it would store the wrong byte count)', () => {
      // A float16 tensor must be given Uint16Array bits; Float32Array values would write 4 bytes
      // per element, a tensor that every reader then rejects.
      assert.throws(() => makeTensor({ name: 'f16', dataType: DataType.FLOAT16, dims: [3], values: Float32Array.of(1, 2, 3) }), named('f16'));
      assert.throws(() => makeTensor({ name: 'i64', dataType: DataType.INT64, dims: [2], values: Float64Array.of(1, 2) }), named('i64'));
    });

    it('unknown element type, negative dims, external data without a folder', () => {
      assert.throws(() => readTensor(rawTensor('u', 99 as DataType, [1], new Uint8Array(1))), named('u', /unknown element type 99/));
      assert.throws(() => readTensor(rawTensor('undef', DataType.UNDEFINED, [1], new Uint8Array(1))), named('undef', /unknown element type/));
      assert.throws(() => readTensor(roundTrip(rawTensor('neg', DataType.FLOAT, [-1], new Uint8Array(0)))), named('neg', /negative dimension/));
      const ext = createMessage<TensorProto>('TensorProto', {
        name: 'ext',
        data_type: DataType.FLOAT,
        dims: [1],
        data_location: 1,
        external_data: [{ key: 'location', value: 'w.bin' }],
      });
      assert.throws(() => readTensor(ext), named('ext', /external/));
    });
  });

  describe('onnxruntime runs int4, uint4, float16 and bfloat16 initializers', () => {
    it('DequantizeLinear (int4, uint4, opset 21) and Cast from float16/bfloat16 match hand-computed values', async () => {
      const g = new GraphBuilder('narrow')
        .input('x', DataType.FLOAT, [5])
        // int4 with an odd element count: 5 values in 3 packed bytes.
        .initializer('q4', DataType.INT4, [5], Int8Array.of(-8, -1, 0, 3, 7))
        .initializer('zp4', DataType.INT4, [], Int8Array.of(1))
        .initializer('scale', DataType.FLOAT, [], Float32Array.of(0.5))
        .initializer('u4', DataType.UINT4, [3], Uint8Array.of(0, 9, 15))
        .initializer('uzp4', DataType.UINT4, [], Uint8Array.of(8))
        .initializer('uscale', DataType.FLOAT, [], Float32Array.of(0.25))
        .initializer('h', DataType.FLOAT16, [4], Uint16Array.of(0x3c00, 0xc000, 0x7bff, 0x0001))
        .initializer('bf', DataType.BFLOAT16, [3], Uint16Array.of(0x3f80, 0xc040, 0x4049))
        .node('DequantizeLinear', ['q4', 'scale', 'zp4'], ['dq4'])
        .node('Add', ['dq4', 'x'], ['y4'])
        .node('DequantizeLinear', ['u4', 'uscale', 'uzp4'], ['du4'])
        .node('Cast', ['h'], ['h32'], { to: DataType.FLOAT })
        .node('Cast', ['bf'], ['bf32'], { to: DataType.FLOAT })
        .node('Cast', ['h32'], ['bf_again'], { to: DataType.BFLOAT16 })
        .node('Cast', ['bf_again'], ['bf_again32'], { to: DataType.FLOAT })
        .output('y4', DataType.FLOAT, [5])
        .output('du4', DataType.FLOAT, [3])
        .output('h32', DataType.FLOAT, [4])
        .output('bf32', DataType.FLOAT, [3])
        .output('bf_again32', DataType.FLOAT, [4]);
      const model = decodeModel(modelBytes(g, { opset: 21, irVersion: 10 }));
      // Our reader sees what onnxruntime will.
      const init = new Map(model.proto.graph!.initializer.map((t) => [t.name!, readTensor(t)]));
      assertValues(init.get('q4')!.values, Int8Array.of(-8, -1, 0, 3, 7), 'q4');
      assert.strictEqual(model.proto.graph!.initializer[0].raw_data!.length, 3);

      const session = await createSession(model);
      try {
        const r = await runSession(session, { x: new ort.Tensor('float32', new Float32Array(5), [5]) });
        // (q - zp) * scale
        assert.deepStrictEqual(r.y4.data, [-4.5, -1, -0.5, 1, 3]);
        assert.deepStrictEqual(r.du4.data, [-2, 0.25, 1.75]);
        assertSameNumbers(r.h32.data as number[], [1, -2, 65504, 2 ** -24], 'float16 -> float');
        assertSameNumbers(Float32Array.from(r.h32.data as number[]), toFloat32(init.get('h')!), 'ORT and toFloat32 agree on float16');
        assertSameNumbers(r.bf32.data as number[], [1, -3, 3.140625], 'bfloat16 -> float');
        assertSameNumbers(Float32Array.from(r.bf32.data as number[]), toFloat32(init.get('bf')!), 'ORT and toFloat32 agree on bfloat16');
        // float -> bfloat16 in ORT rounds like float32ToBfloat16Bits: 65504 -> 65536, 2^-24 exact.
        assertSameNumbers(r.bf_again32.data as number[], [1, -2, 65536, 2 ** -24], 'float -> bfloat16 -> float');
      } finally {
        await session.release();
      }
    });
  });
});
