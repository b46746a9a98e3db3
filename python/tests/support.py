"""Helpers shared by the trainer's tests: trainable graphs (docs/distill-formats.md section 2), always
exported from ONNX by the engine itself, teacher caches (section 1) written the way the engine
does, and the trainer's command line."""
import gzip
import json
import os
import sys
import tempfile

import numpy as np

PYTHON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(PYTHON_DIR)
FIXTURES = os.path.join(REPO, "test", "fixtures", "models")
FASHION_DIR = "/usr/share/datasets/fashion-mnist"


def tmpdir(test):
    d = tempfile.TemporaryDirectory(prefix="onnx-trainer-")
    test.addCleanup(d.cleanup)
    return d.name


class GraphWriter:
    """Describes a graph node by node; write() saves it as ONNX and has the engine export it."""

    def __init__(self, opset=13):
        self.opset = opset
        self.inputs, self.outputs, self.initializers, self.nodes = [], [], [], []

    def input(self, name, shape, dtype="float32"):
        self.inputs.append({"name": name, "shape": shape, "dtype": dtype})
        return name

    def output(self, name, shape=None, dtype="float32"):
        self.outputs.append({"name": name, "shape": shape, "dtype": dtype})
        return name

    def init(self, name, array):
        self.initializers.append((name, np.asarray(array)))
        return name

    def node(self, op, inputs, outputs, name=None, **attrs):
        outputs = [outputs] if isinstance(outputs, str) else outputs
        self.nodes.append({"name": name or f"/{op}_{len(self.nodes)}", "opType": op, "domain": "",
                           "inputs": inputs, "outputs": outputs, "attributes": attrs})
        return outputs[0]

    def model(self):
        from onnx import helper, mapping, numpy_helper

        def value(v):
            elem = mapping.NP_TYPE_TO_TENSOR_TYPE[np.dtype(v["dtype"])]
            return helper.make_tensor_value_info(v["name"], elem, v["shape"])  # None dims: symbolic

        def attribute(v):
            return numpy_helper.from_array(v) if isinstance(v, np.ndarray) else v

        nodes = [helper.make_node(n["opType"], n["inputs"], n["outputs"], name=n["name"], domain=n["domain"],
                                  **{k: attribute(v) for k, v in n["attributes"].items()}) for n in self.nodes]
        graph = helper.make_graph(nodes, "g", [value(v) for v in self.inputs], [value(v) for v in self.outputs],
                                  [numpy_helper.from_array(a, name) for name, a in self.initializers])
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.opset)])

    def write(self, directory):
        import onnx
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, "model.onnx")
        onnx.save(self.model(), path)
        return graph_from_onnx(path, directory)


# The engine's own exporter (src/core/distill/trainableGraph.ts), compiled by `npm run compile`.
EXPORTER = os.path.join(REPO, "out", "scripts", "export-trainable-graph.js")
_exporter = None


def _stop_exporter(proc):
    proc.stdin.close()  # the exporter ends at the end of its input
    proc.wait(timeout=30)
    proc.stdout.close()


def graph_from_onnx(onnx_path, directory):
    """graph.json and weights/ for ONNX_PATH written into DIRECTORY by the engine's exporter, as a
    distillation run writes them; raises RuntimeError with the engine's message when it refuses."""
    global _exporter
    import atexit
    import subprocess as sp
    if _exporter is None or _exporter.poll() is not None:
        if not os.path.isfile(EXPORTER):
            raise FileNotFoundError(f"{EXPORTER} is missing: run `npm run compile` first")
        _exporter = sp.Popen(["node", EXPORTER], stdin=sp.PIPE, stdout=sp.PIPE, text=True, cwd=REPO)
        atexit.register(_stop_exporter, _exporter)
    _exporter.stdin.write(json.dumps({"model": os.path.abspath(onnx_path), "dir": os.path.abspath(directory)}) + "\n")
    _exporter.stdin.flush()
    reply = json.loads(_exporter.stdout.readline() or '{"error": "the exporter exited"}')
    if "error" in reply:
        raise RuntimeError(reply["error"])
    return reply["graphFile"]


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def fashion_test(count):
    """The first `count` Fashion-MNIST test images as the fixtures take them (pixel / 255) and labels."""
    if not os.path.isdir(FASHION_DIR):
        raise FileNotFoundError(f"{FASHION_DIR} is missing: install Debian's dataset-fashion-mnist (as .ci/run does)")
    images = read_idx(os.path.join(FASHION_DIR, "t10k-images-idx3-ubyte.gz"))[:count]
    labels = read_idx(os.path.join(FASHION_DIR, "t10k-labels-idx1-ubyte.gz"))[:count]
    return (images.astype(np.float32) / 255.0).reshape(count, 1, 28, 28), labels.astype(np.int64)


