"""The job file written by the engine (docs/distill-formats.md section 3), checked and completed
with the documented defaults so every effective setting is explicit."""

from .events import TrainerError, read_versioned_json

JOB_FORMAT = "onnx-compress/distill-job"
KNOWLEDGE_TYPES = ("response", "feature", "attention", "relation", "similarity")
DEFAULTS = {
    "response": {"weight": 1.0, "temperature": 4.0, "alpha": 0.5, "target": "soft"},
    "feature": {"weight": 1.0, "similarity": "mse"},
    "attention": {"weight": 1000.0, "p": 2},
    "relation": {"weight": 1.0, "distance": 25.0, "angle": 50.0},
    "similarity": {"weight": 3000.0},
}


def load_job(path):
    job = read_versioned_json(path, JOB_FORMAT, "the job file")
    return complete(job, path)


def complete(job, where="job"):
    def need(cond, message):
        if not cond:
            raise TrainerError(message, where=where)

    need(isinstance(job.get("student"), dict) and job["student"].get("kind") in ("onnx", "factory"),
         "student.kind must be 'onnx' or 'factory'")
    need(isinstance(job.get("train"), dict) and job["train"].get("manifest"), "train.manifest is required")
    job.setdefault("eval", None)
    job.setdefault("teacher", None)
    job.setdefault("teacherOutput", None)
    job.setdefault("assistants", [])
    job.setdefault("resume", None)
    job.setdefault("export", {})
    job["scheme"] = {"kind": "offline", **(job.get("scheme") or {})}
    kind = job["scheme"]["kind"]
    need(kind in ("offline", "online", "self", "assistant"), f"scheme.kind '{kind}' is not one of offline, online, self, assistant")
    if kind == "online":
        need(isinstance(job["teacher"], dict) and job["teacher"].get("kind") == "onnx",
             "the online scheme trains the teacher too: job.teacher must be a trainable graph ({kind: 'onnx', graph, output})")
    if kind == "self":
        job["scheme"] = {"mode": "snapshot", "every": 1, "pairs": [], **job["scheme"]}
        need(job["scheme"]["mode"] in ("snapshot", "auxiliary"), "scheme.mode must be 'snapshot' or 'auxiliary'")
        need(job["scheme"]["mode"] != "auxiliary" or job["scheme"]["pairs"], "self-distillation with auxiliary heads needs scheme.pairs")
    knowledge = []
    for i, k in enumerate(job.get("knowledge") or [dict(DEFAULTS["response"], type="response")]):
        need(k.get("type") in KNOWLEDGE_TYPES, f"knowledge[{i}].type '{k.get('type')}' is not one of {', '.join(KNOWLEDGE_TYPES)}")
        full = {**DEFAULTS[k["type"]], **{key: v for key, v in k.items() if v is not None}}
        if k["type"] in ("feature", "attention", "similarity"):
            need(full.get("pairs"), f"knowledge[{i}] ({k['type']}) needs tensor pairs")
        knowledge.append(full)
    job["knowledge"] = knowledge
    job["optimizer"] = {"name": "adam", "lr": 0.001, "weightDecay": 0.0, "momentum": 0.9, **(job.get("optimizer") or {})}
    job["schedule"] = {"name": "cosine", "warmupEpochs": 0, "stepSize": 1, "gamma": 0.1, **(job.get("schedule") or {})}
    for key, default in (("epochs", 1), ("batchSize", 64), ("seed", 0), ("device", "auto"), ("threads", None)):
        job.setdefault(key, default)
    need(int(job["epochs"]) >= 1 and int(job["batchSize"]) >= 1, "epochs and batchSize must be at least 1")
    need(job["device"] in ("cpu", "cuda", "auto"), f"device '{job['device']}' is not one of cpu, cuda, auto")
    return job
