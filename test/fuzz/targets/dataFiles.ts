// The calibration data readers, each through the public entry point (openDataSource, then every
// batch), on damaged files the project's own writers made, random bytes and real data: a
// DataSource or a DataSourceError, never another exception.
import * as fc from 'fast-check';
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { PNG } from 'pngjs';
import * as jpeg from 'jpeg-js';
import { openDataSource } from '../../../src/core/data';
import { decodeImage } from '../../../src/core/data/images';
import { OnnxCompressError } from '../../../src/core/errors';
import { encodeMessage } from '../../../src/core/onnx/codec';
import { DataType } from '../../../src/core/onnx/dataTypes';
import { decodeModel, type OnnxModel } from '../../../src/core/onnx/model';
import { makeTensor } from '../../../src/core/onnx/tensor';
import { GraphBuilder, modelBytes, type Dim } from '../../fixtures/builder';
import { idxBytes, npyBytes, npzBytes, zip64StoredBytes } from '../../support/npyWriter';
import { bytesLike, mutated } from '../mutate';
import { expectClean, type FuzzTarget } from '../target';

const REPO = path.resolve(__dirname, '../../../..');
const ramp = (n: number) => Float32Array.from({ length: n }, (_, i) => i / n);
const bytesRamp = (n: number) => Uint8Array.from({ length: n }, (_, i) => i * 7);

function png(width: number, height: number, colorType: 0 | 2 | 6): Uint8Array {
  const p = new PNG({ width, height, colorType, inputColorType: 6 });
  p.data.set(bytesRamp(width * height * 4));
  return new Uint8Array(PNG.sync.write(p, { colorType }));
}

function jpg(width: number, height: number): Uint8Array {
  return new Uint8Array(jpeg.encode({ width, height, data: Buffer.from(bytesRamp(width * height * 4)) }, 80).data);
}

const realFile = (rel: string) => (fs.existsSync(path.join(REPO, rel)) ? [new Uint8Array(fs.readFileSync(path.join(REPO, rel)))] : []);

interface Kind {
  /** The name the file is written under (its extension picks the reader). */
  file: string;
  seeds: () => Uint8Array[];
  /** Bytes random data is put after, to get past the magic number. */
  magic?: Uint8Array;
  /** Well-formed containers around damaged contents (a valid zip or gzip of a broken array, a
   *  PNG whose checksums match its damaged header), which byte damage alone rarely makes. */
  structured?: () => fc.Arbitrary<Uint8Array>;
}

