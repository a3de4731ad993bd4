"""The qwen35moe architecture in PyTorch, written from ../shared/spec/model.md: Gated DeltaNet
and gated full-attention layers in the 3:1 pattern, MoE FFN (softmax router, top-k renormalised)
with a sigmoid-gated shared expert. Parameters are held in GGUF order ([out, in] = ggml {in, out})
so export() hands the engine exactly what it reads. The DeltaNet runs in its chunked form (64),
which equals the engine's sequential recurrence in exact arithmetic (spec 7.3)."""
import math

import torch
import torch.nn.functional as F
from torch import nn


class Config:
    def __init__(self, **kw):
        self.n_vocab = 2048
        self.n_embd = 256
        self.n_layer = 4
        self.interval = 4          # every 4th layer is full attention
        self.n_head = 4
        self.n_head_kv = 2
        self.head_dim = 64
        self.n_rot = 16
        self.rope_sections = [3, 3, 2, 0]
        self.rope_theta = 1e7
        self.rms_eps = 1e-6
        self.ssm_n_group = 2       # Hk
        self.ssm_d_state = 64      # dk = dv
        self.ssm_dt_rank = 4       # Hv
        self.conv = 4
        self.n_expert = 8
        self.n_expert_used = 2
        self.n_ff_exp = 256
        self.n_ff_shexp = 256
        self.n_ctx_train = 4096
        self.__dict__.update(kw)

    @property
    def d_inner(self):
        return self.ssm_dt_rank * self.ssm_d_state

    def is_recurrent(self, i):
        return (i + 1) % self.interval != 0


def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def l2_norm(x, eps):
    return x / torch.clamp(x.norm(dim=-1, keepdim=True), min=eps)


def delta_rule_chunked(q, k, v, beta, g, chunk=64):
    """q, k: [B, H, T, dk] (q scaled), v: [B, H, T, dv], beta, g: [B, H, T]. Returns o [B, H, T, dv]."""
    B, H, T, dk = k.shape
    dv = v.shape[-1]
    pad = (-T) % chunk
    if pad:
        q, k, v = (F.pad(x, (0, 0, 0, pad)) for x in (q, k, v))
        beta, g = (F.pad(x, (0, pad)) for x in (beta, g))
    n = (T + pad) // chunk
    L = chunk
    S = q.new_zeros(B, H, dk, dv)
    incl = torch.tril(torch.ones(L, L, dtype=torch.bool, device=q.device))
    strict = torch.tril(torch.ones(L, L, dtype=torch.bool, device=q.device), -1)
    eye = torch.eye(L, device=q.device, dtype=q.dtype)
    outs = []
    for c in range(n):
        sl = slice(c * L, (c + 1) * L)
        qc, kc, vc, bc = q[:, :, sl], k[:, :, sl], v[:, :, sl], beta[:, :, sl]
        gam = torch.cumsum(g[:, :, sl], dim=-1)                      # [B, H, L], <= 0, decreasing
        diff = gam[..., :, None] - gam[..., None, :]                 # gamma_r - gamma_s
        Gam = diff.masked_fill(~incl, float("-inf")).exp()           # exp only of masked (<= 0) values
        A = (bc[..., :, None] * (kc @ kc.transpose(-1, -2)) * Gam).masked_fill(~strict, 0.0)
        M = eye + A
        U = torch.linalg.solve_triangular(M, bc[..., None] * vc, upper=False, unitriangular=True)
        W = torch.linalg.solve_triangular(M, (bc * gam.exp())[..., None] * kc, upper=False, unitriangular=True)
        vnew = U - W @ S
        qk = (qc @ kc.transpose(-1, -2) * Gam).masked_fill(~incl, 0.0)
        outs.append(gam.exp()[..., None] * (qc @ S) + qk @ vnew)
        last = gam[..., -1:]                                          # [B, H, 1]
        S = last.exp()[..., None] * S + ((last - gam).exp()[..., None] * kc).transpose(-1, -2) @ vnew
    return torch.cat(outs, dim=2)[:, :, :T]


