#!/usr/bin/python3
"""An independent ONNX model summary, to check ours against (test/engine/realModels.test.ts).

    /usr/bin/python3 test/tools/independent_summary.py MODEL.onnx [MODEL2.onnx ...]

Reads each model with the official python `onnx` package (Debian: python3-onnx), without
loading external data and without onnx.checker (which rejects IR versions newer than it knows),
and prints JSON with the field names and meanings of our ModelSummary
(src/shared/summary.ts). Everything here is computed by its own traversal of the protobuf; no
code of the TypeScript engine is used. One model: one JSON object; several: a JSON object keyed
by the paths given, with {"error": ...} for a model that could not be read.

Definitions, as ModelSummary documents them:
  inputs      graph inputs that are not also initializers of the main graph.
  nodes       total: main graph + every subgraph (graph attributes of If/Loop/Scan/..., at any
              depth); function bodies (and the subgraphs inside them) are counted apart, in
              `functions`; training graphs (TrainingInfoProto) are not subgraphs of the main
              graph and are not counted. byOpType counts every node of main graph and subgraphs.
  parameters  every tensor stored in the model: initializers, sparse initializers (their values
              and indices tensors), Constant node values (role 'constant'; domain '' or its alias
              'ai.onnx') and tensor attributes
              of other nodes (role 'attribute'), in the main graph, every subgraph, every function
              body and the training graphs. elements = product of dims; bytes = elements x bit
              width / 8 rounded up (4-bit types pack two per byte), strings = sum of their byte
              lengths, external tensors: their 'length' entry when present.
"""
import json
import math
import os
import sys

try:
    import onnx
    from onnx import AttributeProto, TensorProto
except ImportError as e:  # pragma: no cover
    sys.stderr.write('the python onnx package is missing (%s): install python3-onnx (apt-get install python3-onnx)\n' % e)
    sys.exit(3)

# Element type code -> (name, bits). Names as src/core/onnx/dataTypes.ts spells them (the numpy
# style that onnxruntime uses). Codes 17..24 are newer than onnx 1.12, hence written out here.
DATA_TYPES = {
    1: ('float32', 32), 2: ('uint8', 8), 3: ('int8', 8), 4: ('uint16', 16), 5: ('int16', 16),
    6: ('int32', 32), 7: ('int64', 64), 8: ('string', 0), 9: ('bool', 8), 10: ('float16', 16),
    11: ('float64', 64), 12: ('uint32', 32), 13: ('uint64', 64), 14: ('complex64', 64),
    15: ('complex128', 128), 16: ('bfloat16', 16), 17: ('float8e4m3fn', 8), 18: ('float8e4m3fnuz', 8),
    19: ('float8e5m2', 8), 20: ('float8e5m2fnuz', 8), 21: ('uint4', 4), 22: ('int4', 4),
    23: ('float4e2m1', 4), 24: ('float8e8m0', 8),
}
STRING = 8
EXTERNAL = 1  # TensorProto.DataLocation.EXTERNAL


def type_name(code, present=True):
    if not present:
        return 'unknown(unset)'
    info = DATA_TYPES.get(code)
    return info[0] if info else 'unknown(%d)' % code


def dims_of(shape_proto):
    out = []
    for d in shape_proto.dim:
        which = d.WhichOneof('value')
        if which == 'dim_value':
            out.append(d.dim_value)
        elif which == 'dim_param':
            out.append(d.dim_param)
        else:
            out.append(None)
    return out


def describe(tp, present=True):
    """(kind, elemType, shape) of a TypeProto."""
    if not present:
        return ('unknown', 'unknown', None)
    which = tp.WhichOneof('value')
    if which == 'tensor_type' or which == 'sparse_tensor_type':
        t = getattr(tp, which)
        kind = 'tensor' if which == 'tensor_type' else 'sparse_tensor'
        shape = dims_of(t.shape) if t.HasField('shape') else None
        return (kind, type_name(t.elem_type, t.HasField('elem_type')), shape)
    if which == 'sequence_type':
        inner = tp.sequence_type
        return ('sequence', 'sequence<%s>' % describe(inner.elem_type, inner.HasField('elem_type'))[1], None)
    if which == 'optional_type':
        inner = tp.optional_type
        return ('optional', 'optional<%s>' % describe(inner.elem_type, inner.HasField('elem_type'))[1], None)
    if which == 'map_type':
        m = tp.map_type
        key = type_name(m.key_type, m.HasField('key_type'))
        value = describe(m.value_type, m.HasField('value_type'))[1]
        return ('map', 'map<%s, %s>' % (key, value), None)
    if which == 'opaque_type':
        o = tp.opaque_type
        return ('opaque', 'opaque<%s.%s>' % (o.domain, o.name), None)
    return ('unknown', 'unknown', None)


def value_summary(v):
    kind, elem, shape = describe(v.type, v.HasField('type'))
    return {'name': v.name, 'kind': kind, 'elemType': elem, 'shape': shape}


def subgraphs_of_node(node):
    for a in node.attribute:
        if a.HasField('g'):
            yield a.g
        for g in a.graphs:
            yield g


def graph_and_subgraphs(graph):
    """The graph and every graph nested in its nodes, at any depth."""
    stack = [graph]
    while stack:
        g = stack.pop()
        yield g
        for n in g.node:
            stack.extend(subgraphs_of_node(n))