/** CRC-32 (ISO 3309), as PNG chunks carry it. */
function crc32(bytes: Uint8Array): number {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

/** A PNG with its header's width and height replaced (and the header's CRC made right). */
export function pngWithSize(bytes: Uint8Array, width: number, height: number): Uint8Array {
  const out = bytes.slice();
  const v = new DataView(out.buffer);
  v.setUint32(16, width);
  v.setUint32(20, height);
  v.setUint32(29, crc32(out.subarray(12, 29)));
  return out;
}

/** A JPEG with its frame header's (SOF0) height and width replaced. */
function jpegWithSize(bytes: Uint8Array, width: number, height: number): Uint8Array {
  const out = bytes.slice();
  for (let i = 2; i + 9 < out.length; i++) {
    if (out[i] === 0xff && out[i + 1] === 0xc0) {
      new DataView(out.buffer).setUint16(i + 5, height);
      new DataView(out.buffer).setUint16(i + 7, width);
      break;
    }
  }
  return out;
}

// Sides that make small images or ones past the 100-megapixel cap (a legitimate image near the
// cap needs more memory than the harness allows a single input).
const side = fc.oneof(fc.integer({ min: 0, max: 64 }), fc.constantFrom(65535, 2 ** 31 - 1, 2 ** 32 - 1));

const npySeeds = () => [
  npyBytes('<f4', [2, 2, 3], ramp(12)),
  npyBytes('|u1', [3, 28, 28], bytesRamp(3 * 784)),
  npyBytes('<i8', [2, 3], new BigInt64Array(6)),
  npyBytes('<f2', [4, 3], new Uint16Array(12), { version: 2 }),
];

const KINDS: Record<string, Kind> = {
  npy: {
    file: 'data.npy',
    seeds: npySeeds,
    magic: Uint8Array.of(0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0),
    structured: () =>
      fc
        .tuple(
          fc.constantFrom('<f4', '|u1', '<i8', '>f4', '<c8', '|O', '<U3', "<f4'", "'"),
          fc.array(fc.oneof(fc.nat({ max: 4 }), fc.constantFrom(2 ** 31, 2 ** 53, 2 ** 60)), { maxLength: 5 }),
          fc.uint8Array({ maxLength: 64 }),
        )
        .map(([descr, shape, data]) => npyBytes(descr, shape, data)),
  },
  npz: {
    file: 'data.npz',
    seeds: () => [
      npzBytes({ x: { descr: '<f4', shape: [2, 2, 3], data: ramp(12) } }, false),
      npzBytes({ x: { descr: '<f4', shape: [3, 2, 3], data: ramp(18) }, extra: { descr: '|u1', shape: [2], data: bytesRamp(2) } }, true),
      npzBytes({ arr_0: { descr: '|u1', shape: [2, 28, 28], data: bytesRamp(1568) } }, true),
      zip64StoredBytes({ 'x.npy': npySeeds()[0] }),
    ],
    magic: Uint8Array.of(0x50, 0x4b, 0x03, 0x04),
    structured: () =>
      fc.tuple(mutated(npySeeds()), fc.boolean(), fc.constantFrom('x', 'arr_0', 'y')).map(([npy, compressed, name]) => npzBytes({ [name]: npy }, compressed)),
  },
  pb: {
    file: 'input_0.pb',
    seeds: () =>
      [
        makeTensor({ name: 'x', dataType: DataType.FLOAT, dims: [2, 2, 3], values: ramp(12) }),
        makeTensor({ name: 'x', dataType: DataType.UINT8, dims: [1, 28, 28], values: bytesRamp(784) }),
        makeTensor({ name: '', dataType: DataType.INT64, dims: [2, 3], values: new BigInt64Array(6) }),
      ].map((t) => encodeMessage('TensorProto', t)),
  },
  idx: {
    file: 'train-images-idx3-ubyte',
    seeds: () => [idxBytes(0x08, [3, 28, 28], bytesRamp(3 * 784)), idxBytes(0x0d, [2, 2, 3], new Uint8Array(48)), idxBytes(0x08, [5], bytesRamp(5))],
    magic: Uint8Array.of(0, 0, 8, 3),
  },
  'idx-gz': {
    file: 'train-labels-idx1-ubyte.gz',
    seeds: () => [
      new Uint8Array(zlib.gzipSync(idxBytes(0x08, [3, 28, 28], bytesRamp(3 * 784)))),
      ...realFile('data/fashion-mnist/train-512-labels-idx1-ubyte.gz'),
    ],
    magic: Uint8Array.of(0x1f, 0x8b, 8, 0),
    structured: () => mutated(KINDS.idx.seeds()).map((b) => new Uint8Array(zlib.gzipSync(b))),
  },
  png: {
    file: 'image.png',
    seeds: () => [png(5, 4, 6), png(3, 3, 0), png(4, 2, 2)],
    magic: Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a),
    structured: () => fc.tuple(fc.constantFrom(...KINDS.png.seeds()), side, side).map(([b, w, h]) => pngWithSize(b, w, h)),
  },
  jpeg: {
    file: 'image.jpg',
    seeds: () => [jpg(8, 8), jpg(17, 5)],
    magic: Uint8Array.of(0xff, 0xd8, 0xff),
    structured: () => fc.tuple(fc.constantFrom(...KINDS.jpeg.seeds()), side, side).map(([b, w, h]) => jpegWithSize(b, w, h & 0xffff)),
  },
};

// The model's one input: shapes and element types that the seeds fit, and some they do not.
const SHAPES: Array<Dim[] | null> = [['N', 2, 3], ['N', 28, 28], ['N', 1, 28, 28], ['N', 3, 'H', 'W'], ['N', 'H', 'W', 3], [2, 3], null, []];
const TYPES = [DataType.FLOAT, DataType.UINT8, DataType.INT64, DataType.FLOAT16, DataType.DOUBLE, DataType.BOOL];

function modelWithInput(type: DataType, shape: Dim[] | null): OnnxModel {
  const b = new GraphBuilder('echo').input('x', type, shape).node('Identity', ['x'], ['y']).output('y', type, shape);
  return decodeModel(modelBytes(b, { opset: 13 }));
}

export interface DataCase {
  bytes: Uint8Array;
  type: DataType;
  shape: Dim[] | null;
  batchSize: number;
  shuffle: boolean;
}

function dataTarget(kind: Kind): FuzzTarget<DataCase> {
  const models = new Map<string, OnnxModel>();
  return {
    arbitrary: fc.record({
      bytes: kind.structured
        ? fc.oneof({ weight: 3, arbitrary: bytesLike(kind.seeds(), kind.magic) }, { weight: 1, arbitrary: kind.structured() })
        : bytesLike(kind.seeds(), kind.magic),
      type: fc.constantFrom(...TYPES),
      shape: fc.constantFrom(...SHAPES),
      batchSize: fc.integer({ min: 1, max: 4 }),
      shuffle: fc.boolean(),
    }),
    async check(c, scratch) {
      const key = `${c.type}:${JSON.stringify(c.shape)}`;
      if (!models.has(key)) models.set(key, modelWithInput(c.type, c.shape));
      const file = path.join(scratch.fresh(), kind.file);
      fs.writeFileSync(file, c.bytes);
      if (kind.file.startsWith('image')) await expectClean([OnnxCompressError], () => decodeImage(c.bytes, file));
      await expectClean([OnnxCompressError], async () => {
        const source = await openDataSource(file, models.get(key)!);
        source.describe();
        for await (const batch of source.batches({ batchSize: c.batchSize, limit: 16, shuffleSeed: c.shuffle ? 7 : undefined })) void batch;
      });
    },
  };
}

export const dataTargets = Object.fromEntries(Object.entries(KINDS).map(([k, kind]) => [`data-${k}`, () => dataTarget(kind)]));
