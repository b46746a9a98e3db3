"""The training loop: seeded, on cpu or cuda, one process or several under torchrun, printing the
JSON-line events, evaluating and checkpointing every epoch, checkpointing on SIGINT (exit 130),
resuming from a checkpoint, and exporting the student at the end."""
import copy
import math
import os
import random
import signal
import time
import traceback

import numpy as np
import torch

from . import blas
from . import checkpoint as ckpt
from .data import Cache
from .events import TrainerError, emit, silence
from .export import export_student
from .graph_module import NodeError
from .losses import TopK, teacher_argmax
from .models import build_model, output_name
from .schemes import CacheTeacher, ModuleTeacher, Objective, SelfTeacher, mutual_terms

EXIT_INTERRUPTED = 130


class Interrupted(Exception):
    pass


# --- environment ---

def setup_distributed():
    """torchrun sets WORLD_SIZE/RANK/LOCAL_RANK: one process per device, rank 0 speaks and saves."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 1, 0, 0
    import torch.distributed as dist
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    dist.init_process_group(backend=backend)
    rank, local = dist.get_rank(), int(os.environ.get("LOCAL_RANK", "0"))
    silence(rank != 0)
    return world, rank, local


def pick_device(requested, local_rank):
    if requested == "cuda" and not torch.cuda.is_available():
        raise TrainerError("the job asks for device 'cuda' but torch sees no CUDA device",
                           where="job.device",
                           hint=f"torch {torch.__version__} was built {'with' if torch.version.cuda else 'without'} CUDA; "
                                "install a CUDA build of torch and a driver, or set device to 'cpu' or 'auto'")
    if requested in ("cuda", "auto") and torch.cuda.is_available():
        torch.cuda.set_device(local_rank)  # NCCL and default allocations follow this rank's device
        return torch.device("cuda", local_rank)
    return torch.device("cpu")


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def lr_factor(schedule, epochs, position, step_span):
    """Learning-rate multiplier for the step starting `position` epochs into training (`step_span`
    = one step in epochs): linear warmup, then constant, cosine to zero, or step decay."""
    warm = float(schedule.get("warmupEpochs") or 0)
    if warm > 0 and position < warm:
        return min(1.0, (position + step_span) / warm)
    name = schedule["name"]
    if name == "cosine":
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (position - warm) / max(epochs - warm, 1e-9))))
    if name == "step":
        return float(schedule["gamma"]) ** int(position // max(1, int(schedule["stepSize"])))
    return 1.0


def make_optimizer(params, opt):
    name = opt["name"]
    if name == "sgd":
        return torch.optim.SGD(params, lr=opt["lr"], momentum=opt["momentum"], weight_decay=opt["weightDecay"])
    if name == "adamw":
        return torch.optim.AdamW(params, lr=opt["lr"], weight_decay=opt["weightDecay"])
    if name == "adam":
        return torch.optim.Adam(params, lr=opt["lr"], weight_decay=opt["weightDecay"])
    raise TrainerError(f"optimizer '{name}' is not one of adam, adamw, sgd", where="job.optimizer.name")


def epoch_order(samples, seed, epoch, world, rank):
    """This rank's sample indices for an epoch: one seeded permutation per epoch, split across ranks."""
    order = np.random.default_rng([seed, epoch]).permutation(samples)
    if world > 1:
        per = math.ceil(samples / world)
        order = np.resize(order, per * world)[rank::world]  # pad by wrapping, like DistributedSampler
    return order


def unwrap(model):
    return model.module if hasattr(model, "module") and isinstance(model, torch.nn.parallel.DistributedDataParallel) else model


def describe_failure(err):
    if isinstance(err, NodeError):
        return str(err), f"node {err.node.name} ({err.node.op})"
    frame = traceback.extract_tb(err.__traceback__)[-1] if err.__traceback__ else None
    where = f"{os.path.basename(frame.filename)}:{frame.lineno}" if frame else None
    return f"{type(err).__name__}: {err}", where


# --- the run ---

