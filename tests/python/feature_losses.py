"""The feature-based distillation losses of RepDistiller's distiller_zoo (AT.py, SP.py, PKT.py,
RKD.py, NST.py, VID.py, CC.py, FitNet.py, AB.py, FT.py, FSP.py + models/util.py ConvReg,
Connector, Paraphraser, Translator; helper/loops.py and helper/pretrain.py for which features each
takes), written here from those files' formulas, run on the inputs and module weights kdprune
saved, returning the loss and the gradients for kdprune to compare. NAME "ab-init" and "ft-init"
are those terms' init-stage losses.
usage: feature_losses.py DIR NAME...   (reads DIR/NAME.pth, writes DIR/NAME.out.pth)"""
import math
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


def pool_match(fs, ft):
    sh, th = fs.shape[2], ft.shape[2]
    if sh > th:
        fs = F.adaptive_avg_pool2d(fs, (th, th))
    elif sh < th:
        ft = F.adaptive_avg_pool2d(ft, (sh, sh))
    return fs, ft


def at_loss(gs, gt):
    def at(f):
        return F.normalize(f.pow(2).mean(1).view(f.size(0), -1))
    total = 0
    for fs, ft in zip(gs, gt):
        fs, ft = pool_match(fs, ft)
        total = total + (at(fs) - at(ft)).pow(2).mean()
    return total


def sp_loss(fs, ft):
    b = fs.shape[0]
    gs = F.normalize(torch.mm(fs.view(b, -1), fs.view(b, -1).t()))
    gt = F.normalize(torch.mm(ft.view(b, -1), ft.view(b, -1).t()))
    d = gt - gs
    return (d * d).view(-1, 1).sum(0)[0] / (b * b)


def pkt_loss(out, tgt, eps=1e-7):
    out = out / (torch.sqrt(torch.sum(out ** 2, dim=1, keepdim=True)) + eps)
    tgt = tgt / (torch.sqrt(torch.sum(tgt ** 2, dim=1, keepdim=True)) + eps)
    ms = (torch.mm(out, out.t()) + 1.0) / 2.0
    ts = (torch.mm(tgt, tgt.t()) + 1.0) / 2.0
    ms = ms / ms.sum(1, keepdim=True)
    ts = ts / ts.sum(1, keepdim=True)
    return torch.mean(ts * torch.log((ts + eps) / (ms + eps)))


def rkd_loss(fs, ft):
    def pdist(e, eps=1e-12):
        sq = e.pow(2).sum(1)
        res = (sq.unsqueeze(1) + sq.unsqueeze(0) - 2 * e @ e.t()).clamp(min=eps).sqrt().clone()
        res[range(len(e)), range(len(e))] = 0
        return res
    s, t = fs.view(fs.shape[0], -1), ft.view(ft.shape[0], -1)
    with torch.no_grad():
        td = pdist(t)
        td = td / td[td > 0].mean()
        nt = F.normalize(t.unsqueeze(0) - t.unsqueeze(1), p=2, dim=2)
        ta = torch.bmm(nt, nt.transpose(1, 2)).view(-1)
    d = pdist(s)
    d = d / d[d > 0].mean()
    ns = F.normalize(s.unsqueeze(0) - s.unsqueeze(1), p=2, dim=2)
    sa = torch.bmm(ns, ns.transpose(1, 2)).view(-1)
    return 25 * F.smooth_l1_loss(d, td) + 50 * F.smooth_l1_loss(sa, ta)


def nst_loss(gs, gt):
    def k(a, b):
        return (a.unsqueeze(1) * b.unsqueeze(2)).sum(-1).pow(2)
    total = 0
    for fs, ft in zip(gs, gt):
        fs, ft = pool_match(fs, ft)
        fs = F.normalize(fs.view(fs.shape[0], fs.shape[1], -1), dim=2)
        ft = F.normalize(ft.view(ft.shape[0], ft.shape[1], -1), dim=2)
        total = total + k(ft, ft).mean().detach() + k(fs, fs).mean() - 2 * k(fs, ft).mean()
    return total


