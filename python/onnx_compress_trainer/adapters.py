"""Trainable adapters Phi that map a student tensor onto its paired teacher tensor's shape, and the
auxiliary heads of self-distillation. Built from the real tensors of the first batch, so shapes
the graph leaves symbolic are settled before the optimizer sees the parameters."""
import torch
import torch.nn.functional as F
from torch import nn

ADAPTERS = ("none", "conv1x1", "linear", "interpolate", "pool", "conv1x1+interpolate")


def choose_adapter(s_shape, t_shape):
    """What 'auto' means: channels differ -> 1x1 conv, spatial size differs -> interpolation, hidden size -> linear."""
    if list(s_shape[1:]) == list(t_shape[1:]):
        return "none"
    if len(s_shape) == len(t_shape) and len(s_shape) in (4, 5):
        channels, spatial = s_shape[1] != t_shape[1], list(s_shape[2:]) != list(t_shape[2:])
        return "conv1x1+interpolate" if channels and spatial else "conv1x1" if channels else "interpolate"
    return "linear"


class Resize(nn.Module):
    def __init__(self, size, mode):
        super().__init__()
        self.size, self.mode = list(size), mode

    def forward(self, x):
        if list(x.shape[2:]) == self.size:
            return x
        if self.mode == "pool":
            return F.adaptive_avg_pool2d(x, self.size) if x.dim() == 4 else F.adaptive_avg_pool1d(x, self.size)
        mode = {3: "linear", 4: "bilinear", 5: "trilinear"}[x.dim()]
        return F.interpolate(x, size=self.size, mode=mode, align_corners=False)


class LastDimLinear(nn.Module):
    """Linear on the hidden (last) axis; flattens per sample when ranks differ."""

    def __init__(self, s_shape, t_shape):
        super().__init__()
        self.flatten = len(s_shape) != len(t_shape) or list(s_shape[1:-1]) != list(t_shape[1:-1])
        self.t_shape = list(t_shape[1:])
        s_dim = _prod(s_shape[1:]) if self.flatten else s_shape[-1]
        t_dim = _prod(t_shape[1:]) if self.flatten else t_shape[-1]
        self.linear = nn.Linear(s_dim, t_dim)

    def forward(self, x):
        if self.flatten:
            return self.linear(x.reshape(len(x), -1)).reshape([len(x)] + self.t_shape)
        return self.linear(x)


def _prod(dims):
    out = 1
    for d in dims:
        out *= int(d)
    return out


def _conv1x1(s_shape, t_shape):
    conv = {3: nn.Conv1d, 4: nn.Conv2d, 5: nn.Conv3d}.get(len(s_shape))
    if conv is None:
        raise ValueError(f"a 1x1 convolution needs a 3-D to 5-D tensor, got shape {list(s_shape)}")
    return conv(s_shape[1], t_shape[1], kernel_size=1, bias=False)


def build_adapter(kind, s_shape, t_shape):
    """An nn.Module turning a student tensor of s_shape into t_shape (both with the real batch)."""
    s_shape, t_shape = list(s_shape), list(t_shape)
    if kind == "auto":
        kind = choose_adapter(s_shape, t_shape)
    if kind == "none":
        if s_shape[1:] != t_shape[1:]:
            raise ValueError(f"shapes differ ({s_shape[1:]} vs {t_shape[1:]}) and the adapter is 'none'")
        return nn.Identity()
    if kind == "linear":
        return LastDimLinear(s_shape, t_shape)
    if kind in ("interpolate", "pool"):
        if s_shape[1] != t_shape[1]:
            raise ValueError(f"'{kind}' changes only the spatial size but the channels differ ({s_shape[1]} vs {t_shape[1]}): use 'conv1x1+interpolate'")
        return Resize(t_shape[2:], kind)
    if kind == "conv1x1":
        return _conv1x1(s_shape, t_shape)
    if kind == "conv1x1+interpolate":
        return nn.Sequential(_conv1x1(s_shape, t_shape), Resize(t_shape[2:], "interpolate"))
    raise ValueError(f"unknown adapter '{kind}' (one of {', '.join(ADAPTERS)})")


class AuxiliaryHead(nn.Module):
    """Self-distillation: a shallow tensor -> pooled -> linear -> logits of the deep output."""

    def __init__(self, s_shape, classes):
        super().__init__()
        channels = s_shape[1] if len(s_shape) >= 3 and len(s_shape) != 3 else s_shape[-1]
        self.tokens = len(s_shape) == 3  # [batch, tokens, hidden]: mean over tokens
        self.linear = nn.Linear(int(channels), int(classes))

    def forward(self, x):
        if x.dim() == 2:
            pooled = x
        elif self.tokens:
            pooled = x.mean(dim=1)
        else:
            pooled = x.mean(dim=tuple(range(2, x.dim())))
        return self.linear(pooled)
