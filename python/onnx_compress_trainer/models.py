"""Students and teachers as modules with one calling convention, `model(feeds, outputs=[names])
-> {name: tensor}`: an ONNX trainable graph (GraphModule) or a user's PyTorch factory
(`file.py:function`, intermediate tensors named by their submodule's name)."""
import difflib
import importlib.util
import os

import torch
from torch import nn

from .events import TrainerError
from .graph_module import GraphModule


class FactoryModule(nn.Module):
    def __init__(self, module, input_names, output):
        super().__init__()
        self.module = module
        self.input_names = list(input_names)
        self.output_names = [output]
        self._modules_by_name = dict(module.named_modules())

    def tensor_names(self):
        return self.output_names + [n for n in self._modules_by_name if n]

    def unsupported(self):
        return []

    def check_names(self, names, what="tensor"):
        known = set(self.tensor_names())
        unknown = [n for n in names if n not in known]
        if unknown:
            hints = [f"'{n}'" + "".join(f" (did you mean '{c}'?)" for c in difflib.get_close_matches(n, known, n=1)) for n in unknown]
            raise TrainerError(f"unknown {what}(s) in the PyTorch student: {', '.join(hints)}",
                               hint="name the module's output or a submodule as listed by named_modules()")

    def forward(self, feeds, outputs=None):
        if torch.is_tensor(feeds):
            feeds = [feeds]
        args = [feeds[n] for n in self.input_names] if isinstance(feeds, dict) else list(feeds)
        wanted = list(outputs) if outputs else self.output_names
        captured, hooks = {}, []
        for name in wanted:
            if name in self._modules_by_name and name not in self.output_names:
                hooks.append(self._modules_by_name[name].register_forward_hook(
                    lambda m, i, o, name=name: captured.__setitem__(name, o)))
        try:
            result = self.module(*args)
        finally:
            for h in hooks:
                h.remove()
        captured[self.output_names[0]] = result
        return {w: captured[w] for w in wanted}


def load_factory(ref):
    """'path/to/file.py:function' -> the nn.Module it returns."""
    path, _, fn_name = ref.rpartition(":")
    if not path or not fn_name:
        raise TrainerError(f"the student factory '{ref}' is not 'path/to/file.py:function'", where=ref)
    if not os.path.isfile(path):
        raise TrainerError(f"the student factory file {path} does not exist", where=ref)
    spec = importlib.util.spec_from_file_location("onnx_compress_student_factory", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as err:
        raise TrainerError(f"importing {path} failed: {type(err).__name__}: {err}", where=path)
    fn = getattr(module, fn_name, None)
    if not callable(fn):
        raise TrainerError(f"{path} has no function '{fn_name}'", where=ref,
                           hint=f"functions there: {', '.join(n for n in dir(module) if callable(getattr(module, n)) and not n.startswith('_'))}")
    try:
        built = fn()
    except Exception as err:
        raise TrainerError(f"{ref}() raised {type(err).__name__}: {err}", where=ref)
    if not isinstance(built, nn.Module):
        raise TrainerError(f"{ref}() returned {type(built).__name__}, not a torch.nn.Module", where=ref)
    return built


def build_model(spec, default_inputs=()):
    """A job's student/teacher entry -> module with the common calling convention."""
    if spec["kind"] == "onnx":
        return GraphModule(spec["graph"])
    return FactoryModule(load_factory(spec["factory"]), spec.get("inputNames") or list(default_inputs),
                         spec.get("output") or "logits")


def output_name(model, spec):
    return spec.get("output") or model.output_names[0]
