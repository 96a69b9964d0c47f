"""Bad ``archive:``/``emitters:`` blocks are refused in one line naming the key, the value and what is allowed."""
from __future__ import annotations

import pytest
from qd_sphere import info

from evohyper.api.checks import OptionError
from evohyper.api.task import TaskInfo
from evohyper.strategies.qd import CMAMAE, CMAME, MAPElites


@pytest.mark.parametrize(("cls", "options", "key", "shown"), [
    (CMAME, {"archive": {"type": "hex"}}, "strategy.archive.type", "'hex'"),
    (CMAME, {"archive": {"dims": [0, 50]}}, "strategy.archive.dims", "[0, 50]"),
    (CMAME, {"archive": {"dims": [50]}}, "strategy.archive.dims", "2 integers"),
    (CMAME, {"archive": {"dims": [2000, 2000]}}, "strategy.archive.dims", "1,000,000 cells"),
    (CMAME, {"archive": {"ranges": [[1, 0], [0, 1]]}}, "strategy.archive.ranges", "low < high"),
    (CMAME, {"archive": {"ranges": [[0, 1]]}}, "strategy.archive.ranges", "2 [low, high] pairs"),
    (CMAME, {"archive": {"ranges": "wide"}}, "strategy.archive.ranges", "'wide'"),
    (CMAME, {"archive": {"cells": 0, "type": "cvt"}}, "strategy.archive.cells", "0"),
    (CMAME, {"archive": {"learning_rate": 1.5}}, "strategy.archive.learning_rate", "(0, 1]"),
    (MAPElites, {"archive": {"learning_rate": 0.5}}, "strategy.archive.threshold_min", "learning_rate < 1"),
    (CMAMAE, {"archive": {"threshold_min": float("nan")}}, "strategy.archive.threshold_min", "nan"),
    (CMAME, {"archive": {"qd_score_offset": "low"}}, "strategy.archive.qd_score_offset", "'low'"),
    (CMAME, {"archive": {"dim": [5, 5]}}, "strategy.archive.dim", "allowed keys: type, dims"),
    (CMAME, {"archive": [50, 50]}, "strategy.archive", "a mapping"),
    (CMAME, {"emitters": {"ranker": "rd"}}, "strategy.emitters.ranker", "'2imp', 'imp', '2obj', 'obj'"),
    (CMAME, {"emitters": {"restart_rule": 0}}, "strategy.emitters.restart_rule", "'no_improvement', 'basic'"),
    (CMAME, {"emitters": {"selection_rule": "best"}}, "strategy.emitters.selection_rule", "'filter', 'mu'"),
    (CMAME, {"emitters": {"es": "xnes"}}, "strategy.emitters.es", "'cma_es'"),
    (CMAME, {"emitters": {"sigma0": 0}}, "strategy.emitters.sigma0", "(0, "),
    (CMAME, {"emitters": {"sigma": 0.5}}, "strategy.emitters.sigma", "allowed keys: type, count, batch_size, sigma0"),
    (CMAME, {"emitters": {"count": 0}}, "strategy.emitters.count", "[1, 1000]"),
    (CMAME, {"emitters": {"batch_size": 1}}, "strategy.emitters.batch_size", ">= 2 for evolution-strategy"),
    (CMAME, {"emitters": {"batch_size": 10**6}}, "strategy.emitters.batch_size", "count x batch_size"),
    (CMAME, {"emitters": {"type": "sbx"}}, "strategy.emitters.type", "'es', 'gaussian', 'iso_line'"),
    (MAPElites, {"emitters": {"sigma0": 1.0}}, "strategy.emitters.sigma0",
     "allowed keys: type, count, batch_size, sigma"),
    (MAPElites, {"emitters": {"type": "iso_line", "line_sigma": -1}}, "strategy.emitters.line_sigma", "-1"),
    (MAPElites, {"emitters": "many"}, "strategy.emitters", "a mapping"),
    (MAPElites, {"x0": float("inf")}, "strategy.x0", "inf"),
])
def test_a_bad_option_is_one_line_naming_the_key(cls, options, key, shown):
    with pytest.raises(OptionError) as caught:
        s = cls(10, 0, **options)
        s.bind_task(info(10))
    message = str(caught.value)
    assert message.startswith(key + ":") and shown in message and "\n" not in message


def test_a_task_without_descriptors_is_refused_at_bind_task_unless_ranges_are_given():
    with pytest.raises(OptionError, match=r"^strategy\.archive\.ranges: null, and the task declares no descriptors"):
        CMAME(10, 0).bind_task(TaskInfo())
    s = CMAME(10, 0, archive={"ranges": [[-1, 1], [-1, 1], [0, 2]], "dims": [4, 4, 4]})
    s.bind_task(TaskInfo())
    assert s.ask().shape == (150, 10) and s.descriptor_names == ["descriptor_0", "descriptor_1", "descriptor_2"]


def test_descriptors_of_the_wrong_width_are_an_error():
    import torch

    s = CMAME(10, 0)
    s.bind_task(info(10))
    x = s.ask()
    with pytest.raises(ValueError, match="3 descriptors per individual; the archive has 2"):
        s.tell(torch.zeros(len(x)), descriptors=torch.zeros(len(x), 3))
    s = CMAME(10, 0)
    s.bind_task(info(10))
    s.ask()
    with pytest.raises(ValueError, match="needs the descriptors"):
        s.tell(torch.zeros(len(x)))
