"""Method families: each folder owns everything of one method (its decoder, strategy, phenotypes,
domain code and pictures) and registers its components when imported.

- ``neat``: neat-python genomes (strategy ``neat``), compiled into tensors for a whole population, and
  direct NEAT (decoder ``neat``);
- ``hyperneat``: NEAT-evolved CPPNs queried on substrates (decoders ``hyperneat``, ``es_hyperneat``); the one
  family that imports another (``neat``);
- ``nas``: cell architectures as networkx DAGs, the graph hypernetwork (decoder ``ghn``) and the graph
  searches (``nas_random``, ``regularized_evolution``);
- ``hypergan``: the HyperGAN generator (decoder ``hypergan``) and ensembles of networks from any source;
- ``circuits``: the ABCD circuit simulator, circuit space, designer network (decoder ``circuit``,
  strategy ``circuit_ga``).
"""
from evohyper.families import circuits, hypergan, hyperneat, nas, neat

__all__ = ["circuits", "hypergan", "hyperneat", "nas", "neat"]
