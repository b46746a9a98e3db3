"""Every loss against values computed by hand (literal numbers) or by a plain numpy loop."""
import math
import unittest

import numpy as np
import torch

from onnx_compress_trainer import losses
from onnx_compress_trainer.losses import TopK


def np_softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def np_kl(p, q):
    return float((p * (np.log(p) - np.log(q))).sum())


def huber(d):
    d = np.abs(d)
    return np.where(d < 1, 0.5 * d * d, d - 0.5)


T = torch.tensor


class HintonKD(unittest.TestCase):
    def test_literal_value_at_t1(self):
        # p = softmax([ln 3, 0]) = [.75, .25], q = [.5, .5]: KL = .75 ln 1.5 + .25 ln .5
        value = losses.kd_soft(torch.zeros(1, 2), T([[math.log(3.0), 0.0]]), 1.0)
        self.assertAlmostEqual(float(value), 0.75 * math.log(1.5) + 0.25 * math.log(0.5), places=6)
        self.assertAlmostEqual(float(value), 0.130812, places=5)

    def test_t_squared_factor(self):
        zs, zt = np.array([[0.5, -1.0, 2.0]]), np.array([[1.0, 0.0, -1.0]])
        for t in (1.0, 2.0, 4.0, 8.0):
            kl = np_kl(np_softmax(zt / t), np_softmax(zs / t))
            got = float(losses.kd_soft(T(zs), T(zt), t))
            self.assertAlmostEqual(got, t * t * kl, places=6)
            if t > 1:
                self.assertGreater(got / kl, t * t * 0.999)  # not the bare KL: scaled by T^2

    def test_batchmean_averages_per_sample_not_per_class(self):
        rng = np.random.default_rng(1)
        zs, zt = rng.normal(size=(5, 10)), rng.normal(size=(5, 10))
        per_sample = [np_kl(np_softmax(zt[i] / 3), np_softmax(zs[i] / 3)) for i in range(5)]
        got = float(losses.kd_soft(T(zs), T(zt), 3.0))
        self.assertAlmostEqual(got, 9 * sum(per_sample) / 5, places=6)
        self.assertNotAlmostEqual(got, 9 * sum(per_sample) / 50, places=3)  # batch x classes would be 10x smaller

    def test_top_k_soft_targets_renormalised_over_k(self):
        zs, zt = np.array([[1.0, 2.0, 3.0, 4.0]]), np.array([[5.0, 1.0, 0.0, -1.0]])
        top = TopK(T([[5.0, 1.0]]), torch.tensor([[0, 1]]))
        p = np_softmax(np.array([5.0, 1.0]) / 2)
        q = np_softmax(zs[0] / 2)[[0, 1]]
        expected = 4 * float((p * (np.log(p) - np.log(q))).sum())
        self.assertAlmostEqual(float(losses.kd_soft(T(zs), top, 2.0)), expected, places=5)
        self.assertEqual(top.argmax().tolist(), [0])

    def test_response_terms_weights_and_variants(self):
        zs, zt, y = T([[2.0, 0.0, -1.0], [0.0, 1.0, 0.0]]), T([[0.0, 3.0, 0.0], [0.0, 0.0, 2.0]]), torch.tensor([0, 2])
        ce = float(np.mean([-math.log(np_softmax(np.array([2.0, 0.0, -1.0]))[0]), -math.log(np_softmax(np.array([0.0, 1.0, 0.0]))[2])]))
        terms = losses.response_terms(zs, zt, y, 4.0, 0.3, "soft")
        self.assertAlmostEqual(float(terms["ce"]), 0.3 * ce, places=6)
        self.assertAlmostEqual(float(terms["kd"]), 0.7 * float(losses.kd_soft(zs, zt, 4.0)), places=6)
        mse = losses.response_terms(zs, zt, y, 4.0, 0.0, "logits")
        self.assertEqual(list(mse), ["logits"])
        self.assertAlmostEqual(float(mse["logits"]), float(((zs - zt) ** 2).mean()), places=6)  # over batch x classes
        self.assertAlmostEqual(float(((zs - zt) ** 2).mean()), (4 + 9 + 1 + 0 + 1 + 4) / 6, places=6)
        hard = losses.response_terms(zs, zt, y, 4.0, 0.0, "hard")
        # teacher argmax = [1, 2]: CE(zs, [1, 2]) by hand
        expected = np.mean([-math.log(np_softmax(np.array([2.0, 0.0, -1.0]))[1]), -math.log(np_softmax(np.array([0.0, 1.0, 0.0]))[2])])
        self.assertAlmostEqual(float(hard["hard"]), expected, places=6)
        self.assertEqual(list(losses.response_terms(zs, zt, y, 4.0, 1.0, "soft")), ["ce"])