def every_graph(model):
    """Main graph with subgraphs, subgraphs inside function bodies, training graphs."""
    if model.HasField('graph'):
        yield from graph_and_subgraphs(model.graph)
    for f in model.functions:
        for n in f.node:
            for g in subgraphs_of_node(n):
                yield from graph_and_subgraphs(g)
    for ti in model.training_info:
        if ti.HasField('initialization'):
            yield from graph_and_subgraphs(ti.initialization)
        if ti.HasField('algorithm'):
            yield from graph_and_subgraphs(ti.algorithm)


def tensor_size(t):
    elements = 1
    for d in t.dims:
        elements *= d
    external = t.HasField('data_location') and t.data_location == EXTERNAL
    length = None
    if external:
        for e in t.external_data:
            if e.key == 'length' and e.value != '':
                length = int(e.value)  # the last entry wins, as a map built from the list would
    if length is not None:
        nbytes = length
    elif t.data_type == STRING:
        nbytes = sum(len(s) for s in t.string_data)
    elif t.data_type in DATA_TYPES:
        nbytes = (elements * DATA_TYPES[t.data_type][1] + 7) // 8
    else:
        # an element type this reader does not know: what is stored is all that can be counted
        nbytes = len(t.raw_data)
    return elements, nbytes, external


def stored_tensors(model):
    """(role, TensorProto) for every tensor stored in the model."""
    def in_nodes(nodes):
        for n in nodes:
            # 'ai.onnx' is the default domain's other name: a Constant there is a Constant.
            constant = n.op_type == 'Constant' and n.domain in ('', 'ai.onnx')
            role = 'constant' if constant else 'attribute'
            for a in n.attribute:
                if a.HasField('t'):
                    yield role, a.t
                for t in a.tensors:
                    yield 'attribute', t
                sparse = ([a.sparse_tensor] if a.HasField('sparse_tensor') else []) + list(a.sparse_tensors)
                for s in sparse:
                    if s.HasField('values'):
                        yield role, s.values
                    if s.HasField('indices'):
                        yield role, s.indices

    for g in every_graph(model):
        for t in g.initializer:
            yield 'initializer', t
        for s in g.sparse_initializer:
            if s.HasField('values'):
                yield 'sparse-initializer', s.values
            if s.HasField('indices'):
                yield 'sparse-initializer', s.indices
        yield from in_nodes(g.node)
    for f in model.functions:
        yield from in_nodes(f.node)


def add(table, key, elements, nbytes):
    e = table.setdefault(key, {'tensors': 0, 'elements': 0, 'bytes': 0})
    e['tensors'] += 1
    e['elements'] += elements
    e['bytes'] += nbytes


def summarize(path):
    model = onnx.load(path, load_external_data=False)
    graph = model.graph

    # Nodes: main graph and its subgraphs; functions apart.
    main_nodes = len(graph.node)
    total = 0
    ops = {}
    for g in graph_and_subgraphs(graph):
        total += len(g.node)
        for n in g.node:
            key = (n.domain, n.op_type)
            ops[key] = ops.get(key, 0) + 1
    # Training graphs (model.training_info) are not subgraphs of the main graph: left out.

    by_type = {}
    by_role = {}
    tensors = elements = nbytes = 0
    ext_tensors = ext_bytes = 0
    ext_files = []
    for role, t in stored_tensors(model):
        el, b, external = tensor_size(t)
        tensors += 1
        elements += el
        nbytes += b
        add(by_type, type_name(t.data_type, t.HasField('data_type')), el, b)
        add(by_role, role, el, b)
        if external:
            ext_tensors += 1
            ext_bytes += b
            loc = [e.value for e in t.external_data if e.key == 'location']
            if loc and loc[-1] not in ext_files:
                ext_files.append(loc[-1])

    initializer_names = {t.name for t in graph.initializer}
    metadata = {}
    for e in model.metadata_props:
        metadata[e.key] = e.value
    return {
        'irVersion': model.ir_version,
        'opsets': [{'domain': o.domain, 'version': o.version} for o in model.opset_import],
        'producer': {'name': model.producer_name, 'version': model.producer_version},
        'domain': model.domain,
        'modelVersion': model.model_version,
        'docString': model.doc_string,
        'metadata': metadata,
        'graphName': graph.name,
        'inputs': [value_summary(v) for v in graph.input if v.name not in initializer_names],
        'outputs': [value_summary(v) for v in graph.output],
        'nodes': {
            'total': total,
            'mainGraph': main_nodes,
            'subgraphs': total - main_nodes,
            'byOpType': [{'domain': d, 'opType': o, 'count': c} for (d, o), c in sorted(ops.items())],
            'functions': [{'domain': f.domain, 'name': f.name, 'nodes': len(f.node)} for f in model.functions],
        },
        'parameters': {
            'tensors': tensors,
            'elements': elements,
            'bytes': nbytes,
            'byDataType': [dict(dataType=k, **v) for k, v in sorted(by_type.items())],
            'byRole': [dict(role=k, **v) for k, v in sorted(by_role.items())],
            'external': {'tensors': ext_tensors, 'bytes': ext_bytes, 'files': ext_files},
        },
        'fileBytes': os.path.getsize(path),
    }


def main(argv):
    if len(argv) < 2:
        sys.stderr.write('usage: independent_summary.py MODEL.onnx [MODEL2.onnx ...]\n')
        return 2
    if len(argv) == 2:
        out = summarize(argv[1])
    else:
        # Several models: one failure does not hide the others' results.
        out = {}
        for p in argv[1:]:
            try:
                out[p] = summarize(p)
            except Exception as e:  # noqa: BLE001 - reported per model
                out[p] = {'error': '%s: %s' % (type(e).__name__, e)}
    json.dump(out, sys.stdout, indent=1, sort_keys=False)
    sys.stdout.write('\n')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
