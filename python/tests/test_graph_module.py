"""The ONNX-as-module runner: small graphs written here, checked against numpy computations of the
ONNX definitions, and the real fixture models, whose top-1 counts must equal onnxruntime's."""
import json
import os
import unittest

import numpy as np
import torch

from onnx_compress_trainer.events import TrainerError
from onnx_compress_trainer.graph_module import GraphModule, NodeError

from .support import FIXTURES, GraphWriter, fashion_test, graph_from_onnx, tmpdir

RNG = np.random.default_rng(0)


def rand(*shape):
    return RNG.normal(size=shape).astype(np.float32)


def np_conv2d(x, w, b, strides, pads, dilations, groups):
    """Direct ONNX Conv: pads = [top, left, bottom, right]."""
    x = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    n, c, h, wd = x.shape
    m, cg, kh, kw = w.shape
    oh = (h - ((kh - 1) * dilations[0] + 1)) // strides[0] + 1
    ow = (wd - ((kw - 1) * dilations[1] + 1)) // strides[1] + 1
    out = np.zeros((n, m, oh, ow), np.float64)
    per_group = m // groups
    for o in range(m):
        g = o // per_group
        for i in range(oh):
            for j in range(ow):
                patch = x[:, g * cg:(g + 1) * cg, i * strides[0]: i * strides[0] + (kh - 1) * dilations[0] + 1: dilations[0],
                          j * strides[1]: j * strides[1] + (kw - 1) * dilations[1] + 1: dilations[1]]
                out[:, o, i, j] = (patch * w[o]).sum(axis=(1, 2, 3))
    return out + (b.reshape(1, -1, 1, 1) if b is not None else 0)


