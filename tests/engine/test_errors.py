"""The engine's errors live in ``engine/errors.py``; their old homes still hand out the same classes."""
from evohyper.engine import checkpoint, errors, evaluation
from evohyper.engine.backends.ray import pool


def test_old_import_paths_name_the_same_classes():
    assert evaluation.TaskError is errors.TaskError
    assert evaluation.TaskShapeError is errors.TaskShapeError
    assert evaluation.AllFailedError is errors.AllFailedError
    assert checkpoint.CheckpointError is errors.CheckpointError
    assert pool.BackendError is errors.BackendError and pool.EvaluationTimeout is errors.EvaluationTimeout


def test_the_error_module_imports_nothing_of_ours():
    """It is the bottom of the engine: anything may import it without a circle."""
    import ast
    tree = ast.parse(open(errors.__file__).read())
    names = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    names += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert [n for n in names if n.startswith("evohyper")] == []
