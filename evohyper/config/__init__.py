"""Search configs: YAML, validated (and the components built) before anything starts."""
from evohyper.config.build import Components, ComponentsSpec, build
from evohyper.config.loading import load_raw
from evohyper.config.options import ConfigError
from evohyper.config.schema import (
    BackendConfig,
    Config,
    EvaluationConfig,
    OutputConfig,
    apply_overrides,
    validate_search,
)
from evohyper.config.validate import load_config, validate

__all__ = ["BackendConfig", "Components", "ComponentsSpec", "Config", "ConfigError", "EvaluationConfig", "OutputConfig",
           "apply_overrides", "build", "load_config", "load_raw", "validate", "validate_search"]
