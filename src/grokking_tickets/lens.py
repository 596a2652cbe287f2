"""The transformer as a TransformerLens ``HookedTransformer``, for the field's interpretability tools.

Nanda et al.'s progress measures, activation patching and the rest of mechanistic
interpretability's toolbox read a ``HookedTransformer``. Ours is one exactly: 1 layer, 1 head
with d_head = d_model, a ReLU MLP, no LayerNorm, no biases, no positional embedding, causal
attention scaled by √d_head, logits read at the last position. :func:`to_hooked_transformer`
maps the weights ([out, in] here, [in, out] there), sets every bias and the positional embedding
to zero, and so computes the same function: its logits equal ours bit for bit at the preset's
shapes (d_model 128, all 4,489 pairs; three runs at steps 0, 2k and 6k), and
tests/unit/test_lens.py holds them to ours on every pair of a small task, to float32 rounding.

    >>> from grokking_tickets.lens import load_hooked
    >>> net, tokens = load_hooked("runs/reproduce", ticket_run_id)    # a stored run, last step
    >>> logits, cache = net.run_with_cache(tokens)                     # cache["blocks.0.mlp.hook_post"], ...

TransformerLens is an optional extra (``pip install 'grokking-tickets[lens]'``; 3.x, whose
``HookedTransformer`` 4.0 removed), imported only here. The MLP has no attention and no token
positions, so it does not map onto a transformer; load it as a module with
``checkpoint.load_run``.
"""

from __future__ import annotations

import warnings

import torch

from .checkpoint import load_run
from .errors import UserError
from .models.base import Params
from .models.transformer import ModularTransformer


def _lens():
    try:
        from transformer_lens import HookedTransformer, HookedTransformerConfig
    except ImportError:
        raise UserError("the TransformerLens export needs transformer-lens 3.x: pip install 'grokking-tickets[lens]'") from None
    return HookedTransformer, HookedTransformerConfig


def to_hooked_transformer(model: ModularTransformer, weights: Params):
    """A ``HookedTransformer`` computing ``model.forward`` with ``weights`` (one member, [out, in])."""
    if not isinstance(model, ModularTransformer):
        raise UserError(f"only the transformer maps onto a HookedTransformer; this run's model is {model.name!r}")
    HookedTransformer, HookedTransformerConfig = _lens()
    d, m = model.cfg.d_model, model.cfg.d_mlp
    T = 3 if model.cfg.eq_token else 2
    cfg = HookedTransformerConfig(
        n_layers=1, n_heads=1, d_model=d, d_head=d, d_mlp=m, d_vocab=model.V, d_vocab_out=model.C, n_ctx=T,
        act_fn="relu", normalization_type=None, attention_dir="causal", positional_embedding_type="standard",
        default_prepend_bos=False,
    )  # fmt: skip
    with warnings.catch_warnings():  # 3.x warns that 4.0 removes the class: known, and why [lens] pins <4
        warnings.filterwarnings("ignore", "HookedTransformer is deprecated", DeprecationWarning)
        net = HookedTransformer(cfg)
    w = {n: t.detach().float() for n, t in weights.items()}
    state = {k: torch.zeros_like(v) for k, v in net.state_dict().items()}  # biases, W_pos: zero
    state.update({
        "embed.W_E": w["W_E"].T,  # [V, d]
        "blocks.0.attn.W_Q": w["W_Q"].T[None], "blocks.0.attn.W_K": w["W_K"].T[None],  # [1, d, d_head]
        "blocks.0.attn.W_V": w["W_V"].T[None], "blocks.0.attn.W_O": w["W_O"].T[None],  # W_O [1, d_head, d]
        "blocks.0.mlp.W_in": w["W_in"].T, "blocks.0.mlp.W_out": w["W_out"].T,  # [d, m], [m, d]
        "unembed.W_U": w["W_U"].T,  # [d, C]
    })  # fmt: skip
    for k in ("blocks.0.attn.mask", "blocks.0.attn.IGNORE"):  # TransformerLens's own buffers, as built
        if k in state:
            state[k] = net.state_dict()[k]
    net.load_state_dict(state)
    net.eval()
    return net


def load_hooked(store_dir, run_id: str, step: int | None = None):
    """(HookedTransformer, tokens [N, T]) of a stored transformer run at ``step`` (default: its last
    saved one); ``tokens`` are every pair of its task, train and test, in the model's token layout."""
    module, data = load_run(store_dir, run_id, step)
    net = to_hooked_transformer(module.model, module.effective_weights())
    tokens = module.model.tokens(torch.cat([data.train_x, data.test_x]))
    return net, tokens
