// Writes a float model past the 2 GB protobuf limit for the big-model benchmark: a stack of
// square MatMul + Add (+ Relu) layers whose weights live in an external data file beside the
// .onnx file, as writeModel lays them out (offsets aligned to 4096 bytes). One weight is generated
// and written at a time, so the generator itself never holds more than one tensor.
import * as fs from 'fs';
import * as path from 'path';
import { createMessage, encodeMessage } from '../src/core/onnx/codec';
import { DataType } from '../src/core/onnx/dataTypes';
import { DATA_LOCATION_EXTERNAL, type GraphProto, type ModelProto, type NodeProto, type TensorProto, type ValueInfoProto } from '../src/core/onnx/types';
import { seededRandom } from '../src/core/random';

export interface BigModel {
  file: string;
  dataFile: string;
  /** Bytes of float32 weights (the data file, less its alignment padding). */
  weightBytes: number;
  layers: number;
  width: number;
  /** The largest tensor, in bytes (every weight matrix has this size). */
  largestTensorBytes: number;
  /** Name of the first MatMul node (for keep-in-float). */
  firstMatMul: string;
}

function valueInfo(name: string, shape: Array<number | string>): ValueInfoProto {
  const dim = shape.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d }));
  return createMessage<ValueInfoProto>('ValueInfoProto', { name, type: { tensor_type: { elem_type: DataType.FLOAT, shape: { dim } } } });
}

/** About `targetBytes` of float32 weights in `layers` [width, width] matrices, in `dir`. */
export function generateBigModel(dir: string, targetBytes: number, width = 4096, seed = 20251203): BigModel {
  const file = path.join(dir, 'big.onnx');
  const location = 'big.onnx.data';
  const dataFile = path.join(dir, location);
  const matrixBytes = width * width * 4;
  const layers = Math.max(1, Math.round(targetBytes / matrixBytes));
  const nodes: NodeProto[] = [];
  const initializers: TensorProto[] = [];
  const fd = fs.openSync(dataFile, 'w');
  let end = 0;
  let weightBytes = 0;
  const rnd = seededRandom(seed);
  const put = (name: string, dims: number[], scale: number) => {
    const values = new Float32Array(dims.reduce((a, b) => a * b, 1));
    for (let i = 0; i < values.length; i++) values[i] = (rnd() * 2 - 1) * scale;
    const bytes = new Uint8Array(values.buffer);
    const offset = Math.ceil(end / 4096) * 4096;
    let done = 0;
    while (done < bytes.length) done += fs.writeSync(fd, bytes, done, bytes.length - done, offset + done);
    end = offset + bytes.length;
    weightBytes += bytes.length;
    initializers.push(
      createMessage<TensorProto>('TensorProto', {
        name,
        dims,
        data_type: DataType.FLOAT,
        data_location: DATA_LOCATION_EXTERNAL,
        external_data: [
          { key: 'location', value: location },
          { key: 'offset', value: String(offset) },
          { key: 'length', value: String(bytes.length) },
        ],
      }),
    );
  };
  try {
    let h = 'x';
    for (let i = 0; i < layers; i++) {
      const last = i === layers - 1;
      put(`layers.${i}.weight`, [width, width], 1 / Math.sqrt(width));
      put(`layers.${i}.bias`, [width], 0.01);
      nodes.push(createMessage<NodeProto>('NodeProto', { op_type: 'MatMul', input: [h, `layers.${i}.weight`], output: [`mm${i}`], name: `MatMul_${i}` }));
      nodes.push(
        createMessage<NodeProto>('NodeProto', { op_type: 'Add', input: [`mm${i}`, `layers.${i}.bias`], output: [last ? 'y' : `add${i}`], name: `Add_${i}` }),
      );
      if (!last) nodes.push(createMessage<NodeProto>('NodeProto', { op_type: 'Relu', input: [`add${i}`], output: [`h${i}`], name: `Relu_${i}` }));
      h = `h${i}`;
    }
  } finally {
    fs.closeSync(fd);
  }
  const model = createMessage<ModelProto>('ModelProto', {
    ir_version: 8,
    opset_import: [{ domain: '', version: 17 }],
    producer_name: 'onnx-compress-bench',
    graph: createMessage<GraphProto>('GraphProto', {
      name: 'bench_big_stack',
      node: nodes,
      initializer: initializers,
      input: [valueInfo('x', ['batch', width])],
      output: [valueInfo('y', ['batch', width])],
    }),
  });
  fs.writeFileSync(file, encodeMessage('ModelProto', model));
  return { file, dataFile, weightBytes, layers, width, largestTensorBytes: matrixBytes, firstMatMul: 'MatMul_0' };
}
