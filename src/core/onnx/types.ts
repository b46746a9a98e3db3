// TypeScript views of the decoded ONNX messages, derived from the classes that pbts generates from
// onnx.proto (scripts/generate.js). Field names keep the schema's snake_case. Optional fields are
// absent when they were absent on the wire (schema.ts strips protobufjs' prototype defaults), so
// the generated `T | null` becomes an optional `T`; repeated fields are always arrays. int64
// fields decode to `Long` so that values beyond 2^53 (INT64_MAX in Slice ends, for one) survive a
// round trip.
import type Long from 'long';
import type { onnx } from './generated/onnx';
import { schemaEnum } from './schema';

export type Int64 = number | Long;

type Leaf = number | string | boolean | Long | Uint8Array;
type View<V> = V extends Leaf ? V : V extends readonly (infer E)[] ? View<E>[] : V extends object ? Decoded<V> : V;
/** A generated message class as decoded: nullable fields optional, nested messages decoded too. */
type Decoded<T> = { [K in keyof T as null extends T[K] ? never : K]: View<T[K]> } & {
  [K in keyof T as null extends T[K] ? K : never]?: View<Exclude<T[K], null>>;
};

export type OperatorSetIdProto = Decoded<onnx.OperatorSetIdProto>;
export type TensorShapeProto = Decoded<onnx.TensorShapeProto>;
export type TypeProto = Decoded<onnx.TypeProto>;
export type ValueInfoProto = Decoded<onnx.ValueInfoProto>;
export type TensorProto = Decoded<onnx.TensorProto>;
export type SparseTensorProto = Decoded<onnx.SparseTensorProto>;
export type AttributeProto = Decoded<onnx.AttributeProto>;
export type NodeProto = Decoded<onnx.NodeProto>;
export type GraphProto = Decoded<onnx.GraphProto>;
export type FunctionProto = Decoded<onnx.FunctionProto>;
export type TrainingInfoProto = Decoded<onnx.TrainingInfoProto>;
export type ModelProto = Decoded<onnx.ModelProto>;

/** AttributeProto.AttributeType */
export type AttributeType = onnx.AttributeProto.AttributeType;
export const AttributeType = schemaEnum<typeof onnx.AttributeProto.AttributeType>('AttributeProto.AttributeType');

/** TensorProto.DataLocation */
export const DATA_LOCATION_EXTERNAL = schemaEnum<typeof onnx.TensorProto.DataLocation>('TensorProto.DataLocation').EXTERNAL;

/** int64 as a JS number; throws when the value is not exactly representable. */
export function int64ToNumber(v: Int64 | undefined | null, what = 'int64 value'): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number') return v;
  const n = v.toNumber();
  if (!Number.isSafeInteger(n)) throw new RangeError(`${what} ${v.toString()} is beyond 2^53`);
  return n;
}

/** int64 as a bigint, exact for every value. */
export function int64ToBigInt(v: Int64 | undefined | null): bigint {
  if (v === undefined || v === null) return 0n;
  if (typeof v === 'number') return BigInt(v);
  return BigInt(v.toString());
}
