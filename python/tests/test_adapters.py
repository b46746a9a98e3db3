"""Adapters map a student tensor onto the teacher's shape; 'auto' picks the documented kind."""
import unittest

import torch

from onnx_compress_trainer.adapters import AuxiliaryHead, build_adapter, choose_adapter


class Adapters(unittest.TestCase):
    def shape_after(self, kind, s, t):
        adapter = build_adapter(kind, s, t)
        return list(adapter(torch.randn(*s)).shape), adapter

    def test_shapes(self):
        cases = [
            ("conv1x1", [2, 16, 7, 7], [2, 32, 7, 7]),
            ("interpolate", [2, 16, 14, 14], [2, 16, 7, 7]),
            ("pool", [2, 16, 14, 14], [2, 16, 7, 7]),
            ("conv1x1+interpolate", [2, 8, 5, 5], [2, 32, 10, 10]),
            ("linear", [2, 64], [2, 128]),
            ("linear", [2, 28, 64], [2, 28, 32]),
            ("linear", [2, 16, 7, 7], [2, 128]),
            ("none", [2, 10], [2, 10]),
            ("conv1x1", [2, 4, 9], [2, 6, 9]),
        ]
        for kind, s, t in cases:
            with self.subTest(kind=kind, s=s):
                self.assertEqual(self.shape_after(kind, s, t)[0], t)

    def test_trainable_parameters(self):
        _, conv = self.shape_after("conv1x1", [2, 16, 7, 7], [2, 32, 7, 7])
        self.assertEqual(sum(p.numel() for p in conv.parameters()), 16 * 32)
        _, lin = self.shape_after("linear", [2, 64], [2, 128])
        self.assertEqual(sum(p.numel() for p in lin.parameters()), 64 * 128 + 128)
        _, interp = self.shape_after("interpolate", [2, 16, 14, 14], [2, 16, 7, 7])
        self.assertEqual(list(interp.parameters()), [])

    def test_auto(self):
        self.assertEqual(choose_adapter([None, 16, 7, 7], [None, 16, 7, 7]), "none")
        self.assertEqual(choose_adapter([None, 16, 7, 7], [None, 32, 7, 7]), "conv1x1")
        self.assertEqual(choose_adapter([None, 16, 14, 14], [None, 16, 7, 7]), "interpolate")
        self.assertEqual(choose_adapter([None, 16, 14, 14], [None, 32, 7, 7]), "conv1x1+interpolate")
        self.assertEqual(choose_adapter([None, 64], [None, 128]), "linear")
        self.assertEqual(choose_adapter([None, 28, 64], [None, 28, 32]), "linear")

    def test_refusals_say_why(self):
        with self.assertRaisesRegex(ValueError, "adapter is 'none'"):
            build_adapter("none", [2, 16], [2, 32])
        with self.assertRaisesRegex(ValueError, "conv1x1\\+interpolate"):
            build_adapter("interpolate", [2, 16, 14, 14], [2, 32, 7, 7])
        with self.assertRaisesRegex(ValueError, "unknown adapter"):
            build_adapter("magic", [2, 16], [2, 32])

    def test_auxiliary_head(self):
        for shape in ([3, 16, 7, 7], [3, 28, 64], [3, 50]):
            head = AuxiliaryHead(shape, 10)
            self.assertEqual(list(head(torch.randn(*shape)).shape), [3, 10])


if __name__ == "__main__":
    unittest.main()
