"""What the student learns from (the knowledge terms and their adapters: Objective) and where the
teacher's tensors come from each step (the scheme: the cache, a co-trained teacher, a snapshot of
the student, or the student's own deeper tensors)."""
import copy

import torch
from torch import nn

from . import losses
from .adapters import AuxiliaryHead, build_adapter
from .events import TrainerError

PAIRED = ("feature", "attention", "similarity")


def _unique(names):
    return list(dict.fromkeys(n for n in names if n))


class Objective(nn.Module):
    """The knowledge list of a job as one loss: total and named terms (each already weighted)."""

    def __init__(self, knowledge, student_output, teacher_output, aux_pairs=()):
        super().__init__()
        self.knowledge = knowledge
        self.student_output, self.teacher_output = student_output, teacher_output
        self.aux_pairs = list(aux_pairs)  # self-distillation: (deep -> shallow) pairs inside the student
        self.response = next((k for k in knowledge if k["type"] == "response"), None)
        self.adapters = nn.ModuleDict()
        self.heads = nn.ModuleDict()
        counts = {}
        self.keys = []  # per knowledge entry, the prefix of its term names
        for k in knowledge:
            counts[k["type"]] = counts.get(k["type"], 0) + 1
            self.keys.append(k["type"] if counts[k["type"]] == 1 else f"{k['type']}#{counts[k['type']]}")

    # --- the tensors each side must provide ---

    def _relation_pair(self, k):
        if k.get("pair"):
            return k["pair"]["teacher"], k["pair"]["student"]
        if k.get("tensor"):
            return k["tensor"], k["tensor"]
        return self.teacher_output, self.student_output

    def student_names(self):
        names = [self.student_output]
        for k in self.knowledge:
            if k["type"] in PAIRED:
                names += [p["student"] for p in k["pairs"]]
            elif k["type"] == "relation":
                names.append(self._relation_pair(k)[1])
        for p in self.aux_pairs:
            names += [p["student"], p["teacher"]]
        return _unique(names)

    def teacher_names(self):
        names = []
        for k in self.knowledge:
            if k["type"] == "response":
                names.append(self.teacher_output)
            elif k["type"] in PAIRED:
                names += [p["teacher"] for p in k["pairs"]]
            elif k["type"] == "relation":
                names.append(self._relation_pair(k)[0])
        return _unique(names)

    def needs_labels(self):
        return bool(self.aux_pairs) or (self.response is not None and self.response["alpha"] > 0)

    # --- adapters, from the first batch's real shapes ---

    def build(self, s_out, t_out):
        for i, k in enumerate(self.knowledge):
            if k["type"] not in ("feature", "attention"):
                continue
            for j, p in enumerate(k["pairs"]):
                s, t = s_out[p["student"]], t_out[p["teacher"]]
                kind = p.get("adapter", "auto")
                if k["type"] == "attention":  # channels may differ: only the spatial size is matched
                    kind = "none" if s.shape[2:] == t.shape[2:] else "interpolate"
                    t_shape = list(s.shape[:2]) + list(t.shape[2:])
                else:
                    t_shape = list(t.shape)
                try:
                    self.adapters[f"k{i}p{j}"] = build_adapter(kind, list(s.shape), t_shape).to(s.device)
                except ValueError as err:
                    raise TrainerError(f"{self.keys[i]} pair {p['student']} -> {p['teacher']}: {err}",
                                       hint="set the pair's adapter to conv1x1, linear, interpolate, pool or conv1x1+interpolate")
        for j, p in enumerate(self.aux_pairs):
            s = s_out[p["student"]]
            if p["teacher"] == self.student_output:
                self.heads[f"a{j}"] = AuxiliaryHead(list(s.shape), s_out[self.student_output].shape[1]).to(s.device)
            else:
                try:
                    self.heads[f"a{j}"] = build_adapter(p.get("adapter", "auto"), list(s.shape), list(s_out[p["teacher"]].shape)).to(s.device)
                except ValueError as err:
                    raise TrainerError(f"self-distillation pair {p['student']} -> {p['teacher']}: {err}")

    def formulas(self, top_k):
        out = {}
        r = self.response
        if r is not None and not self.aux_pairs:  # with auxiliary heads the response settings apply to the heads
            if r["alpha"] > 0:
                out["ce"] = losses.FORMULAS["ce"]
            if r["alpha"] < 1:
                target = {"soft": "kd-topk" if top_k else "kd", "logits": "logits", "hard": "hard"}[r["target"]]
                out[{"soft": "kd"}.get(r["target"], r["target"])] = losses.FORMULAS[target] + f" (T = {r['temperature']}, a = {r['alpha']})"
        for key, k in zip(self.keys, self.knowledge):
            w = f" (weight {k['weight']})"
            if k["type"] == "feature":
                out[key] = losses.FORMULAS["feature-" + k["similarity"]] + w
            elif k["type"] == "attention":
                out[key] = losses.FORMULAS["attention"] + f" (p = {k['p']})" + w
            elif k["type"] == "relation":
                out[key + "-distance"] = losses.FORMULAS["relation"] + f" (distance part, lD = {k['distance']})" + w
                out[key + "-angle"] = losses.FORMULAS["relation"] + f" (angle part, lA = {k['angle']})" + w
            elif k["type"] == "similarity":
                out[key] = losses.FORMULAS["similarity"] + w
        for j, p in enumerate(self.aux_pairs):
            if p["teacher"] == self.student_output:
                out[f"aux{j + 1}"] = f"auxiliary head on {p['student']}: " + losses.FORMULAS["ce"] + " + " + losses.FORMULAS["kd"] + " against the detached output"
            else:
                out[f"aux{j + 1}"] = f"{p['student']} -> {p['teacher']} (detached): " + losses.FORMULAS["feature-mse"]
        if self.aux_pairs:
            out["ce"] = "CE(y, softmax(zS)) on the network's own output, averaged over the batch"
        return out

    # --- the loss ---

    def forward(self, s_out, t_out, labels):
        terms = {}
        zs = s_out[self.student_output]
        for i, (key, k) in enumerate(zip(self.keys, self.knowledge)):
            w = k["weight"]
            if k["type"] == "response":
                if self.aux_pairs:
                    continue  # self-distillation: the output is its own teacher; the heads use these settings
                for name, value in losses.response_terms(zs, t_out[self.teacher_output], labels, k["temperature"], k["alpha"], k["target"]).items():
                    terms[name] = w * value
            elif k["type"] == "feature":
                terms[key] = w * sum(losses.feature_loss(self.adapters[f"k{i}p{j}"](s_out[p["student"]]), t_out[p["teacher"]], k["similarity"])
                                     for j, p in enumerate(k["pairs"]))
            elif k["type"] == "attention":
                terms[key] = w * sum(losses.attention_loss(self.adapters[f"k{i}p{j}"](s_out[p["student"]]), t_out[p["teacher"]], k["p"])
                                     for j, p in enumerate(k["pairs"]))
            elif k["type"] == "relation":
                t_name, s_name = self._relation_pair(k)
                es, et = s_out[s_name], t_out[t_name]
                if k["distance"]:
                    terms[key + "-distance"] = w * k["distance"] * losses.rkd_distance(es, et)
                if k["angle"]:
                    terms[key + "-angle"] = w * k["angle"] * losses.rkd_angle(es, et)
            elif k["type"] == "similarity":
                terms[key] = w * sum(losses.similarity_loss(s_out[p["student"]], t_out[p["teacher"]]) for p in k["pairs"])
        if self.aux_pairs:
            r = self.response or {"temperature": 4.0, "alpha": 0.5, "target": "soft", "weight": 1.0}
            terms["ce"] = torch.nn.functional.cross_entropy(zs, labels)
            for j, p in enumerate(self.aux_pairs):
                shallow = self.heads[f"a{j}"](s_out[p["student"]])
                deep = s_out[p["teacher"]].detach()
                if p["teacher"] == self.student_output:
                    alpha = r["alpha"] if r["alpha"] > 0 else 0.5
                    parts = losses.response_terms(shallow, deep, labels, r["temperature"], alpha, r["target"])
                    terms[f"aux{j + 1}"] = r["weight"] * sum(parts.values())
                else:
                    terms[f"aux{j + 1}"] = losses.feature_loss(shallow, deep, "mse")
        total = sum(terms.values())
        return total, terms


