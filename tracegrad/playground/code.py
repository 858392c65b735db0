"""The Python code that reproduces the page's run with tracegrad, to copy into a notebook.

It is written from the same ``Settings`` and ``FIT_OPTIONS`` as the page trains with, and
calls the same functions in the same order (data, split, model, optimiser, ``nn.fit``
with the same seed), so it reproduces the page's losses number for number; the browser
test runs it on its own and compares.
"""

from __future__ import annotations

from .run import FIT_OPTIONS, dataset_arguments
from .settings import Settings

#: Written where the page puts its current epoch count.
EPOCHS_MARK = "__EPOCHS__"


def _arguments(arguments: dict[str, object]) -> str:
    return "".join(f", {key}={value!r}" for key, value in arguments.items())


def reproducing_code(settings: Settings, epochs: int | str = EPOCHS_MARK) -> str:
    """The code of the run; ``epochs`` is the number of epochs to train (by default a mark
    that the page replaces with the epochs it has trained)."""
    s = settings
    network = "-".join(str(size) for size in [s.features, *s.sizes])
    kind = "nn.scalar.MLP" if s.engine == "value" else "nn.MLP"
    engine = "Values" if s.engine == "value" else "Tensors"
    lines = [
        f"# tracegrad playground: {s.dataset}, a {network} {s.activation} network of "
        f"{engine}, {s.loss}, {s.optimizer} (seed {s.seed})",
        "import nn",
        "",
        f"X, y = nn.datasets.{s.dataset}({s.points}{_arguments(dataset_arguments(s))}, "
        f"rng={s.seed})",
        f"X_train, y_train, X_test, y_test = nn.data.train_val_split(X, y, {s.test_fraction!r}, "
        f"rng={s.seed})",
    ]
    if s.engine == "tensor" and s.outputs == 1:
        lines += [
            "# one column, the shape of the network's single output",
            "y_train, y_test = y_train.reshape(-1, 1), y_test.reshape(-1, 1)",
        ]
    elif s.task == "regression":
        lines += [
            "# one number per point: a Value network's outputs are a list",
            "y_train, y_test = y_train.reshape(-1), y_test.reshape(-1)",
        ]
    optimizer = "Adam" if s.optimizer == "adam" else "SGD"
    metric = "r2" if s.task == "regression" else "accuracy"
    options = "".join(f"\n    {key}={value!r}," for key, value in FIT_OPTIONS[s.engine].items())
    lines += [
        "",
        f"model = {kind}({s.features}, {list(s.sizes)!r}, activation={s.activation!r}, "
        f"rng={s.seed})",
        f"optimizer = nn.optim.{optimizer}(model.parameters(), lr={s.lr!r}, weight_decay={s.l2!r})",
        "history = nn.fit(",
        "    model,",
        "    X_train,",
        "    y_train,",
        f"    loss=nn.{s.loss},",
        "    optimizer=optimizer,",
        f"    epochs={epochs},",
        f"    batch_size={s.batch_size},",
        "    validation=(X_test, y_test),  # the page's test points",
        f"    metrics=[{metric!r}],",
        "    evaluate_training=True,  # train_loss: the whole training set after each epoch",
        f"    rng={s.seed},{options}",
        "    progress=False,",
        ")",
        'print(history["train_loss"][-1], history["val_loss"][-1])',
        "",
    ]
    return "\n".join(lines)
