"""ONNX's own conformance data (Debian's libonnx-testdata: one small model per operator case, with
inputs and expected outputs computed by ONNX's reference): every case whose nodes the trainer
says it can run must reproduce the expected outputs. Cases it refuses are counted, not run."""
import collections
import glob
import os
import unittest

import numpy as np
import torch

from onnx_compress_trainer.graph_module import GraphModule

from .support import graph_from_onnx, tmpdir

ROOT = "/usr/share/libonnx-testdata/data"
# Outputs drawn at random (dropout in training mode): no fixed expectation to compare with.
RANDOM = ("node/test_training_dropout",)
# Element types torch has no tensor for: such cases cannot even be fed.
UNFEEDABLE = {np.dtype(t) for t in ("uint16", "uint32", "uint64", "object")}


def tensors(folder, prefix):
    import onnx
    from onnx import numpy_helper
    files = sorted(glob.glob(os.path.join(folder, f"{prefix}_*.pb")), key=lambda p: int(p.rsplit("_", 1)[1][:-3]))
    out = []
    for f in files:
        t = onnx.TensorProto()
        with open(f, "rb") as fh:
            t.ParseFromString(fh.read())
        out.append(numpy_helper.to_array(t))
    return out


class OnnxConformance(unittest.TestCase):
    def test_supported_cases_match_onnx_reference_outputs(self):
        if not os.path.isdir(ROOT):
            self.fail(f"{ROOT} is missing: install Debian's libonnx-testdata (as .ci/run does)")
        work = tmpdir(self)
        counts, failures, refused = collections.Counter(), [], collections.Counter()
        for case in sorted(glob.glob(os.path.join(ROOT, "*", "test_*"))):
            name = os.path.relpath(case, ROOT)
            try:
                model = GraphModule(graph_from_onnx(os.path.join(case, "model.onnx"), os.path.join(work, name.replace("/", "_")))).eval()
                inputs = tensors(os.path.join(case, "test_data_set_0"), "input")
                expected = tensors(os.path.join(case, "test_data_set_0"), "output")
            except Exception:  # sequences, optionals, sparse tensors: not tensors the trainable graph can hold
                counts["not a tensor graph"] += 1
                continue
            unsupported = model.unsupported()
            if unsupported:
                refused[unsupported[0]["opType"]] += 1
                counts["refused"] += 1
                continue
            if name.startswith(RANDOM) or any(a.dtype in UNFEEDABLE for a in inputs + expected):
                counts["random or unfeedable"] += 1
                continue
            try:
                with torch.no_grad():
                    got = model({n: torch.from_numpy(np.array(a)) for n, a in zip(model.input_names, inputs)})
                for (out_name, value), want in zip(got.items(), expected):
                    value = value.detach().numpy()  # a Constant output is a (trainable) parameter itself
                    self.assertEqual(value.shape, want.shape, out_name)
                    if want.dtype.kind in "fc":
                        np.testing.assert_allclose(value.astype(np.float64), want.astype(np.float64), rtol=1e-3, atol=1e-5)
                    else:
                        np.testing.assert_array_equal(value, want)
                counts["matched"] += 1
            except Exception as err:
                failures.append(f"{name}: {type(err).__name__}: {str(err).splitlines()[0][:200] if str(err) else ''}")
        print(f"\nONNX conformance cases: {dict(counts)}; refused by op: {dict(refused.most_common(12))}")
        self.assertEqual(failures, [])
        self.assertGreater(counts["matched"], 750)  # the whole data set was really run
