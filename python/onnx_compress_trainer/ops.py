"""ONNX operators as torch functions, one entry per op type in OPS.

Each op is `fn(node, inputs, ctx) -> tensor | tuple` where `inputs` holds a tensor or None per
ONNX input (None for an absent optional input) and `ctx.opset` is the default domain's opset.
`CHECKS` holds, per op type, a function that returns why a node cannot run (or None): the
trainer lists those before training instead of failing mid-epoch.
"""
import math
import warnings

import torch
import torch.nn.functional as F

# ONNX TensorProto data types -> torch dtypes (Cast, ConstantOfShape, ...).
ONNX_DTYPES = {
    1: torch.float32, 2: torch.uint8, 3: torch.int8, 5: torch.int16, 6: torch.int32, 7: torch.int64,
    9: torch.bool, 10: torch.float16, 11: torch.float64,
}

OPS = {}
CHECKS = {}


def _registrar(table):
    """`deco(*names)`: a decorator that enters the function in `table` under each name."""
    def deco(*names):
        def register(fn):
            for name in names:
                table[name] = fn
            return fn
        return register
    return deco


op = _registrar(OPS)
check = _registrar(CHECKS)


def ints(t):
    """A shape/axes/indices tensor as a list of Python ints."""
    return [int(v) for v in t.detach().reshape(-1).cpu().tolist()]


def scalar(t):
    return t.detach().reshape(-1)[0].item()


def axis_of(a, rank):
    return a + rank if a < 0 else a


# --- elementwise ---

def _unary(name, fn):
    OPS[name] = lambda node, ins, ctx: fn(ins[0])


for _name, _fn in {
    "Relu": torch.relu, "Sigmoid": torch.sigmoid, "Tanh": torch.tanh, "Sqrt": torch.sqrt,
    "Exp": torch.exp, "Log": torch.log, "Neg": torch.neg, "Abs": torch.abs, "Erf": torch.erf,
    "Reciprocal": torch.reciprocal, "Floor": torch.floor, "Ceil": torch.ceil, "Round": torch.round,
    "Sign": torch.sign, "Sin": torch.sin, "Cos": torch.cos, "Not": torch.logical_not,
    "Softplus": F.softplus, "Softsign": F.softsign, "HardSwish": F.hardswish, "Identity": lambda x: x,
}.items():
    _unary(_name, _fn)

for _name, _fn in {
    "Add": torch.add, "Sub": torch.sub, "Mul": torch.mul, "Pow": torch.pow,
    "Equal": torch.eq, "Less": torch.lt, "Greater": torch.gt, "LessOrEqual": torch.le,
    "GreaterOrEqual": torch.ge, "And": torch.logical_and, "Or": torch.logical_or, "Xor": torch.logical_xor,
}.items():
    OPS[_name] = (lambda fn: lambda node, ins, ctx: fn(ins[0], ins[1]))(_fn)


@op("Div")
def div(node, ins, ctx):
    a, b = ins
    if not a.is_floating_point() and not b.is_floating_point():
        return torch.div(a, b, rounding_mode="trunc")  # ONNX integer division truncates
    return a / b


@op("Mod")
def mod(node, ins, ctx):
    return torch.fmod(ins[0], ins[1]) if node.attrs.get("fmod", 0) else torch.remainder(ins[0], ins[1])


@op("Max", "Min", "Sum", "Mean")
def variadic(node, ins, ctx):
    xs = [x for x in ins if x is not None]
    out = xs[0]
    for x in xs[1:]:
        out = {"Max": torch.maximum, "Min": torch.minimum}.get(node.op, torch.add)(out, x)
    return out / len(xs) if node.op == "Mean" else out


@op("LeakyRelu")
def leaky_relu(node, ins, ctx):
    return F.leaky_relu(ins[0], node.attrs.get("alpha", 0.01))


@op("Elu")
def elu(node, ins, ctx):
    return F.elu(ins[0], node.attrs.get("alpha", 1.0))


@op("Selu")
def selu(node, ins, ctx):
    a, g = node.attrs.get("alpha", 1.67326319217681884765625), node.attrs.get("gamma", 1.05070102214813232421875)
    x = ins[0]
    return g * torch.where(x > 0, x, a * (torch.exp(x) - 1))


@op("HardSigmoid")
def hard_sigmoid(node, ins, ctx):
    return torch.clamp(node.attrs.get("alpha", 0.2) * ins[0] + node.attrs.get("beta", 0.5), 0, 1)