class Run:
    def __init__(self, job):
        self.job = job
        self.world, self.rank, local = setup_distributed()
        self.device = pick_device(job["device"], local)
        seed_everything(int(job["seed"]))
        if job.get("threads"):
            torch.set_num_threads(int(job["threads"]))
        # After the thread count is set: that is what training will run with. CUDA training does not use it.
        self.min_gflops = blas.min_gflops()
        self.blas_gflops = blas.cpu_gflops() if self.device.type == "cpu" else None
        self.train_data = Cache(job["train"]["manifest"])
        self.eval_data = Cache(job["eval"]["manifest"]) if job.get("eval") and job["eval"].get("manifest") else None
        inputs = list(self.train_data.inputs)
        self.student = build_model(job["student"], inputs)
        self.student_output = output_name(self.student, job["student"])
        self.models_checked()
        self.scheme = job["scheme"]
        self.teacher_model = None
        kind, mode = self.scheme["kind"], self.scheme.get("mode")
        if kind == "online":
            self.teacher_model = build_model(job["teacher"], inputs)
            self.teacher_output = job.get("teacherOutput") or output_name(self.teacher_model, job["teacher"])
        elif kind == "self":
            self.teacher_output = self.student_output
        else:
            self.teacher_output = job.get("teacherOutput") or self._default_teacher_output()
        aux = self.scheme.get("pairs", []) if kind == "self" and mode == "auxiliary" else []
        self.objective = Objective(job["knowledge"], self.student_output, self.teacher_output, aux)
        self.student.check_names(self.objective.student_names(), "student tensor")
        if self.objective.needs_labels() and self.train_data.labels is None:
            raise TrainerError("the knowledge needs labels (alpha > 0 or auxiliary heads) but the training cache has none",
                               where=job["train"]["manifest"], hint="add labels to the data, or set the response alpha to 0")
        self.student.to(self.device)
        if kind == "online":
            self.teacher_model.check_names(self.objective.teacher_names(), "teacher tensor")
            self.teacher_model.to(self.device)
            self.teacher = ModuleTeacher(self.teacher_model, trainable=True)
        elif kind == "self" and mode == "auxiliary":
            self.teacher = SelfTeacher()
        elif kind == "self":
            self.student.check_names(self.objective.teacher_names(), "teacher tensor (the snapshot is the student)")
            self.teacher_model = copy.deepcopy(self.student)
            self.teacher = ModuleTeacher(self.teacher_model, trainable=False)
        else:
            self.teacher = CacheTeacher(self.train_data, self.objective.teacher_names(), "needed by the knowledge list")
        self.top_k = any(isinstance(v, tuple) for v in self.train_data.teacher.values())
        self.batch_size = int(job["batchSize"])
        self.epochs = int(job["epochs"])
        per_rank = math.ceil(self.train_data.samples / self.world)
        self.steps_per_epoch = math.ceil(per_rank / self.batch_size)
        self._preflight()
        self.model = self.student
        if self.world > 1:
            self.model = torch.nn.parallel.DistributedDataParallel(
                self.student, device_ids=[self.device.index] if self.device.type == "cuda" else None, find_unused_parameters=True)
        self.optimizer = make_optimizer(list(self.student.parameters()) + list(self.objective.parameters()), job["optimizer"])
        self.teacher_optimizer = make_optimizer(list(self.teacher_model.parameters()), job["optimizer"]) if kind == "online" else None
        self.start_epoch, self.start_step, self.resumed_from = 1, 0, None
        self.interrupted = False

    def models_checked(self):
        unsupported = self.student.unsupported()
        if unsupported:
            emit("check", unsupported=unsupported, parameters=count_parameters(self.student))
            nodes = "; ".join(f"{u['node']} ({u['opType']}): {u['reason']}" for u in unsupported)
            raise TrainerError(f"the student has {len(unsupported)} node(s) the trainer cannot run: {nodes}",
                               where=unsupported[0]["node"],
                               hint="replace those ops in the student, or give a PyTorch factory student instead")
        if count_parameters(self.student) == 0:
            raise TrainerError("the student has no trainable parameters: nothing would learn",
                               where=self.job["student"].get("graph") or self.job["student"].get("factory"),
                               hint="its weights may be Constant nodes (some exporters write them so) or integer; "
                                    "re-export the student with its weights as initializers")

    def _default_teacher_output(self):
        paired = {p["teacher"] for k in self.job["knowledge"] for p in k.get("pairs", [])}
        for name in self.train_data.teacher:
            if name not in paired:
                return name
        raise TrainerError("cannot tell which cached teacher tensor holds the logits", where=self.job["train"]["manifest"],
                           hint="set teacherOutput in the job")

    def _preflight(self):
        """One forward on the first batch before any training: the real shapes settle adapters and
        auxiliary heads, and a student or cache that cannot work is refused now, not mid-epoch."""
        batch = self.train_data.batch(np.arange(min(self.batch_size, self.train_data.samples)), self.device, self._teacher_cache_names())
        try:
            with torch.no_grad():
                s_out = self.student(batch["inputs"], outputs=self.objective.student_names())
                t_out = self.teacher.tensors(batch, self.objective.teacher_names(), s_out)
        except NodeError as err:
            raise TrainerError(f"the model fails on the first batch of the training cache: {err}", where=f"node {err.node.name}",
                               hint="check that the cache's inputs match the model's inputs (shape, layout, type)")
        zs = s_out[self.student_output]
        uses_logits = self.objective.response is not None or self.objective.aux_pairs
        if uses_logits and zs.dim() != 2:
            raise TrainerError(f"the student's output '{self.student_output}' has shape {list(zs.shape)}; "
                               "the response and cross-entropy losses need [batch, classes] logits", where=self.student_output)
        classes = zs.shape[1] if zs.dim() == 2 else None
        zt = t_out.get(self.teacher_output) if self.objective.response is not None else None
        if classes is not None and zt is not None:
            teacher_classes = int(zt.indices.max()) + 1 if isinstance(zt, TopK) else zt.shape[1]
            if (teacher_classes > classes) if isinstance(zt, TopK) else (teacher_classes != classes):
                raise TrainerError(f"the teacher's '{self.teacher_output}' has {teacher_classes} classes but the student's "
                                   f"'{self.student_output}' has {classes}", where=self.job["train"]["manifest"],
                                   hint="the cache may come from another teacher: rebuild it, or pick matching outputs")
        if classes is not None and self.objective.needs_labels() and self.train_data.labels is not None:
            top = int(np.max(self.train_data.labels))
            if top >= classes:
                raise TrainerError(f"the labels go up to {top} but the student's output has {classes} classes",
                                   where=self.job["train"]["manifest"], hint="check the labels file and the student's output")
        torch.manual_seed(int(self.job["seed"]))  # adapters start from the seed whatever ran before
        self.objective.build(s_out, t_out)

    def _teacher_cache_names(self):
        return self.objective.teacher_names() if isinstance(self.teacher, CacheTeacher) else []

    # --- checkpoints ---

    def state(self, epoch, step, reason):
        return {
            "epoch": epoch, "step": step, "reason": reason,
            "student": self.student.state_dict(), "objective": self.objective.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "teacher": self.teacher_model.state_dict() if self.teacher_model is not None else None,
            "teacherOptimizer": self.teacher_optimizer.state_dict() if self.teacher_optimizer else None,
            "rng": torch.get_rng_state(),
        }

    def save(self, epoch, step, reason):
        if self.rank != 0:
            return
        name = {"epoch": f"epoch-{epoch:04d}.pt", "interrupt": "interrupt.pt", "error": "error.pt"}[reason]
        path = ckpt.save(os.path.join(self.job["runDir"], "checkpoints"), name, self.state(epoch, step, reason), self.job)
        emit("checkpoint", path=path, epoch=epoch, step=step, reason=reason)

    def resume(self, path):
        state = ckpt.load(path, self.job, self.device)
        self.student.load_state_dict(state["student"])
        self.objective.load_state_dict(state["objective"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.teacher_model is not None and state.get("teacher") is not None:
            self.teacher_model.load_state_dict(state["teacher"])
        if self.teacher_optimizer is not None and state.get("teacherOptimizer"):
            self.teacher_optimizer.load_state_dict(state["teacherOptimizer"])
        torch.set_rng_state(state["rng"])
        epoch, step = int(state["epoch"]), int(state["step"])
        self.start_epoch, self.start_step = (epoch + 1, 0) if step >= self.steps_per_epoch else (epoch, step)
        self.resumed_from = path

    # --- training ---

    def set_lr(self, epoch, step):
        factor = lr_factor(self.job["schedule"], self.epochs, (epoch - 1) + step / self.steps_per_epoch, 1 / self.steps_per_epoch)
        lr = self.job["optimizer"]["lr"] * factor
        for opt in filter(None, (self.optimizer, self.teacher_optimizer)):
            for group in opt.param_groups:
                group["lr"] = lr
        return lr

    def train_step(self, batch):
        self.model.train()
        s_out = self.model(batch["inputs"], outputs=self.objective.student_names())
        t_out = self.teacher.tensors(batch, self.objective.teacher_names(), s_out)
        if self.teacher.trainable:  # online: the teacher learns from the labels and the student
            zt = t_out[self.teacher_output]
            t_terms = mutual_terms(zt, s_out[self.student_output], batch["labels"], self.objective.response)
            t_out = {k: v.detach() for k, v in t_out.items()}
        total, terms = self.objective(s_out, t_out, batch["labels"])
        if self.teacher.trainable:
            total = total + sum(t_terms.values())
            terms.update(t_terms)
        if not torch.isfinite(total):
            raise NonFinite(float(total), {k: float(v) for k, v in terms.items()})
        self.optimizer.zero_grad(set_to_none=True)
        if self.teacher_optimizer:
            self.teacher_optimizer.zero_grad(set_to_none=True)
        total.backward()
        if self.world > 1:  # DDP averages the student's gradients; adapters and an online teacher are averaged here
            sync_gradients(list(self.objective.parameters()) + (list(self.teacher_model.parameters()) if self.teacher.trainable else []), self.world)
        self.optimizer.step()
        if self.teacher_optimizer:
            self.teacher_optimizer.step()
        return float(total), {k: float(v) for k, v in terms.items()}

    def run(self):
        job = self.job
        if job.get("resume"):
            self.resume(job["resume"])
        emit("start", epochs=self.epochs, stepsPerEpoch=self.steps_per_epoch, samples=self.train_data.samples,
             device=str(self.device), threads=torch.get_num_threads(), torch=torch.__version__,
             parameters=count_parameters(self.student), losses=self.objective.formulas(self.top_k),
             resumedFrom=self.resumed_from, world=self.world, blasGflops=self.blas_gflops)
        slow = blas.slow_blas_warning(self.blas_gflops, self.min_gflops) if self.blas_gflops is not None else None
        if slow:
            emit("warning", **slow)
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            for epoch in range(self.start_epoch, self.epochs + 1):
                self.train_epoch(epoch, self.start_step if epoch == self.start_epoch else 0)
                self.evaluate(epoch)
                self.save(epoch, self.steps_per_epoch, "epoch")
                if self.any_rank_interrupted():
                    self.save(epoch, self.steps_per_epoch, "interrupt")
                    raise Interrupted()
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
        if self.rank == 0:
            export_student(self.student, job, self.train_data, self.student_output)
        if self.world > 1:
            import torch.distributed as dist
            dist.barrier()
            dist.destroy_process_group()
        return 0

    def _on_signal(self, signum, frame):
        self.interrupted = True

    def any_rank_interrupted(self):
        """Every rank stops at the same step, so none is left waiting in a collective."""
        if self.world == 1:
            return self.interrupted
        import torch.distributed as dist
        flag = torch.tensor([1.0 if self.interrupted else 0.0], device=self.device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        self.interrupted = bool(flag.item())
        return self.interrupted

    def train_epoch(self, epoch, first_step):
        if self.scheme["kind"] == "self" and self.scheme.get("mode") == "snapshot" and first_step == 0:
            # A mid-epoch resume keeps the checkpoint's snapshot; otherwise refresh every `every` epochs.
            if (epoch - 1) % max(1, int(self.scheme.get("every", 1))) == 0:
                self.teacher.refresh_from(self.student)
        order = epoch_order(self.train_data.samples, int(self.job["seed"]), epoch, self.world, self.rank)
        started = time.time()
        sums, seen, total_sum = {}, 0, 0.0
        step = first_step
        for step in range(first_step, self.steps_per_epoch):
            indices = order[step * self.batch_size:(step + 1) * self.batch_size]
            batch = self.train_data.batch(indices, self.device, self._teacher_cache_names())
            lr = self.set_lr(epoch, step)
            try:
                loss, terms = self.train_step(batch)
            except NonFinite as nf:
                raise TrainerError(f"the loss became {nf.value} at epoch {epoch}, step {step + 1} (terms: "
                                   + ", ".join(f"{k} = {v}" for k, v in nf.terms.items()) + ")",
                                   where=f"epoch {epoch}, step {step + 1}",
                                   hint="lower the learning rate (optimizer.lr) or check the data for NaN/inf values")
            except (TrainerError, Interrupted):
                raise
            except Exception as err:
                message, where = describe_failure(err)
                if all(torch.isfinite(p).all() for p in self.student.parameters()):
                    self.save(epoch, step, "error")
                raise TrainerError(f"training failed at epoch {epoch}, step {step + 1}: {message}",
                                   where=f"epoch {epoch}, step {step + 1}" + (f", {where}" if where else ""),
                                   hint="the last checkpoint is kept; fix the cause and resume from it")
            n = batch["size"]
            seen += n
            total_sum += loss * n
            for k, v in terms.items():
                sums[k] = sums.get(k, 0.0) + v * n
            # throughput over the epoch so far (all ranks): steadier than one step's, and what an ETA needs
            emit("step", epoch=epoch, step=step + 1, loss=loss, terms=terms, lr=lr,
                 samplesPerSec=seen * self.world / max(time.time() - started, 1e-9))
            if self.any_rank_interrupted():
                self.save(epoch, step + 1, "interrupt")
                raise Interrupted()
        seen = max(seen, 1)
        emit("epoch", epoch=epoch, loss=total_sum / seen, terms={k: v / seen for k, v in sums.items()},
             seconds=time.time() - started)

    def evaluate(self, epoch):
        if self.eval_data is None or self.rank != 0:
            return
        model = self.student
        model.eval()
        teacher_from_cache = self.teacher_output in self.eval_data.teacher and self.scheme["kind"] in ("offline", "assistant")
        correct = agree = count = 0
        ce_sum = 0.0
        with torch.no_grad():
            for start in range(0, self.eval_data.samples, self.batch_size):
                idx = np.arange(start, min(start + self.batch_size, self.eval_data.samples))
                batch = self.eval_data.batch(idx, self.device, [self.teacher_output] if teacher_from_cache else [])
                zs = model(batch["inputs"], outputs=[self.student_output])[self.student_output]
                pred = zs.argmax(1)
                if batch["labels"] is not None:
                    correct += int((pred == batch["labels"]).sum())
                    ce_sum += float(torch.nn.functional.cross_entropy(zs, batch["labels"], reduction="sum"))
                zt = None
                if teacher_from_cache:
                    zt = batch["teacher"][self.teacher_output]
                elif self.teacher_model is not None:
                    self.teacher_model.eval()
                    zt = self.teacher_model(batch["inputs"], outputs=[self.teacher_output])[self.teacher_output]
                if zt is not None:
                    agree += int((pred == teacher_argmax(zt)).sum())
                count += len(idx)
        has_labels = self.eval_data.labels is not None
        has_teacher = teacher_from_cache or self.teacher_model is not None
        emit("eval", epoch=epoch, accuracy=correct / count if has_labels else None,
             agreement=agree / count if has_teacher else None, loss=ce_sum / count if has_labels else None)


def sync_gradients(params, world):
    import torch.distributed as dist
    for p in params:
        if p.grad is not None:
            dist.all_reduce(p.grad)
            p.grad /= world


class NonFinite(Exception):
    def __init__(self, value, terms):
        super().__init__(value)
        self.value, self.terms = value, terms


def count_parameters(model):
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad))


def train(job):
    """Runs a job; returns the exit code. TrainerError propagates to the caller (an `error` event)."""
    run = Run(job)
    try:
        return run.run()
    except Interrupted:
        return EXIT_INTERRUPTED
