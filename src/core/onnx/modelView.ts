// The data the model view and the inspector show, computed once per loaded model and kept:
// overview, node rows, tensor rows, and a lookup of nodes and tensors by name.
import type { ModelOverview, NodeRow, NodesResult, TensorRow } from '../../shared/modelViewProtocol';
import type { NodeSummary, TensorStatsReport } from '../../shared/summary';
import { dataTypeName } from './dataTypes';
import { nodeList } from './inspect';
import type { OnnxModel } from './model';
import { quantizationInfo, type QuantizationInfo } from './quantInfo';
import { summarizeModel, tensorStatistics } from './summary';
import { tensorByteSize, tensorDims } from './tensor';
import { allTensors, nodeLabel } from './walk';

export class ModelView {
  private quant?: QuantizationInfo;
  private overviewCache?: ModelOverview;
  /** Node rows without a probe, and with the last probe's input sizes ('' key: none probed). */
  private readonly nodeCache = new Map<string, Promise<NodesResult>>();
  private tensorCache?: TensorRow[];

  constructor(
    readonly model: OnnxModel,
    private readonly histogramBins = 64,
    /** Told onnxruntime's own words when a probe run fails (the rows carry one sentence instead). */
    private readonly probeFailed: (detail: string) => void = () => undefined,
  ) {}

  private quantization(): QuantizationInfo {
    return (this.quant ??= quantizationInfo(this.model, nodeLabel));
  }

  overview(): ModelOverview {
    if (!this.overviewCache) {
      const q = this.quantization();
      this.overviewCache = { summary: summarizeModel(this.model), quantized: q.params, integerNodes: q.integerNodes.size };
    }
    return this.overviewCache;
  }

  /**
   * Node rows; with `probe`, shapes not declared are learnt from one run, with `inputShapes`
   * for the inputs they name and guessed sizes for the others.
   */
  nodes(probe: boolean, inputShapes?: Record<string, number[]>): Promise<NodesResult> {
    const key = probe ? `probe ${JSON.stringify(inputShapes ?? {})}` : '';
    let result = this.nodeCache.get(key);
    if (!result) {
      // Only the latest probe's rows are kept: other sizes are asked for when the user changes them.
      for (const k of this.nodeCache.keys()) if (k) this.nodeCache.delete(k);
      result = nodeList(this.model, { probe, inputShapes }).then((list) => {
        if (list.probeFailure) this.probeFailed(list.probeNote ?? list.probeFailure.sentence);
        return {
          rows: list.nodes.map((n, id) => this.row(n, id)),
          shapeSource: list.shapeSource,
          // A failure is told in one sentence; onnxruntime's words go to probeFailed.
          probeNote: list.probeFailure ? undefined : list.probeNote,
          probeError: list.probeFailure,
        };
      });
      this.nodeCache.set(key, result);
      result.catch(() => this.nodeCache.delete(key));
    }
    return result;
  }

  private row(n: NodeSummary, id: number): NodeRow {
    const name = n.name || `${n.opType}_${n.index}`;
    return {
      id,
      graph: n.graph,
      name,
      op: n.opType,
      domain: n.domain,
      inputs: n.inputs,
      outputs: n.outputs.map((o) => ({ name: o.name, type: o.elemType, shape: o.shape })),
      attributes: n.attributes,
      parameters: n.parameters,
      integer: this.quantization().integerNodes.get(name) ?? null,
    };
  }

  tensors(): TensorRow[] {
    if (!this.tensorCache) {
      const quant = new Map(this.quantization().params.map((p) => [p.tensor, p]));
      this.tensorCache = [];
      for (const v of allTensors(this.model.proto)) {
        const shape = tensorDims(v.tensor);
        this.tensorCache.push({
          name: v.name,
          role: v.role,
          graph: v.graphPath,
          type: dataTypeName(v.tensor.data_type),
          shape,
          bytes: tensorByteSize(v.tensor),
          quant: quant.get(v.name) ?? null,
        });
      }
    }
    return this.tensorCache;
  }

  tensorStats(name: string): TensorStatsReport {
    return tensorStatistics(this.model, name, this.histogramBins);
  }
}
