"""The start-up BLAS measurement: reported in `start` as `blasGflops`, and a `warning` with the
figure and the fix when it is below the threshold. The threshold is forced through its environment
variable so both paths run whatever BLAS this machine has; no test depends on how fast it is."""
import math
import os
import re
import unittest
from unittest import mock

import torch

from onnx_compress_trainer import blas

from .support import run_trainer, tmpdir, write_cache
from .test_train import mlp_graph, task


class BlasMeasurement(unittest.TestCase):
    def test_the_measurement_is_a_positive_figure_and_leaves_the_seeded_rng_alone(self):
        torch.manual_seed(3)
        expected = torch.rand(4)
        torch.manual_seed(3)
        gflops = blas.measure_gflops(size=64, budget_s=0.0)  # one product after the warm-up
        self.assertTrue(math.isfinite(gflops) and gflops > 0, gflops)
        self.assertTrue(torch.equal(torch.rand(4), expected))

    def test_the_warning_names_the_figure_the_threshold_and_the_fix(self):
        self.assertIsNone(blas.slow_blas_warning(90.0, 20.0))
        w = blas.slow_blas_warning(3.94, 20.0)
        self.assertIn("3.9 GFLOP/s (below 20)", w["message"])
        self.assertIn("apt-get install libopenblas0-pthread", w["hint"])

    def test_the_threshold_comes_from_the_environment_or_the_default(self):
        with mock.patch.dict(os.environ, {blas.MIN_GFLOPS_ENV: ""}):
            self.assertEqual(blas.min_gflops(), blas.DEFAULT_MIN_GFLOPS)
        with mock.patch.dict(os.environ, {blas.MIN_GFLOPS_ENV: "5.5"}):
            self.assertEqual(blas.min_gflops(), 5.5)


class BlasInTraining(unittest.TestCase):
    def setUp(self):
        self.dir = tmpdir(self)
        x, y, zt = task(64)
        self.job = os.path.join(self.dir, "job.json")
        run_dir = os.path.join(self.dir, "run")
        import json
        with open(self.job, "w") as f:
            json.dump({"format": "onnx-compress/distill-job", "version": 1, "runDir": run_dir,
                       "train": {"manifest": write_cache(os.path.join(self.dir, "cache"), {"input": x}, y, {"logits": zt})},
                       "student": {"kind": "onnx", "graph": mlp_graph(os.path.join(self.dir, "student")), "output": "logits"},
                       "teacherOutput": "logits", "epochs": 1, "batchSize": 32, "device": "cpu", "threads": 1,
                       "export": {"weightsDir": os.path.join(run_dir, "student-weights")}}, f)

    def train(self, threshold):
        with mock.patch.dict(os.environ, {blas.MIN_GFLOPS_ENV: threshold}):
            code, events, err = run_trainer("train", self.job)
        self.assertNotIn("Traceback", err)
        return code, events

    def test_start_reports_the_measured_figure_and_a_fast_enough_blas_gives_no_warning(self):
        code, events = self.train("0")
        self.assertEqual(code, 0)
        start = next(e for e in events if e["event"] == "start")
        self.assertIsInstance(start["blasGflops"], float)
        self.assertGreater(start["blasGflops"], 0)
        self.assertEqual([e for e in events if e["event"] == "warning"], [])

    def test_a_blas_below_the_threshold_gives_one_warning_with_the_figure_and_the_fix_and_training_goes_on(self):
        code, events = self.train("1e12")
        self.assertEqual(code, 0)
        kinds = [e["event"] for e in events]
        self.assertEqual(kinds.count("warning"), 1)
        self.assertEqual(kinds.index("warning"), kinds.index("start") + 1)  # before the first step
        start, warning = events[kinds.index("start")], events[kinds.index("warning")]
        figure = float(re.search(r"at ([0-9.]+) GFLOP/s \(below 1e\+12\)", warning["message"]).group(1))
        self.assertAlmostEqual(figure, start["blasGflops"], delta=0.05)
        self.assertIn("apt-get install libopenblas0-pthread", warning["hint"])
        self.assertIn("exported", kinds)

    def test_a_threshold_that_is_not_a_number_is_one_error_event(self):
        code, events = self.train("fast")
        self.assertEqual(code, 1)
        self.assertEqual([e["event"] for e in events], ["error"])
        self.assertIn(blas.MIN_GFLOPS_ENV, events[0]["message"])


if __name__ == "__main__":
    unittest.main()
