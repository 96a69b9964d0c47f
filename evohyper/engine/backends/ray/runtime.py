"""Connecting to Ray: start a private local instance bound to 127.0.0.1, or join a cluster.

Ray is imported inside these functions only, so importing this module (or ``evohyper.engine.backends.ray``) does
not import Ray; ``import evohyper`` never does.

Local instance (``address=None``): ``ray.init(address="local", include_dashboard=False,
_node_ip_address="127.0.0.1", ...)``. Ray resolves a loopback ``_node_ip_address`` to the machine's
routable IP on Linux (so that multi-node clusters work), which would make the GCS, raylet and
workers listen on every interface. For a private single-machine instance we want the opposite
(DESIGN.md, "safe defaults"), so while starting it we make Ray's node-IP lookup return the
loopback address (the switch Ray itself uses on macOS/Windows, ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER``).
Ray 2.5x+ token authentication stays at Ray's default (enabled for a new local instance; a token is
generated under ``~/.ray/auth_token`` if none exists); set ``RAY_AUTH_MODE`` to override it. Ray's banner saying
so at every start of the private instance is not printed (``_no_token_banner``); its other messages are.
"""
from __future__ import annotations

import contextlib
import logging
import signal
import socket
import threading
from collections.abc import Iterator
from typing import Any

from evohyper.engine.errors import BackendError

logger = logging.getLogger("evohyper.ray")

LOCALHOST = "127.0.0.1"
CONNECT_TIMEOUT_S = 10.0


@contextlib.contextmanager
def _loopback_node_ip() -> Iterator[None]:
    """Make Ray's node-IP lookup answer 127.0.0.1 while a local instance starts."""
    try:
        from ray._private import ray_constants
    except ImportError:  # pragma: no cover - layout of a future Ray
        yield
        return
    if not hasattr(ray_constants, "ENABLE_RAY_CLUSTER"):  # pragma: no cover
        yield
        return
    previous = ray_constants.ENABLE_RAY_CLUSTER
    ray_constants.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = previous


def local_init_kwargs(num_cpus: float | None = None, num_gpus: float | None = None,
                      **extra: Any) -> dict[str, Any]:
    """The ``ray.init`` arguments used to start a private local instance."""
    kwargs: dict[str, Any] = {
        "address": "local",          # always a new instance; never silently join another one
        "include_dashboard": False,  # nothing listens for HTTP
        "_node_ip_address": LOCALHOST,
        "configure_logging": False,  # leave the application's logging configuration alone
        "log_to_driver": True,       # worker stdout/stderr (task prints, tracebacks) reach the user
    }
    if num_cpus is not None:
        kwargs["num_cpus"] = num_cpus
    if num_gpus is not None:
        kwargs["num_gpus"] = num_gpus
    kwargs.update(extra)
    return kwargs


def connect(address: str | None = None, *, num_cpus: float | None = None, num_gpus: float | None = None,
            **init_kwargs: Any) -> bool:
    """Make sure this process is connected to Ray. Returns True when *this call* initialised Ray
    (the caller then owns the connection and should call :func:`disconnect`), False when Ray was
    already initialised in this process (it is reused and must be left running).

    address: None starts a private local instance on 127.0.0.1 (dashboard off);
      ``"auto"`` joins the cluster this machine belongs to (``RAY_ADDRESS`` or a running ``ray start``);
      ``"host:port"`` joins that cluster's GCS; ``"ray://host:10001"`` connects through Ray Client.
    num_cpus / num_gpus: resources of a local instance (ignored when joining a cluster).
    """
    import ray

    if ray.is_initialized():
        return False
    if address is None:
        kwargs = local_init_kwargs(num_cpus, num_gpus, **init_kwargs)
        with _loopback_node_ip(), restore_sigterm(), _no_token_banner():
            ray.init(**kwargs)
        logger.info("started a local Ray instance on %s (dashboard off)", LOCALHOST)
    else:
        if num_cpus is not None or num_gpus is not None:
            logger.warning("num_cpus/num_gpus are ignored when joining an existing cluster (%s)", address)
        check_reachable(address)
        init_kwargs.setdefault("configure_logging", False)
        try:
            with restore_sigterm():
                ray.init(address=address, **init_kwargs)
        except Exception as exc:  # noqa: BLE001 - no cluster at 'auto', a refused client, ...: one line
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise BackendError(f"cannot connect to Ray at {address!r} ({type(exc).__name__}: {text}); check "
                               "backend.address") from None
        logger.info("connected to Ray cluster at %s", address)
    return True


TOKEN_BANNER = "Token authentication is enabled for this Ray cluster"
TOKEN_LOGGER = "ray._private.authentication.authentication_token_setup"


def _drop_token_banner(record: logging.LogRecord) -> bool:
    return not str(record.msg).startswith(TOKEN_BANNER)


@contextlib.contextmanager
def _no_token_banner() -> Iterator[None]:
    """Drop the one record Ray logs when it enables token auth by default for a new local instance (auth stays
    on; setting ``RAY_AUTH_MODE`` ourselves would not do: Ray reads its cached config, not the variable)."""
    logger = logging.getLogger(TOKEN_LOGGER)
    logger.addFilter(_drop_token_banner)
    try:
        yield
    finally:
        logger.removeFilter(_drop_token_banner)


@contextlib.contextmanager
def restore_sigterm() -> Iterator[None]:
    """Keep this process's own Python SIGTERM handler (the CLI's: stop like Ctrl-C) across ``ray.init``,
    which installs Ray's native failure-signal handler for SIGTERM too (it dumps ``*** SIGTERM received ...
    PC: @`` stacks, then dies). Without a Python handler (SIG_DFL), Ray's stays."""
    handler = signal.getsignal(signal.SIGTERM) if threading.current_thread() is threading.main_thread() else None
    try:
        yield
    finally:
        if callable(handler):
            signal.signal(signal.SIGTERM, handler)


def check_reachable(address: str, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """A ``host:port`` or ``ray://host:port`` address must accept a TCP connection within ``timeout_s``:
    ``ray.init`` would otherwise retry an unreachable address for minutes without a word."""
    target = address.removeprefix("ray://")
    host, sep, port = target.rpartition(":")
    if address == "auto" or not sep or not port.isdigit():
        return  # "auto" (and anything else Ray resolves itself): ray.init answers quickly
    try:
        socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise BackendError(f"cannot reach Ray at {address!r} within {timeout_s:g}s ({exc.strerror or exc}); "
                           "check backend.address (the head's host:port, or ray://host:10001 for Ray Client) "
                           "and that the cluster is up") from None


def disconnect() -> None:
    """Shut down (local instance) or disconnect from (cluster) Ray."""
    import ray

    if ray.is_initialized():
        ray.shutdown()


__all__ = ["LOCALHOST", "connect", "disconnect", "local_init_kwargs"]
