#!/usr/bin/python3
"""Train the small character-level language model in test/fixtures/lm/ and export it to ONNX.

Usage (Debian python3-torch 1.13 CPU, python3-numpy, python3-onnx; no download):

    /usr/bin/python3 scripts/train-lm-fixture.py --out test/fixtures/lm

Text: the FSF licence texts in /usr/share/common-licenses (Debian package base-files). Each of them
allows verbatim copying and distribution. LGPL-3 is the held-out text: training never sees it. The
other seven (GPL-1/2/3, LGPL-2/2.1, GFDL-1.2/1.3) are the training text. Every run of whitespace
becomes one space, so the text is one line of printable ASCII.

Tokens: one per character, id = ord(c) - 32 (95 ids: space .. '~').

Model (CharLM below): token embedding (Gather) + learned positions (sliced to the sequence length),
--layers pre-LN causal self-attention blocks (d_model --dim, --heads heads, MLP d -> 4d -> d with exact
GELU), final LayerNorm, Linear(d -> 95) head. The shipped fixture: 4 blocks, d_model 128, 4 heads.
d_model must be a multiple of 128 so that every MatMul's K is a whole number of 128-blocks. Every nn.Linear exports as MatMul (constant weight) + Add;
the attention is plain MatMul/Softmax with an additive causal mask. Context 128 characters.
Input 'input_ids' int64 [batch, seq], output 'logits' float32 [batch, seq, 95]; batch and seq are
dynamic (seq <= 128).

Files written to --out:
  char_lm.onnx           the model (opset 17, so each LayerNorm is one LayerNormalization node)
  heldout.npz            'input_ids' int64 [n, 128]: consecutive non-overlapping windows of LGPL-3
  heldout.labels.npy     int64 [n, 128]: the next character of every position
  calib.npz              'input_ids' int64 [32, 128]: windows drawn from the training text
  calib.labels.npy       int64 [32, 128]
  lm.json                sizes, op types, settings, training time, and the held-out cross-entropy in
                         PyTorch and in onnxruntime-node (a small Node program runs the exported file;
                         the two must agree within 1e-4 or the script fails)

Training (the defaults, DEFAULTS below, are the recipe of the shipped fixture): GPT-style practice.
AdamW with betas 0.9/0.99 (the second moment of nanoGPT's character-level config, suited to small
batches), weight decay 0.1 on the matrices only (Linear weights, token and position tables; none on
biases and LayerNorm), peak lr 2e-3 reached by a linear warm-up over the first 5% of the steps, then
cosine decay to 10% of the peak, gradient clipping at norm 1, dropout 0.1, batches of 32 random
windows of 128 characters, 1,200 steps. The recipe was chosen by held-out float cross-entropy only
(the previous fixture, 2 blocks with weight decay 0.05 on every parameter, cosine to 0 over 1,500
steps: 1.0981 nats/token); the quantized numbers the tests measure were not used to choose it.
--eval-every N prints the held-out cross-entropy during training (and lm.json records that curve);
it selects nothing and stops nothing.

Deterministic: fixed seeds, torch.use_deterministic_algorithms(True), one thread (--threads; another
thread count may sum in another order and change the bytes).
"""
import argparse
import hashlib
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LICENSE_DIR = '/usr/share/common-licenses'
TRAIN_TEXTS = ['GPL-1', 'GPL-2', 'GPL-3', 'LGPL-2', 'LGPL-2.1', 'GFDL-1.2', 'GFDL-1.3']
HELDOUT_TEXT = 'LGPL-3'
VOCAB = 95          # printable ASCII, id = ord(c) - 32
CONTEXT = 128
CALIB_WINDOWS = 32
# The recipe of the shipped fixture (see the docstring for why).
DEFAULTS = {'dim': 128, 'layers': 4, 'heads': 4, 'dropout': 0.1, 'steps': 1200, 'batch': 32, 'lr': 2e-3,
            'min_lr_ratio': 0.1, 'warmup': 0.05, 'weight_decay': 0.1, 'beta2': 0.99, 'threads': 1}


