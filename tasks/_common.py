"""Helpers shared by the built-in tasks: option validation and the ``network:`` block -> ``MLPSpec``.

Private module; a user's own task does not need it (but may copy the pattern).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from evohyper.api.phenotypes import MLPSpec
from evohyper.api.recurrent import ElmanSpec
from evohyper.api.task import MLP_NETWORK_KEYS

#: bounds of options that size memory or loops (issue 21: 10**12 episodes crashed torch, 10**16 steps never ended)
MAX_EPISODES = 1_000        # episodes per individual (P x E environments or states are held at once)
MAX_STEPS = 1_000_000       # steps per episode
MAX_LAYERS = 64            # hidden layers of a task's MLP (each a step of every forward)
MAX_MAGNITUDE = 1e6         # a number added to or compared with rewards, actions or genome values

#: keys a built-in MLP task accepts in the YAML ``network:`` block (``recurrent: true``: an Elman network).
NETWORK_KEYS = (*MLP_NETWORK_KEYS, "recurrent")


def check_int(task: str, option: str, value: Any, minimum: int, maximum: int | None = None) -> int:
    """``value`` as an int in ``[minimum, maximum]``, else a ValueError naming option, value and range."""
    allowed = f">= {minimum}" if maximum is None else f"an integer in [{minimum}, {maximum}]"
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"task {task!r}: option {option!r} must be an integer {allowed}, got {value!r}")
    if value < minimum or (maximum is not None and value > maximum):
        raise ValueError(f"task {task!r}: option {option!r} must be {allowed}, got {value!r}")
    return int(value)


def check_float(task: str, option: str, value: Any, low: float = -MAX_MAGNITUDE,
                high: float = MAX_MAGNITUDE) -> float:
    """``value`` as a finite float in ``[low, high]``, else a ValueError."""
    if (isinstance(value, bool) or not isinstance(value, (int, float)) or value != value
            or not low <= value <= high):
        raise ValueError(f"task {task!r}: option {option!r} must be a finite number in [{low:g}, {high:g}], "
                         f"got {value!r}")
    return float(value)


def check_choice(task: str, option: str, value: Any, allowed: Sequence[Any]) -> Any:
    if value not in allowed:
        raise ValueError(f"task {task!r}: option {option!r} must be one of {list(allowed)}, got {value!r}")
    return value


def reject_network(task: str, network: dict[str, Any] | None) -> None:
    """For tasks whose phenotype is not a network: any ``network:`` key is an error."""
    if network:
        raise ValueError(f"task {task!r} takes no network: block (its phenotype is a plain vector); "
                         f"got unknown key(s) {sorted(network)}; allowed: []")


def mlp_target(task: str, network: dict[str, Any] | None, n_in: int, n_out: int, *,
               hidden: Sequence[int], activation: str = "tanh", output_activation: str = "identity",
               bias: bool = True) -> MLPSpec | ElmanSpec:
    """Build ``MLPSpec([n_in, *hidden, n_out])`` from the ``network:`` block over task defaults
    (``recurrent: true``: ``ElmanSpec`` of the same sizes, whose hidden layers keep their state).

    Unknown keys, a malformed ``hidden`` list, a non-bool ``bias`` or ``recurrent`` or an unknown
    activation raise ValueError naming the key, the bad value and what is allowed.
    """
    network = dict(network or {})
    unknown = sorted(set(network) - set(NETWORK_KEYS))
    if unknown:
        raise ValueError(f"task {task!r}: unknown network key(s) {unknown}; allowed: {list(NETWORK_KEYS)}")
    hid = network.get("hidden", list(hidden))
    if (not isinstance(hid, (list, tuple)) or len(hid) > MAX_LAYERS
            or any(isinstance(h, bool) or not isinstance(h, int) or h < 1 for h in hid)):
        raise ValueError(f"task {task!r}: network key 'hidden' must be a list of at most {MAX_LAYERS} positive "
                         f"integers (e.g. [16] or [] for no hidden layer), got {str(hid)[:80]}")
    use_bias = network.get("bias", bias)
    if not isinstance(use_bias, bool):
        raise ValueError(f"task {task!r}: network key 'bias' must be true or false, got {use_bias!r}")
    act = network.get("activation", activation)
    out_act = network.get("output_activation", output_activation)
    for key, name in (("activation", act), ("output_activation", out_act)):
        if not isinstance(name, str):
            raise ValueError(f"task {task!r}: network key {key!r} must be an activation name, got {name!r}")
    recurrent = network.get("recurrent", False)
    if not isinstance(recurrent, bool):
        raise ValueError(f"task {task!r}: network key 'recurrent' must be true or false, got {recurrent!r}")
    if recurrent and not hid:
        raise ValueError(f"task {task!r}: network key 'hidden' must list >= 1 layer for a recurrent network "
                         f"(recurrent: true), got {hid!r}")
    try:
        spec = ElmanSpec if recurrent else MLPSpec
        return spec([n_in, *hid, n_out], activation=act, output_activation=out_act, bias=use_bias)
    except ValueError as exc:
        raise ValueError(f"task {task!r}: bad network block: {exc}") from None
