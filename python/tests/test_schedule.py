"""Learning-rate schedules and the per-epoch sample order, by hand."""
import math
import unittest

import numpy as np

from onnx_compress_trainer.train import epoch_order, lr_factor


def sched(name, warmup=0, step_size=1, gamma=0.1):
    return {"name": name, "warmupEpochs": warmup, "stepSize": step_size, "gamma": gamma}


class Schedules(unittest.TestCase):
    def test_constant_cosine_step(self):
        self.assertEqual(lr_factor(sched("constant"), 4, 2.5, 0.1), 1.0)
        self.assertAlmostEqual(lr_factor(sched("cosine"), 4, 0.0, 0.1), 1.0)
        self.assertAlmostEqual(lr_factor(sched("cosine"), 4, 2.0, 0.1), 0.5)
        self.assertAlmostEqual(lr_factor(sched("cosine"), 4, 1.0, 0.1), 0.5 * (1 + math.cos(math.pi / 4)))
        self.assertAlmostEqual(lr_factor(sched("step", step_size=2, gamma=0.1), 6, 1.9, 0.1), 1.0)
        self.assertAlmostEqual(lr_factor(sched("step", step_size=2, gamma=0.1), 6, 2.0, 0.1), 0.1)
        self.assertAlmostEqual(lr_factor(sched("step", step_size=2, gamma=0.1), 6, 4.5, 0.1), 0.01)

    def test_warmup_then_cosine(self):
        s = sched("cosine", warmup=1)
        self.assertAlmostEqual(lr_factor(s, 3, 0.0, 0.25), 0.25)  # first step of four already moves
        self.assertAlmostEqual(lr_factor(s, 3, 0.5, 0.25), 0.75)
        self.assertAlmostEqual(lr_factor(s, 3, 1.0, 0.25), 1.0)   # cosine starts after the warmup
        self.assertAlmostEqual(lr_factor(s, 3, 2.0, 0.25), 0.5)


class Order(unittest.TestCase):
    def test_seeded_per_epoch_and_split_across_ranks(self):
        a, b = epoch_order(10, 0, 1, 1, 0), epoch_order(10, 0, 1, 1, 0)
        np.testing.assert_array_equal(a, b)
        self.assertFalse(np.array_equal(a, epoch_order(10, 0, 2, 1, 0)))
        self.assertEqual(sorted(a.tolist()), list(range(10)))
        r0, r1 = epoch_order(9, 0, 1, 2, 0), epoch_order(9, 0, 1, 2, 1)
        self.assertEqual((len(r0), len(r1)), (5, 5))  # padded by wrapping, as DistributedSampler does
        self.assertEqual(set(r0.tolist()) | set(r1.tolist()), set(range(9)))


if __name__ == "__main__":
    unittest.main()
