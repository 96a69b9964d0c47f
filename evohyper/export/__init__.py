"""Export: any run's best phenotype as a plain ``torch.nn.Module``, a ``torch.export`` program or ONNX.

``to_module(phenotypes, index)`` asks the phenotype class itself (``Phenotypes.to_module``): each class
knows how its networks compute, so export stays generic and a new phenotype class exports by adding
that one method. ``export_run(run_dir, fmt)`` rebuilds a run's best phenotype from its directory and
writes the file, checked against the evohyper phenotype before it is reported.
"""
from evohyper.export.modules import ExportError, save_onnx, save_torch, to_module
from evohyper.export.run import ExportResult, export_run, load_best

__all__ = ["ExportError", "ExportResult", "export_run", "load_best", "save_onnx", "save_torch", "to_module"]
