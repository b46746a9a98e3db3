// Execution providers: the one asked for when this machine can run it, else the CPU with a clear
// message. Availability is tested by opening a one-node session with it, since a provider listed
// by onnxruntime-node may still lack its libraries (CUDA) or a device (WebGPU).
import { createMessage, encodeMessage } from '../onnx/codec';
import { DataType } from '../onnx/dataTypes';
import type { ModelProto } from '../onnx/types';
import { errorMessage } from '../errors';
import { ort } from './session';

export interface ProviderChoice {
  provider: string;
  /** Why the provider differs from the one asked for. */
  note?: string;
}

function identityModel(): Uint8Array {
  const io = (name: string) => ({ name, type: { tensor_type: { elem_type: DataType.FLOAT, shape: { dim: [{ dim_value: 1 }] } } } });
  return encodeMessage(
    'ModelProto',
    createMessage<ModelProto>('ModelProto', {
      ir_version: 8,
      opset_import: [{ domain: '', version: 13 }],
      graph: {
        name: 'probe',
        node: [{ op_type: 'Identity', input: ['x'], output: ['y'] }],
        input: [io('x')],
        output: [io('y')],
      } as unknown as ModelProto['graph'],
    }),
  );
}

const checked = new Map<string, Promise<ProviderChoice>>();

export function chooseProvider(requested: string): Promise<ProviderChoice> {
  const wanted = requested.toLowerCase();
  if (wanted === 'cpu') return Promise.resolve({ provider: 'cpu' });
  let choice = checked.get(wanted);
  if (!choice) {
    choice = ort.InferenceSession.create(identityModel(), { executionProviders: [wanted], logSeverityLevel: 4 }).then(
      async (s) => {
        await s.release();
        return { provider: wanted };
      },
      (e) => {
        const known = ort.listSupportedBackends().map((b) => b.name);
        const why = known.includes(wanted)
          ? `the '${wanted}' execution provider cannot start here (${errorMessage(e)})`
          : `onnxruntime-node has no '${wanted}' execution provider (it has ${known.join(', ')})`;
        return { provider: 'cpu', note: `${why}; running on the CPU instead` };
      },
    );
    checked.set(wanted, choice);
  }
  return choice;
}