class ConvReg(nn.Module):
    def __init__(self, s, t, use_relu=True):
        super().__init__()
        self.use_relu = use_relu
        sc, sh, sw, tc, th, tw = s[1], s[2], s[3], t[1], t[2], t[3]
        if sh == 2 * th:
            self.conv = nn.Conv2d(sc, tc, 3, stride=2, padding=1)
        elif sh * 2 == th:
            self.conv = nn.ConvTranspose2d(sc, tc, 4, stride=2, padding=1)
        else:
            self.conv = nn.Conv2d(sc, tc, (1 + sh - th, 1 + sw - tw))
        self.bn = nn.BatchNorm2d(tc)

    def forward(self, x):
        y = self.bn(self.conv(x))
        return F.relu(y) if self.use_relu else y


def connectors(sf, tf):
    """models/util.py Connector: identity where channels and size agree, else ConvReg without ReLU."""
    return nn.ModuleList([nn.Sequential() if s.shape[1] == t.shape[1] and s.shape[2] == t.shape[2]
                          else ConvReg(s.shape, t.shape, use_relu=False) for s, t in zip(sf, tf)])


def ab_loss(gs, gt, margin=1.0):
    """AB.py ABLoss: alternative L2 per layer, weights 2**(i - n + 1), / batch, / 1000 * 3."""
    n, bsz = len(gs), gs[0].shape[0]
    total = 0
    for i, (s, t) in enumerate(zip(gs, gt)):
        l = ((s + margin) ** 2 * ((s > -margin) & (t <= 0)).float() +
             (s - margin) ** 2 * ((s <= margin) & (t > 0)).float())
        total = total + 2 ** (i - n + 1) * torch.abs(l).sum() / bsz / 1000 * 3
    return total


class Paraphraser(nn.Module):
    """models/util.py Paraphraser, k = 0.5, use_bn=False (the empty Sequentials where BN would be)."""
    def __init__(self, c, k=0.5):
        super().__init__()
        o = int(c * k)
        self.encoder = nn.Sequential(nn.Conv2d(c, c, 3, 1, 1), nn.Sequential(), nn.LeakyReLU(0.1),
                                     nn.Conv2d(c, o, 3, 1, 1), nn.Sequential(), nn.LeakyReLU(0.1),
                                     nn.Conv2d(o, o, 3, 1, 1), nn.Sequential(), nn.LeakyReLU(0.1))
        self.decoder = nn.Sequential(nn.ConvTranspose2d(o, o, 3, 1, 1), nn.Sequential(), nn.LeakyReLU(0.1),
                                     nn.ConvTranspose2d(o, c, 3, 1, 1), nn.Sequential(), nn.LeakyReLU(0.1),
                                     nn.ConvTranspose2d(c, c, 3, 1, 1), nn.Sequential(), nn.LeakyReLU(0.1))

    def forward(self, f, is_factor=False):
        factor = self.encoder(f)
        return factor if is_factor else (factor, self.decoder(factor))


def translator(cs, ct, k=0.5):
    """models/util.py Translator, use_bn=True."""
    o = int(ct * k)
    return nn.Sequential(nn.Conv2d(cs, cs, 3, 1, 1), nn.BatchNorm2d(cs), nn.LeakyReLU(0.1),
                         nn.Conv2d(cs, o, 3, 1, 1), nn.BatchNorm2d(o), nn.LeakyReLU(0.1),
                         nn.Conv2d(o, o, 3, 1, 1), nn.BatchNorm2d(o), nn.LeakyReLU(0.1))


def ft_loss(fs, ft):
    """FT.py FactorTransfer, p1 = 2, p2 = 1."""
    fs, ft = pool_match(fs, ft)
    def factor(f):
        return F.normalize(f.pow(2).mean(1).view(f.size(0), -1))
    return (factor(fs) - factor(ft)).abs().mean()


class VIDLayer(nn.Module):
    def __init__(self, cin, cmid, cout, init_var=5.0, eps=1e-5):
        super().__init__()
        self.regressor = nn.Sequential(nn.Conv2d(cin, cmid, 1, bias=False), nn.ReLU(),
                                       nn.Conv2d(cmid, cmid, 1, bias=False), nn.ReLU(),
                                       nn.Conv2d(cmid, cout, 1, bias=False))
        self.log_scale = nn.Parameter(math.log(math.exp(init_var - eps) - 1.0) * torch.ones(cout))
        self.eps = eps

    def forward(self, inp, tgt):
        inp, tgt = pool_match(inp, tgt)
        mean = self.regressor(inp)
        var = (torch.log(1.0 + torch.exp(self.log_scale)) + self.eps).view(1, -1, 1, 1)
        return torch.mean(0.5 * ((mean - tgt) ** 2 / var + torch.log(var)))


