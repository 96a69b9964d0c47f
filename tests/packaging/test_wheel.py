"""The wheel a user installs holds every module, and a command runs from it (issue 21 item 7: a
hand-written package list once left out ``evohyper.engine.backends.ray``, so from a wheel even
``evohyper list`` failed with ModuleNotFoundError)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _modules(folder: Path, package: str) -> set[str]:
    """Every ``.py`` file under ``folder`` as its path inside the wheel (``folder`` installed as ``package``)."""
    return {f"{package}/{p.relative_to(folder).as_posix()}" for p in folder.rglob("*.py")
            if "__pycache__" not in p.parts}


def test_wheel_holds_every_module_and_evohyper_list_runs_from_it(tmp_path):
    # built from a copy of the sources: setuptools' build/ folder in the checkout could hold modules of an
    # earlier build that the package list no longer names, and would put them into this wheel too
    src, out = tmp_path / "src", tmp_path / "wheel"
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("evohyper", "tasks"):
        shutil.copytree(ROOT / name, src / name, ignore=skip)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--no-build-isolation",
                            "--no-cache-dir", "-q", "-w", str(out)], cwd=src, capture_output=True, text=True,
                           timeout=300)
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = out.glob("evohyper-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = _modules(ROOT / "evohyper", "evohyper") | _modules(ROOT / "tasks", "evohyper_tasks")
    missing = sorted(expected - names)
    assert not missing, f"modules missing from the wheel: {missing}"

    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    # -I ignores PYTHONPATH and the user site, -S skips site-packages (so neither the editable install of this
    # checkout nor its .pth file is visible); the venv's site-packages is added by hand for the dependencies,
    # the unpacked wheel first on the path. cwd outside the checkout.
    deps = next(p for p in map(Path, sys.path) if p.name == "site-packages" and p.is_dir())
    script = (f"import sys; sys.path[:0] = [{str(site)!r}, {str(deps)!r}]\n"
              "import evohyper, evohyper_tasks\n"
              "print('FROM', evohyper.__file__, evohyper_tasks.__file__)\n"
              "from evohyper.cli import main\n"
              "sys.argv = ['evohyper', 'list']\n"
              "sys.exit(main())\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    run = subprocess.run([sys.executable, "-I", "-S", "-c", script], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120, env=env)
    assert run.returncode == 0, run.stderr[-2000:]
    first = run.stdout.splitlines()[0].split()
    assert all(Path(f).is_relative_to(site) for f in first[1:]), first   # imported from the wheel, not the checkout
    assert "snes" in run.stdout and "cartpole" in run.stdout, run.stdout[-2000:]
