"""An ONNX trainable graph (graph.json + weights/*.npy, docs/distill-formats.md section 2) run as a
torch.nn.Module: float initializers become nn.Parameters, everything else buffers, and the nodes
execute as torch ops (ops.py), so autograd trains the same weights the ONNX file holds."""
import difflib
import json
import os
import re

import numpy as np
import torch
from torch import nn

from .events import TrainerError, read_versioned_json
from .ops import CHECKS, OPS

GRAPH_FORMAT = "onnx-compress/trainable-graph"
STANDARD_DOMAINS = ("", "ai.onnx")

# Inputs that hold settings rather than learnable values (running statistics, shapes, bounds,
# exponents): float initializers feeding them stay fixed buffers.
FIXED_INPUTS = {
    "Pow": {1},
    "BatchNormalization": {3, 4}, "Clip": {1, 2}, "Dropout": {1, 2}, "Resize": {1, 2, 3}, "Upsample": {1},
    "Pad": {1, 2, 3}, "Range": {0, 1, 2}, "Expand": {1}, "Tile": {1}, "Slice": {1, 2, 3, 4}, "Split": {1},
    "Reshape": {1}, "ConstantOfShape": {0}, "Unsqueeze": {1}, "Squeeze": {1}, "CumSum": {1},
}


class Node:
    __slots__ = ("name", "op", "domain", "inputs", "outputs", "attrs")

    def __init__(self, spec, index):
        self.name = spec.get("name") or f"{spec['opType']}_{index}"
        self.op = spec["opType"]
        self.domain = spec.get("domain", "") or ""
        self.inputs = list(spec.get("inputs", []))
        self.outputs = list(spec.get("outputs", []))
        self.attrs = dict(spec.get("attributes", {}))


class AttrTensor:
    """A tensor-valued attribute, resolved to a module buffer at run time (so it follows .to(device))."""
    __slots__ = ("key",)

    def __init__(self, key):
        self.key = key


class OpContext:
    def __init__(self, module):
        self.opset = module.opset
        self.training = module.training
        self.device = next(iter(module._buffers_and_params()), torch.zeros(0)).device
        self._module = module

    def tensor(self, value):
        return getattr(self._module, value.key) if isinstance(value, AttrTensor) else torch.as_tensor(value)


class NodeError(Exception):
    def __init__(self, node, cause):
        super().__init__(f"node '{node.name}' ({node.op}) failed: {cause}")
        self.node = node


def _key(name, index):
    return f"i{index}_" + re.sub(r"[^0-9A-Za-z_]", "_", name)[:60]


def load_array(base, file, what):
    path = os.path.join(base, file)
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise TrainerError(f"cannot read {what} from {path}: {err}", where=path,
                           hint="export the trainable graph again (the engine rewrites graph.json and weights/)")


def read_graph(path):
    """graph.json -> its dict, with the format checked."""
    graph = read_versioned_json(path, GRAPH_FORMAT, "the trainable graph")
    graph["_base"] = os.path.dirname(os.path.abspath(path))
    return graph


def default_opset(graph):
    """The default domain's opset from graph.json. Never guessed: ops changed meaning between
    opsets (Softmax's axis, Split's sizes), so a wrong guess would train a different function."""
    opsets = graph.get("opsets") or {}
    version = next((opsets[d] for d in STANDARD_DOMAINS if opsets.get(d) is not None), None)
    if version is None:
        where = os.path.join(graph["_base"], "graph.json") if "_base" in graph else "graph.json"
        raise TrainerError(f"{where} records no opset for the default ONNX domain (opsets: {json.dumps(opsets)}), "
                           "so the trainer cannot tell which version of its operators the nodes follow", where=where,
                           hint="export the trainable graph again with this version of ONNX Compress, which records the model's opset")
    return int(version)


