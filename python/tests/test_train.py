"""The trainer as the engine runs it: `python -m onnx_compress_trainer train JOB` on small caches and
graphs written here, checked through its JSON-line events and the files it leaves."""
import json
import os
import signal
import subprocess
import sys
import unittest

import numpy as np
import torch

from .support import GraphWriter, parse_events, run_trainer, tmpdir, trainer_env, write_cache

CLASSES = 3
RNG_SEED = 7


def task(samples, seed=RNG_SEED):
    """Inputs [N, 1, 6, 6], labels from a fixed linear rule, and a teacher that knows the rule."""
    rng = np.random.default_rng(seed)
    proj = np.random.default_rng(0).normal(size=(36, CLASSES)).astype(np.float32)
    x = rng.normal(size=(samples, 1, 6, 6)).astype(np.float32)
    logits = x.reshape(samples, 36) @ proj
    return x, logits.argmax(1).astype(np.int64), logits.astype(np.float32)


def mlp_graph(directory, fixed_batch=None, extra=None):
    rng = np.random.default_rng(1)
    w = GraphWriter(13)
    w.input("input", [None, 1, 6, 6])
    if fixed_batch:  # a graph exported with a fixed batch: fails on a smaller last batch
        w.node("Reshape", ["input", w.init("shape", np.array([fixed_batch, 36], np.int64))], "flat", name="/fixed/Reshape")
    else:
        w.node("Flatten", ["input"], "flat", name="/flatten/Flatten")
    w.node("Gemm", ["flat", w.init("fc1.weight", (0.2 * rng.normal(size=(16, 36))).astype(np.float32)),
                    w.init("fc1.bias", np.zeros(16, np.float32))], "h", name="/fc1/Gemm", transB=1)
    w.node("Relu", ["h"], "hr", name="/relu/Relu")
    if extra:
        extra(w)
    w.node("Gemm", ["hr", w.init("fc2.weight", (0.2 * rng.normal(size=(CLASSES, 16))).astype(np.float32)),
                    w.init("fc2.bias", np.zeros(CLASSES, np.float32))], "logits", name="/fc2/Gemm", transB=1)
    w.output("logits", [None, CLASSES])
    return w.write(directory)


def conv_graph(directory):
    rng = np.random.default_rng(2)
    w = GraphWriter(13)
    w.input("input", [None, 1, 6, 6])
    w.node("Conv", ["input", w.init("conv.weight", (0.3 * rng.normal(size=(4, 1, 3, 3))).astype(np.float32)),
                    w.init("conv.bias", np.zeros(4, np.float32))], "c", name="/conv/Conv", pads=[1, 1, 1, 1], kernel_shape=[3, 3])
    w.node("Relu", ["c"], "feat", name="/relu/Relu")
    w.node("Flatten", ["feat"], "flat", name="/flatten/Flatten")
    w.node("Gemm", ["flat", w.init("fc.weight", (0.1 * rng.normal(size=(CLASSES, 144))).astype(np.float32)),
                    w.init("fc.bias", np.zeros(CLASSES, np.float32))], "logits", name="/fc/Gemm", transB=1)
    w.output("logits", [None, CLASSES])
    return w.write(directory)


