"""The trained student back out: an ONNX student's weights as .npy + weights.json (the engine
writes them into the same graph), a PyTorch student through torch.onnx.export. Both are written
under a temporary name and renamed, so a failed export never leaves a half-written result."""
import json
import os
import shutil

import numpy as np
import torch

from .events import TrainerError, emit
from .graph_module import GraphModule

WEIGHTS_FORMAT = "onnx-compress/trained-weights"


def write_weights(model, directory):
    tmp = f"{directory}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    files = {}
    for i, name in enumerate(model.parameter_names()):
        file = f"{i:04d}.npy"
        np.save(os.path.join(tmp, file), model.initializer(name).detach().cpu().numpy())
        files[name] = file
    with open(os.path.join(tmp, "weights.json"), "w", encoding="utf-8") as f:
        json.dump({"format": WEIGHTS_FORMAT, "version": 1, "weights": files}, f, indent=1)
    if os.path.exists(directory):
        shutil.rmtree(directory)
    os.replace(tmp, directory)
    return directory


def write_onnx(model, path, sample_inputs, output, opset, dynamic_batch):
    module = model.module
    names = list(model.input_names)
    tmp = f"{path}.tmp-{os.getpid()}.onnx"
    axes = {n: {0: "batch"} for n in names + [output]} if dynamic_batch else None
    module.eval()
    try:
        with torch.no_grad():
            torch.onnx.export(module, tuple(sample_inputs[n] for n in names), tmp, input_names=names,
                              output_names=[output], dynamic_axes=axes, opset_version=int(opset), do_constant_folding=True)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    os.replace(tmp, path)
    return path


def export_student(model, job, data, output):
    ex = job.get("export") or {}
    try:
        if isinstance(model, GraphModule):
            target = ex.get("weightsDir") or os.path.join(job["runDir"], "student-weights")
            emit("exported", kind="weights", path=write_weights(model, target))
        else:
            target = ex.get("onnx") or os.path.join(job["runDir"], "student.onnx")
            sample = data.batch([0], next(model.parameters()).device)["inputs"]
            emit("exported", kind="onnx", path=write_onnx(model, target, sample, output, ex.get("opset", 13), ex.get("dynamicBatch", True)))
    except TrainerError:
        raise
    except Exception as err:
        raise TrainerError(f"exporting the student failed: {type(err).__name__}: {err}", where=f"export to {target}",
                           hint="the last epoch's checkpoint is kept; for a PyTorch student try another export opset")
