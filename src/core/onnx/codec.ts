// Protobuf decoding and encoding of ONNX messages that keeps fields this schema does not know.
//
// protobufjs skips unknown fields on decode. A model written by a newer exporter (or carrying a
// vendor's private field) must come back from a round trip unchanged, so each message type's
// generated decoder is wrapped: when the reader reports a skipped field inside a message, that
// message's span is scanned again and the raw bytes of its unknown fields are kept on it; the
// encoder appends them after the known fields, which is where protobuf writers put them too.
import * as protobuf from 'protobufjs';
import { messageType, onnxRoot } from './schema';

/** Raw bytes (tag and payload) of the fields a message carried that the schema does not name. */
export const UNKNOWN_FIELDS = Symbol('onnx.unknownFields');

type WithUnknown = { [UNKNOWN_FIELDS]?: Uint8Array[] };

/** A reader that remembers whether it skipped a field since the flag was last cleared. */
class TrackingReader extends protobuf.BufferReader {
  skippedUnknown = false;
  override skipType(wireType: number, depth?: number): protobuf.Reader {
    this.skippedUnknown = true;
    return super.skipType(wireType, depth);
  }
}

function unknownFieldsIn(type: protobuf.Type, buf: Uint8Array, start: number, end: number): Uint8Array[] {
  const known = new Set(type.fieldsArray.map((f) => f.id));
  const r = protobuf.Reader.create(buf);
  r.pos = start;
  r.len = end;
  const found: Uint8Array[] = [];
  while (r.pos < end) {
    const tagStart = r.pos;
    const tag = r.uint32();
    r.skipType(tag & 7);
    if (!known.has(tag >>> 3)) found.push(buf.subarray(tagStart, r.pos));
  }
  return found;
}

function writeRaw(val: Uint8Array, buf: Uint8Array, pos: number): void {
  buf.set(val, pos);
}

function allTypes(ns: protobuf.NamespaceBase, out: protobuf.Type[] = []): protobuf.Type[] {
  for (const nested of ns.nestedArray) {
    if (nested instanceof protobuf.Type) out.push(nested);
    if (nested instanceof protobuf.Namespace) allTypes(nested, out);
  }
  return out;
}

let installed = false;

function installUnknownFieldSupport(): void {
  if (installed) return;
  installed = true;
  const types = allTypes(onnxRoot);
  for (const type of types) type.setup();
  for (const type of types) {
    // Nested messages are decoded through `types[i].decode`, i.e. through these properties.
    const decode = type.decode;
    type.decode = function (this: protobuf.Type, r: protobuf.Reader | Uint8Array, l?: number, ...rest: unknown[]) {
      const reader = r as TrackingReader;
      const start = reader.pos;
      const outer = reader.skippedUnknown;
      reader.skippedUnknown = false;
      const m = (decode as (this: protobuf.Type, ...args: unknown[]) => unknown).call(this, reader, l, ...rest) as protobuf.Message & WithUnknown;
      if (reader.skippedUnknown) {
        const found = unknownFieldsIn(this, reader.buf, start, reader.pos);
        if (found.length) m[UNKNOWN_FIELDS] = found;
      }
      reader.skippedUnknown = outer;
      return m;
    } as typeof type.decode;
    const encode = type.encode;
    type.encode = function (this: protobuf.Type, m: protobuf.Message & WithUnknown, w?: protobuf.Writer) {
      const writer = (encode as (this: protobuf.Type, ...args: unknown[]) => unknown).call(this, m, w) as protobuf.Writer;
      // `_push` is the writer's one way to append pre-encoded bytes.
      const push = (writer as unknown as { _push(fn: typeof writeRaw, len: number, val: Uint8Array): void })._push;
      for (const raw of m[UNKNOWN_FIELDS] ?? []) push.call(writer, writeRaw, raw.length, raw);
      return writer;
    } as typeof type.encode;
  }
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Decodes one message; bytes fields are views into `bytes`, not copies. */
export function decodeMessage<T>(typeName: string, bytes: Uint8Array): T {
  installUnknownFieldSupport();
  const reader = new TrackingReader(asBuffer(bytes));
  return messageType(typeName).decode(reader) as unknown as T;
}

export function encodeMessage(typeName: string, message: object): Uint8Array {
  installUnknownFieldSupport();
  return messageType(typeName)
    .encode(message as protobuf.Message)
    .finish();
}

/** A message object with every repeated field present (as a decoded message would have). */
export function createMessage<T>(typeName: string, fields: Partial<T> = {}): T {
  return messageType(typeName).create(fields as Record<string, unknown>) as unknown as T;
}
