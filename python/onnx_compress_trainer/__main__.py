"""python3 -m onnx_compress_trainer probe | check JOB | train JOB | run-graph GRAPH --input NAME=FILE.npy ... --output-dir DIR

Every command answers with JSON lines on stdout (docs/distill-formats.md section 4). Exit codes:
0 done, 1 after an `error` event, 2 usage error, 130 interrupted (a checkpoint was written)."""
import argparse
import importlib
import os
import platform
import sys

from .events import TrainerError, emit

INSTALL_HINT = {
    # Debian's torch runs matrix products on the reference BLAS, about 20x slower, unless OpenBLAS is installed.
    "torch": "install PyTorch: `apt-get install python3-torch libopenblas0-pthread` (Debian/Ubuntu) or `pip install torch`",
    "numpy": "install NumPy: `apt-get install python3-numpy` (Debian/Ubuntu) or `pip install numpy`",
}


def probe():
    found, missing = {}, []
    for name in ("numpy", "torch"):
        try:
            found[name] = importlib.import_module(name).__version__
        except Exception as err:  # ImportError, or a broken install raising something else
            found[name] = None
            missing.append((name, err))
    cuda, devices = False, []
    if found["torch"]:
        import torch
        cuda = bool(torch.cuda.is_available())
        devices = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if cuda else []
    emit("probe", python=platform.python_version(), executable=sys.executable, torch=found["torch"],
         numpy=found["numpy"], cuda=cuda, cudaDevices=devices, missing=[m for m, _ in missing])
    if missing:
        emit("error", message=f"{sys.executable} cannot import {' and '.join(m for m, _ in missing)} "
                              f"({'; '.join(f'{m}: {e}' for m, e in missing)})",
             where=sys.executable, hint="; ".join(INSTALL_HINT[m] for m, _ in missing)
             + ", or point the Python interpreter setting at an environment that has them")
        return 1
    return 0


def check(job_path):
    from .job import load_job
    from .models import build_model
    from .train import count_parameters
    from .models import output_name
    from .schemes import Objective
    job = load_job(job_path)
    student = build_model(job["student"])
    unsupported = student.unsupported()
    scheme = job["scheme"]
    aux = scheme.get("pairs", []) if scheme["kind"] == "self" and scheme.get("mode") == "auxiliary" else []
    objective = Objective(job["knowledge"], output_name(student, job["student"]), job.get("teacherOutput") or "", aux)
    if job.get("teacher") and scheme["kind"] == "online":
        teacher = build_model(job["teacher"])
        unsupported += [dict(u, node=f"teacher: {u['node']}") for u in teacher.unsupported()]
        teacher.check_names([n for n in objective.teacher_names() if n], "teacher tensor")
    # Tensor names edited by hand are caught here, not at the first step.
    student.check_names(objective.student_names(), "student tensor")
    emit("check", unsupported=unsupported, parameters=count_parameters(student))
    return 0


def train(job_path):
    from .job import load_job
    from .train import train as run
    return run(load_job(job_path))


def run_graph(graph, inputs, output_dir, outputs):
    import json
    import numpy as np
    import torch
    from .graph_module import GraphModule
    model = GraphModule(graph).eval()
    feeds = {}
    for item in inputs:
        name, sep, file = item.partition("=")
        if not sep:
            raise TrainerError(f"--input {item!r} is not NAME=FILE.npy")
        try:
            feeds[name] = torch.from_numpy(np.load(file, allow_pickle=False))
        except (OSError, ValueError) as err:
            raise TrainerError(f"cannot read input {name} from {file}: {err}", where=file)
    unsupported = model.unsupported()
    if unsupported:
        emit("check", unsupported=unsupported, parameters=0)
        raise TrainerError(f"the graph has {len(unsupported)} node(s) the trainer cannot run", where=unsupported[0]["node"])
    if outputs:
        model.check_names(outputs)
    with torch.no_grad():
        result = model(feeds, outputs=outputs or None)
    os.makedirs(output_dir, exist_ok=True)
    files = {}
    for i, (name, value) in enumerate(result.items()):
        file = os.path.join(output_dir, f"{i:03d}.npy")
        np.save(file, value.detach().cpu().numpy())
        files[name] = file
    with open(os.path.join(output_dir, "outputs.json"), "w", encoding="utf-8") as f:
        json.dump(files, f, indent=1)
    emit("outputs", files=files)
    return 0


def parse(argv):
    p = argparse.ArgumentParser(prog="python3 -m onnx_compress_trainer", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("probe", help="versions of python, torch and numpy, and CUDA")
    for name in ("check", "train"):
        sub.add_parser(name, help=f"{name} a job file").add_argument("job")
    rg = sub.add_parser("run-graph", help="run a trainable graph forward on .npy inputs")
    rg.add_argument("graph")
    rg.add_argument("--input", action="append", default=[], metavar="NAME=FILE.npy")
    rg.add_argument("--output", action="append", default=[], metavar="TENSOR", help="tensors to write (default: the graph outputs)")
    rg.add_argument("--output-dir", required=True)
    return p.parse_args(argv)


def main(argv=None):
    args = parse(argv if argv is not None else sys.argv[1:])
    if args.command == "probe":
        return probe()
    try:
        import numpy  # noqa: F401
        import torch  # noqa: F401
    except ImportError:
        return probe()  # says exactly what is missing and how to install it
    try:
        if args.command == "check":
            return check(args.job)
        if args.command == "train":
            return train(args.job)
        return run_graph(args.graph, args.input, args.output_dir, args.output)
    except TrainerError as err:
        err.emit()
        return 1
    except KeyboardInterrupt:
        emit("error", message="interrupted outside a training step (checkpoints already written are kept)")
        return 130
    except Exception as err:  # a bug or an unforeseen input: still one `error` event, never a bare traceback
        from .train import describe_failure
        message, where = describe_failure(err)
        emit("error", message=f"the trainer failed: {message}", where=where,
             hint="this is likely a trainer bug; the log holds the traceback")
        import traceback
        traceback.print_exc()
        return 1


if __name__ == "__main__":
    sys.exit(main())
