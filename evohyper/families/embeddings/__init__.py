"""Agent embeddings (Chang et al., AAMAS 2019): a data set of evolved pole-balancing networks made with the engine
(``dataset``), a conditional VAE over their weights (``vae``) and its generator as the ``agent_embedding``
decoder (``decoder``), whose genotype is a latent code."""
from evohyper.families.embeddings.dataset import (
    GROUPS,
    DatasetSpec,
    PopulationRecorder,
    SurvivalScorer,
    group_of,
    load_dataset,
    make_dataset,
)
from evohyper.families.embeddings.decoder import AgentEmbeddingDecoder, network_of
from evohyper.families.embeddings.vae import ConditionalVAE, load_generator, save_generator, train_vae

__all__ = ["GROUPS", "AgentEmbeddingDecoder", "ConditionalVAE", "DatasetSpec", "PopulationRecorder",
           "SurvivalScorer", "group_of", "load_dataset", "load_generator", "make_dataset", "network_of",
           "save_generator", "train_vae"]
