"""The JSON-lines protocol on stdout (docs/distill-formats.md, section 4)."""
import json
import math
import sys

# Under torchrun only rank 0 speaks; the others stay silent (set by train.setup_distributed).
_silent = False


def silence(flag=True):
    global _silent
    _silent = flag


def _clean(value):
    # JSON has no NaN/Infinity: a non-finite number is sent as null rather than an invalid line.
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def emit(event, **fields):
    if _silent:
        return
    sys.stdout.write(json.dumps(_clean({"event": event, **fields})) + "\n")
    sys.stdout.flush()


class TrainerError(Exception):
    """A failure the user can act on: becomes an `error` event (message, where, hint)."""

    def __init__(self, message, where=None, hint=None):
        super().__init__(message)
        self.message = message
        self.where = where
        self.hint = hint

    def emit(self):
        fields = {"message": self.message}
        if self.where:
            fields["where"] = self.where
        if self.hint:
            fields["hint"] = self.hint
        emit("error", **fields)


def read_versioned_json(path, fmt, what, hint=None):
    """One of the engine's files (docs/distill-formats.md): its dict, once format and version are checked."""
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as err:
        raise TrainerError(f"cannot read {what} {path}: {err}", where=path, hint=hint)
    if not isinstance(doc, dict) or doc.get("format") != fmt or doc.get("version") != 1:
        found = (doc.get("format"), doc.get("version")) if isinstance(doc, dict) else (None, None)
        raise TrainerError(f"{path} is not an {fmt} version 1 file (format={found[0]!r}, version={found[1]!r})",
                           where=path, hint=hint)
    return doc
