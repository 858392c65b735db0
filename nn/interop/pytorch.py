"""To PyTorch and back: the same model as a ``torch.nn.Module``, weights and all.

    torch_model = nn.to_torch(model)      # torch.nn.Sequential of the same layers
    model = nn.from_torch(torch_model)    # and back to tracegrad

Supported: ``Sequential`` and ``MLP`` of ``Linear``, every activation (``ReLU``,
``Tanh``, ``Sigmoid``, ``LeakyReLU``, ``Softmax``, ``LogSoftmax``), ``Dropout`` and
``Flatten``, a single such layer, and ``nn.scalar.MLP`` (its neurons become Linear layers).
Parameter names carry over (``0.weight``, ``2.bias``), so state dicts agree too. Sharing
carries over both ways: a module used twice is one module in the converted model, and a
parameter shared by two layers (tied weights) is one parameter, trained as one. The
converted module is in the same training or evaluation mode as the original; outputs
agree to float32 rounding in evaluation mode. ``from_torch`` keeps each layer's dtype
(float16, float32 or float64; another is refused), ``to_torch`` makes float32 copies.

PyTorch is an optional extra (``pip install 'tracegrad[torch]'``), imported only here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograd import Tensor

from .. import checks, layers, scalar
from ..activations import ACTIVATIONS, LeakyReLU, of_layer
from ..modelfile import DTYPES
from ..module import Module


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise ModuleNotFoundError(
            "PyTorch is not installed: pip install 'tracegrad[torch]' (or pip install torch)"
        ) from None
    return torch


def scalar_as_layers(model: scalar.MLP) -> list[tuple[np.ndarray, np.ndarray, str]]:
    """A scalar MLP as (weight (out, in), bias (out,), activation) per layer, in float32."""
    result = []
    for layer in model.layers:
        weight = np.array([[w.data for w in neuron.w] for neuron in layer.neurons], np.float32)
        bias = np.array([neuron.b.data for neuron in layer.neurons], np.float32)
        result.append((weight, bias, layer.neurons[0].activation))
    return result


def as_sequential(model: scalar.MLP) -> layers.Sequential:
    """A Tensor ``Sequential`` that computes what the scalar MLP computes."""
    modules: list[Module] = []
    for weight, bias, activation in scalar_as_layers(model):
        linear = layers.Linear(weight.shape[1], weight.shape[0], rng=0)
        linear.weight.data = weight
        linear.bias.data = bias  # type: ignore[union-attr]
        modules.append(linear)
        if activation != "linear":
            modules.append(ACTIVATIONS[activation].layer())
    return layers.Sequential(*modules)


def to_torch(model: Module) -> Any:
    """An equivalent ``torch.nn.Module`` holding a float32 copy of the weights."""
    checks.instance(model, Module, "to_torch", "model")
    torch = _torch()
    if isinstance(model, scalar.MLP):
        model = as_sequential(model)
    converted = _to_torch(torch, model, {})
    converted.train(model.training)
    return converted


def _to_torch(torch: Any, module: Module, made: dict[int, Any]) -> Any:
    """``module`` in torch; ``made`` maps the id of each module and parameter converted
    so far to its torch counterpart, so that what is shared stays shared."""
    if id(module) in made:
        return made[id(module)]
    converted = _convert_to_torch(torch, module, made)
    made[id(module)] = converted
    return converted


def _torch_parameter(torch: Any, parameter: Any, made: dict[int, Any]) -> Any:
    if id(parameter) not in made:
        data = torch.from_numpy(np.array(parameter.data, np.float32))
        made[id(parameter)] = torch.nn.Parameter(data, requires_grad=parameter.requires_grad)
    return made[id(parameter)]


def _convert_to_torch(torch: Any, module: Module, made: dict[int, Any]) -> Any:
    tnn = torch.nn
    if isinstance(module, layers.Sequential):  # MLP too
        return tnn.Sequential(*[_to_torch(torch, layer, made) for layer in module.layers])
    if isinstance(module, layers.Linear):
        linear = tnn.Linear(module.in_features, module.out_features, bias=module.bias is not None)
        linear.weight = _torch_parameter(torch, module.weight, made)
        if module.bias is not None:
            linear.bias = _torch_parameter(torch, module.bias, made)
        return linear
    if isinstance(module, LeakyReLU):
        return tnn.LeakyReLU(module.negative_slope)
    if isinstance(module, layers.LogSoftmax):  # before Softmax: it is a subclass
        return tnn.LogSoftmax(dim=module.axis)
    if isinstance(module, layers.Softmax):
        return tnn.Softmax(dim=module.axis)
    if isinstance(module, layers.Flatten):
        return tnn.Flatten(start_dim=module.start_axis)
    if isinstance(module, layers.Dropout):
        return tnn.Dropout(module.p)
    activation = of_layer(module)
    if activation is not None:
        return getattr(tnn, activation.torch)()
    raise TypeError(
        f"to_torch: cannot convert {type(module).__name__}: only the library's own layers "
        "(Sequential, MLP, Linear, the activations, Dropout, Flatten) are converted; a module "
        "with a forward of its own must be written for PyTorch by hand"
    )


def from_torch(module: Any) -> Module:
    """The tracegrad equivalent of a ``torch.nn`` module made of the supported layers."""
    torch = _torch()
    if not isinstance(module, torch.nn.Module):
        checks.wrong_type("from_torch", "module", "a torch.nn.Module", module)
    made: dict[int, Any] = {}
    converted = _from_torch(torch, module, made)
    for parameter in module.parameters():  # frozen once every layer holds its own
        if not parameter.requires_grad:
            made[id(parameter)].requires_grad = False
    converted.train(module.training)
    return converted


def _from_torch(torch: Any, module: Any, made: dict[int, Any]) -> Module:
    """``module`` in tracegrad; ``made`` maps the id of each torch module and parameter
    converted so far to its counterpart, so that what is shared stays shared."""
    if id(module) not in made:
        made[id(module)] = _convert_from_torch(torch, module, made)
    converted: Module = made[id(module)]
    return converted


def _dtype_from_torch(parameter: Any, where: str) -> str:
    """The dtype of a torch parameter, one a tracegrad layer computes in; else a TypeError
    (bfloat16 has no numpy dtype, and a cast would change the model without a word)."""
    if parameter.is_meta:  # a model laid out without memory (device="meta")
        raise TypeError(
            f"from_torch: {where} is on PyTorch's meta device, which holds no values: "
            "load or initialise the module's weights first (module.to_empty(device='cpu'))"
        )
    name = str(parameter.dtype).removeprefix("torch.")
    if name not in DTYPES:
        raise TypeError(
            f"from_torch: {where} is {name}; a tracegrad layer computes in "
            f"{', '.join(DTYPES)}: convert the module first (module.float())"
        )
    return name


def _parameter_from_torch(parameter: Any, made: dict[int, Any]) -> Tensor:
    """A copy of ``parameter`` in its own dtype: a float64 model stays float64."""
    if id(parameter) not in made:
        data = parameter.detach().cpu().numpy()
        made[id(parameter)] = Tensor(data, requires_grad=True, dtype=data.dtype)
    tensor: Tensor = made[id(parameter)]
    return tensor


def _check_plain(torch: Any, module: Any) -> None:
    """Refuse a module whose computation is not its torch class's: a subclass with its own
    ``forward``, or forward hooks (converted as the plain class, either would compute
    something else without a word)."""
    tnn, name = torch.nn, type(module).__name__
    activations = [getattr(tnn, activation.torch) for activation in ACTIVATIONS.values()]
    bases = [tnn.Sequential, tnn.Linear, tnn.LeakyReLU, tnn.Softmax, tnn.LogSoftmax,
             tnn.Flatten, tnn.Dropout, *activations]  # fmt: skip
    base = next((b for b in bases if isinstance(module, b)), None)
    if base is not None and type(module) is not base and type(module).forward is not base.forward:
        raise TypeError(
            f"from_torch: {name} is a subclass of torch.nn.{base.__name__} with a forward of "
            f"its own, which tracegrad cannot read: only {base.__name__}'s own computation "
            "converts (convert the plain layers and write the rest in tracegrad)"
        )
    hooks = [
        getattr(module, attribute, None) for attribute in ("_forward_hooks", "_forward_pre_hooks")
    ]
    if any(hooks):
        raise TypeError(
            f"from_torch: {name} has forward hooks, which tracegrad would not run: remove "
            "them before converting"
        )


def _convert_from_torch(torch: Any, module: Any, made: dict[int, Any]) -> Module:
    tnn = torch.nn
    name = type(module).__name__
    _check_plain(torch, module)
    if isinstance(module, tnn.Sequential):
        return layers.Sequential(*[_from_torch(torch, child, made) for child in module])
    if isinstance(module, tnn.Linear):
        dtype = _dtype_from_torch(module.weight, "Linear's weight")
        if module.bias is not None and _dtype_from_torch(module.bias, "Linear's bias") != dtype:
            raise TypeError(
                f"from_torch: Linear's weight is {dtype} but its bias "
                f"{str(module.bias.dtype).removeprefix('torch.')}; a layer computes in one dtype"
            )
        linear = layers.Linear(
            module.in_features, module.out_features, bias=module.bias is not None, rng=0,
            dtype=dtype,
        )  # fmt: skip
        linear.weight = _parameter_from_torch(module.weight, made)
        linear.weight.label = "weight"
        if module.bias is not None:
            linear.bias = _parameter_from_torch(module.bias, made)
            linear.bias.label = "bias"
        return linear
    if isinstance(module, tnn.LeakyReLU):
        return LeakyReLU(module.negative_slope)
    if isinstance(module, (tnn.Softmax, tnn.LogSoftmax)):
        if module.dim is None:
            raise TypeError(f"from_torch: {name} needs an explicit dim")
        return (layers.Softmax if isinstance(module, tnn.Softmax) else layers.LogSoftmax)(
            module.dim
        )
    if isinstance(module, tnn.Flatten):
        if module.end_dim != -1:
            raise TypeError("from_torch: Flatten with end_dim other than -1 has no equivalent")
        return layers.Flatten(module.start_dim)
    if isinstance(module, tnn.Dropout):
        return layers.Dropout(module.p)
    for activation in ACTIVATIONS.values():
        if type(module) is getattr(tnn, activation.torch):
            return activation.layer()
    torch_names = ", ".join(activation.torch for activation in ACTIVATIONS.values())
    raise TypeError(
        f"from_torch: cannot convert {name}: only Sequential, Linear, {torch_names}, "
        "Softmax, LogSoftmax, Dropout and Flatten have tracegrad equivalents"
    )