class GatedDeltaNet(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        N, Hk, d, Hv = c.n_embd, c.ssm_n_group, c.ssm_d_state, c.ssm_dt_rank
        C = 2 * Hk * d + Hv * d
        std = 0.02
        self.attn_qkv = nn.Parameter(torch.randn(C, N) * std)
        self.attn_gate = nn.Parameter(torch.randn(Hv * d, N) * std)
        self.ssm_beta = nn.Parameter(torch.randn(Hv, N) * std)
        self.ssm_alpha = nn.Parameter(torch.randn(Hv, N) * std)
        self.ssm_conv1d = nn.Parameter(torch.randn(C, c.conv) * 0.2)
        self.ssm_dt_bias = nn.Parameter(torch.log(torch.expm1(torch.empty(Hv).uniform_(0.001, 0.1))))
        self.a_log = nn.Parameter(torch.log(torch.empty(Hv).uniform_(1, 16)))
        self.ssm_norm = nn.Parameter(torch.ones(d))
        self.ssm_out = nn.Parameter(torch.randn(N, Hv * d) * std / math.sqrt(2 * c.n_layer))

    def forward(self, a):
        c = self.c
        B, T, _ = a.shape
        Hk, d, Hv = c.ssm_n_group, c.ssm_d_state, c.ssm_dt_rank
        Kd = Hk * d
        u = a @ self.attn_qkv.t()
        z = a @ self.attn_gate.t()
        b = a @ self.ssm_beta.t()
        al = a @ self.ssm_alpha.t()
        # Causal depthwise conv: tap 3 multiplies the current token.
        y = F.conv1d(F.pad(u.transpose(1, 2), (c.conv - 1, 0)), self.ssm_conv1d.unsqueeze(1), groups=u.shape[-1])
        y = F.silu(y).transpose(1, 2)
        q = l2_norm(y[..., :Kd].view(B, T, Hk, d), c.rms_eps) / math.sqrt(d)
        k = l2_norm(y[..., Kd:2 * Kd].view(B, T, Hk, d), c.rms_eps)
        v = y[..., 2 * Kd:].view(B, T, Hv, d)
        idx = torch.arange(Hv) % Hk                                   # GGUF order: v head j uses q/k head j % Hk
        q, k = q[:, :, idx], k[:, :, idx]
        beta = torch.sigmoid(b)
        g = F.softplus(al + self.ssm_dt_bias, threshold=20.0) * -torch.exp(self.a_log)
        o = delta_rule_chunked(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), beta.transpose(1, 2), g.transpose(1, 2))
        o = o.transpose(1, 2)                                         # [B, T, Hv, d]
        o = rms_norm(o, self.ssm_norm, c.rms_eps) * F.silu(z.view(B, T, Hv, d))
        return o.reshape(B, T, Hv * d) @ self.ssm_out.t()

    def export(self, p):
        return {p + "attn_qkv.weight": self.attn_qkv, p + "attn_gate.weight": self.attn_gate, p + "ssm_beta.weight": self.ssm_beta,
                p + "ssm_alpha.weight": self.ssm_alpha, p + "ssm_conv1d.weight": self.ssm_conv1d, p + "ssm_dt.bias": self.ssm_dt_bias,
                p + "ssm_a": -torch.exp(self.a_log), p + "ssm_norm.weight": self.ssm_norm, p + "ssm_out.weight": self.ssm_out}


def rope_neox(x, pos, n_rot, theta):
    """x: [B, T, H, D]; rotates the first n_rot dims, pairing j with j + n_rot/2 (text-only IMRoPE)."""
    half = n_rot // 2
    inv = theta ** (-2.0 * torch.arange(half, dtype=torch.float32) / n_rot)
    ang = pos[:, None].float() * inv[None, :]                        # [T, half]
    cos, sin = ang.cos()[None, :, None, :], ang.sin()[None, :, None, :]
    x1, x2, rest = x[..., :half], x[..., half:n_rot], x[..., n_rot:]
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos, rest], dim=-1)


class GatedAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        N, Hq, Hkv, D = c.n_embd, c.n_head, c.n_head_kv, c.head_dim
        std = 0.02
        self.attn_q = nn.Parameter(torch.randn(2 * Hq * D, N) * std)
        self.attn_k = nn.Parameter(torch.randn(Hkv * D, N) * std)
        self.attn_v = nn.Parameter(torch.randn(Hkv * D, N) * std)
        self.attn_output = nn.Parameter(torch.randn(N, Hq * D) * std / math.sqrt(2 * c.n_layer))
        self.attn_q_norm = nn.Parameter(torch.ones(D))
        self.attn_k_norm = nn.Parameter(torch.ones(D))

    def forward(self, a):
        c = self.c
        B, T, _ = a.shape
        Hq, Hkv, D = c.n_head, c.n_head_kv, c.head_dim
        qg = (a @ self.attn_q.t()).view(B, T, Hq, 2 * D)
        q, gate = qg[..., :D], qg[..., D:]
        k = (a @ self.attn_k.t()).view(B, T, Hkv, D)
        v = (a @ self.attn_v.t()).view(B, T, Hkv, D)
        q = rms_norm(q, self.attn_q_norm, c.rms_eps)
        k = rms_norm(k, self.attn_k_norm, c.rms_eps)
        pos = torch.arange(T)
        q, k = rope_neox(q, pos, c.n_rot, c.rope_theta), rope_neox(k, pos, c.n_rot, c.rope_theta)
        rep = Hq // Hkv
        k, v = k.repeat_interleave(rep, dim=2), v.repeat_interleave(rep, dim=2)   # head h uses kv head h // rep
        s = torch.einsum("bthd,bshd->bhts", q, k) / math.sqrt(D)
        s = s.masked_fill(~torch.tril(torch.ones(T, T, dtype=torch.bool)), float("-inf"))
        o = torch.einsum("bhts,bshd->bthd", s.softmax(-1), v)
        o = o * torch.sigmoid(gate)
        return o.reshape(B, T, Hq * D) @ self.attn_output.t()

    def export(self, p):
        return {p + "attn_q.weight": self.attn_q, p + "attn_k.weight": self.attn_k, p + "attn_v.weight": self.attn_v,
                p + "attn_output.weight": self.attn_output, p + "attn_q_norm.weight": self.attn_q_norm,
                p + "attn_k_norm.weight": self.attn_k_norm}