class CacheTeacher:
    """Offline and teacher-assistant steps: the teacher's tensors were cached by the engine."""
    trainable = False

    def __init__(self, cache, names, where):
        cache.require(names, where)

    def tensors(self, batch, names, student_out):
        return batch["teacher"]


class ModuleTeacher:
    """A teacher run every step: co-trained (online) or a frozen snapshot of the student (self)."""

    def __init__(self, module, trainable):
        self.module = module
        self.trainable = trainable
        if not trainable:
            self.freeze()

    def freeze(self):
        self.module.eval()
        for p in self.module.parameters():
            p.requires_grad_(False)

    def tensors(self, batch, names, student_out):
        if self.trainable:
            self.module.train()  # evaluation switched it to eval mode
            return self.module(batch["inputs"], outputs=names)
        with torch.no_grad():
            return self.module(batch["inputs"], outputs=names)

    def refresh_from(self, student):
        """Snapshot mode: the current student becomes the teacher."""
        self.module.load_state_dict(copy.deepcopy(student.state_dict()))
        self.freeze()


class SelfTeacher:
    """Self-distillation with auxiliary heads: the student's deeper tensors, detached, teach."""
    trainable = False

    def tensors(self, batch, names, student_out):
        return {n: student_out[n].detach() for n in names if n in student_out}


def mutual_terms(zt, zs, labels, response):
    """Online scheme, the teacher's side of mutual learning: CE with the labels and KD from the student."""
    r = response or {"temperature": 1.0, "alpha": 0.5, "target": "soft"}
    terms = {}
    if labels is not None:
        terms["teacher/ce"] = torch.nn.functional.cross_entropy(zt, labels)
    terms["teacher/kd"] = losses.kd_soft(zt, zs.detach(), r["temperature"])
    return terms