class Embeds(nn.Module):
    def __init__(self, ds, dt):
        super().__init__()
        self.embed_s = nn.Linear(ds, 128)
        self.embed_t = nn.Linear(dt, 128)


def make_module(name, sf, tf, se, te):
    """The term's trained modules, as RepDistiller builds them (None for terms without)."""
    if name == "fitnet":
        return ConvReg(sf[2].shape, tf[2].shape)
    if name == "vid":
        return nn.ModuleDict({f"layer{i}": VIDLayer(sf[i].shape[1], tf[i].shape[1], tf[i].shape[1]) for i in (1, 2, 3)})
    if name == "cc":
        return Embeds(se.shape[1], te.shape[1])
    if name == "ab-init":
        return connectors(sf[1:], tf[1:])
    if name == "ft-init":
        return Paraphraser(tf[-1].shape[1])
    if name == "ft":  # kdprune's order: the translator, then the (frozen) paraphraser
        return nn.ModuleList([translator(sf[-1].shape[1], tf[-1].shape[1]), Paraphraser(tf[-1].shape[1])])
    return None


def loss_of(name, module, sf, tf, se, te):
    if name == "at":
        return at_loss(sf[1:], tf[1:])
    if name == "sp":
        return sp_loss(sf[-1], tf[-1])
    if name == "pkt":
        return pkt_loss(se, te)
    if name == "rkd":
        return rkd_loss(se, te)
    if name == "nst":
        return nst_loss(sf[1:], tf[1:])
    if name == "fsp":  # FSP.py: flow matrices of feat[:-1], the init stage's loss
        def flows(g):
            out = []
            for i in range(len(g) - 1):
                bot, top = pool_match(g[i], g[i + 1])
                bot = bot.unsqueeze(1).view(bot.shape[0], 1, bot.shape[1], -1)
                top = top.unsqueeze(2).view(top.shape[0], top.shape[1], 1, -1)
                out.append((bot * top).mean(-1))
            return out
        return sum((s - t).pow(2).mean() for s, t in zip(flows(sf), flows(tf)))
    if name == "fitnet":
        return F.mse_loss(module(sf[2]), tf[2])
    if name == "vid":
        return sum(module[f"layer{i}"](sf[i], tf[i]) for i in (1, 2, 3))
    if name == "cc":
        delta = torch.abs(module.embed_s(se) - module.embed_t(te))
        return torch.mean((delta[:-1] * delta[1:]).sum(1))
    if name == "ab-init":  # pretrain.py: g_s = connector(feat_s[1:-1]) with preact features
        return ab_loss([c(f) for c, f in zip(module, sf[1:])], tf[1:])
    if name == "ft-init":  # pretrain.py: MSE of the paraphraser's reconstruction of feat_t[-2]
        return F.mse_loss(module(tf[-1])[1], tf[-1])
    if name == "ft":  # loops.py: translator(feat_s[-2]) against paraphraser(feat_t[-2], is_factor=True)
        with torch.no_grad():
            factor_t = module[1](tf[-1], is_factor=True)
        return ft_loss(module[0](sf[-1]), factor_t)
    raise SystemExit(f"unknown loss {name}")


