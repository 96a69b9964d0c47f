"""Issue 21 item 12: the embedded local Ray starts without Ray's token-authentication banner, with
token authentication still on (Ray 2.5x enables it by default and prints the banner unless RAY_AUTH_MODE is set)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.ray

SCRIPT = """
from ray._private.authentication.authentication_utils import is_token_auth_enabled
from evohyper.engine.backends.ray.runtime import connect, disconnect
assert connect(num_cpus=1)
print("token auth:", is_token_auth_enabled())
disconnect()
"""


def test_local_ray_starts_without_the_token_banner_and_keeps_token_auth():
    env = {k: v for k, v in os.environ.items() if k != "RAY_AUTH_MODE"}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "token auth: True" in proc.stdout, proc.stdout
    assert "Token authentication" not in proc.stderr, proc.stderr[-3000:]