class FeatureLosses(unittest.TestCase):
    def test_hint_similarities(self):
        fs, ft = T([[1.0, 2.0], [3.0, 4.0]]), T([[1.0, 0.0], [0.0, 4.0]])
        self.assertAlmostEqual(float(losses.feature_loss(fs, ft, "mse")), (0 + 4 + 9 + 0) / 4)
        self.assertAlmostEqual(float(losses.feature_loss(fs, ft, "l1")), (0 + 2 + 3 + 0) / 4)
        cos1, cos2 = 1 / math.sqrt(5), 16 / (5 * 4)
        self.assertAlmostEqual(float(losses.feature_loss(fs, ft, "cosine")), ((1 - cos1) + (1 - cos2)) / 2, places=6)

    def test_attention_transfer(self):
        rng = np.random.default_rng(2)
        fs, ft = rng.normal(size=(2, 3, 2, 2)), rng.normal(size=(2, 5, 2, 2))  # channels differ: allowed

        def q(f):
            a = (np.abs(f) ** 2).mean(axis=1).reshape(len(f), -1)
            return a / np.linalg.norm(a, axis=1, keepdims=True)
        expected = ((q(fs) - q(ft)) ** 2).mean()
        self.assertAlmostEqual(float(losses.attention_loss(T(fs), T(ft), 2)), expected, places=6)
        with self.assertRaises(ValueError):
            losses.attention_loss(T(fs), torch.zeros(2, 5, 3, 3), 2)


class RelationLosses(unittest.TestCase):
    teacher = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 4.0]])  # a 3-4-5 triangle: mean distance 4
    student = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])

    def test_distance_potential_huber(self):
        pt = np.array([[0, 3, 4], [3, 0, 5], [4, 5, 0]]) / 4.0
        ds = np.array([[0, 1, 1], [1, 0, math.sqrt(2)], [1, math.sqrt(2), 0]])
        ps = ds / ((2 + math.sqrt(2)) / 3)
        expected = huber(ps - pt).mean()
        self.assertAlmostEqual(float(losses.rkd_distance(T(self.student), T(self.teacher))), expected, places=5)
        self.assertAlmostEqual(float(losses.rkd_distance(T(self.teacher * 7), T(self.teacher))), 0.0, places=5)  # scale-free

    def test_angle_potential_huber(self):
        def potential(x):
            n = len(x)
            out = np.zeros((n, n, n))
            for a in range(n):
                for b in range(n):
                    for c in range(n):
                        u, v = x[b] - x[a], x[c] - x[a]
                        nu, nv = np.linalg.norm(u), np.linalg.norm(v)
                        u = u / nu if nu > 0 else u
                        v = v / nv if nv > 0 else v
                        out[a, b, c] = u @ v
            return out
        expected = huber(potential(self.student) - potential(self.teacher)).mean()
        self.assertAlmostEqual(float(losses.rkd_angle(T(self.student), T(self.teacher))), expected, places=5)
        # the right angle at the origin is shared: cos = 0 in both
        self.assertAlmostEqual(potential(self.student)[0, 1, 2], 0.0)

    def test_similarity_preserving(self):
        rng = np.random.default_rng(3)
        fs, ft = rng.normal(size=(4, 3, 2)), rng.normal(size=(4, 6))

        def g(f):
            f = f.reshape(len(f), -1)
            m = f @ f.T
            return m / np.linalg.norm(m, axis=1, keepdims=True)
        expected = ((g(fs) - g(ft)) ** 2).sum() / 16
        self.assertAlmostEqual(float(losses.similarity_loss(T(fs), T(ft))), expected, places=6)


if __name__ == "__main__":
    unittest.main()
