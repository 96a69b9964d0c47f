"""Built-in fitness tasks (installed as `evohyper_tasks`).

Registered through the ``evohyper.tasks`` entry-point group, the same seam a user's package uses:
``xor`` (sanity check), ``sphere`` (black-box vector benchmark), ``digits`` (8x8 digit classification,
with a differentiable loss), ``cartpole`` (batched CartPole-v1 control), ``gym`` (any gymnasium / MuJoCo
environment, P x E episodes per batched forward).
"""
