"""A task's ``network:`` block -> the MLP (Elman or fully recurrent network) its phenotypes are.

Why in the core: every task whose phenotype is an MLP reads the same keys (``hidden``, ``activation``,
``output_activation``, ``bias``, ``recurrent``) with the same checks and messages
(``network.hidden: [0]; allowed: ...``), and a task imports only the core. A user's own task calls
``mlp_target`` from its ``target`` and lists ``NETWORK_KEYS`` as its ``network_keys``.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from evohyper.api.checks import Checks
from evohyper.api.phenotypes import ACTIVATIONS, MLPSpec
from evohyper.api.recurrent import ElmanSpec, FullyRecurrentSpec
from evohyper.api.task import MLP_NETWORK_KEYS

#: keys an MLP task accepts in the YAML ``network:`` block (``recurrent: true`` or ``elman``: an Elman network;
#: ``full``: a fully recurrent network of ``hidden: [h]`` hidden neurons plus the outputs).
NETWORK_KEYS = (*MLP_NETWORK_KEYS, "recurrent")
#: values of ``network.recurrent``
RECURRENT = (False, True, "elman", "full")

network_checks = Checks("network")


def mlp_target(network: Mapping[str, Any] | None, n_in: int, n_out: int, *, hidden: Sequence[int],
               activation: str = "tanh", output_activation: str = "identity",
               bias: bool = True) -> MLPSpec | ElmanSpec | FullyRecurrentSpec:
    """``MLPSpec([n_in, *hidden, n_out])`` from the ``network:`` block over the task's defaults
    (``recurrent: true`` / ``elman``: ``ElmanSpec`` of the same sizes, whose hidden layers keep their state;
    ``full``: ``FullyRecurrentSpec(n_in, h, n_out)`` for ``hidden: [h]`` or ``[]`` (h = 0)).

    Every refusal is an ``OptionError`` naming ``network.<key>``, the value and what is allowed."""
    network = network_checks.keys(network, NETWORK_KEYS)
    hid = network_checks.sizes("hidden", network.get("hidden", list(hidden)),
                               example=" (e.g. [16], or [] for no hidden layer)")
    use_bias = network_checks.boolean("bias", network.get("bias", bias))
    act = network_checks.one_of("activation", network.get("activation", activation), ACTIVATIONS)
    out_act = network_checks.one_of("output_activation", network.get("output_activation", output_activation),
                                    ACTIVATIONS)
    recurrent = network.get("recurrent", False)
    if not any(recurrent == r and isinstance(recurrent, bool) == isinstance(r, bool) for r in RECURRENT):
        network_checks.fail("recurrent", recurrent, "false, true (= elman), 'elman' or 'full'")
    if recurrent == "full":
        if len(hid) > 1:
            network_checks.fail("hidden", hid, "[h] or [] for a fully recurrent network (recurrent: full): "
                                               "its h hidden neurons and the outputs form one recurrent layer")
        return FullyRecurrentSpec(n_in, hid[0] if hid else 0, n_out, activation=act, output_activation=out_act,
                                  bias=use_bias)
    if recurrent and not hid:
        network_checks.fail("hidden", hid, "a list of >= 1 layer for a recurrent network (recurrent: true)")
    spec = ElmanSpec if recurrent else MLPSpec
    return spec([n_in, *hid, n_out], activation=act, output_activation=out_act, bias=use_bias)