def write_cache(directory, inputs, labels=None, teacher=None, top_k=None, teacher_dtype="float32"):
    """A teacher cache: inputs {name: array}, labels array or None, teacher {tensor: array};
    `top_k` keeps the k largest of the 'logits' tensor, as the engine's top-k option does."""
    os.makedirs(os.path.join(directory, "inputs"), exist_ok=True)
    os.makedirs(os.path.join(directory, "teacher"), exist_ok=True)
    samples = len(next(iter(inputs.values())))
    manifest = {"format": "onnx-compress/teacher-cache", "version": 1, "samples": samples,
                "inputs": [], "labels": None, "teacher": [], "hashes": {}, "bytes": 0, "created": "test"}
    for name, array in inputs.items():
        np.save(os.path.join(directory, f"inputs/{name}.npy"), array)
        manifest["inputs"].append({"name": name, "file": f"inputs/{name}.npy", "shape": list(array.shape), "dtype": str(array.dtype)})
    if labels is not None:
        np.save(os.path.join(directory, "labels.npy"), labels)
        manifest["labels"] = {"file": "labels.npy", "shape": list(labels.shape), "dtype": str(labels.dtype)}
    for tensor, array in (teacher or {}).items():
        safe = tensor.replace("/", "_")
        if top_k and tensor == "logits":
            idx = np.argsort(-array, axis=1)[:, :top_k]
            np.save(os.path.join(directory, f"teacher/{safe}.values.npy"), np.take_along_axis(array, idx, 1).astype(teacher_dtype))
            np.save(os.path.join(directory, f"teacher/{safe}.indices.npy"), idx.astype(np.int64))
            manifest["teacher"].append({"tensor": tensor, "file": f"teacher/{safe}.values.npy", "indices": f"teacher/{safe}.indices.npy",
                                        "shape": [samples, top_k], "dtype": teacher_dtype, "topK": top_k})
        else:
            np.save(os.path.join(directory, f"teacher/{safe}.npy"), array.astype(teacher_dtype))
            manifest["teacher"].append({"tensor": tensor, "file": f"teacher/{safe}.npy", "shape": list(array.shape),
                                        "dtype": teacher_dtype, "topK": None})
    path = os.path.join(directory, "manifest.json")
    with open(path, "w") as f:
        json.dump(manifest, f)
    return path


def trainer_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = PYTHON_DIR + os.pathsep + env.get("PYTHONPATH", "")
    return env


def run_trainer(*args, timeout=240, subprocess=False):
    """Runs the trainer's command line ARGS; returns (exit code, events, stderr). In this process by
    default (the same main() and stdout protocol, without importing torch again for every run);
    `subprocess=True` starts `python -m onnx_compress_trainer ARGS` as the engine does."""
    if not subprocess:
        return run_in_process(args)
    import subprocess as sp
    proc = sp.run([sys.executable, "-m", "onnx_compress_trainer", *args], capture_output=True, text=True,
                  env=trainer_env(), timeout=timeout)
    return proc.returncode, parse_events(proc.stdout), proc.stderr


def run_in_process(args):
    import contextlib
    import io
    from onnx_compress_trainer.__main__ import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, parse_events(out.getvalue()), err.getvalue()


def parse_events(stdout):
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
