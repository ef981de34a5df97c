"""Fixtures of the Python suite (ctest runs it as `python`, with PYTHONPATH, IMAGINE_BINARY and
IMAGINE_SOURCE_DIR set; see tests/CMakeLists.txt). Runs are trained once per session."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SOURCE_DIR = Path(os.environ.get("IMAGINE_SOURCE_DIR", Path(__file__).resolve().parents[2]))
BINARY = os.environ.get("IMAGINE_BINARY", str(SOURCE_DIR / "build" / "release" / "bin" / "imagine"))
STORM_TINY = SOURCE_DIR / "configs" / "storm_tiny.toml"
SSM_TINY = SOURCE_DIR / "configs" / "ssm" / "tiny.toml"


class Command:
    """The `imagine` binary, for comparisons with what the command does."""

    def __init__(self, path):
        self.path = path

    def __call__(self, *args, check=True):
        r = subprocess.run([self.path, *map(str, args)], capture_output=True, text=True, timeout=300)
        if check and r.returncode != 0:
            raise AssertionError(f"imagine {' '.join(map(str, args))} exited {r.returncode}: {r.stderr}")
        return r

    def json(self, *args):
        return json.loads(self("--format", "json", *args).stdout)

    def error(self, *args):
        """The one-line message of a command that must fail with exit code 2."""
        r = self(*args, check=False)
        assert r.returncode == 2, (r.returncode, r.stderr)
        line = r.stderr.strip().splitlines()[-1]
        assert line.startswith("imagine: error: "), line
        return line[len("imagine: error: "):]


@pytest.fixture(scope="session")
def imagine_command():
    if not os.access(BINARY, os.X_OK):
        pytest.fail(f"the imagine binary {BINARY} is not built (set IMAGINE_BINARY)")
    return Command(BINARY)


@pytest.fixture(scope="session")
def storm_run(tmp_path_factory):
    """configs/storm_tiny.toml trained through imagine.train (about 5 s)."""
    import imagine
    run_dir = tmp_path_factory.mktemp("storm") / "run"
    return imagine.train(STORM_TINY, run_dir=run_dir)


@pytest.fixture(scope="session")
def env_model_run(tmp_path_factory, imagine_command):
    """configs/ssm/tiny.toml (an sSSM on 16x16 Breakout frames) on a dataset the command collects."""
    import imagine
    d = tmp_path_factory.mktemp("ssm")
    data = d / "breakout.replay"
    imagine_command("collect", "minatar/breakout", "--steps", 400, "--envs", 4, "--out", data,
                    "--set", "env.obs=rgb", "--set", "env.image_size=16")
    return imagine.train(SSM_TINY, run_dir=d / "run", overrides={"env_model.dataset": str(data)})


def python_subprocess(code, **kwargs):
    """Runs `code` in a fresh interpreter (this one's, with this PYTHONPATH)."""
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **kwargs)
