"""The Ray backend, in pieces: ``runtime`` (start or join Ray), ``wire`` (what crosses to actors),
``actor`` (the evaluator actor), ``pool`` (actors, retries, hangs) and ``backend`` (``RayBackend``).

Importing this package does not import Ray; ``import evohyper`` never does.
"""
from evohyper.engine.backends.ray.actor import EvaluatorActor
from evohyper.engine.backends.ray.backend import RayBackend
from evohyper.engine.backends.ray.pool import ActorPool
from evohyper.engine.backends.ray.wire import split_bounds
from evohyper.engine.errors import BackendError, EvaluationTimeout

__all__ = ["ActorPool", "BackendError", "EvaluationTimeout", "EvaluatorActor", "RayBackend", "split_bounds"]
