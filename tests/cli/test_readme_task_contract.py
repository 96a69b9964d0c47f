"""Issue 13, items 3 and 9: the README's task example honours the `network:` keys its config sets, and the
README's "write your own task" section states the shapes the engine relies on."""
import re
from pathlib import Path

import pytest
import torch

from evohyper.api.registry import tasks
from evohyper.config import ConfigError, validate
from evohyper.engine.evaluation import Evaluator

README = Path(__file__).resolve().parents[2] / "README.md"


def _section() -> str:
    text = README.read_text()
    return text.split("### 5. Write your own task")[1].split("\n### ")[0]


@pytest.fixture(scope="module")
def readme_task():
    code = re.search(r"```python\n(.*?)```", _section(), re.S).group(1)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    cls = namespace["TargetRegression"]
    tasks.register("readme-target-regression")(cls)
    return cls


def test_readme_example_honours_activation(readme_task):
    spec = readme_task().target({"hidden": [4], "activation": "relu"})
    assert spec.activation == "relu" and spec.sizes == [3, 4, 2]
    cfg = validate({"name": "r", "task": {"name": "readme-target-regression"}, "network": {"activation": "relu"},
                    "strategy": {"name": "cmaes", "popsize": 4}, "budget": {"generations": 1}})
    assert cfg.components().decoder.target.activation == "relu"


@pytest.mark.parametrize("typo", ["hiden", "activaton"])
def test_readme_example_refuses_a_network_typo(readme_task, typo):
    with pytest.raises(ConfigError) as err:
        validate({"name": "r", "task": {"name": "readme-target-regression"}, "network": {typo: [16]},
                  "strategy": {"name": "cmaes"}, "budget": {"generations": 1}})
    assert err.value.path == f"network.{typo}" and "allowed keys: activation, hidden" in str(err.value)


def test_readme_states_the_task_contract():
    text = " ".join(_section().split())
    for phrase in ("`fitness` is `[P]`", "or `[P, k]`", "`[P, 1]` is therefore exactly `[P]`",
                   "never k objectives", "one value per individual, `[P]`", "one finite epoch",
                   "`network_keys`"):
        assert phrase in text, phrase


@pytest.mark.parametrize("k", [None, 1, 3])
def test_fitness_of_k_repeats_is_their_mean(k):
    from evohyper.api.phenotypes import VectorSpec
    from evohyper.api.task import EvalResult, Task

    @tasks.register(f"test-k-{k}")
    class KTask(Task):
        def target(self, network):
            return VectorSpec(2)

        def evaluate(self, phenotypes, seed):
            f = phenotypes.x.sum(1).double()
            return EvalResult(f if k is None else torch.stack([f + i for i in range(k)], dim=1))

    cfg = validate({"name": "k", "task": {"name": f"test-k-{k}"}, "strategy": {"name": "cmaes"},
                    "budget": {"generations": 1}})
    x = torch.tensor([[1.0, 2.0], [0.5, -1.0]])
    got = Evaluator(cfg.spec(), components=cfg.components()).evaluate(x, 0).fitness
    expected = x.sum(1).double() + (0.0 if k is None else (k - 1) / 2)
    assert torch.equal(got, expected)
