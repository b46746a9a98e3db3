"""graph.json must say which opset its default-domain nodes follow: operators changed meaning
between opsets (Softmax's axis, Split's sizes, ...), so the trainer refuses to guess one."""
import json
import os
import unittest

from onnx_compress_trainer.events import TrainerError
from onnx_compress_trainer.graph_module import GraphModule

from .support import GraphWriter, run_trainer, tmpdir


def softmax_graph(directory, opsets):
    w = GraphWriter()
    w.input("x", [None, 4])
    w.node("Softmax", ["x"], "y")
    w.output("y", [None, 4])
    path = w.write(directory)
    with open(path) as f:
        graph = json.load(f)
    if opsets is None:
        del graph["opsets"]
    else:
        graph["opsets"] = opsets
    with open(path, "w") as f:
        json.dump(graph, f)
    return path


class GraphOpset(unittest.TestCase):
    def test_a_graph_without_a_default_domain_opset_is_refused(self):
        for opsets in (None, {}, {"com.microsoft": 1}):
            with self.subTest(opsets=opsets):
                path = softmax_graph(tmpdir(self), opsets)
                with self.assertRaises(TrainerError) as caught:
                    GraphModule(path)
                self.assertIn("no opset for the default ONNX domain", caught.exception.message)
                self.assertEqual(caught.exception.where, path)
                self.assertIn("export", caught.exception.hint)

    def test_the_recorded_opset_is_used_under_either_name_of_the_default_domain(self):
        self.assertEqual(GraphModule(softmax_graph(tmpdir(self), {"": 11})).opset, 11)
        self.assertEqual(GraphModule(softmax_graph(tmpdir(self), {"ai.onnx": 9})).opset, 9)

    def test_the_command_line_answers_with_one_error_event_and_no_traceback(self):
        d = tmpdir(self)
        path = softmax_graph(d, {})
        code, events, err = run_trainer("run-graph", path, "--output-dir", os.path.join(d, "out"))
        self.assertEqual(code, 1)
        self.assertEqual([e["event"] for e in events], ["error"])
        self.assertIn("no opset for the default ONNX domain", events[0]["message"])
        self.assertNotIn("Traceback", err)


if __name__ == "__main__":
    unittest.main()