class MoE(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        N, E, Fe, Fs = c.n_embd, c.n_expert, c.n_ff_exp, c.n_ff_shexp
        std = 0.02
        self.gate_inp = nn.Parameter(torch.randn(E, N) * std)
        self.gate_exps = nn.Parameter(torch.randn(E, Fe, N) * std)
        self.up_exps = nn.Parameter(torch.randn(E, Fe, N) * std)
        self.down_exps = nn.Parameter(torch.randn(E, N, Fe) * std / math.sqrt(2 * c.n_layer))
        self.gate_inp_shexp = nn.Parameter(torch.randn(N) * std)
        self.gate_shexp = nn.Parameter(torch.randn(Fs, N) * std)
        self.up_shexp = nn.Parameter(torch.randn(Fs, N) * std)
        self.down_shexp = nn.Parameter(torch.randn(N, Fs) * std / math.sqrt(2 * c.n_layer))

    def forward(self, f):
        c = self.c
        B, T, N = f.shape
        x = f.reshape(-1, N)
        p = (x @ self.gate_inp.t()).softmax(-1)                       # [BT, E]
        topv, topi = p.topk(c.n_expert_used, dim=-1)
        w = topv / topv.sum(-1, keepdim=True).clamp_min(6.103515625e-5)
        out = torch.zeros_like(x)
        for e in range(c.n_expert):
            rows, slot = (topi == e).nonzero(as_tuple=True)
            if rows.numel() == 0:
                continue
            xe = x[rows]
            ye = (F.silu(xe @ self.gate_exps[e].t()) * (xe @ self.up_exps[e].t())) @ self.down_exps[e].t()
            out.index_add_(0, rows, ye * w[rows, slot][:, None])
        shared = torch.sigmoid(x @ self.gate_inp_shexp)[:, None] * (
            (F.silu(x @ self.gate_shexp.t()) * (x @ self.up_shexp.t())) @ self.down_shexp.t())
        # Switch-style balance loss: routed fraction x mean probability per expert.
        frac = F.one_hot(topi, c.n_expert).float().sum(1).mean(0) / c.n_expert_used
        self.aux = c.n_expert * (frac * p.mean(0)).sum()
        return (out + shared).view(B, T, N)

    def export(self, p):
        return {p + "ffn_gate_inp.weight": self.gate_inp, p + "ffn_gate_exps.weight": self.gate_exps,
                p + "ffn_up_exps.weight": self.up_exps, p + "ffn_down_exps.weight": self.down_exps,
                p + "ffn_gate_inp_shexp.weight": self.gate_inp_shexp, p + "ffn_gate_shexp.weight": self.gate_shexp,
                p + "ffn_up_shexp.weight": self.up_shexp, p + "ffn_down_shexp.weight": self.down_shexp}


class Model(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.token_embd = nn.Parameter(torch.randn(c.n_vocab, c.n_embd) * 0.02)
        self.attn_norm = nn.ParameterList([nn.Parameter(torch.ones(c.n_embd)) for _ in range(c.n_layer)])
        self.post_norm = nn.ParameterList([nn.Parameter(torch.ones(c.n_embd)) for _ in range(c.n_layer)])
        self.mixers = nn.ModuleList([GatedDeltaNet(c) if c.is_recurrent(i) else GatedAttention(c) for i in range(c.n_layer)])
        self.ffns = nn.ModuleList([MoE(c) for _ in range(c.n_layer)])
        self.output_norm = nn.Parameter(torch.ones(c.n_embd))
        self.output = nn.Parameter(torch.randn(c.n_vocab, c.n_embd) * 0.02)

    def forward(self, tokens):
        c = self.c
        h = self.token_embd[tokens]
        for i in range(c.n_layer):
            h = h + self.mixers[i](rms_norm(h, self.attn_norm[i], c.rms_eps))
            h = h + self.ffns[i](rms_norm(h, self.post_norm[i], c.rms_eps))
        return rms_norm(h, self.output_norm, c.rms_eps) @ self.output.t()

    def wire_copy(self, layers, pair_dims=0):
        """Initialises the DeltaNet layers in `layers` as a copying circuit, which training then
        refines. Copying a name from the question into a call is an induction step: find where the
        token just written occurred before and emit the token that followed it. A DeltaNet layer
        can do that alone: its causal conv lets a key hold the previous token and the value the
        current one, so a query with the current token reads back its successor. From a random
        start, 1.4 M tokens of chat never found that circuit (0 % exact values); from this start
        the same budget copies numbers (docs/default-model.md, copying experiments). Wiring:
        keys share the queries' projection, the conv reads keys one token back and queries and
        values at the current token, values and the output projection pass the embedding
        through, decay is slow (a store outlives a question), and the output head starts as the
        embedding, so a read-back token is already that token's logit.

        With `pair_dims` > 0, the last `pair_dims` of each head's key dimensions hold the token
        two back and the matching query dimensions the previous one, so a key says which pair of
        tokens came before the value: a single byte or letter ("i", a Hangul lead byte) occurs
        all over a prompt, and one token of context alone reads back whichever came last."""
        c = self.c
        N, Kd = c.n_embd, c.ssm_n_group * c.ssm_d_state
        if c.d_inner != N:
            raise ValueError("wire_copy needs the DeltaNet's inner size (%d) to equal n_embd (%d)" % (c.d_inner, N))
        with torch.no_grad():
            for i in layers:
                mix = self.mixers[i]
                if not isinstance(mix, GatedDeltaNet):
                    raise ValueError("layer %d is not a DeltaNet layer" % i)
                mix.attn_qkv[Kd:2 * Kd] = mix.attn_qkv[:Kd]
                w = torch.zeros_like(mix.ssm_conv1d)
                w[:, c.conv - 1] = 1.0
                w[Kd:2 * Kd, c.conv - 1] = 0.1  # not 0: the first position's key would be 0, and its L2 norm's gradient 1/eps
                w[Kd:2 * Kd, c.conv - 2] = 1.0
                if pair_dims:
                    d = c.ssm_d_state
                    pair = torch.tensor([j % d >= d - pair_dims for j in range(Kd)])
                    wq, wk = w[:Kd], w[Kd:2 * Kd]
                    wq[pair] = 0.0
                    wq[pair, c.conv - 2] = 1.0
                    wk[pair] = 0.0
                    wk[pair, c.conv - 3] = 1.0
                mix.ssm_conv1d.copy_(w)
                mix.attn_qkv[2 * Kd:] = torch.eye(N) * 2.0
                mix.ssm_out.copy_(torch.eye(N) * 0.5)
                mix.attn_gate.copy_(torch.eye(N) * 4.0)
                mix.ssm_dt_bias.fill_(math.log(math.expm1(0.01)))
                mix.a_log.fill_(0.0)
            self.output.copy_(self.token_embd)

    def aux_loss(self):
        return sum(f.aux for f in self.ffns) / self.c.n_layer

    def _file_tensors(self):
        t = [("token_embd.weight", self.token_embd), ("output_norm.weight", self.output_norm), ("output.weight", self.output)]
        for i in range(self.c.n_layer):
            p = "blk.%d." % i
            t += [(p + "attn_norm.weight", self.attn_norm[i]), (p + "post_attention_norm.weight", self.post_norm[i])]
            t += list(self.mixers[i].export(p).items()) + list(self.ffns[i].export(p).items())
        return t

    def export_tensors(self):
        """(name, float32 array) in the engine's file order."""
        return [(n, v.detach().float().numpy()) for n, v in self._file_tensors()]

    def load_tensors(self, tensors):
        """The inverse of export_tensors: every parameter from {name: array}, so a training can
        continue from an exported F32 file. The file holds A = -exp(a_log), not a_log."""
        names = [n for n, _ in self._file_tensors()]
        if sorted(names) != sorted(tensors):
            raise ValueError("the file's tensors are not this model's: missing %s, extra %s" % (
                sorted(set(names) - set(tensors))[:3], sorted(set(tensors) - set(names))[:3]))
        with torch.no_grad():
            for name, v in self._file_tensors():
                src = torch.from_numpy(tensors[name])
                if tuple(src.shape) != tuple(v.shape):
                    raise ValueError("%s: shape %s in the file, %s in the model" % (name, tuple(src.shape), tuple(v.shape)))
                if name.endswith(".ssm_a"):
                    self.mixers[int(name.split(".")[1])].a_log.copy_(torch.log(-src))
                else:
                    v.copy_(src)

    def metadata(self, name):
        c, a = self.c, "qwen35moe"
        return [("general.architecture", "str", a), ("general.name", "str", name), ("general.file_type", "u32", 0),
                (a + ".block_count", "u32", c.n_layer), (a + ".context_length", "u32", c.n_ctx_train),
                (a + ".embedding_length", "u32", c.n_embd), (a + ".attention.head_count", "u32", c.n_head),
                (a + ".attention.head_count_kv", "u32", c.n_head_kv), (a + ".attention.key_length", "u32", c.head_dim),
                (a + ".attention.value_length", "u32", c.head_dim), (a + ".attention.layer_norm_rms_epsilon", "f32", c.rms_eps),
                (a + ".rope.freq_base", "f32", c.rope_theta), (a + ".rope.dimension_count", "u32", c.n_rot),
                (a + ".rope.dimension_sections", "i32[]", c.rope_sections), (a + ".expert_count", "u32", c.n_expert),
                (a + ".expert_used_count", "u32", c.n_expert_used), (a + ".expert_feed_forward_length", "u32", c.n_ff_exp),
                (a + ".expert_shared_feed_forward_length", "u32", c.n_ff_shexp), (a + ".ssm.conv_kernel", "u32", c.conv),
                (a + ".ssm.state_size", "u32", c.ssm_d_state), (a + ".ssm.group_count", "u32", c.ssm_n_group),
                (a + ".ssm.time_step_rank", "u32", c.ssm_dt_rank), (a + ".ssm.inner_size", "u32", c.d_inner),
                (a + ".full_attention_interval", "u32", c.interval)]