class GraphModule(nn.Module):
    def __init__(self, graph):
        super().__init__()
        if isinstance(graph, str):
            graph = read_graph(graph)
        base = graph.get("_base", ".")
        self.opset = default_opset(graph)
        self.input_names = [i["name"] for i in graph.get("inputs", [])]
        self.output_names = [o["name"] for o in graph.get("outputs", [])]
        self.nodes = [Node(n, i) for i, n in enumerate(graph.get("nodes", []))]
        fixed = self._fixed_initializers()
        self.params = nn.ParameterDict()
        self._keys = {}  # initializer name -> attribute key (a parameter in self.params or a buffer)
        for i, init in enumerate(graph.get("initializers", [])):
            array = load_array(base, init["file"], f"initializer '{init['name']}'")
            tensor = torch.from_numpy(np.array(array))
            key = _key(init["name"], i)
            # 0-d floats are the exporter's constants (epsilons, 1/sqrt(d), GELU's sqrt(2)): never learned.
            trainable = (init.get("trainable", True) and tensor.is_floating_point() and tensor.dim() > 0
                         and init["name"] not in fixed)
            if trainable:
                self.params[key] = nn.Parameter(tensor)
            else:
                self.register_buffer(key, tensor)
            self._keys[init["name"]] = key
        for n, node in enumerate(self.nodes):
            for name, value in node.attrs.items():
                if isinstance(value, dict) and "file" in value:
                    key = f"attr{n}_{re.sub(r'[^0-9A-Za-z_]', '_', name)}"
                    self.register_buffer(key, torch.from_numpy(np.array(load_array(base, value["file"], f"attribute {name} of node '{node.name}'"))))
                    node.attrs[name] = AttrTensor(key)
        self._producers = {o: i for i, node in enumerate(self.nodes) for o in node.outputs if o}
        self._plans = {}

    def _fixed_initializers(self):
        fixed = set()
        for node in self.nodes:
            for index in FIXED_INPUTS.get(node.op, ()):
                if index < len(node.inputs) and node.inputs[index]:
                    fixed.add(node.inputs[index])
        return fixed

    def _buffers_and_params(self):
        yield from self.parameters()
        yield from self.buffers()

    # --- introspection ---

    def tensor_names(self):
        return self.input_names + list(self._keys) + [o for node in self.nodes for o in node.outputs if o]

    def parameter_names(self):
        """ONNX names of the trainable initializers."""
        return [name for name, key in self._keys.items() if key in self.params]

    def initializer(self, name):
        key = self._keys[name]
        return self.params[key] if key in self.params else getattr(self, key)

    def unsupported(self):
        """Nodes this module cannot run, with the reason: listed before any training starts."""
        known = set(self.input_names) | set(self._keys)
        ctx = OpContext(self)
        found = []
        for node in self.nodes:
            reason = None
            if node.domain not in STANDARD_DOMAINS:
                reason = f"operator domain '{node.domain}' is not supported (only the standard ONNX domain is)"
            elif node.op not in OPS:
                reason = f"no torch implementation of ONNX op {node.op}"
            elif any(isinstance(v, dict) and "graph" in v for v in node.attrs.values()) or node.op in ("If", "Loop", "Scan"):
                reason = "subgraph attributes (If/Loop/Scan) are not supported"
            else:
                missing = [i for i in node.inputs if i and i not in known]
                if missing:
                    reason = f"input(s) {', '.join(missing)} are produced by no earlier node, input or initializer"
                elif node.op in CHECKS:
                    reason = CHECKS[node.op](node, ctx)
            if reason:
                found.append({"node": node.name, "opType": node.op, "reason": reason})
            known.update(o for o in node.outputs if o)
        return found

    # --- running ---

    def _plan(self, wanted):
        """Indices of the nodes needed for `wanted`, in graph order (graph.json is topologically sorted)."""
        key = tuple(wanted)
        if key not in self._plans:
            needed, stack = set(), list(wanted)
            while stack:
                name = stack.pop()
                index = self._producers.get(name)
                if index is None or index in needed:
                    continue
                needed.add(index)
                stack.extend(i for i in self.nodes[index].inputs if i)
            self._plans[key] = sorted(needed)
        return self._plans[key]

    def check_names(self, names, what="tensor"):
        known = set(self.tensor_names())
        unknown = [n for n in names if n not in known]
        if unknown:
            parts = []
            for n in unknown:
                close = difflib.get_close_matches(n, known, n=3)
                parts.append(f"'{n}'" + (f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""))
            raise TrainerError(f"unknown {what}(s) in the graph: {', '.join(parts)}",
                               hint="pick tensor names listed by the engine for this model")

    def forward(self, feeds, outputs=None):
        """feeds: a tensor (single-input graphs), a sequence or a dict by input name.
        Returns {name: tensor} for `outputs` (default: the graph outputs)."""
        if torch.is_tensor(feeds):
            feeds = [feeds]
        if not isinstance(feeds, dict):
            feeds = dict(zip(self.input_names, feeds))
        # an input that is also an initializer (older exporters list both) defaults to the initializer
        missing = [n for n in self.input_names if n not in feeds and n not in self._keys and self._producers.get(n) is None]
        if missing:
            raise TrainerError(f"no value for graph input(s) {', '.join(missing)}")
        wanted = list(outputs) if outputs else self.output_names
        env = {}
        for name, key in self._keys.items():
            env[name] = self.params[key] if key in self.params else getattr(self, key)
        env.update(feeds)
        ctx = OpContext(self)
        for index in self._plan(wanted):
            node = self.nodes[index]
            ins = [env[i] if i else None for i in node.inputs]
            try:
                result = OPS[node.op](node, ins, ctx)
            except TrainerError:
                raise
            except Exception as err:  # an op failing on these values: say which node
                raise NodeError(node, err) from err
            if not isinstance(result, tuple):
                result = (result,)
            for name, value in zip(node.outputs, result):
                if name:
                    env[name] = value
        missing = [w for w in wanted if w not in env]
        if missing:
            self.check_names(missing)
        return {w: env[w] for w in wanted}