# ---------------------------------------------------------------------------------------------- text

def read_text(name):
    with open(os.path.join(LICENSE_DIR, name), 'rb') as f:
        raw = f.read().decode('ascii')
    text = re.sub(r'\s+', ' ', raw).strip()
    bad = sorted({c for c in text if not 32 <= ord(c) < 32 + VOCAB})
    if bad:
        raise ValueError(f'{name}: characters outside printable ASCII: {bad!r}')
    return text


def encode(text):
    return np.frombuffer(text.encode('ascii'), dtype=np.uint8).astype(np.int64) - 32


def windows(ids, length):
    """Consecutive non-overlapping (input, next-token label) windows."""
    n = (len(ids) - 1) // length
    x = np.stack([ids[i * length:(i + 1) * length] for i in range(n)])
    y = np.stack([ids[i * length + 1:(i + 1) * length + 1] for i in range(n)])
    return x, y


def random_windows(ids, length, count, seed):
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, len(ids) - length - 1, size=count)
    return (np.stack([ids[s:s + length] for s in starts]), np.stack([ids[s + 1:s + length + 1] for s in starts]))


# --------------------------------------------------------------------------------------------- model

class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention from MatMul/Softmax (no fused attention op)."""

    def __init__(self, dim, heads, context):
        super().__init__()
        self.heads, self.head_dim = heads, dim // heads
        self.q = nn.Linear(dim, dim)
        self.k = nn.Linear(dim, dim)
        self.v = nn.Linear(dim, dim)
        self.proj = nn.Linear(dim, dim)
        # Additive mask, sliced to the sequence length; -1e4 (not -inf) stays finite in float16 too.
        mask = torch.triu(torch.full((context, context), -1e4), diagonal=1)
        self.register_buffer('mask', mask, persistent=False)

    def forward(self, x):
        b, t, d = x.shape
        split = lambda y: y.reshape(b, t, self.heads, self.head_dim).transpose(1, 2)   # [B,H,T,Dh]
        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        scores = torch.matmul(q, k.transpose(-2, -1)) * (1.0 / math.sqrt(self.head_dim)) + self.mask[:t, :t]
        y = torch.matmul(torch.softmax(scores, dim=-1), v).transpose(1, 2).reshape(b, t, d)
        return self.proj(y)


class Block(nn.Module):
    """Pre-LN block: x + Attn(LN(x)); x + MLP(LN(x)), MLP = Linear(d -> 4d), GELU, Linear(4d -> d)."""

    def __init__(self, dim, heads, hidden, context, dropout):
        super().__init__()
        self.ln1 = nn.LayerNorm(dim)
        self.attn = CausalSelfAttention(dim, heads, context)
        self.ln2 = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x):
        x = x + self.drop(self.attn(self.ln1(x)))
        return x + self.drop(self.fc2(F.gelu(self.fc1(self.ln2(x)))))


class CharLM(nn.Module):
    def __init__(self, vocab=VOCAB, dim=128, heads=4, hidden=512, depth=2, context=CONTEXT, dropout=0.1):
        # pos is learned with std 0.02 as in GPT-2; the other weights keep PyTorch's default init.
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.pos = nn.Parameter(torch.randn(context, dim) * 0.02)
        self.blocks = nn.ModuleList([Block(dim, heads, hidden, context, dropout) for _ in range(depth)])
        self.ln = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, vocab)
        self.drop = nn.Dropout(dropout)

    def forward(self, ids):
        x = self.drop(self.embed(ids) + self.pos[:ids.shape[1]])
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.ln(x))


# ---------------------------------------------------------------------------------- train / evaluate

def param_groups(model, weight_decay):
    """Weight decay on the matrices (Linear weights, token and position tables), none on biases and
    LayerNorm gains/shifts: the usual split of GPT-style training."""
    decay = [p for p in model.parameters() if p.dim() >= 2]
    keep = [p for p in model.parameters() if p.dim() < 2]
    return [{'params': decay, 'weight_decay': weight_decay}, {'params': keep, 'weight_decay': 0.0}]


def lr_factor(step, steps, warmup, min_ratio):
    """Linear warm-up over `warmup` steps, then cosine decay from 1 to `min_ratio` at the last step."""
    if step < warmup:
        return (step + 1) / warmup
    t = (step - warmup) / max(1, steps - warmup)
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * t))


def train(model, ids, args, monitor=None):
    """AdamW on random windows of the training text. `monitor(step)` (every --eval-every steps) only
    prints the held-out cross-entropy: nothing is selected or stopped on it."""
    gen = torch.Generator().manual_seed(args.seed)
    data = torch.from_numpy(ids)
    opt = torch.optim.AdamW(param_groups(model, args.weight_decay), lr=args.lr, betas=(0.9, args.beta2))
    warm = max(1, round(args.steps * args.warmup))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(s, args.steps, warm, args.min_lr_ratio))
    model.train()
    t0, run, curve = time.time(), 0.0, []
    for step in range(args.steps):
        starts = torch.randint(0, len(data) - CONTEXT - 1, (args.batch,), generator=gen)
        x = torch.stack([data[s:s + CONTEXT] for s in starts])
        y = torch.stack([data[s + 1:s + CONTEXT + 1] for s in starts])
        loss = F.cross_entropy(model(x).reshape(-1, VOCAB), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        run += loss.item()
        if (step + 1) % 100 == 0:
            print(f'  step {step + 1}/{args.steps}: mean train loss {run / 100:.4f} ({time.time() - t0:.0f}s)', flush=True)
            run = 0.0
        if monitor and args.eval_every and (step + 1) % args.eval_every == 0 and step + 1 < args.steps:
            ce = monitor()
            curve.append([step + 1, round(ce, 4)])
            print(f'  step {step + 1}: held-out cross-entropy {ce:.4f}', flush=True)
            model.train()
    model.eval()
    return time.time() - t0, curve


@torch.no_grad()
def cross_entropy(model, x, y):
    """Mean cross-entropy (nats per token) over every position of every window."""
    model.eval()
    logits = model(torch.from_numpy(x))
    return float(F.cross_entropy(logits.reshape(-1, VOCAB), torch.from_numpy(y).reshape(-1)))


def unigram_cross_entropy(train_ids, y):
    """Held-out cross-entropy of the add-one-smoothed character frequencies of the training text."""
    counts = np.bincount(train_ids, minlength=VOCAB).astype(np.float64) + 1
    p = counts / counts.sum()
    return float(-np.log(p[y.reshape(-1)]).mean())


def export(model, path):
    model.eval()
    dummy = torch.zeros(2, 16, dtype=torch.int64)
    torch.onnx.export(model, dummy, path, opset_version=17, do_constant_folding=True,
                      input_names=['input_ids'], output_names=['logits'],
                      dynamic_axes={'input_ids': {0: 'batch', 1: 'seq'}, 'logits': {0: 'batch', 1: 'seq'}},
                      training=torch.onnx.TrainingMode.EVAL)
    import onnx
    m = onnx.load(path)
    m.doc_string = ('char_lm: character-level causal transformer trained on FSF licence texts, test fixture of '
                    'ONNX Compress (scripts/train-lm-fixture.py)')
    for k, v in (('tokenizer', 'one token per character: id = ord(c) - 32, printable ASCII, whitespace runs as one space'),
                 ('context', str(CONTEXT))):
        e = m.metadata_props.add()
        e.key, e.value = k, v
    onnx.checker.check_model(m)
    onnx.save(m, path)
    return m


def check_graph(m, layers):
    """The properties the tests rely on: each Linear is a MatMul with a constant [K, N] weight (K a
    multiple of 128) followed by Add; the embedding is a Gather of a constant."""
    inits = {t.name: list(t.dims) for t in m.graph.initializer}
    ops = {}
    matmuls = []
    for n in m.graph.node:
        ops[n.op_type] = ops.get(n.op_type, 0) + 1
        if n.op_type == 'MatMul' and n.input[1] in inits:
            matmuls.append((n.name, inits[n.input[1]]))
        if n.op_type == 'Gather' and n.input[0] in inits:
            gather = inits[n.input[0]]
    if 'Gemm' in ops:
        raise RuntimeError('a Linear exported as Gemm, not MatMul + Add')
    if len(matmuls) != layers * 6 + 1:
        raise RuntimeError(f'expected {layers * 6 + 1} MatMuls with a constant weight, found {matmuls}')
    for name, dims in matmuls:
        if dims[0] % 128:
            raise RuntimeError(f'{name}: K = {dims[0]} is not a multiple of 128')
    return {'opTypes': dict(sorted(ops.items())), 'constantMatMuls': [{'node': n, 'weight': d} for n, d in matmuls],
            'embedding': gather}


def onnx_cross_entropy(path, x, y):
    """Held-out cross-entropy of the exported file, from onnxruntime-node (a small Node program)."""
    ort = os.path.join(REPO_ROOT, 'node_modules', 'onnxruntime-node')
    with tempfile.TemporaryDirectory() as tmp:
        np.save(os.path.join(tmp, 'x.npy'), x)
        prog = os.path.join(tmp, 'ce.js')
        with open(prog, 'w') as f:
            f.write('''
const ort = require(process.argv[2]); const fs = require('fs');
const [model, xfile, n, t, v] = [process.argv[3], process.argv[4], ...process.argv.slice(5).map(Number)];
const raw = fs.readFileSync(xfile); const off = 10 + raw.readUInt16LE(8);
const ids = new BigInt64Array(raw.buffer.slice(raw.byteOffset + off, raw.byteOffset + off + n * t * 8));
(async () => {
  const s = await ort.InferenceSession.create(model);
  const out = await s.run({ input_ids: new ort.Tensor('int64', ids, [n, t]) });
  process.stdout.write(Buffer.from(out.logits.data.buffer, out.logits.data.byteOffset, n * t * v * 4));
})();
''')
        n, t = x.shape
        res = subprocess.run(['node', prog, ort, path, os.path.join(tmp, 'x.npy'), str(n), str(t), str(VOCAB)],
                             check=True, capture_output=True)
    logits = torch.from_numpy(np.frombuffer(res.stdout, dtype=np.float32).reshape(n * t, VOCAB).copy())
    return float(F.cross_entropy(logits, torch.from_numpy(y).reshape(-1)))


def sha256(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--out', default=os.path.join(REPO_ROOT, 'test', 'fixtures', 'lm'))
    ap.add_argument('--dim', type=int, default=DEFAULTS['dim'], help='d_model, a multiple of 128 (whole 128-blocks)')
    ap.add_argument('--layers', type=int, default=DEFAULTS['layers'])
    ap.add_argument('--heads', type=int, default=DEFAULTS['heads'])
    ap.add_argument('--dropout', type=float, default=DEFAULTS['dropout'])
    ap.add_argument('--steps', type=int, default=DEFAULTS['steps'])
    ap.add_argument('--batch', type=int, default=DEFAULTS['batch'])
    ap.add_argument('--lr', type=float, default=DEFAULTS['lr'], help='peak learning rate')
    ap.add_argument('--min-lr-ratio', type=float, default=DEFAULTS['min_lr_ratio'], help='final lr / peak lr')
    ap.add_argument('--warmup', type=float, default=DEFAULTS['warmup'], help='share of the steps spent warming up')
    ap.add_argument('--weight-decay', type=float, default=DEFAULTS['weight_decay'])
    ap.add_argument('--beta2', type=float, default=DEFAULTS['beta2'])
    ap.add_argument('--seed', type=int, default=7)
    ap.add_argument('--threads', type=int, default=DEFAULTS['threads'])
    ap.add_argument('--eval-every', type=int, default=300, help='print the held-out cross-entropy every N steps (0: never)')
    args = ap.parse_args()
    if args.dim % 128 or args.dim % args.heads:
        sys.exit(f'--dim {args.dim} must be a multiple of 128 and of --heads')

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)
    os.makedirs(args.out, exist_ok=True)

    train_text = ' '.join(read_text(n) for n in TRAIN_TEXTS)
    held_text = read_text(HELDOUT_TEXT)
    train_ids, held_ids = encode(train_text), encode(held_text)
    held_x, held_y = windows(held_ids, CONTEXT)
    calib_x, calib_y = random_windows(train_ids, CONTEXT, CALIB_WINDOWS, args.seed)
    print(f'train text {len(train_ids)} chars, held-out {len(held_ids)} chars -> {held_x.shape[0]} windows of {CONTEXT}')

    model = CharLM(dim=args.dim, heads=args.heads, hidden=4 * args.dim, depth=args.layers, dropout=args.dropout)
    params = sum(p.numel() for p in model.parameters())
    print(f'CharLM: {params} parameters; training {args.steps} steps of {args.batch} x {CONTEXT} on {args.threads} thread(s)')
    seconds, curve = train(model, train_ids, args, lambda: cross_entropy(model, held_x, held_y))
    ce = cross_entropy(model, held_x, held_y)
    unigram = unigram_cross_entropy(train_ids, held_y)
    print(f'held-out cross-entropy {ce:.4f} nats/char (perplexity {math.exp(ce):.3f}); unigram {unigram:.4f}; {seconds:.0f}s')

    model_path = os.path.join(args.out, 'char_lm.onnx')
    graph = check_graph(export(model, model_path), args.layers)
    ce_onnx = onnx_cross_entropy(model_path, held_x, held_y)
    print(f'onnxruntime-node held-out cross-entropy {ce_onnx:.6f}')
    if abs(ce_onnx - ce) > 1e-4:
        sys.exit(f'PyTorch ({ce}) and onnxruntime-node ({ce_onnx}) disagree')

    np.savez(os.path.join(args.out, 'heldout.npz'), input_ids=held_x)
    np.save(os.path.join(args.out, 'heldout.labels.npy'), held_y)
    np.savez(os.path.join(args.out, 'calib.npz'), input_ids=calib_x)
    np.save(os.path.join(args.out, 'calib.labels.npy'), calib_y)
    info = {
        'model': {'file': 'char_lm.onnx', 'bytes': os.path.getsize(model_path), 'sha256': sha256(model_path),
                  'parameters': params, 'vocab': VOCAB, 'context': CONTEXT, 'dModel': args.dim, 'heads': args.heads,
                  'ffn': 4 * args.dim, 'layers': args.layers, 'opset': 17, 'input': 'input_ids', 'output': 'logits', **graph},
        'text': {'train': TRAIN_TEXTS, 'heldout': HELDOUT_TEXT, 'source': LICENSE_DIR,
                 'trainChars': int(len(train_ids)), 'heldoutChars': int(len(held_ids))},
        'heldout': {'windows': int(held_x.shape[0]), 'seq': CONTEXT, 'tokens': int(held_y.size),
                    'crossEntropy': round(ce, 6), 'perplexity': round(math.exp(ce), 6),
                    'crossEntropyOnnxruntime': round(ce_onnx, 6), 'unigramCrossEntropy': round(unigram, 6)},
        'calib': {'windows': CALIB_WINDOWS, 'seq': CONTEXT, 'seed': args.seed},
        'training': {'steps': args.steps, 'batch': args.batch, 'lr': args.lr, 'minLrRatio': args.min_lr_ratio,
                     'warmup': args.warmup, 'weightDecay': args.weight_decay, 'betas': [0.9, args.beta2],
                     'dropout': args.dropout, 'gradClip': 1.0, 'seed': args.seed, 'threads': args.threads,
                     'seconds': round(seconds, 1), 'torch': torch.__version__, 'heldoutCurve': curve},
    }
    with open(os.path.join(args.out, 'lm.json'), 'w') as f:
        json.dump(info, f, indent=2)
        f.write('\n')
    print(json.dumps(info['heldout']))


if __name__ == '__main__':
    main()
