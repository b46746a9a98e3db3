"""The teacher knowledge cache (docs/distill-formats.md section 1): inputs, labels and the teacher's
tensors as memory-mapped .npy files, read batch by batch so memory does not grow with samples."""
import os

import numpy as np
import torch

from .events import TrainerError, read_versioned_json
from .losses import TopK

CACHE_FORMAT = "onnx-compress/teacher-cache"
REBUILD = "delete the cache folder (or change a cache setting) so the engine writes it again"


class Cache:
    def __init__(self, manifest_path):
        self.path = manifest_path
        m = read_versioned_json(manifest_path, CACHE_FORMAT, "the teacher cache manifest", hint=REBUILD)
        self.base = os.path.dirname(os.path.abspath(manifest_path))
        self.samples = int(m["samples"])
        self.inputs = {e["name"]: self._array(e["file"], f"input '{e['name']}'") for e in m.get("inputs", [])}
        self.labels = self._array(m["labels"]["file"], "labels") if m.get("labels") else None
        self.teacher = {}
        for e in m.get("teacher", []):
            if e.get("topK"):
                self.teacher[e["tensor"]] = (self._array(e["file"], f"teacher tensor '{e['tensor']}' (top-k values)"),
                                             self._array(e["indices"], f"teacher tensor '{e['tensor']}' (top-k indices)"))
            else:
                self.teacher.setdefault(e["tensor"], self._array(e["file"], f"teacher tensor '{e['tensor']}'"))
        if not self.inputs:
            raise TrainerError(f"the cache {manifest_path} lists no inputs", where=manifest_path, hint=REBUILD)

    def _array(self, file, what):
        path = os.path.join(self.base, file)
        try:
            array = np.load(path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as err:
            raise TrainerError(f"cannot read {what} of the teacher cache: {err}", where=path, hint=REBUILD)
        if len(array) != self.samples:
            raise TrainerError(f"{what} holds {len(array)} samples but the manifest says {self.samples}", where=path, hint=REBUILD)
        return array

    def teacher_names(self):
        return list(self.teacher)

    def require(self, names, why):
        missing = [n for n in names if n not in self.teacher]
        if missing:
            raise TrainerError(f"the teacher cache has no tensor {', '.join(repr(n) for n in missing)} ({why}); "
                               f"it holds {', '.join(repr(n) for n in self.teacher) or 'no teacher tensors'}",
                               where=self.path, hint=REBUILD)

    def batch(self, indices, device, teacher_names=()):
        """Rows `indices` as tensors: {'inputs': {name: t}, 'labels': t | None, 'teacher': {name: t | TopK}}."""
        idx = np.sort(np.asarray(indices))  # ascending reads are sequential on the memory map
        to = lambda a, dtype=None: torch.from_numpy(np.ascontiguousarray(a[idx])).to(device=device, dtype=dtype)
        inputs = {n: to(a) for n, a in self.inputs.items()}
        inputs = {n: t.float() if t.dtype == torch.float16 else t for n, t in inputs.items()}
        teacher = {}
        for name in teacher_names:
            entry = self.teacher[name]
            if isinstance(entry, tuple):
                teacher[name] = TopK(to(entry[0], torch.float32), to(entry[1], torch.int64))
            else:
                teacher[name] = to(entry, torch.float32)
        labels = to(self.labels, torch.int64) if self.labels is not None else None
        return {"inputs": inputs, "labels": labels, "teacher": teacher, "size": len(idx)}