@op("PRelu")
def prelu(node, ins, ctx):
    x, slope = ins
    if slope.dim() == 1 and x.dim() > 2 and slope.numel() == x.shape[1] and slope.numel() != x.shape[-1]:
        slope = slope.reshape((-1,) + (1,) * (x.dim() - 2))  # per-channel slope, as exporters wrote it before opset 7
    return torch.where(x < 0, slope * x, x)


@op("Gelu")
def gelu(node, ins, ctx):
    return F.gelu(ins[0], approximate=node.attrs.get("approximate", "none"))


@op("Clip")
def clip(node, ins, ctx):
    x = ins[0]
    if ctx.opset < 11:
        lo, hi = node.attrs.get("min"), node.attrs.get("max")
    else:
        lo = scalar(ins[1]) if len(ins) > 1 and ins[1] is not None else None
        hi = scalar(ins[2]) if len(ins) > 2 and ins[2] is not None else None
    return torch.clamp(x, lo, hi) if lo is not None or hi is not None else x


@op("Where")
def where(node, ins, ctx):
    return torch.where(ins[0].bool(), ins[1], ins[2])


@op("Cast")
def cast(node, ins, ctx):
    return ins[0].to(ONNX_DTYPES[node.attrs["to"]])


@check("Cast")
def cast_check(node, ctx):
    to = node.attrs.get("to")
    return None if to in ONNX_DTYPES else f"cast to ONNX data type {to} has no torch equivalent"


@op("Dropout")
def dropout(node, ins, ctx):
    x = ins[0]
    if ctx.opset < 12:
        ratio = node.attrs.get("ratio", 0.5)
    else:
        ratio = scalar(ins[1]) if len(ins) > 1 and ins[1] is not None else 0.5
    # Dropout acts while the module trains, as in the model the graph was exported from.
    y = F.dropout(x, ratio, training=ctx.training)
    return (y, torch.ones_like(x, dtype=torch.bool)) if len(node.outputs) > 1 else y


# --- linear algebra ---

@op("MatMul")
def matmul(node, ins, ctx):
    return torch.matmul(ins[0], ins[1])


@op("Gemm")
def gemm(node, ins, ctx):
    a, b = ins[0], ins[1]
    c = ins[2] if len(ins) > 2 else None
    if node.attrs.get("transA", 0):
        a = a.t()
    if node.attrs.get("transB", 0):
        b = b.t()
    y = node.attrs.get("alpha", 1.0) * (a @ b)
    if c is not None:
        y = y + node.attrs.get("beta", 1.0) * c
    return y


@op("Einsum")
def einsum(node, ins, ctx):
    return torch.einsum(node.attrs["equation"], *ins)


# --- convolution and pooling ---