def np_pool2d(x, kernel, strides, pads, kind, include_pad=False, ceil=False):
    n, c, h, w = x.shape
    out_size = lambda size, k, s, p0, p1: (-(-(size + p0 + p1 - k) // s) if ceil else (size + p0 + p1 - k) // s) + 1
    oh, ow = out_size(h, kernel[0], strides[0], pads[0], pads[2]), out_size(w, kernel[1], strides[1], pads[1], pads[3])
    out = np.zeros((n, c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            r0, c0 = i * strides[0] - pads[0], j * strides[1] - pads[1]
            r1, c1 = r0 + kernel[0], c0 + kernel[1]
            window = x[:, :, max(r0, 0):min(r1, h), max(c0, 0):min(c1, w)]
            if kind == "max":
                out[:, :, i, j] = window.max(axis=(2, 3))
            else:
                area = (min(r1, h + pads[2]) - r0) * (min(c1, w + pads[3]) - c0) if include_pad else window.shape[2] * window.shape[3]
                out[:, :, i, j] = window.sum(axis=(2, 3)) / area
    return out


class Graphs(unittest.TestCase):
    def run_graph(self, writer, feeds, outputs=None, train=False):
        model = GraphModule(writer.write(tmpdir(self)))
        model.train(train)
        self.assertEqual(model.unsupported(), [])
        with torch.no_grad():
            result = model({k: torch.from_numpy(np.asarray(v)) for k, v in feeds.items()}, outputs=outputs)
        return {k: v.numpy() for k, v in result.items()}, model

    def single(self, op, x, inputs=(), opset=13, outputs=1, **attrs):
        """One node over `x` and initializer inputs; returns its first output."""
        w = GraphWriter(opset)
        names = [w.input("x", list(x.shape))] + [w.init(f"in{i}", a) if a is not None else "" for i, a in enumerate(inputs)]
        outs = [f"y{i}" for i in range(outputs)]
        w.node(op, names, outs, **attrs)
        for o in outs:
            w.output(o)
        result, _ = self.run_graph(w, {"x": x})
        return result["y0"] if outputs == 1 else [result[o] for o in outs]

    def close(self, got, expected, tol=1e-4):
        self.assertEqual(tuple(got.shape), tuple(np.shape(expected)))
        np.testing.assert_allclose(got, expected, rtol=tol, atol=tol)

    def test_conv_groups_strides_dilations_asymmetric_pads(self):
        x, wt, b = rand(2, 4, 9, 8), rand(6, 2, 3, 3), rand(6)
        got = self.single("Conv", x, [wt, b], group=2, strides=[2, 1], dilations=[1, 2], pads=[1, 0, 2, 1], kernel_shape=[3, 3])
        self.close(got, np_conv2d(x, wt, b, [2, 1], [1, 0, 2, 1], [1, 2], 2))

    def test_conv_auto_pad(self):
        x, wt = rand(1, 2, 7, 6), rand(3, 2, 4, 3)
        for mode, pads in (("SAME_UPPER", [1, 1, 2, 1]), ("SAME_LOWER", [2, 1, 1, 1]), ("VALID", [0, 0, 0, 0])):
            with self.subTest(mode=mode):
                got = self.single("Conv", x, [wt], auto_pad=mode, strides=[1, 1])
                self.close(got, np_conv2d(x, wt, None, [1, 1], pads, [1, 1], 1))

    def test_conv_transpose(self):
        x, wt, b = rand(1, 4, 3, 3), rand(4, 2, 3, 3), rand(2)
        # ConvTranspose is the adjoint of Conv: scatter each input pixel times the kernel.
        full = np.zeros((1, 2, 2 * 2 + 3, 2 * 2 + 3))
        for i in range(3):
            for j in range(3):
                full[0, :, 2 * i:2 * i + 3, 2 * j:2 * j + 3] += np.einsum("c,cokl->okl", x[0, :, i, j], wt)
        full += b.reshape(1, -1, 1, 1)
        got = self.single("ConvTranspose", x, [wt, b], strides=[2, 2], pads=[1, 0, 0, 1])
        self.close(got, full[:, :, 1:, :-1])
        got = self.single("ConvTranspose", x, [wt, b], strides=[2, 2], output_shape=[6, 6])
        self.close(got, full[:, :, 0:6, 0:6])  # total pad 1 on each axis: SAME_UPPER-like split puts it at the end

    def test_gemm_attributes(self):
        a, bm, c = rand(3, 4), rand(5, 3), rand(5)
        got = self.single("Gemm", a, [bm, c], transA=1, transB=1, alpha=0.5, beta=2.0)
        self.close(got, 0.5 * a.T @ bm.T + 2.0 * c)

    def test_batch_norm_inference_with_stats_as_buffers(self):
        x, scale, bias, mean, var = rand(2, 3, 4, 4), rand(3), rand(3), rand(3), np.abs(rand(3)) + 0.5
        w = GraphWriter(13)
        w.input("x", [2, 3, 4, 4])
        w.node("BatchNormalization", ["x", w.init("s", scale), w.init("b", bias), w.init("m", mean), w.init("v", var)], "y", epsilon=1e-3)
        w.output("y")
        got, model = self.run_graph(w, {"x": x}, train=True)
        r = lambda a: a.reshape(1, -1, 1, 1)
        self.close(got["y"], (x - r(mean)) / np.sqrt(r(var) + 1e-3) * r(scale) + r(bias))
        self.assertEqual(sorted(model.parameter_names()), ["b", "s"])  # running stats are not trained

    def test_softmax_axis_per_opset(self):
        x = rand(2, 3, 4)
        e = lambda z, axis: np.exp(z - z.max(axis=axis, keepdims=True)) / np.exp(z - z.max(axis=axis, keepdims=True)).sum(axis=axis, keepdims=True)
        self.close(self.single("Softmax", x, opset=13), e(x, -1))
        self.close(self.single("Softmax", x, opset=13, axis=1), e(x, 1))
        # opset 11: coerced to 2-D at axis 1, normalised over the 3 x 4 block of each sample
        self.close(self.single("Softmax", x, opset=11), e(x.reshape(2, 12), 1).reshape(2, 3, 4))
        self.close(self.single("LogSoftmax", x, opset=11, axis=2), np.log(e(x, 2)))

    def test_layer_norm(self):
        x, scale, bias = rand(2, 5, 6), rand(6), rand(6)
        mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
        self.close(self.single("LayerNormalization", x, [scale, bias], opset=17, epsilon=1e-5),
                   (x - mean) / np.sqrt(var + 1e-5) * scale + bias)
        scale2 = rand(5, 6)
        mean, var = x.mean((1, 2), keepdims=True), x.var((1, 2), keepdims=True)
        self.close(self.single("LayerNormalization", x, [scale2, None], opset=17, axis=1), (x - mean) / np.sqrt(var + 1e-5) * scale2)

    def test_pools(self):
        x = rand(1, 2, 7, 6)
        self.close(self.single("MaxPool", x, kernel_shape=[3, 2], strides=[2, 2], pads=[1, 0, 1, 1]),
                   np_pool2d(x, [3, 2], [2, 2], [1, 0, 1, 1], "max"))
        self.close(self.single("MaxPool", x, kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1),
                   np_pool2d(x, [2, 2], [2, 2], [0, 0, 0, 0], "max", ceil=True))
        for include in (0, 1):
            with self.subTest(count_include_pad=include):
                self.close(self.single("AveragePool", x, kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], count_include_pad=include),
                           np_pool2d(x, [3, 3], [2, 2], [1, 1, 1, 1], "avg", include_pad=bool(include)))
        self.close(self.single("AveragePool", x, kernel_shape=[2, 2], strides=[1, 1], pads=[0, 0, 1, 1]),
                   np_pool2d(x, [2, 2], [1, 1], [0, 0, 1, 1], "avg"))
        self.close(self.single("GlobalAveragePool", x), x.mean(axis=(2, 3), keepdims=True))

    def test_activations(self):
        x = rand(3, 4)
        import math
        erf = np.vectorize(math.erf)
        self.close(self.single("Relu", x), np.maximum(x, 0))
        self.close(self.single("LeakyRelu", x, alpha=0.2), np.where(x > 0, x, 0.2 * x))
        self.close(self.single("Sigmoid", x), 1 / (1 + np.exp(-x)))
        self.close(self.single("Tanh", x), np.tanh(x))
        self.close(self.single("Erf", x), erf(x))
        self.close(self.single("Gelu", x), 0.5 * x * (1 + erf(x / np.sqrt(2))))
        self.close(self.single("Clip", x, [np.float32(-0.5), np.float32(0.5)], opset=11), np.clip(x, -0.5, 0.5))
        self.close(self.single("Clip", x, opset=6, min=-0.2, max=0.3), np.clip(x, -0.2, 0.3))
        self.close(self.single("Pow", np.abs(x), [np.float32(1.5)]), np.abs(x) ** 1.5)
        self.close(self.single("Sqrt", np.abs(x)), np.sqrt(np.abs(x)))

    def test_shape_ops(self):
        x = rand(2, 3, 4)
        self.close(self.single("Reshape", x, [np.array([0, -1], np.int64)]), x.reshape(2, 12))
        self.close(self.single("Flatten", x, axis=2), x.reshape(6, 4))
        self.close(self.single("Transpose", x, perm=[2, 0, 1]), x.transpose(2, 0, 1))
        self.close(self.single("Unsqueeze", x, [np.array([0, -1], np.int64)]), x[None, ..., None])
        self.close(self.single("Unsqueeze", x, opset=11, axes=[1]), x[:, None])
        self.close(self.single("Squeeze", x[:, None], [np.array([1], np.int64)]), x)
        self.close(self.single("Slice", x, [np.array([0, 3], np.int64), np.array([2, -100], np.int64),
                                            np.array([1, 2], np.int64), np.array([1, -2], np.int64)]), x[:, 0:2, 3::-2])
        self.close(self.single("Slice", x, opset=9, starts=[1], ends=[1000], axes=[2]), x[:, :, 1:])
        a, b = self.single("Split", x, [np.array([1, 3], np.int64)], axis=2, outputs=2)
        self.close(a, x[:, :, :1]); self.close(b, x[:, :, 1:])
        a, b = self.single("Split", x, opset=11, axis=2, outputs=2)
        self.close(a, x[:, :, :2]); self.close(b, x[:, :, 2:])
        self.close(self.single("Gather", x, [np.array([[2, -1]], np.int64)], axis=2), x[:, :, [[2, 3]]])
        self.close(self.single("Expand", x[:, :1], [np.array([3, 1, 3, 1], np.int64)]), np.broadcast_to(x[:, :1], (3, 2, 3, 4)))
        other = rand(2, 1, 4)
        self.close(self.single("Concat", x, [other], axis=1), np.concatenate([x, other], axis=1))
        self.close(self.single("ReduceMean", x, axes=[1], keepdims=0), x.mean(1))
        self.close(self.single("ReduceMean", x, [np.array([-1], np.int64)], opset=18), x.mean(-1, keepdims=True))
        self.close(self.single("ReduceSum", x, [np.array([0, 2], np.int64)], keepdims=0), x.sum((0, 2)))
        self.close(self.single("Cast", x, to=7), x.astype(np.int64))
        self.close(self.single("Pad", x, [np.array([0, 1, 0, 0, 0, 2], np.int64), np.float32(9)]),
                   np.pad(x, ((0, 0), (1, 0), (0, 2)), constant_values=9))

    def test_resize(self):
        x = rand(1, 2, 3, 4)
        empty = np.zeros(0, np.float32)
        got = self.single("Resize", x, [empty, np.array([1, 1, 2, 2], np.float32)], mode="nearest",
                          coordinate_transformation_mode="asymmetric", nearest_mode="floor")
        self.close(got, x.repeat(2, axis=2).repeat(2, axis=3))
        # align_corners: output i samples input i * (in - 1) / (out - 1), linear between neighbours
        got = self.single("Resize", x, [empty, empty, np.array([1, 2, 5, 4], np.int64)], mode="linear",
                          coordinate_transformation_mode="align_corners")
        pos = np.arange(5) * 2 / 4
        lo, frac = np.floor(pos).astype(int), pos - np.floor(pos)
        hi = np.minimum(lo + 1, 2)
        self.close(got, x[:, :, lo, :] * (1 - frac)[None, None, :, None] + x[:, :, hi, :] * frac[None, None, :, None])
        w = GraphWriter(13)
        w.input("x", [1, 2, 3, 4])
        w.node("Resize", ["x", "", w.init("s", np.array([1, 1, 2, 2], np.float32))], "y", name="cubic", mode="cubic")
        w.output("y")
        self.assertIn("'cubic' is not supported", GraphModule(w.write(tmpdir(self))).unsupported()[0]["reason"])

    def test_dynamic_shape_chain_and_logic(self):
        # the exporter's pattern: Shape -> Gather -> Unsqueeze -> Concat -> Reshape, plus Where/Equal/Range
        w = GraphWriter(13)
        w.input("x", [None, 3, 4])
        w.node("Shape", ["x"], "shape")
        w.node("Gather", ["shape", w.init("zero", np.array(0, np.int64))], "batch")
        w.node("Unsqueeze", ["batch", w.init("ax0", np.array([0], np.int64))], "batch1")
        w.node("Concat", ["batch1", w.init("minus1", np.array([-1], np.int64))], "target", axis=0)
        w.node("Reshape", ["x", "target"], "flat")
        w.node("Range", [w.init("r0", np.array(0, np.int64)), w.init("r1", np.array(12, np.int64)), w.init("r2", np.array(1, np.int64))], "idx")
        w.node("Mod", ["idx", w.init("two", np.array(2, np.int64))], "parity")
        w.node("Equal", ["parity", w.init("zero2", np.array(0, np.int64))], "even")
        w.node("Where", ["even", "flat", w.init("fill", np.array(-1.0, np.float32))], "y")
        w.node("Concat", ["flat", "y"], "both", axis=1)
        w.output("both")
        x = rand(5, 3, 4)
        got, _ = self.run_graph(w, {"x": x})
        flat = x.reshape(5, 12)
        self.close(got["both"], np.concatenate([flat, np.where(np.arange(12) % 2 == 0, flat, -1.0)], axis=1))

    def test_any_tensor_by_name_and_training_grads(self):
        w = GraphWriter(13)
        w.input("x", [None, 4])
        w.node("Gemm", ["x", w.init("w1", rand(8, 4)), w.init("b1", rand(8))], "h", transB=1)
        w.node("Relu", ["h"], "r")
        w.node("Gemm", ["r", w.init("w2", rand(3, 8)), w.init("b2", rand(3))], "logits", transB=1)
        w.output("logits")
        model = GraphModule(w.write(tmpdir(self)))
        x = torch.from_numpy(rand(6, 4))
        out = model(x, outputs=["h", "logits"])
        self.assertEqual(list(out), ["h", "logits"])
        self.assertEqual(tuple(out["h"].shape), (6, 8))
        out["logits"].sum().backward()
        self.assertEqual(sorted(model.parameter_names()), ["b1", "b2", "w1", "w2"])
        self.assertTrue(all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters()))
        with self.assertRaisesRegex(TrainerError, "did you mean 'logits'"):
            model(x, outputs=["logit"])

    def test_input_that_is_also_an_initializer(self):
        # older exporters list every initializer among the inputs too: unfed, it keeps its value
        w = GraphWriter(13)
        w.input("x", [None, 2])
        w.input("bias", [2])
        w.init("bias", np.array([1.0, 2.0], np.float32))
        w.node("Add", ["x", "bias"], "y")
        w.output("y")
        model = GraphModule(w.write(tmpdir(self)))
        self.close(model({"x": torch.zeros(1, 2)})["y"].detach().numpy(), [[1.0, 2.0]])
        self.close(model({"x": torch.zeros(1, 2), "bias": torch.ones(2)})["y"].detach().numpy(), [[1.0, 1.0]])

    def test_constants_stay_fixed(self):
        # a 0-d scale (the exporter's constants) and a Pow exponent are not learned; a 1-element bias is
        w = GraphWriter(13)
        w.input("x", [None, 4])
        w.node("Mul", ["x", w.init("scale", np.array(0.25, np.float32))], "m")
        w.node("Pow", ["m", w.init("two", np.array([2.0], np.float32))], "p")
        w.node("Add", ["p", w.init("bias", np.array([0.5], np.float32))], "y")
        w.output("y")
        got, model = self.run_graph(w, {"x": np.ones((2, 4), np.float32)})
        self.close(got["y"], np.full((2, 4), 0.5625))
        self.assertEqual(model.parameter_names(), ["bias"])

    def test_unsupported_nodes_listed_with_reasons(self):
        w = GraphWriter(13)
        w.input("x", [None, 1, 4, 4])
        w.node("MaxPool", ["x"], ["p", "indices"], name="pool_with_indices", kernel_shape=[2, 2])
        w.node("NonMaxSuppression", ["p"], "n", name="nms")
        w.nodes.append({"name": "custom", "opType": "FusedGemm", "domain": "com.microsoft", "inputs": ["p"], "outputs": ["f"], "attributes": {}})
        w.node("Relu", ["f"], "y", name="fine")
        w.output("y")
        found = GraphModule(w.write(tmpdir(self))).unsupported()
        self.assertEqual([(u["node"], u["opType"]) for u in found],
                         [("pool_with_indices", "MaxPool"), ("nms", "NonMaxSuppression"), ("custom", "FusedGemm")])
        self.assertIn("Indices", found[0]["reason"])
        self.assertIn("no torch implementation", found[1]["reason"])
        self.assertIn("com.microsoft", found[2]["reason"])

    def test_failing_node_is_named(self):
        w = GraphWriter(13)
        w.input("x", [None, 4])
        w.node("Reshape", ["x", w.init("fixed", np.array([8, 4], np.int64))], "y", name="/fixed_batch/Reshape")
        w.output("y")
        model = GraphModule(w.write(tmpdir(self)))
        with self.assertRaisesRegex(NodeError, "/fixed_batch/Reshape"):
            model(torch.zeros(3, 4))


class Fixtures(unittest.TestCase):
    """The fixture models as graph.json run with the fixtures' own accuracy: same top-1 count as onnxruntime."""

    def expected(self, name):
        with open(os.path.join(FIXTURES, "fixtures.json")) as f:
            return next(m for m in json.load(f)["models"] if m["name"] == name)

    def count_correct(self, name, count):
        model = GraphModule(graph_from_onnx(os.path.join(FIXTURES, f"{name}.onnx"), tmpdir(self))).eval()
        self.assertEqual(model.unsupported(), [])
        self.assertEqual(sum(p.numel() for p in model.parameters()), self.expected(name)["parameter_count"])
        x, y = fashion_test(count)
        with torch.no_grad():
            logits = torch.cat([model(torch.from_numpy(x[i:i + 1000]))["logits"] for i in range(0, count, 1000)])
        return int((logits.argmax(1).numpy() == y).sum())

    def test_cnn_and_mlp_reproduce_onnxruntime_top1_on_10k(self):
        for name in ("fashion_cnn", "fashion_mlp_student"):
            with self.subTest(name=name):
                self.assertEqual(self.count_correct(name, 10000), self.expected(name)["accuracy"]["onnxruntime_node_top1_correct"])

    def test_transformer_runs(self):
        # 2,000 images keep the suite fast; the fixture scores 87.1% on all 10,000 in onnxruntime.
        self.assertGreater(self.count_correct("tiny_transformer", 2000) / 2000, 0.85)
