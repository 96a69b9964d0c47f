"""Search configs: YAML, validated before anything starts."""
from evohyper.config.options import ConfigError
from evohyper.config.schema import (BackendConfig, Config, EvaluationConfig, OutputConfig, apply_overrides,
                                    load_config, load_raw, validate)

__all__ = ["BackendConfig", "Config", "ConfigError", "EvaluationConfig", "OutputConfig", "apply_overrides",
           "load_config", "load_raw", "validate"]