def _spatial_pads(node, x, kernel, strides, dilations):
    """ONNX pads [b1, b2, ..., e1, e2, ...] for a node, resolving auto_pad against x's size."""
    n = len(kernel)
    auto = node.attrs.get("auto_pad", "NOTSET")
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        pads_b, pads_e = [], []
        for i in range(n):
            size = x.shape[2 + i]
            out = -(-size // strides[i])
            total = max((out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - size, 0)
            small, large = total // 2, total - total // 2
            pads_b.append(small if auto == "SAME_UPPER" else large)
            pads_e.append(large if auto == "SAME_UPPER" else small)
        return pads_b + pads_e
    if auto == "VALID":
        return [0] * (2 * n)
    return list(node.attrs.get("pads", [0] * (2 * n)))


def _torch_pad(pads, n):
    """ONNX pads (begins then ends, first axis first) -> F.pad order (last axis first)."""
    out = []
    for i in reversed(range(n)):
        out += [pads[i], pads[n + i]]
    return out


def _symmetric(pads, n):
    return all(pads[i] == pads[n + i] for i in range(n))


@op("Conv")
def conv(node, ins, ctx):
    x, w = ins[0], ins[1]
    b = ins[2] if len(ins) > 2 else None
    n = w.dim() - 2
    kernel = list(node.attrs.get("kernel_shape", w.shape[2:]))
    strides = list(node.attrs.get("strides", [1] * n))
    dilations = list(node.attrs.get("dilations", [1] * n))
    pads = _spatial_pads(node, x, kernel, strides, dilations)
    if _symmetric(pads, n):
        padding = pads[:n]
    else:
        x = F.pad(x, _torch_pad(pads, n))
        padding = [0] * n
    fn = (F.conv1d, F.conv2d, F.conv3d)[n - 1]
    return fn(x, w, b, stride=strides, padding=padding, dilation=dilations, groups=node.attrs.get("group", 1))


@check("Conv", "ConvTranspose", "MaxPool", "AveragePool")
def spatial_check(node, ctx):
    kernel = node.attrs.get("kernel_shape")
    if kernel is not None and not 1 <= len(kernel) <= 3:
        return f"{len(kernel)}-D kernels are not supported (1-D to 3-D are)"
    if node.op == "MaxPool" and len([o for o in node.outputs if o]) > 1:
        return "the Indices output of MaxPool is not supported"
    return None


@op("ConvTranspose")
def conv_transpose(node, ins, ctx):
    x, w = ins[0], ins[1]
    b = ins[2] if len(ins) > 2 else None
    n = w.dim() - 2
    group = node.attrs.get("group", 1)
    kernel = list(node.attrs.get("kernel_shape", w.shape[2:]))
    strides = list(node.attrs.get("strides", [1] * n))
    dilations = list(node.attrs.get("dilations", [1] * n))
    out_pad = list(node.attrs.get("output_padding", [0] * n))
    full = [strides[i] * (x.shape[2 + i] - 1) + out_pad[i] + (kernel[i] - 1) * dilations[i] + 1 for i in range(n)]
    auto = node.attrs.get("auto_pad", "NOTSET")
    if "output_shape" in node.attrs or auto in ("SAME_UPPER", "SAME_LOWER"):
        target = list(node.attrs.get("output_shape", [x.shape[2 + i] * strides[i] for i in range(n)]))[-n:]
        total = [full[i] - target[i] for i in range(n)]
        for i in range(n):  # a larger output than the kernel covers: extra output padding, not negative pads
            if total[i] < 0:
                out_pad[i] -= total[i]
                total[i] = 0
        if auto == "SAME_LOWER":
            pads = [t - t // 2 for t in total] + [t // 2 for t in total]
        else:
            pads = [t // 2 for t in total] + [t - t // 2 for t in total]
    else:
        pads = list(node.attrs.get("pads", [0] * (2 * n)))
    fn = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[n - 1]
    # Padding 0 then cropping handles asymmetric pads, which torch's padding argument cannot.
    y = fn(x, w, b, stride=strides, output_padding=out_pad, groups=group, dilation=dilations)
    index = [slice(None), slice(None)] + [slice(pads[i], y.shape[2 + i] - pads[n + i]) for i in range(n)]
    return y[tuple(index)]


def _pool_geometry(node, x):
    kernel = list(node.attrs["kernel_shape"])
    n = len(kernel)
    strides = list(node.attrs.get("strides", [1] * n))
    dilations = list(node.attrs.get("dilations", [1] * n))
    return kernel, strides, dilations, _spatial_pads(node, x, kernel, strides, dilations), n


@op("MaxPool")
def max_pool(node, ins, ctx):
    x = ins[0]
    kernel, strides, dilations, pads, n = _pool_geometry(node, x)
    ceil = bool(node.attrs.get("ceil_mode", 0))
    if _symmetric(pads, n) and all(pads[i] <= kernel[i] // 2 for i in range(n)):
        padding = pads[:n]
    else:
        x = F.pad(x, _torch_pad(pads, n), value=-math.inf)
        padding = [0] * n
    fn = (F.max_pool1d, F.max_pool2d, F.max_pool3d)[n - 1]
    if not x.is_floating_point():  # torch pools floats only; the maximum of integers is exact in float64
        return fn(x.double(), kernel, strides, padding, dilations, ceil_mode=ceil).to(x.dtype)
    return fn(x, kernel, strides, padding, dilations, ceil_mode=ceil)


@op("AveragePool")
def average_pool(node, ins, ctx):
    x = ins[0]
    kernel, strides, _, pads, n = _pool_geometry(node, x)
    ceil = bool(node.attrs.get("ceil_mode", 0))
    include_pad = bool(node.attrs.get("count_include_pad", 0))
    fn = (F.avg_pool1d, F.avg_pool2d, F.avg_pool3d)[n - 1]
    if _symmetric(pads, n) and all(pads[i] <= kernel[i] // 2 for i in range(n)):
        return fn(x, kernel, strides, pads[:n], ceil_mode=ceil, count_include_pad=include_pad)
    xp = F.pad(x, _torch_pad(pads, n))
    summed = fn(xp, kernel, strides, 0, ceil_mode=ceil)
    if include_pad:
        return summed
    # Divide by the number of real (unpadded) elements in each window.
    mask = F.pad(torch.ones_like(x[:1, :1]), _torch_pad(pads, n))
    return summed / fn(mask, kernel, strides, 0, ceil_mode=ceil)


@op("GlobalAveragePool")
def global_average_pool(node, ins, ctx):
    x = ins[0]
    return x.mean(dim=tuple(range(2, x.dim())), keepdim=True)


@op("GlobalMaxPool")
def global_max_pool(node, ins, ctx):
    x = ins[0]
    return x.amax(dim=tuple(range(2, x.dim())), keepdim=True)


# --- normalization ---

@op("BatchNormalization")
def batch_norm(node, ins, ctx):
    x, scale, bias, mean, var = ins[:5]
    # Inference form: the running statistics (buffers) normalise; scale and bias train.
    y = F.batch_norm(x, mean, var, scale, bias, training=False, eps=node.attrs.get("epsilon", 1e-5))
    return (y,) + (mean, var)[: len(node.outputs) - 1] if len(node.outputs) > 1 else y


@check("BatchNormalization")
def batch_norm_check(node, ctx):
    if node.attrs.get("training_mode", 0) or len([o for o in node.outputs if o]) > 1 and ctx.opset < 14:
        return "training-mode BatchNormalization (batch statistics) is not supported: export the model in eval mode"
    return None


@op("InstanceNormalization")
def instance_norm(node, ins, ctx):
    return F.instance_norm(ins[0], weight=ins[1], bias=ins[2], eps=node.attrs.get("epsilon", 1e-5))


@op("LayerNormalization")
def layer_norm(node, ins, ctx):
    x, scale = ins[0], ins[1]
    bias = ins[2] if len(ins) > 2 else None
    axis = axis_of(node.attrs.get("axis", -1), x.dim())
    dims = tuple(range(axis, x.dim()))
    mean = x.mean(dim=dims, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=dims, keepdim=True)
    inv_std = torch.rsqrt(var + node.attrs.get("epsilon", 1e-5))
    y = (x - mean) * inv_std * scale
    if bias is not None:
        y = y + bias
    return (y, mean, inv_std)[: max(1, len(node.outputs))] if len(node.outputs) > 1 else y


@op("Softmax", "LogSoftmax")
def softmax(node, ins, ctx):
    x = ins[0]
    fn = torch.softmax if node.op == "Softmax" else torch.log_softmax
    if ctx.opset >= 13:
        return fn(x, dim=node.attrs.get("axis", -1))
    # Before opset 13 the input is coerced to 2-D at `axis` (default 1) and normalised per row.
    axis = axis_of(node.attrs.get("axis", 1), x.dim())
    rows = int(math.prod(x.shape[:axis]))
    return fn(x.reshape(rows, -1), dim=1).reshape(x.shape)


# --- shape manipulation ---

@op("Flatten")
def flatten(node, ins, ctx):
    x = ins[0]
    axis = axis_of(node.attrs.get("axis", 1), x.dim())
    return x.reshape(int(math.prod(x.shape[:axis])), -1)


@op("Reshape")
def reshape(node, ins, ctx):
    x = ins[0]
    shape = ints(ins[1])
    if not node.attrs.get("allowzero", 0):
        shape = [x.shape[i] if d == 0 else d for i, d in enumerate(shape)]
    return x.reshape(shape)


@op("Transpose")
def transpose(node, ins, ctx):
    x = ins[0]
    perm = node.attrs.get("perm", list(reversed(range(x.dim()))))
    return x.permute(*perm)


@op("Concat")
def concat(node, ins, ctx):
    xs = [x for x in ins if x is not None]
    return torch.cat(xs, dim=node.attrs["axis"])


@op("Split")
def split(node, ins, ctx):
    x = ins[0]
    axis = axis_of(node.attrs.get("axis", 0), x.dim())
    if ctx.opset < 13:
        sizes = node.attrs.get("split")
    else:
        sizes = ints(ins[1]) if len(ins) > 1 and ins[1] is not None else None
    count = len(node.outputs)
    if sizes is None:
        parts = node.attrs.get("num_outputs", count)
        chunk = -(-x.shape[axis] // parts)
        sizes = [min(chunk, x.shape[axis] - i * chunk) for i in range(parts)]
    return tuple(torch.split(x, list(sizes), dim=axis))


@op("Slice")
def slice_(node, ins, ctx):
    x = ins[0]
    if ctx.opset < 10:
        starts, ends = node.attrs["starts"], node.attrs["ends"]
        axes = node.attrs.get("axes", list(range(len(starts))))
        steps = [1] * len(starts)
    else:
        starts, ends = ints(ins[1]), ints(ins[2])
        axes = ints(ins[3]) if len(ins) > 3 and ins[3] is not None else list(range(len(starts)))
        steps = ints(ins[4]) if len(ins) > 4 and ins[4] is not None else [1] * len(starts)
    for start, end, axis, step in zip(starts, ends, axes, steps):
        axis = axis_of(axis, x.dim())
        size = x.shape[axis]
        start = start + size if start < 0 else start
        end = end + size if end < 0 else end
        if step > 0:
            start, end = min(max(start, 0), size), min(max(end, 0), size)
            x = x[(slice(None),) * axis + (slice(start, end, step),)]
        else:
            start, end = min(max(start, -1), size - 1), min(max(end, -1), size - 1)
            index = torch.arange(start, end, step, device=x.device)
            x = x.index_select(axis, index)
    return x


@op("Gather")
def gather(node, ins, ctx):
    x, idx = ins
    axis = axis_of(node.attrs.get("axis", 0), x.dim())
    idx = idx.long()
    idx = torch.where(idx < 0, idx + x.shape[axis], idx)
    out = x.index_select(axis, idx.reshape(-1))
    return out.reshape(tuple(x.shape[:axis]) + tuple(idx.shape) + tuple(x.shape[axis + 1:]))


@op("GatherElements")
def gather_elements(node, ins, ctx):
    x, idx = ins
    axis = axis_of(node.attrs.get("axis", 0), x.dim())
    idx = idx.long()
    return torch.gather(x, axis, torch.where(idx < 0, idx + x.shape[axis], idx))


def _axes(node, ins, ctx, since):
    """Axes from the attribute (before opset `since`) or the second input (from it on)."""
    if ctx.opset < since:
        return node.attrs.get("axes")
    return ints(ins[1]) if len(ins) > 1 and ins[1] is not None else None


@op("Unsqueeze")
def unsqueeze(node, ins, ctx):
    x = ins[0]
    axes = _axes(node, ins, ctx, 13)
    rank = x.dim() + len(axes)
    for a in sorted(axis_of(a, rank) for a in axes):
        x = x.unsqueeze(a)
    return x


@op("Squeeze")
def squeeze(node, ins, ctx):
    x = ins[0]
    axes = _axes(node, ins, ctx, 13)
    if axes is None:
        return x.squeeze()
    for a in sorted((axis_of(a, x.dim()) for a in axes), reverse=True):
        x = x.squeeze(a)
    return x


@op("Shape")
def shape(node, ins, ctx):
    dims = list(ins[0].shape)
    start, end = node.attrs.get("start", 0), node.attrs.get("end", len(dims))
    return torch.tensor(dims[start:end], dtype=torch.int64, device=ins[0].device)


@op("Size")
def size(node, ins, ctx):
    return torch.tensor(ins[0].numel(), dtype=torch.int64, device=ins[0].device)


@op("Expand")
def expand(node, ins, ctx):
    x = ins[0]
    target = torch.broadcast_shapes(tuple(x.shape), tuple(ints(ins[1])))
    return x.expand(target)


@op("Tile")
def tile(node, ins, ctx):
    return ins[0].repeat(*ints(ins[1]))


@op("Range")
def range_(node, ins, ctx):
    start, limit, delta = (scalar(t) for t in ins)
    return torch.arange(start, limit, delta, dtype=ins[0].dtype, device=ins[0].device)


@op("ConstantOfShape")
def constant_of_shape(node, ins, ctx):
    value = node.attrs.get("value")
    fill = ctx.tensor(value) if value is not None else torch.zeros(1)
    return torch.full(ints(ins[0]), fill.reshape(-1)[0].item(), dtype=fill.dtype, device=ins[0].device)


@op("Constant")
def constant(node, ins, ctx):
    a = node.attrs
    if "value" in a:
        return ctx.tensor(a["value"])
    for key, dtype in (("value_float", torch.float32), ("value_floats", torch.float32),
                       ("value_int", torch.int64), ("value_ints", torch.int64)):
        if key in a:
            return torch.tensor(a[key], dtype=dtype, device=ctx.device)
    raise ValueError("Constant without a value, value_float(s) or value_int(s) attribute")


@check("Constant")
def constant_check(node, ctx):
    keys = {"value", "value_float", "value_floats", "value_int", "value_ints"}
    return None if keys & set(node.attrs) else "only tensor, float(s) and int(s) constants are supported"


@op("Pad")
def pad(node, ins, ctx):
    x = ins[0]
    mode = node.attrs.get("mode", "constant")
    if ctx.opset < 11:
        pads, value = node.attrs["pads"], node.attrs.get("value", 0.0)
        axes = list(range(x.dim()))
    else:
        pads = ints(ins[1])
        value = scalar(ins[2]) if len(ins) > 2 and ins[2] is not None else 0.0
        axes = ints(ins[3]) if len(ins) > 3 and ins[3] is not None else list(range(x.dim()))
    axes = [axis_of(a, x.dim()) for a in axes]
    full = [0] * (2 * x.dim())
    for i, a in enumerate(axes):
        full[a], full[x.dim() + a] = pads[i], pads[len(axes) + i]
    torch_pads = _torch_pad(full, x.dim())
    if mode == "constant":
        return F.pad(x, torch_pads, value=value)
    # torch pads the trailing (spatial) axes only in reflect/replicate modes.
    n = x.dim() - 2
    torch_mode = {"reflect": "reflect", "edge": "replicate"}[mode]
    if not x.is_floating_point():  # torch pads only floats in these modes; integers survive the round trip
        return F.pad(x.double(), torch_pads[: 2 * n], mode=torch_mode).to(x.dtype)
    return F.pad(x, torch_pads[: 2 * n], mode=torch_mode)


@check("Pad")
def pad_check(node, ctx):
    mode = node.attrs.get("mode", "constant")
    if mode not in ("constant", "reflect", "edge"):
        return f"pad mode '{mode}' is not supported (constant, reflect, edge are)"
    return None


# --- reductions ---

_REDUCE = {
    "ReduceMean": lambda x, d, k: x.mean(dim=d, keepdim=k),
    "ReduceSum": lambda x, d, k: x.sum(dim=d, keepdim=k),
    "ReduceMax": lambda x, d, k: x.amax(dim=d, keepdim=k),
    "ReduceMin": lambda x, d, k: x.amin(dim=d, keepdim=k),
    "ReduceProd": lambda x, d, k: _prod(x, d, k),
    "ReduceL1": lambda x, d, k: x.abs().sum(dim=d, keepdim=k),
    "ReduceL2": lambda x, d, k: x.pow(2).sum(dim=d, keepdim=k).sqrt(),
    "ReduceSumSquare": lambda x, d, k: x.pow(2).sum(dim=d, keepdim=k),
    "ReduceLogSumExp": lambda x, d, k: torch.logsumexp(x, dim=d, keepdim=k),
    "ReduceLogSum": lambda x, d, k: x.sum(dim=d, keepdim=k).log(),
}


def _prod(x, dims, keep):
    for d in sorted(dims, reverse=True):
        x = x.prod(dim=d, keepdim=keep)
    return x


@op(*_REDUCE)
def reduce(node, ins, ctx):
    x = ins[0]
    # Axes became an input in opset 13 for ReduceSum and in opset 18 for the others.
    axes = _axes(node, ins, ctx, 13 if node.op == "ReduceSum" else 18)
    if not axes:
        if node.attrs.get("noop_with_empty_axes", 0):
            return x
        axes = list(range(x.dim()))
    dims = tuple(axis_of(a, x.dim()) for a in axes)
    return _REDUCE[node.op](x, dims, bool(node.attrs.get("keepdims", 1)))


@op("ArgMax", "ArgMin")
def arg_reduce(node, ins, ctx):
    x = ins[0]
    axis = axis_of(node.attrs.get("axis", 0), x.dim())
    keep = bool(node.attrs.get("keepdims", 1))
    if node.attrs.get("select_last_index", 0):
        flipped = x.flip(axis)
        idx = (flipped.argmax if node.op == "ArgMax" else flipped.argmin)(dim=axis, keepdim=keep)
        return x.shape[axis] - 1 - idx
    return (x.argmax if node.op == "ArgMax" else x.argmin)(dim=axis, keepdim=keep)


@op("CumSum")
def cumsum(node, ins, ctx):
    x = ins[0]
    axis = axis_of(int(scalar(ins[1])), x.dim())
    if node.attrs.get("reverse", 0):
        x = x.flip(axis)
    y = x.cumsum(axis)
    if node.attrs.get("exclusive", 0):
        y = y - x
    return y.flip(axis) if node.attrs.get("reverse", 0) else y


# --- resizing ---

def _resize_sources(out, size, scale, coord, device):
    """ONNX Resize: the input coordinate each output index samples along one axis. The resized
    length in the formulas is size * scale, before rounding (it equals `out` when sizes are given)."""
    r = torch.arange(out, dtype=torch.float64, device=device)
    length = size * scale
    if coord == "half_pixel":
        return (r + 0.5) / scale - 0.5
    if coord == "pytorch_half_pixel":
        return (r + 0.5) / scale - 0.5 if length > 1 else torch.zeros_like(r)
    if coord == "align_corners":
        return r * (size - 1) / (length - 1) if length > 1 else torch.zeros_like(r)
    if coord == "tf_half_pixel_for_nn":
        return (r + 0.5) / scale
    return r / scale  # asymmetric


def _resize_axis(x, axis, out, scale, coord, mode, rounding):
    size = x.shape[axis]
    src = _resize_sources(out, size, scale, coord, x.device)
    if mode == "nearest":
        idx = {"round_prefer_floor": torch.ceil(src - 0.5), "round_prefer_ceil": torch.floor(src + 0.5),
               "floor": torch.floor(src), "ceil": torch.ceil(src)}[rounding]
        return x.index_select(axis, idx.clamp(0, size - 1).long())
    # linear: a weighted sum of the two neighbours (differentiable in x), edges clamped
    src = src.clamp(0, size - 1)
    lo = src.floor().long()
    hi = (lo + 1).clamp(max=size - 1)
    shape = [1] * x.dim()
    shape[axis] = out
    frac = (src - lo).to(x.dtype).reshape(shape)
    return x.index_select(axis, lo) * (1 - frac) + x.index_select(axis, hi) * frac


@op("Resize", "Upsample")
def resize(node, ins, ctx):
    x = ins[0]
    a = node.attrs
    mode = {"bilinear": "linear", "trilinear": "linear"}.get(a.get("mode", "nearest"), a.get("mode", "nearest"))
    if node.op == "Upsample" or ctx.opset < 11:
        scales = a.get("scales") or [float(v) for v in ins[1].reshape(-1).tolist()]
        sizes, coord, rounding = None, "asymmetric", "floor"
    else:
        given = lambda i: ins[i] if len(ins) > i and ins[i] is not None and ins[i].numel() else None
        scales = [float(v) for v in given(2).reshape(-1).tolist()] if given(2) is not None else None
        sizes = ints(given(3)) if given(3) is not None else None
        coord = a.get("coordinate_transformation_mode", "half_pixel")
        rounding = a.get("nearest_mode", "round_prefer_floor")
    for axis in range(x.dim()):
        size = x.shape[axis]
        out = sizes[axis] if sizes else int(math.floor(size * scales[axis]))
        scale = out / size if sizes else scales[axis]
        if out != size or scale != 1.0:
            x = _resize_axis(x, axis, out, scale, coord, mode, rounding)
    return x


@check("Resize", "Upsample")
def resize_check(node, ctx):
    a = node.attrs
    mode = a.get("mode", "nearest")
    coord = a.get("coordinate_transformation_mode", "half_pixel")
    if mode not in ("nearest", "linear", "bilinear", "trilinear"):
        return f"resize mode '{mode}' is not supported (nearest, linear are)"
    if node.op == "Resize" and ctx.opset >= 11 and coord in ("tf_crop_and_resize", "half_pixel_symmetric"):
        return f"resize with {coord} coordinates is not supported"
    if a.get("antialias", 0) or "axes" in a or a.get("keep_aspect_ratio_policy", "stretch") != "stretch":
        return "antialias, axes and keep_aspect_ratio_policy of Resize (opset 18) are not supported"
    return None


# --- more elementwise and indexing ops ---

for _name, _fn in {
    "Acos": torch.acos, "Asin": torch.asin, "Atan": torch.atan, "Acosh": torch.acosh, "Asinh": torch.asinh,
    "Atanh": torch.atanh, "Cosh": torch.cosh, "Sinh": torch.sinh, "Tan": torch.tan, "IsNaN": torch.isnan, "Mish": F.mish,
}.items():
    _unary(_name, _fn)


@op("IsInf")
def is_inf(node, ins, ctx):
    x = ins[0]
    pos, neg = node.attrs.get("detect_positive", 1), node.attrs.get("detect_negative", 1)
    return (torch.isposinf(x) & bool(pos)) | (torch.isneginf(x) & bool(neg))


@op("ThresholdedRelu")
def thresholded_relu(node, ins, ctx):
    x = ins[0]
    return torch.where(x > node.attrs.get("alpha", 1.0), x, torch.zeros_like(x))


@op("Celu")
def celu(node, ins, ctx):
    return F.celu(ins[0], node.attrs.get("alpha", 1.0))


@op("Shrink")
def shrink(node, ins, ctx):
    x, lambd, bias = ins[0], node.attrs.get("lambd", 0.5), node.attrs.get("bias", 0.0)
    return torch.where(x < -lambd, x + bias, torch.where(x > lambd, x - bias, torch.zeros_like(x)))


@op("CastLike")
def cast_like(node, ins, ctx):
    return ins[0].to(ins[1].dtype)


@op("Trilu")
def trilu(node, ins, ctx):
    k = int(scalar(ins[1])) if len(ins) > 1 and ins[1] is not None else 0
    return torch.triu(ins[0], k) if node.attrs.get("upper", 1) else torch.tril(ins[0], k)


@op("Hardmax")
def hardmax(node, ins, ctx):
    x = ins[0]
    if ctx.opset >= 13:
        axis = axis_of(node.attrs.get("axis", -1), x.dim())
        return F.one_hot(x.argmax(axis), x.shape[axis]).movedim(-1, axis).to(x.dtype)
    axis = axis_of(node.attrs.get("axis", 1), x.dim())
    flat = x.reshape(int(math.prod(x.shape[:axis])), -1)
    return F.one_hot(flat.argmax(1), flat.shape[1]).to(x.dtype).reshape(x.shape)


@op("TopK")
def top_k(node, ins, ctx):
    x = ins[0]
    k = node.attrs["k"] if ctx.opset < 10 else int(scalar(ins[1]))
    axis = axis_of(node.attrs.get("axis", -1), x.dim())
    values, indices = torch.topk(x, k, dim=axis, largest=bool(node.attrs.get("largest", 1)), sorted=True)
    return values, indices


@op("OneHot")
def one_hot(node, ins, ctx):
    idx, depth, values = ins
    depth = int(scalar(depth))
    idx = idx.long()
    idx = torch.where(idx < 0, idx + depth, idx)
    hot = F.one_hot(idx.clamp(0, depth - 1), depth).bool() & ((idx >= 0) & (idx < depth)).unsqueeze(-1)
    axis = axis_of(node.attrs.get("axis", -1), idx.dim() + 1)
    hot = hot.movedim(-1, axis)
    return torch.where(hot, values[1], values[0])


@op("ScatterElements")
def scatter_elements(node, ins, ctx):
    x, idx, upd = ins
    axis = axis_of(node.attrs.get("axis", 0), x.dim())
    idx = idx.long()
    idx = torch.where(idx < 0, idx + x.shape[axis], idx)
    reduction = node.attrs.get("reduction", "none")
    if reduction == "none":
        return x.scatter(axis, idx, upd)
    with warnings.catch_warnings():  # torch 1.13 flags scatter_reduce as beta on every call
        warnings.simplefilter("ignore", UserWarning)
        return x.scatter_reduce(axis, idx, upd, {"add": "sum", "mul": "prod", "max": "amax", "min": "amin"}[reduction])


@op("GatherND")
def gather_nd(node, ins, ctx):
    x, idx = ins
    b = node.attrs.get("batch_dims", 0)
    idx = idx.long()
    depth = idx.shape[-1]
    batch = x.shape[:b]
    xb = x.reshape((-1,) + tuple(x.shape[b:]))
    ib = idx.reshape((xb.shape[0], -1, depth))
    ib = torch.where(ib < 0, ib + torch.tensor(x.shape[b:b + depth], device=x.device), ib)
    rows = torch.arange(xb.shape[0], device=x.device).unsqueeze(1).expand(ib.shape[:2])
    picked = xb[(rows,) + tuple(ib[..., i] for i in range(depth))]
    return picked.reshape(tuple(batch) + tuple(idx.shape[b:-1]) + tuple(x.shape[b + depth:]))


@op("DepthToSpace")
def depth_to_space(node, ins, ctx):
    x, bs = ins[0], node.attrs["blocksize"]
    n, c, h, w = x.shape
    if node.attrs.get("mode", "DCR") == "DCR":
        y = x.reshape(n, bs, bs, c // (bs * bs), h, w).permute(0, 3, 4, 1, 5, 2)
    else:
        y = x.reshape(n, c // (bs * bs), bs, bs, h, w).permute(0, 1, 4, 2, 5, 3)
    return y.reshape(n, c // (bs * bs), h * bs, w * bs)


@op("SpaceToDepth")
def space_to_depth(node, ins, ctx):
    x, bs = ins[0], node.attrs["blocksize"]
    n, c, h, w = x.shape
    y = x.reshape(n, c, h // bs, bs, w // bs, bs).permute(0, 3, 5, 1, 2, 4)
    return y.reshape(n, c * bs * bs, h // bs, w // bs)


@op("LRN")
def lrn(node, ins, ctx):
    a = node.attrs
    return F.local_response_norm(ins[0], a["size"], alpha=a.get("alpha", 1e-4), beta=a.get("beta", 0.75), k=a.get("bias", 1.0))
