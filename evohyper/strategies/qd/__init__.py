"""Quality-diversity strategies on pyribs over vector genotypes: MAP-Elites, CMA-ME and CMA-MAE.

One concept per module: ``options`` (the YAML blocks, checked), ``archives`` (pyribs' archives that ignore
failed evaluations), ``emitters`` (pyribs' emitters and the run's component seeds), ``strategy`` (the
ask/tell strategy and its presets), ``output`` (the final archive's files). pyribs is imported with the
strategy module, never by ``evohyper list``.
"""
from evohyper.strategies.qd.strategy import CMAMAE, CMAME, METRICS, MAPElites, QualityDiversity

__all__ = ["CMAMAE", "CMAME", "METRICS", "MAPElites", "QualityDiversity"]