class Trainer(unittest.TestCase):
    def setUp(self):
        self.dir = tmpdir(self)

    def caches(self, samples=256, eval_samples=96, extra_teacher=None, **cache_options):
        x, y, zt = task(samples)
        teacher = {"logits": zt, **(extra_teacher(x) if extra_teacher else {})}
        train = write_cache(os.path.join(self.dir, "cache-train"), {"input": x}, y, teacher, **cache_options)
        ex, ey, ezt = task(eval_samples, seed=99)
        ev = write_cache(os.path.join(self.dir, "cache-eval"), {"input": ex}, ey, {"logits": ezt}, **cache_options)
        return train, ev

    def job(self, name="job", student=None, train=None, eval_manifest=None, **fields):
        if train is None:
            train, eval_manifest = self.caches()
        run_dir = os.path.join(self.dir, "run")
        job = {"format": "onnx-compress/distill-job", "version": 1, "runDir": run_dir,
               "train": {"manifest": train}, "eval": {"manifest": eval_manifest} if eval_manifest else None,
               "student": student or {"kind": "onnx", "graph": mlp_graph(os.path.join(self.dir, "student")), "output": "logits"},
               "teacher": None, "teacherOutput": "logits", "assistants": [],
               "knowledge": [{"type": "response", "weight": 1.0, "temperature": 4.0, "alpha": 0.5, "target": "soft"}],
               "scheme": {"kind": "offline"},
               "optimizer": {"name": "adam", "lr": 0.01, "weightDecay": 0.0, "momentum": 0.9},
               "schedule": {"name": "constant", "warmupEpochs": 0, "stepSize": 1, "gamma": 0.1},
               "epochs": 2, "batchSize": 32, "seed": 0, "device": "cpu", "threads": 1, "resume": None,
               "export": {"weightsDir": os.path.join(run_dir, "student-weights"), "onnx": os.path.join(run_dir, "student.onnx"),
                          "opset": 13, "dynamicBatch": True}}
        job.update(fields)
        path = os.path.join(self.dir, f"{name}.json")
        with open(path, "w") as f:
            json.dump(job, f)
        return path, job

    def of(self, events, kind):
        return [e for e in events if e["event"] == kind]

    def trained_weights(self, job):
        d = job["export"]["weightsDir"]
        with open(os.path.join(d, "weights.json")) as f:
            index = json.load(f)
        self.assertEqual(index["format"], "onnx-compress/trained-weights")
        return {name: np.load(os.path.join(d, file)) for name, file in index["weights"].items()}

    # --- the happy path ---

    def test_offline_kd_learns_checkpoints_and_exports_weights(self):
        path, job = self.job(epochs=3, optimizer={"name": "adam", "lr": 0.03, "weightDecay": 0.0, "momentum": 0.9},
                             schedule={"name": "cosine", "warmupEpochs": 0, "stepSize": 1, "gamma": 0.1})
        code, events, err = run_trainer("train", path, subprocess=True)  # exactly as the engine starts it
        self.assertEqual(code, 0, err)
        start = self.of(events, "start")[0]
        self.assertEqual((start["epochs"], start["stepsPerEpoch"], start["samples"], start["threads"]), (3, 8, 256, 1))
        self.assertEqual(sorted(start["losses"]), ["ce", "kd"])
        self.assertIn("T^2", start["losses"]["kd"])
        self.assertIn("batchmean", start["losses"]["kd"])
        self.assertEqual(start["parameters"], 16 * 36 + 16 + CLASSES * 16 + CLASSES)
        steps = self.of(events, "step")
        self.assertEqual(len(steps), 24)
        self.assertAlmostEqual(steps[0]["loss"], sum(steps[0]["terms"].values()), places=5)
        self.assertGreater(steps[0]["lr"], steps[-1]["lr"])  # cosine schedule
        epochs = self.of(events, "epoch")
        self.assertLess(epochs[-1]["loss"], 0.7 * epochs[0]["loss"])
        self.assertLess(epochs[1]["loss"], epochs[0]["loss"])
        evals = self.of(events, "eval")
        self.assertEqual([e["epoch"] for e in evals], [1, 2, 3])
        self.assertGreater(evals[-1]["accuracy"], 0.7)  # chance is 1/3
        self.assertIsNotNone(evals[-1]["agreement"])
        checkpoints = self.of(events, "checkpoint")
        self.assertEqual([(c["epoch"], c["reason"]) for c in checkpoints], [(1, "epoch"), (2, "epoch"), (3, "epoch")])
        self.assertTrue(all(os.path.isfile(c["path"]) for c in checkpoints))
        exported = self.of(events, "exported")
        self.assertEqual(exported, [{"event": "exported", "kind": "weights", "path": job["export"]["weightsDir"]}])
        weights = self.trained_weights(job)
        self.assertEqual(sorted(weights), ["fc1.bias", "fc1.weight", "fc2.bias", "fc2.weight"])
        initial = np.load(os.path.join(self.dir, "student", "weights", "0000.npy"))
        self.assertEqual(weights["fc1.weight"].shape, initial.shape)
        self.assertEqual(weights["fc1.weight"].dtype, np.float32)
        self.assertGreater(np.abs(weights["fc1.weight"] - initial).max(), 1e-3)
        self.assertEqual([e["event"] for e in events if e["event"] not in ("step",)][-1], "exported")

    def test_resume_gives_the_same_weights_as_an_uninterrupted_run(self):
        train, ev = self.caches()
        path, straight = self.job("straight", train=train, eval_manifest=ev, runDir=os.path.join(self.dir, "a"),
                                  export={"weightsDir": os.path.join(self.dir, "a", "w")})
        self.assertEqual(run_trainer("train", path)[0], 0)
        first, job1 = self.job("first", train=train, eval_manifest=ev, epochs=1, runDir=os.path.join(self.dir, "b"),
                               export={"weightsDir": os.path.join(self.dir, "b", "w1")})
        code, events, _ = run_trainer("train", first)
        self.assertEqual(code, 0)
        checkpoint = self.of(events, "checkpoint")[-1]["path"]
        second, job2 = self.job("second", train=train, eval_manifest=ev, resume=checkpoint, runDir=os.path.join(self.dir, "b"),
                                export={"weightsDir": os.path.join(self.dir, "b", "w2")})
        code, events, err = run_trainer("train", second)
        self.assertEqual(code, 0, err)
        self.assertEqual(self.of(events, "start")[0]["resumedFrom"], checkpoint)
        self.assertEqual({s["epoch"] for s in self.of(events, "step")}, {2})
        a, b = self.trained_weights(straight), self.trained_weights(job2)
        for name in a:
            np.testing.assert_allclose(a[name], b[name], rtol=1e-5, atol=1e-6)

    def test_sigint_writes_a_resumable_checkpoint_and_exits_130(self):
        train, ev = self.caches(samples=1200)
        path, job = self.job(train=train, eval_manifest=ev, batchSize=8, epochs=1)
        proc = subprocess.Popen([sys.executable, "-m", "onnx_compress_trainer", "train", path], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=trainer_env())
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if '"event": "step"' in line and json.loads(line)["step"] >= 3:
                proc.send_signal(signal.SIGINT)
                break
        out, err = proc.communicate(timeout=120)
        events = parse_events("".join(lines) + out)
        self.assertEqual(proc.returncode, 130, err)
        interrupt = self.of(events, "checkpoint")[-1]
        self.assertEqual(interrupt["reason"], "interrupt")
        self.assertTrue(os.path.isfile(interrupt["path"]))
        done = interrupt["step"]
        self.assertGreaterEqual(done, 3)
        self.assertLess(done, 150)
        self.assertEqual(self.of(events, "exported"), [])
        resumed, _ = self.job("resumed", train=train, eval_manifest=ev, batchSize=8, epochs=1, resume=interrupt["path"])
        code, events, err = run_trainer("train", resumed)
        self.assertEqual(code, 0, err)
        steps = self.of(events, "step")
        self.assertEqual(steps[0]["step"], done + 1)  # continues where it stopped
        self.assertEqual(steps[-1]["step"], 150)
        self.assertEqual(len(self.of(events, "exported")), 1)

    def test_two_processes_as_torchrun_starts_them(self):
        # Two CPU processes (gloo) with the environment torchrun gives its workers: the batches are
        # split, rank 0 alone prints, evaluates, checkpoints and exports. (torchrun itself is not run:
        # Debian's torch 1.13 launcher fails on Python 3.11 while parsing its --redirects option.)
        import socket
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        path, job = self.job(epochs=1)
        procs, logs = [], []
        for rank in (0, 1):
            env = dict(trainer_env(), WORLD_SIZE="2", RANK=str(rank), LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1",
                       MASTER_PORT=str(port), OMP_NUM_THREADS="1",
                       # gloo otherwise picks the interface the host name resolves to, which may not
                       # be reachable here; both ranks are on this machine.
                       GLOO_SOCKET_IFNAME="lo")
            # files, not pipes: a rank blocked on a full pipe would stall the other in a collective
            out, err = (open(os.path.join(self.dir, f"rank{rank}.{k}"), "w+") for k in ("out", "err"))
            logs.append((out, err))
            procs.append(subprocess.Popen([sys.executable, "-m", "onnx_compress_trainer", "train", path], stdout=out,
                                          stderr=err, text=True, env=env))
        try:
            for p in procs:
                p.wait(timeout=300)
        except subprocess.TimeoutExpired:
            pass  # the return codes below say which rank hung, the logs why
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()
        (out0, err0), (out1, err1) = ((o.seek(0) or o.read(), e.seek(0) or e.read()) for o, e in logs)
        for o, e in logs:
            o.close()
            e.close()
        self.assertEqual([p.returncode for p in procs], [0, 0], f"rank 0: {out0[-1500:]}{err0[-2000:]}\nrank 1: {err1[-2000:]}")
        self.assertEqual(out1, "")
        events = parse_events(out0)
        start = self.of(events, "start")
        self.assertEqual(len(start), 1)
        self.assertEqual((start[0]["world"], start[0]["stepsPerEpoch"]), (2, 4))  # 256 samples / 2 ranks / batch 32
        self.assertEqual(len(self.of(events, "step")), 4)
        self.assertEqual(len(self.of(events, "checkpoint")), 1)
        self.assertEqual(len(self.of(events, "exported")), 1)
        self.assertEqual(sorted(self.trained_weights(job)), ["fc1.bias", "fc1.weight", "fc2.bias", "fc2.weight"])

    # --- refusals and failures ---

    def test_unsupported_student_op_is_refused_before_training(self):
        def nms(w):
            w.node("NonMaxSuppression", ["hr"], "boxes", name="/detect/NMS")
        student = {"kind": "onnx", "graph": mlp_graph(os.path.join(self.dir, "bad"), extra=nms), "output": "logits"}
        path, _ = self.job(student=student)
        code, events, _ = run_trainer("train", path)
        self.assertEqual(code, 1)
        self.assertEqual([e["event"] for e in events], ["check", "error"])
        self.assertEqual(events[0]["unsupported"][0]["node"], "/detect/NMS")
        self.assertIn("/detect/NMS (NonMaxSuppression)", events[1]["message"])
        self.assertEqual(events[1]["where"], "/detect/NMS")
        code, events, _ = run_trainer("check", path)
        self.assertEqual(code, 0)
        self.assertEqual([(u["node"], u["opType"]) for u in events[0]["unsupported"]], [("/detect/NMS", "NonMaxSuppression")])
        wrong, _ = self.job("wrong", knowledge=[{"type": "feature", "weight": 1.0, "similarity": "mse",
                                                  "pairs": [{"teacher": "logits", "student": "hr2", "adapter": "linear"}]}])
        code, events, _ = run_trainer("check", wrong)
        self.assertEqual(code, 1)
        self.assertIn("'hr2' (did you mean 'hr'", events[-1]["message"])

    def test_student_without_trainable_weights_is_refused(self):
        w = GraphWriter(13)
        w.input("input", [None, 1, 6, 6])
        w.node("Flatten", ["input"], "flat")
        w.node("Gemm", ["flat", w.init("c.weight", np.zeros((CLASSES, 36), np.float32))], "logits", transB=1)
        w.output("logits")
        graph = w.write(os.path.join(self.dir, "const"))
        with open(graph) as f:
            doc = json.load(f)
        for init in doc["initializers"]:  # a graph.json whose weights are all marked not trainable
            init["trainable"] = False
        with open(graph, "w") as f:
            json.dump(doc, f)
        path, _ = self.job(student={"kind": "onnx", "graph": graph, "output": "logits"})
        code, events, _ = run_trainer("train", path)
        self.assertEqual(code, 1)
        self.assertIn("no trainable parameters", events[-1]["message"])
        self.assertIn("Constant nodes", events[-1]["hint"])

    def test_mismatches_are_refused_before_training(self):
        x, y, _ = task(64)
        ten = write_cache(os.path.join(self.dir, "ten"), {"input": x}, y, {"logits": np.zeros((64, 10), np.float32)})
        path, _ = self.job("classes", train=ten)
        code, events, _ = run_trainer("train", path)
        self.assertEqual((code, self.of(events, "step")), (1, []))
        self.assertIn("has 10 classes but the student's 'logits' has 3", events[-1]["message"])
        self.assertIn("another teacher", events[-1]["hint"])
        wrong_input = write_cache(os.path.join(self.dir, "img"), {"input": np.zeros((64, 1, 28, 28), np.float32)}, y,
                                  {"logits": np.zeros((64, CLASSES), np.float32)})
        path, _ = self.job("input", train=wrong_input)
        code, events, _ = run_trainer("train", path)
        self.assertEqual(code, 1)
        self.assertIn("fails on the first batch", events[-1]["message"])
        self.assertEqual(events[-1]["where"], "node /fc1/Gemm")
        pair = [{"teacher": "logits", "student": "h", "adapter": "none"}]
        path, _ = self.job("pair", knowledge=[{"type": "feature", "weight": 1.0, "similarity": "mse", "pairs": pair}])
        code, events, _ = run_trainer("train", path)
        self.assertEqual(code, 1)
        self.assertIn("feature pair h -> logits", events[-1]["message"])
        self.assertIn("adapter is 'none'", events[-1]["message"])

    def test_crash_mid_epoch_names_the_node_and_keeps_checkpoints(self):
        # 80 samples in batches of 32: the third batch holds 16, which a graph fixed to batch 32 cannot reshape.
        train, ev = self.caches(samples=80)
        student = {"kind": "onnx", "graph": mlp_graph(os.path.join(self.dir, "fixed"), fixed_batch=32), "output": "logits"}
        path, job = self.job(student=student, train=train, eval_manifest=None)
        code, events, _ = run_trainer("train", path)
        self.assertEqual(code, 1)
        error = self.of(events, "error")[0]
        self.assertIn("epoch 1, step 3", error["where"])
        self.assertIn("/fixed/Reshape", error["where"])
        self.assertIn("Reshape", error["message"])
        self.assertEqual([s["step"] for s in self.of(events, "step")], [1, 2])
        saved = self.of(events, "checkpoint")
        self.assertEqual([(c["reason"], c["step"]) for c in saved], [("error", 2)])
        self.assertTrue(os.path.isfile(saved[0]["path"]))
        self.assertFalse(os.path.exists(job["export"]["weightsDir"]))

    def test_divergence_stops_with_an_error_and_keeps_the_last_epoch_checkpoint(self):
        # SGD whose learning rate jumps by 1e30 at epoch 2: the loss leaves float range mid-epoch.
        path, job = self.job(optimizer={"name": "sgd", "lr": 0.05, "momentum": 0.0, "weightDecay": 0.0},
                             schedule={"name": "step", "warmupEpochs": 0, "stepSize": 1, "gamma": 1e30})
        code, events, _ = run_trainer("train", path)
        self.assertEqual(code, 1)
        error = self.of(events, "error")[0]
        self.assertIn("the loss became", error["message"])
        self.assertTrue(error["where"].startswith("epoch 2, step "))
        self.assertIn("learning rate", error["hint"])
        saved = self.of(events, "checkpoint")
        self.assertEqual(saved[0]["reason"], "epoch")
        self.assertTrue(os.path.isfile(saved[0]["path"]))
        # the epoch-1 checkpoint resumes with a sane schedule
        fixed, _ = self.job("fixed", resume=saved[0]["path"], optimizer=job["optimizer"])
        code, events, err = run_trainer("train", fixed)
        self.assertEqual(code, 0, err)
        self.assertEqual(self.of(events, "start")[0]["resumedFrom"], saved[0]["path"])

    def test_checkpoint_of_another_job_is_refused(self):
        path, _ = self.job(epochs=1)
        code, events, _ = run_trainer("train", path)
        checkpoint = self.of(events, "checkpoint")[-1]["path"]
        other = {"kind": "onnx", "graph": conv_graph(os.path.join(self.dir, "conv")), "output": "logits"}
        path, _ = self.job("other", student=other, resume=checkpoint)
        code, events, _ = run_trainer("train", path)
        self.assertEqual(code, 1)
        self.assertIn("another student", events[-1]["message"])

    def test_cuda_device(self):
        path, _ = self.job(device="cuda", epochs=1)
        code, events, err = run_trainer("train", path)
        if torch.cuda.is_available():
            self.assertEqual(code, 0, err)
            self.assertTrue(self.of(events, "start")[0]["device"].startswith("cuda"))
        else:
            self.assertEqual(code, 1)
            self.assertIn("no CUDA device", events[-1]["message"])
            self.assertIn("'cpu' or 'auto'", events[-1]["hint"])
            auto, _ = self.job("auto", device="auto", epochs=1)
            code, events, _ = run_trainer("train", auto)
            self.assertEqual((code, self.of(events, "start")[0]["device"]), (0, "cpu"))

    def test_labels_required_by_alpha(self):
        x, _, zt = task(64)
        train = write_cache(os.path.join(self.dir, "nolabels"), {"input": x}, None, {"logits": zt})
        path, _ = self.job(train=train)
        code, events, _ = run_trainer("train", path)
        self.assertEqual(code, 1)
        self.assertIn("labels", events[-1]["message"])
        ok, _ = self.job("ok", train=train, epochs=1,
                         knowledge=[{"type": "response", "weight": 1.0, "temperature": 2.0, "alpha": 0.0, "target": "soft"}])
        code, events, err = run_trainer("train", ok)
        self.assertEqual(code, 0, err)

    def test_missing_cache_tensor_is_named(self):
        path, _ = self.job(knowledge=[{"type": "feature", "weight": 1.0, "similarity": "mse",
                                       "pairs": [{"teacher": "t_feat", "student": "h", "adapter": "linear"}]}])
        code, events, _ = run_trainer("train", path)
        self.assertEqual(code, 1)
        self.assertIn("'t_feat'", events[-1]["message"])
        self.assertIn("'logits'", events[-1]["message"])

    # --- knowledge types and schemes ---

    def test_every_knowledge_type_with_adapters_top_k_and_float16(self):
        rng = np.random.default_rng(5)

        def features(x):
            n = len(x)
            return {"t_feat": rng.normal(size=(n, 8, 3, 3)).astype(np.float32), "t_emb": x.reshape(n, 36)[:, :5].copy()}
        train, ev = self.caches(extra_teacher=features, top_k=2, teacher_dtype="float16")
        student = {"kind": "onnx", "graph": conv_graph(os.path.join(self.dir, "conv")), "output": "logits"}
        knowledge = [
            {"type": "response", "weight": 1.0, "temperature": 4.0, "alpha": 0.5, "target": "soft"},
            {"type": "feature", "weight": 1.0, "similarity": "mse",
             "pairs": [{"teacher": "t_feat", "student": "feat", "teacherShape": [None, 8, 3, 3], "studentShape": [None, 4, 6, 6],
                        "adapter": "conv1x1+interpolate"}]},
            {"type": "attention", "weight": 1000.0, "p": 2, "pairs": [{"teacher": "t_feat", "student": "feat", "adapter": "interpolate"}]},
            {"type": "relation", "weight": 1.0, "distance": 25.0, "angle": 50.0, "pair": {"teacher": "t_emb", "student": "flat"}},
            {"type": "similarity", "weight": 3000.0, "pairs": [{"teacher": "t_emb", "student": "feat"}]},
        ]
        path, job = self.job(student=student, train=train, eval_manifest=ev, knowledge=knowledge, epochs=1)
        code, events, err = run_trainer("train", path)
        self.assertEqual(code, 0, err)
        start = self.of(events, "start")[0]
        self.assertEqual(sorted(start["losses"]), ["attention", "ce", "feature", "kd", "relation-angle", "relation-distance", "similarity"])
        self.assertIn("top-k", start["losses"]["kd"])
        terms = self.of(events, "epoch")[0]["terms"]
        self.assertEqual(sorted(terms), sorted(start["losses"]))
        self.assertTrue(all(np.isfinite(v) and v >= 0 for v in terms.values()))
        self.assertIsNotNone(self.of(events, "eval")[0]["agreement"])  # from top-k indices
        # adapters train but are not exported: only the student's own initializers come back
        self.assertEqual(sorted(self.trained_weights(job)), ["conv.bias", "conv.weight", "fc.bias", "fc.weight"])

    def test_online_mutual_learning_trains_both(self):
        train, ev = self.caches()
        teacher_graph = conv_graph(os.path.join(self.dir, "teacher"))
        path, job = self.job(train=train, eval_manifest=ev, scheme={"kind": "online"}, epochs=1,
                             teacher={"kind": "onnx", "graph": teacher_graph, "output": "logits"})
        code, events, err = run_trainer("train", path)
        self.assertEqual(code, 0, err)
        self.assertEqual(sorted(self.of(events, "epoch")[0]["terms"]), ["ce", "kd", "teacher/ce", "teacher/kd"])
        state = torch.load(self.of(events, "checkpoint")[-1]["path"])
        initial = np.load(os.path.join(self.dir, "teacher", "weights", "0000.npy"))
        trained = next(v for k, v in state["teacher"].items() if k.endswith("conv_weight"))
        self.assertGreater(np.abs(trained.numpy() - initial).max(), 1e-4)

    def test_self_distillation_snapshot_and_auxiliary(self):
        train, ev = self.caches()
        path, _ = self.job("snapshot", train=train, eval_manifest=ev, scheme={"kind": "self", "mode": "snapshot", "every": 1},
                           teacherOutput=None)
        code, events, err = run_trainer("train", path)
        self.assertEqual(code, 0, err)
        kd = [s["terms"]["kd"] for s in self.of(events, "step")]
        self.assertLess(kd[0], 1e-6)  # epoch 1 starts with the snapshot equal to the student
        self.assertGreater(max(kd), 1e-4)
        pairs = [{"teacher": "logits", "student": "h", "adapter": "linear"}]
        path, job = self.job("aux", train=train, eval_manifest=ev, scheme={"kind": "self", "mode": "auxiliary", "pairs": pairs},
                             teacherOutput=None, epochs=1)
        code, events, err = run_trainer("train", path)
        self.assertEqual(code, 0, err)
        self.assertEqual(sorted(self.of(events, "start")[0]["losses"]), ["aux1", "ce"])
        self.assertIn("auxiliary head on h", self.of(events, "start")[0]["losses"]["aux1"])
        self.assertTrue(all(s["terms"]["aux1"] > 0 for s in self.of(events, "step")))
        self.assertEqual(sorted(self.trained_weights(job)), ["fc1.bias", "fc1.weight", "fc2.bias", "fc2.weight"])

    def test_pytorch_factory_student_exported_to_onnx(self):
        factory = os.path.join(self.dir, "student.py")
        with open(factory, "w") as f:
            f.write("import torch\n\ndef build():\n    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(36, 12),"
                    " torch.nn.ReLU(), torch.nn.Linear(12, 3))\n")
        path, job = self.job(student={"kind": "factory", "factory": f"{factory}:build", "inputNames": ["input"], "output": "logits"},
                             knowledge=[{"type": "response", "weight": 1.0, "temperature": 4.0, "alpha": 0.5, "target": "soft"},
                                        {"type": "similarity", "weight": 100.0, "pairs": [{"teacher": "logits", "student": "2"}]}],
                             epochs=1)
        code, events, err = run_trainer("train", path)
        self.assertEqual(code, 0, err)
        exported = self.of(events, "exported")[0]
        self.assertEqual((exported["kind"], exported["path"]), ("onnx", job["export"]["onnx"]))
        import onnx
        model = onnx.load(exported["path"])
        onnx.checker.check_model(model)
        self.assertEqual([i.name for i in model.graph.input], ["input"])
        self.assertEqual([o.name for o in model.graph.output], ["logits"])
        self.assertEqual(model.graph.input[0].type.tensor_type.shape.dim[0].dim_param, "batch")
        self.assertEqual(next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 13)
        # an export that fails (an opset torch cannot write) keeps the checkpoint and writes no file
        failing, job = self.job("failing", student={"kind": "factory", "factory": f"{factory}:build", "inputNames": ["input"],
                                                    "output": "logits"}, epochs=1,
                                export=dict(job["export"], onnx=os.path.join(self.dir, "out", "s.onnx"), opset=6))
        os.makedirs(os.path.join(self.dir, "out"))
        code, events, _ = run_trainer("train", failing)
        self.assertEqual(code, 1)
        self.assertIn("exporting the student failed", events[-1]["message"])
        self.assertEqual(events[-1]["where"], "export to " + os.path.join(self.dir, "out", "s.onnx"))
        self.assertTrue(os.path.isfile(self.of(events, "checkpoint")[-1]["path"]))
        self.assertEqual(os.listdir(os.path.join(self.dir, "out")), [])
        bad, _ = self.job("bad", student={"kind": "factory", "factory": f"{factory}:missing", "output": "logits"})
        code, events, _ = run_trainer("train", bad)
        self.assertEqual(code, 1)
        self.assertIn("no function 'missing'", events[-1]["message"])
        self.assertIn("build", events[-1]["hint"])