def crd(d, path_out):
    """crd/criterion.py CRDLoss and crd/memory.py ContrastMemory on kdprune's contrast indices, memory
    banks and Embed weights (nce_t 0.07, nce_m 0.5, feat_dim 128; n = the view size): the loss, the
    gradients, the banks after the update and Z."""
    se = d["s.emb"].clone().requires_grad_()
    te = d["t.emb"]
    idx, y = d["idx"], d["positions"]
    mem_v1, mem_v2 = d["buf.memory_s"].clone(), d["buf.memory_t"].clone()
    n, T, momentum, eps = mem_v1.shape[0], 0.07, 0.5, 1e-7
    embed_s, embed_t = nn.Linear(se.shape[1], 128), nn.Linear(te.shape[1], 128)
    with torch.no_grad():
        for k, p in list(embed_s.named_parameters()):
            p.copy_(d["param.embed_s." + k])
        for k, p in list(embed_t.named_parameters()):
            p.copy_(d["param.embed_t." + k])

    def normalize(x):  # criterion.py Normalize(2)
        return x.div(x.pow(2).sum(1, keepdim=True).pow(0.5))
    v1, v2 = normalize(embed_s(se)), normalize(embed_t(te))
    bsz, K = v1.shape[0], idx.shape[1] - 1
    w1 = torch.index_select(mem_v1, 0, idx.view(-1)).detach().view(bsz, K + 1, 128)
    out_v2 = torch.exp(torch.div(torch.bmm(w1, v2.view(bsz, 128, 1)), T))
    w2 = torch.index_select(mem_v2, 0, idx.view(-1)).detach().view(bsz, K + 1, 128)
    out_v1 = torch.exp(torch.div(torch.bmm(w2, v1.view(bsz, 128, 1)), T))
    z1 = (out_v1.mean() * n).item()
    z2 = (out_v2.mean() * n).item()
    out_v1, out_v2 = torch.div(out_v1, z1).contiguous(), torch.div(out_v2, z2).contiguous()
    with torch.no_grad():
        for mem, v in ((mem_v1, v1), (mem_v2, v2)):
            pos = torch.index_select(mem, 0, y.view(-1))
            pos.mul_(momentum).add_(torch.mul(v, 1 - momentum))
            mem.index_copy_(0, y, pos.div(pos.pow(2).sum(1, keepdim=True).pow(0.5)))

    def contrast_loss(x):
        m, Pn = x.size(1) - 1, 1 / float(n)
        P_pos = x.select(1, 0)
        log_D1 = torch.div(P_pos, P_pos.add(m * Pn + eps)).log_()
        P_neg = x.narrow(1, 1, m)
        log_D0 = torch.div(P_neg.clone().fill_(m * Pn), P_neg.add(m * Pn + eps)).log_()
        return - (log_D1.sum(0) + log_D0.view(-1, 1).sum(0)) / bsz
    loss = (contrast_loss(out_v1) + contrast_loss(out_v2)).squeeze()
    loss.backward()
    out = {"loss": loss.detach(), "grad.s.emb": se.grad, "memory_s": mem_v1, "memory_t": mem_v2,
           "z": torch.tensor([z1, z2])}
    for side, e in (("embed_s", embed_s), ("embed_t", embed_t)):
        for k, p in e.named_parameters():
            out[f"grad.param.{side}.{k}"] = p.grad
    torch.save(out, path_out)


def run(path_in, path_out, name):
    d = torch.load(path_in, weights_only=True)["state_dict"]
    if name == "crd":
        return crd(d, path_out)
    sf = [d[f"s.f{i}"].clone().requires_grad_() for i in range(4)]
    tf = [d[f"t.f{i}"] for i in range(4)]
    se = d["s.emb"].clone().requires_grad_()
    te = d["t.emb"]
    module = make_module(name, sf, tf, se, te)
    if module is not None:  # kdprune's initial weights: by name, or in order where the names differ
        params = [k for k in d if k.startswith("param.")]
        with torch.no_grad():
            for i, (k, p) in enumerate(module.named_parameters()):
                p.copy_(d["param." + k] if "param." + k in d else d[params[i]])
        module.train()
    loss = loss_of(name, module, sf, tf, se, te)
    loss.backward()
    out = {"loss": loss.detach()}
    for i, f in enumerate(sf):
        if f.grad is not None:
            out[f"grad.s.f{i}"] = f.grad
    if se.grad is not None:
        out["grad.s.emb"] = se.grad
    if module is not None:  # under kdprune's names, in order
        params = [k for k in d if k.startswith("param.")]
        for i, (k, p) in enumerate(module.named_parameters()):
            if p.grad is not None:
                out["grad." + ("param." + k if "param." + k in d else params[i])] = p.grad
    torch.save(out, path_out)


for n in sys.argv[2:]:
    run(f"{sys.argv[1]}/{n}.pth", f"{sys.argv[1]}/{n}.out.pth", n)
