"""Built-in fitness tasks (installed as `evohyper_tasks`)."""