class Commands(unittest.TestCase):
    def test_probe(self):
        code, events, _ = run_trainer("probe")
        self.assertEqual(code, 0)
        self.assertEqual(events[0]["torch"], torch.__version__)
        self.assertEqual(events[0]["numpy"], np.__version__)
        self.assertEqual(events[0]["cuda"], torch.cuda.is_available())

    def test_probe_without_site_packages_names_what_is_missing(self):
        # -S: this interpreter without its site packages, i.e. without torch and numpy
        proc = subprocess.run([sys.executable, "-S", "-m", "onnx_compress_trainer", "probe"], capture_output=True, text=True,
                              env={"PYTHONPATH": trainer_env()["PYTHONPATH"], "PATH": os.environ.get("PATH", "")})
        events = parse_events(proc.stdout)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertEqual(sorted(events[0]["missing"]), ["numpy", "torch"])
        self.assertIn("apt-get install python3-torch libopenblas0-pthread", events[1]["hint"])
        self.assertIn("pip install torch", events[1]["hint"])
        # train says the same instead of a traceback
        proc = subprocess.run([sys.executable, "-S", "-m", "onnx_compress_trainer", "train", "job.json"], capture_output=True, text=True,
                              env={"PYTHONPATH": trainer_env()["PYTHONPATH"], "PATH": os.environ.get("PATH", "")})
        self.assertEqual(proc.returncode, 1)
        self.assertEqual(parse_events(proc.stdout)[-1]["event"], "error")

    def test_run_graph_writes_outputs_and_intermediate_tensors(self):
        d = tmpdir(self)
        graph = mlp_graph(os.path.join(d, "g"))
        x, _, _ = task(5)
        np.save(os.path.join(d, "x.npy"), x)
        code, events, err = run_trainer("run-graph", graph, "--input", f"input={d}/x.npy", "--output", "h", "--output", "logits",
                                        "--output-dir", os.path.join(d, "out"))
        self.assertEqual(code, 0, err)
        files = events[-1]["files"]
        self.assertEqual(list(files), ["h", "logits"])
        w1, b1 = np.load(os.path.join(d, "g", "weights", "0000.npy")), np.load(os.path.join(d, "g", "weights", "0001.npy"))
        np.testing.assert_allclose(np.load(files["h"]), x.reshape(5, 36) @ w1.T + b1, rtol=1e-5, atol=1e-5)
        self.assertEqual(np.load(files["logits"]).shape, (5, CLASSES))
        with open(os.path.join(d, "out", "outputs.json")) as f:
            self.assertEqual(json.load(f), files)
        code, events, _ = run_trainer("run-graph", graph, "--input", f"input={d}/x.npy", "--output", "hh", "--output-dir", d)
        self.assertEqual(code, 1)
        self.assertIn("did you mean 'h'", events[-1]["message"])


if __name__ == "__main__":
    unittest.main()
