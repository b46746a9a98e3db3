// The ONNX protobuf schema at run time: protobufjs reflection over the descriptor that
// scripts/generate.js derives from onnx.proto.
import * as protobuf from 'protobufjs';
import Long from 'long';
import { ONNX_DESCRIPTOR } from './generated/descriptor';

// int64 fields must decode to Long and bytes to Buffer views: a bundler hides protobufjs' own
// lookup of both modules, and without Long values beyond 2^53 (INT64_MAX in Slice ends) would
// be rounded.
protobuf.util.Long = Long;
protobuf.util.Buffer = Buffer;
protobuf.configure();

export const onnxRoot: protobuf.Root = protobuf.Root.fromJSON(ONNX_DESCRIPTOR);
onnxRoot.resolveAll();

// protobufjs puts each optional field's default on the message prototype, which makes an absent
// field indistinguishable from a present one (dim_value 0 and dim_param both "set"). ONNX gives
// meaning to presence, so absent fields must read as undefined; repeated fields keep [].
(function stripOptionalDefaults(ns: protobuf.NamespaceBase): void {
  for (const nested of ns.nestedArray) {
    if (nested instanceof protobuf.Type) {
      for (const f of nested.fieldsArray) if (!f.repeated && !f.map) delete (nested.ctor.prototype as Record<string, unknown>)[f.name];
    }
    if (nested instanceof protobuf.Namespace) stripOptionalDefaults(nested);
  }
})(onnxRoot);

export function messageType(name: string): protobuf.Type {
  return onnxRoot.lookupType(`onnx.${name}`);
}

/** An enum of the schema as an object of its values, e.g. `AttributeProto.AttributeType`. */
export function schemaEnum<E>(name: string): E {
  return onnxRoot.lookupEnum(`onnx.${name}`).values as unknown as E;
}

/** The newest IR version this schema describes (its `Version.IR_VERSION`). */
export const MAX_IR_VERSION: number = onnxRoot.lookupEnum('onnx.Version').values.IR_VERSION;
