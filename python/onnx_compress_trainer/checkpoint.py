"""Checkpoint files: written to a temporary name and renamed, so a checkpoint on disk is always
whole; each records which job it belongs to so a resume with another student is refused."""
import hashlib
import json
import os

import torch

from .events import TrainerError

CHECKPOINT_FORMAT = "onnx-compress/trainer-checkpoint"


def job_fingerprint(job):
    """What must not change between a run and its resume: the models, the scheme, the knowledge types."""
    key = {"student": job["student"], "teacher": job.get("teacher"), "scheme": job["scheme"].get("kind"),
           "knowledge": [k["type"] for k in job["knowledge"]]}
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


def save(directory, name, state, job):
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, name)
    tmp = f"{path}.tmp-{os.getpid()}"
    torch.save({"format": CHECKPOINT_FORMAT, "version": 1, "job": job_fingerprint(job), **state}, tmp)
    os.replace(tmp, path)
    return path


def load(path, job, device):
    try:
        state = torch.load(path, map_location=device)
    except Exception as err:
        raise TrainerError(f"cannot read the checkpoint {path}: {err}", where=path,
                           hint="resume from another checkpoint of the run, or start again without resume")
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise TrainerError(f"{path} is not a trainer checkpoint", where=path)
    if state.get("job") != job_fingerprint(job):
        raise TrainerError(f"the checkpoint {path} was written by a job with another student, teacher, scheme or knowledge list",
                           where=path, hint="resume only the run that wrote it, or start a new run")
    return state
