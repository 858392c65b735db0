"""PyTorch's names that tracegrad does not have, each with what to write instead.

A PyTorch habit (``nn.BCELoss()``, ``F.nll_loss``, ``nn.optim.AdamW``) would otherwise
end in Python's bare ``module 'nn' has no attribute 'BCELoss'``, which cannot tell a typo
from a name left out on purpose. Each package module looks its missing names up here
(its ``__getattr__``), so the error is still an ``AttributeError`` (``hasattr`` and
``getattr(nn, name, default)`` work as ever) but says why the name is absent and what
does the job, as docs/pytorch.md does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_LAYERS = (
    "tracegrad has fully connected networks only (Linear, the activations, Dropout, "
    "Flatten, Softmax, LogSoftmax)"
)
_ON_LOGITS = "the loss on logits: end the model with its last Linear and use "

#: For each module of ``nn``: PyTorch's name -> why it is absent and what to write.
ABSENT: dict[str, dict[str, str]] = {
    "nn": {
        "BCELoss": _ON_LOGITS + "nn.BCEWithLogitsLoss() (a probability rounded to 1 has "
        "an infinite loss, its logit does not)",
        "NLLLoss": _ON_LOGITS + "nn.CrossEntropyLoss(), which is log_softmax and NLLLoss in one",
        "HuberLoss": "not implemented; nn.MSELoss() and nn.L1Loss() are here",
        "SmoothL1Loss": "not implemented; nn.MSELoss() and nn.L1Loss() are here",
        "KLDivLoss": "not implemented; nn.CrossEntropyLoss() takes class probabilities as targets",
        "HingeEmbeddingLoss": "another loss (for distances); the SVM's hinge loss is "
        "nn.HingeLoss()",
        "ModuleList": "a plain list attribute of a Module holds its layers: they are found, "
        "named (layers.0.weight) and trained as in a ModuleList",
        "ModuleDict": "a plain dict attribute of a Module holds its layers: they are found, "
        "named and trained as in a ModuleDict",
        "Parameter": "a parameter is a Tensor(..., requires_grad=True) held as an attribute "
        "of a Module",
        "Identity": "not here; a Sequential() of no layers passes its input on",
        "save": "model.save(path) writes a model (nn.load reads it); fit(checkpoint=path) "
        "writes a whole run (optimiser, schedule, epoch) to resume",
        **{
            name: _LAYERS
            for name in (
                "Conv1d",
                "Conv2d",
                "Conv3d",
                "MaxPool1d",
                "MaxPool2d",
                "AvgPool2d",
                "BatchNorm1d",
                "BatchNorm2d",
                "LayerNorm",
                "Embedding",
                "RNN",
                "LSTM",
                "GRU",
                "Transformer",
                "MultiheadAttention",
                "GELU",
                "SiLU",
                "ELU",
                "Softplus",
                "PReLU",
            )
        },
    },
    "nn.functional": {
        "binary_cross_entropy": _ON_LOGITS + "F.binary_cross_entropy_with_logits",
        "nll_loss": _ON_LOGITS + "F.cross_entropy, which is log_softmax and nll_loss in one",
        "one_hot": "not here; np.eye(classes)[labels] is the one-hot array, and "
        "F.cross_entropy takes the labels themselves",
        "smooth_l1_loss": "not implemented; F.mse_loss and F.l1_loss are here",
        "huber_loss": "not implemented; F.mse_loss and F.l1_loss are here",
        "kl_div": "not implemented; F.cross_entropy takes class probabilities as targets",
        **{
            name: _LAYERS
            for name in (
                "conv1d",
                "conv2d",
                "max_pool2d",
                "avg_pool2d",
                "batch_norm",
                "layer_norm",
                "embedding",
                "gelu",
                "silu",
                "elu",
                "softplus",
                "pad",
            )
        },
    },
    "nn.optim": {
        "AdamW": "decoupled weight decay is not implemented: nn.optim.Adam(weight_decay=...) "
        "adds it to the gradient (L2), as torch.optim.Adam does",
        "lr_scheduler": "the schedulers are in nn.optim itself: nn.optim.StepLR, "
        "CosineAnnealingLR, ReduceLROnPlateau",
        **{
            name: "not implemented; nn.optim has SGD (momentum, Nesterov) and Adam"
            for name in ("RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam", "LBFGS")
        },
        **{
            name: "not implemented; nn.optim has StepLR, CosineAnnealingLR and "
            "ReduceLROnPlateau, and param_groups[0]['lr'] sets a rate by hand"
            for name in (
                "ExponentialLR",
                "MultiStepLR",
                "LambdaLR",
                "OneCycleLR",
                "LinearLR",
                "CosineAnnealingWarmRestarts",
                "SequentialLR",
                "CyclicLR",
            )
        },
    },
    "nn.utils": {
        "clip_grad_value_": "not implemented; nn.utils.clip_grad_norm_ is here",
        "parameters_to_vector": "not here; np.concatenate([np.ravel(p.data) for p in "
        "model.parameters()]) is the vector",
    },
}


def module_getattr(module: str) -> Callable[[str], Any]:
    """A module's ``__getattr__``: PyTorch's absent names explained, others as Python's."""
    absent = ABSENT[module]

    def absent_name(name: str) -> Any:
        if name in absent:
            raise AttributeError(
                f"{module}.{name}: PyTorch's, not in tracegrad: {absent[name]} "
                "(see 'Coming from PyTorch' in the docs)",
                name=name,
            )
        raise AttributeError(f"module {module!r} has no attribute {name!r}", name=name)

    return absent_name
