"""Method families: each folder owns everything of one method (its decoder, strategy, phenotypes,
domain code and pictures) and registers its components when imported.

- ``hyperneat``: NEAT-evolved CPPNs compiled to tensors and queried on substrates (decoder ``hyperneat``,
  strategy ``neat``);
- ``nas``: cell architectures as networkx DAGs, the graph hypernetwork (decoder ``ghn``) and the graph
  searches (``nas_random``, ``regularized_evolution``);
- ``hypergan``: the HyperGAN generator (decoder ``hypergan``) and ensembles of networks from any source;
- ``circuits``: the ABCD circuit simulator, circuit space, designer network (decoder ``circuit``,
  strategy ``circuit_ga``).
"""
from evohyper.families import circuits, hypergan, hyperneat, nas

__all__ = ["circuits", "hypergan", "hyperneat", "nas"]
