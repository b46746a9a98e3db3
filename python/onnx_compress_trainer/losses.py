"""Distillation losses. Each returns a scalar averaged per sample unless its formula says otherwise;
FORMULAS holds the text echoed in the `start` event so the exact definition is never implicit."""
import torch
import torch.nn.functional as F

FORMULAS = {
    "ce": "a * CE(y, softmax(zS)): cross-entropy with the labels, averaged over the batch",
    "kd": "(1 - a) * T^2 * KL(softmax(zT/T) || softmax(zS/T)), KL summed over classes and averaged per sample (batchmean)",
    "kd-topk": "(1 - a) * T^2 * KL(pT || softmax(zS/T)) over the teacher's top-k classes, pT = softmax(top-k zT / T) renormalised over those k, batchmean",
    "logits": "(1 - a) * MSE(zS, zT), averaged over batch x classes",
    "hard": "(1 - a) * CE(argmax zT, softmax(zS)): cross-entropy with the teacher's top class, averaged over the batch",
    "feature-mse": "||Phi(f_s) - f_t||^2 averaged over all elements (FitNets hint), Phi the adapter",
    "feature-l1": "|Phi(f_s) - f_t| averaged over all elements, Phi the adapter",
    "feature-cosine": "1 - cos(vec Phi(f_s), vec f_t) averaged per sample, Phi the adapter",
    "attention": "mean((Q_s - Q_t)^2), Q = normalize(vec(mean_c |A_c|^p)) per sample (Zagoruyko & Komodakis)",
    "relation": "lD * Huber(psi_D(s), psi_D(t)) + lA * Huber(psi_A(s), psi_A(t)), psi_D = ||x_i - x_j|| / mean pairwise distance, "
                "psi_A = <e_ij, e_kj> with unit differences e (Park et al.; the angle term costs B^2 x B x D)",
    "similarity": "(1 / B^2) * ||normalize_rows(F_s F_s^T) - normalize_rows(F_t F_t^T)||_F^2 (Tung & Mori)",
}


class TopK:
    """Teacher logits stored as their k largest values and class indices."""

    def __init__(self, values, indices):
        self.values, self.indices = values, indices

    def argmax(self):
        return self.indices.gather(1, self.values.argmax(1, keepdim=True)).squeeze(1)


def teacher_argmax(zt):
    return zt.argmax() if isinstance(zt, TopK) else zt.argmax(1)


def kd_soft(zs, zt, temperature):
    """T^2 * KL(softmax(zT/T) || softmax(zS/T)), batchmean. `zt` may be a TopK."""
    t = float(temperature)
    log_q = F.log_softmax(zs / t, dim=1)
    if isinstance(zt, TopK):
        log_p = F.log_softmax(zt.values / t, dim=1)
        log_q = log_q.gather(1, zt.indices)
    else:
        log_p = F.log_softmax(zt / t, dim=1)
    kl = (log_p.exp() * (log_p - log_q)).sum(dim=1).mean()
    return t * t * kl


def kd_logits(zs, zt):
    if isinstance(zt, TopK):
        return F.mse_loss(zs.gather(1, zt.indices), zt.values)
    return F.mse_loss(zs, zt)


def kd_hard(zs, zt):
    return F.cross_entropy(zs, teacher_argmax(zt))


def response_terms(zs, zt, labels, temperature, alpha, target):
    """Hinton KD and its variants: {'ce': a*CE(y, zS), 'kd'|'logits'|'hard': (1-a)*...}."""
    terms = {}
    if alpha > 0:
        terms["ce"] = alpha * F.cross_entropy(zs, labels)
    if alpha < 1:
        if target == "soft":
            terms["kd"] = (1 - alpha) * kd_soft(zs, zt, temperature)
        elif target == "logits":
            terms["logits"] = (1 - alpha) * kd_logits(zs, zt)
        else:
            terms["hard"] = (1 - alpha) * kd_hard(zs, zt)
    return terms


def feature_loss(fs, ft, similarity):
    if similarity == "mse":
        return F.mse_loss(fs, ft)
    if similarity == "l1":
        return F.l1_loss(fs, ft)
    return (1 - F.cosine_similarity(fs.reshape(len(fs), -1), ft.reshape(len(ft), -1), dim=1)).mean()


def attention_map(f, p):
    """Q = normalize(vec(mean_c |A_c|^p)): channels may differ between teacher and student."""
    return F.normalize(f.abs().pow(p).mean(dim=1).reshape(len(f), -1), dim=1)


def attention_loss(fs, ft, p):
    qs, qt = attention_map(fs, p), attention_map(ft, p)
    if qs.shape != qt.shape:
        raise ValueError(f"attention maps differ in size ({tuple(fs.shape[2:])} vs {tuple(ft.shape[2:])}): resize with adapter 'interpolate'")
    return (qs - qt).pow(2).mean()


def pairwise_distances(x):
    x = x.reshape(len(x), -1)
    sq = x.pow(2).sum(1)
    d2 = (sq.unsqueeze(0) + sq.unsqueeze(1) - 2 * x @ x.t()).clamp(min=1e-12)
    d = d2.sqrt()
    return d * (1 - torch.eye(len(x), device=x.device, dtype=x.dtype))


def rkd_distance(es, et):
    def potential(e):
        d = pairwise_distances(e)
        mu = d[d > 0].mean()
        return d / mu
    with torch.no_grad():
        pt = potential(et)
    return F.smooth_l1_loss(potential(es), pt)


def rkd_angle(es, et):
    def potential(e):
        e = e.reshape(len(e), -1)
        diff = F.normalize(e.unsqueeze(0) - e.unsqueeze(1), p=2, dim=2)
        return torch.bmm(diff, diff.transpose(1, 2)).reshape(-1)
    with torch.no_grad():
        pt = potential(et)
    return F.smooth_l1_loss(potential(es), pt)


def similarity_loss(fs, ft):
    b = len(fs)
    gs = F.normalize(fs.reshape(b, -1) @ fs.reshape(b, -1).t(), dim=1)
    gt = F.normalize(ft.reshape(b, -1) @ ft.reshape(b, -1).t(), dim=1)
    return (gs - gt).pow(2).sum() / (b * b)
