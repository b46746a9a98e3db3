// The data the model view and the inspector show, computed once per loaded model and kept:
// overview, node rows, tensor rows, and a lookup of nodes and tensors by name.
import type { ModelOverview, NodeRow, NodesResult, TensorRow } from '../../shared/protocol';
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
  private readonly nodeCache = new Map<boolean, Promise<NodesResult>>();
  private tensorCache?: TensorRow[];

  constructor(readonly model: OnnxModel, private readonly histogramBins = 64) {}

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

  /** Node rows; with `probe`, shapes not declared are learnt from one run. */
  nodes(probe: boolean): Promise<NodesResult> {
    let result = this.nodeCache.get(probe);
    if (!result) {
      result = nodeList(this.model, { probe }).then((list) => ({
        rows: list.nodes.map((n, id) => this.row(n, id)),
        shapeSource: list.shapeSource,
        probeNote: list.probeNote,
      }));
      this.nodeCache.set(probe, result);
      result.catch(() => this.nodeCache.delete(probe));
    }
    return result;
  }

  private row(n: NodeSummary, id: number): NodeRow {
    const name = n.name || `${n.opType}_${n.index}`;
    return {
      id, graph: n.graph, name, op: n.opType, domain: n.domain, inputs: n.inputs,
      outputs: n.outputs.map((o) => ({ name: o.name, type: o.elemType, shape: o.shape })),
      attributes: n.attributes, parameters: n.parameters,
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
          name: v.name, role: v.role, graph: v.graphPath, type: dataTypeName(v.tensor.data_type), shape,
          bytes: tensorByteSize(v.tensor), quant: quant.get(v.name) ?? null,
        });
      }
    }
    return this.tensorCache;
  }

  tensorStats(name: string): TensorStatsReport {
    return tensorStatistics(this.model, name, this.histogramBins);
  }
}
