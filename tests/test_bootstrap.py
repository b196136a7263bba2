"""installer/bootstrap.sh's choices, with a fake venv Python that records its pip calls: the
ONNX Runtime build that suits the machine (never both: a clashing one is removed first), the
extras, one line per step, and `camfx devices` at the end. The script itself runs for real
(bash), with the real driver check (pipelines/inference/gpu.py); nothing is installed."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.inference import gpu

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="a bash script")

FAKE_PYTHON = """#!/bin/sh
# A venv's python: `-m pip show/uninstall/install` act on a list of installed names.
echo "$*" >> "$FAKE_LOG"
[ "$1" = "-V" ] && { echo "Python 3.11.7"; exit 0; }
[ "$1 $2" = "-m pip" ] || exit 0
case "$3" in
  show) grep -qx "$5" "$FAKE_STATE" ;;
  uninstall) shift 5; for p in "$@"; do grep -vx "$p" "$FAKE_STATE" > "$FAKE_STATE.new";
    mv "$FAKE_STATE.new" "$FAKE_STATE"; done ;;
  install) last=""; for a in "$@"; do last=$a; done
    case "$last" in
      *cpu*) echo onnxruntime >> "$FAKE_STATE"; echo opencv-python-headless >> "$FAKE_STATE" ;;
      *gpu*) echo onnxruntime-gpu >> "$FAKE_STATE"; echo opencv-python-headless >> "$FAKE_STATE" ;;
    esac ;;
esac
"""
FAKE_CAMFX = """#!/bin/sh
echo "Inference (ONNX Runtime 1.0):"
echo "  automatic choice: m: CPU (no NVIDIA GPU driver)"
"""
# Every system package is "installed", so the script never reaches for apt-get.
FAKE_DPKG_QUERY = "#!/bin/sh\nprintf 'install ok installed'\n"


def make_checkout(tmp_path: Path, repo_root: Path, installed: list[str]) -> tuple[Path, dict]:
    checkout = tmp_path / "checkout"
    (checkout / "installer").mkdir(parents=True)
    (checkout / "pipelines/inference").mkdir(parents=True)
    for name in ("bootstrap.sh", "find-python.sh"):
        shutil.copy(repo_root / "installer" / name, checkout / "installer" / name)
    shutil.copy(repo_root / "pipelines/inference/gpu.py", checkout / "pipelines/inference/gpu.py")
    venv_bin = checkout / ".venv/bin"
    venv_bin.mkdir(parents=True)
    fakes = tmp_path / "bin"
    fakes.mkdir()
    for path, text in [
        (venv_bin / "python", FAKE_PYTHON),
        (venv_bin / "camfx", FAKE_CAMFX),
        (fakes / "dpkg-query", FAKE_DPKG_QUERY),
    ]:
        path.write_text(text)
        path.chmod(0o755)
    # The driver check runs on a real Python (standard library only).
    (fakes / "python3.11").symlink_to(sys.executable)
    state = tmp_path / "installed.txt"
    state.write_text("".join(f"{name}\n" for name in installed))
    env = {
        "PATH": f"{fakes}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "FAKE_LOG": str(tmp_path / "pip.log"),
        "FAKE_STATE": str(state),
    }
    return checkout, env


def run_script(checkout: Path, env: dict, *args: str) -> subprocess.CompletedProcess[str]:
    """installer/bootstrap.sh of ``checkout`` run for real (bash) with ``env``."""
    return subprocess.run(
        ["bash", str(checkout / "installer/bootstrap.sh"), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def bootstrap(tmp_path: Path, repo_root: Path, installed: list[str], *args: str) -> tuple:
    checkout, env = make_checkout(tmp_path, repo_root, installed)
    done = run_script(checkout, env, *args)
    log = Path(env["FAKE_LOG"])
    calls = log.read_text().splitlines() if log.exists() else []
    state = Path(env["FAKE_STATE"]).read_text().split()
    return done, calls, state


def test_cpu_machine_fresh_venv(tmp_path: Path, repo_root: Path) -> None:
    if gpu.find_nvidia_driver():
        pytest.skip("this machine has an NVIDIA driver")
    done, calls, state = bootstrap(tmp_path, repo_root, [])
    assert done.returncode == 0, done.stderr
    assert "-m pip install -q --no-compile -e .[cpu]" in calls
    assert sorted(state) == ["onnxruntime", "opencv-python-headless"]
    lines = done.stdout.splitlines()
    assert lines[:5] == [
        "camfx setup: 1/5 system packages: all 7 present",
        "camfx setup: 2/5 Python: Python 3.11.7 in the existing .venv",
        "camfx setup: 3/5 ONNX Runtime: onnxruntime (no NVIDIA GPU driver)",
        "camfx setup: 4/5 camfx and its libraries (pip install -e '.[cpu]')",
        "camfx setup:     without Numba: background effects take the slower OpenCV path "
        "(--jit adds it, 188 MiB)",
    ]
    assert "      automatic choice: m: CPU (no NVIDIA GPU driver)" in lines  # indented
    assert done.stderr == ""


def test_gpu_build_in_a_cpu_venv_is_swapped_never_both(tmp_path: Path, repo_root: Path) -> None:
    """A venv made before (CUDA build, the OpenCV with its own Qt) gets the plain ones: the
    clashing distribution goes first, with the wanted one whose files it overwrote."""
    done, calls, state = bootstrap(
        tmp_path, repo_root, ["onnxruntime-gpu", "opencv-python"], "--dev", "--cpu"
    )
    assert done.returncode == 0, done.stderr
    assert "camfx setup: 3/5 ONNX Runtime: onnxruntime (chosen with --cpu)" in done.stdout
    assert "removing onnxruntime-gpu (it shares its module with onnxruntime)" in done.stdout
    uninstalls = [c for c in calls if "pip uninstall" in c]
    assert uninstalls == [
        "-m pip uninstall -q -y onnxruntime-gpu onnxruntime",
        "-m pip uninstall -q -y opencv-python opencv-python-headless",
    ]
    install = calls.index("-m pip install -q --no-compile -e .[dev,jit,cpu]")
    assert install > calls.index(uninstalls[-1])
    assert "onnxruntime-gpu" not in state and "opencv-python" not in state
    assert sorted(state) == ["onnxruntime", "opencv-python-headless"]


def test_gpu_asked_for(tmp_path: Path, repo_root: Path) -> None:
    done, calls, state = bootstrap(tmp_path, repo_root, ["onnxruntime"], "--gpu")
    assert done.returncode == 0, done.stderr
    assert "-m pip uninstall -q -y onnxruntime onnxruntime-gpu" in calls
    assert "-m pip install -q --no-compile -e .[gpu]" in calls
    assert sorted(state) == ["onnxruntime-gpu", "opencv-python-headless"]


def test_new_venv_sheds_the_unused_setuptools(tmp_path: Path, repo_root: Path) -> None:
    """A venv made here loses Python 3.11's setuptools 65 (the build uses its own >=77)."""
    checkout, env = make_checkout(tmp_path, repo_root, ["setuptools"])
    fake_venv_python = (checkout / ".venv/bin/python").read_text()
    (checkout / ".venv/bin/python").unlink()
    fakes = Path(env["PATH"].split(":")[0])
    (fakes / "python3.11").unlink()
    # python3.11: `-m venv DIR` makes the fake venv; anything else is the real Python.
    (fakes / "python3.11").write_text(
        f'#!/bin/sh\nif [ "$1 $2" = "-m venv" ]; then\n'
        f'  mkdir -p "$3/bin" && cat > "$3/bin/python" <<\'EOF\'\n{fake_venv_python}EOF\n'
        f'  chmod +x "$3/bin/python"; exit 0\nfi\nexec {sys.executable} "$@"\n'
    )
    (fakes / "python3.11").chmod(0o755)
    done = run_script(checkout, env, "--cpu")
    assert done.returncode == 0, done.stderr
    assert "2/5 Python: Python 3.11.7 in a new .venv" in done.stdout
    calls = Path(env["FAKE_LOG"]).read_text().splitlines()
    assert calls.index("-m pip uninstall -q -y setuptools") < calls.index(
        "-m pip install -q --no-compile -e .[cpu]"
    )
    assert "setuptools" not in Path(env["FAKE_STATE"]).read_text().split()


def test_jit_only_when_asked(tmp_path: Path, repo_root: Path) -> None:
    """Numba (188 MiB of a CPU-only venv) comes with --jit, and with --dev (its kernels' tests)."""
    done, calls, _ = bootstrap(tmp_path, repo_root, [], "--cpu", "--jit")
    assert done.returncode == 0, done.stderr
    assert "-m pip install -q --no-compile -e .[jit,cpu]" in calls
    assert "without Numba" not in done.stdout


def test_one_python_search_shared_by_both_scripts(tmp_path: Path, repo_root: Path) -> None:
    """bootstrap.sh and build-linux.sh source installer/find-python.sh: no copy of the loop."""
    for script in ("bootstrap.sh", "build-linux.sh"):
        text = (repo_root / "installer" / script).read_text()
        assert ". installer/find-python.sh" in text and "for candidate in" not in text, script
    fakes = tmp_path / "bin"
    fakes.mkdir()
    # python3.11 missing, python3.12 too old (a broken link, say), python3 new enough.
    old = fakes / "python3.12"
    old.write_text("#!/bin/sh\nexit 1\n")
    old.chmod(0o755)
    (fakes / "python3").symlink_to(sys.executable)
    finder = repo_root / "installer/find-python.sh"
    bash = shutil.which("bash") or "/bin/bash"

    def find(path: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [bash, "-c", f". '{finder}' && find_python"],
            capture_output=True,
            text=True,
            env={"PATH": path},
            timeout=30,
            check=False,
        )

    found = find(str(fakes))
    assert (found.returncode, found.stdout, found.stderr) == (0, "python3\n", "")
    (fakes / "python3").unlink()
    missing = find(str(fakes))
    assert missing.returncode == 1 and missing.stdout == ""
    assert missing.stderr.startswith("camfx: Python 3.11 or newer is needed")


def test_unknown_option_is_exit_2(tmp_path: Path, repo_root: Path) -> None:
    done, calls, _ = bootstrap(tmp_path, repo_root, [], "--fast")
    assert done.returncode == 2 and calls == []
    assert done.stderr == (
        "usage: installer/bootstrap.sh [--dev] [--cpu|--gpu] [--jit] (--help says more)\n"
    )


def test_help_says_what_it_does_and_that_it_may_use_sudo(tmp_path: Path, repo_root: Path) -> None:
    done, calls, _ = bootstrap(tmp_path, repo_root, [], "--help")
    assert done.returncode == 0 and calls == [] and not done.stderr
    assert "installer/bootstrap.sh --dev" in done.stdout and "sudo" in done.stdout


def test_a_user_sudo_refuses_is_told_and_the_setup_goes_on(tmp_path: Path, repo_root: Path) -> None:
    """qa64: a user who may not use sudo saw sudo's refusal and the setup stop at step 1
    (set -e), where the script promises to say what is missing and go on."""
    checkout, env = make_checkout(tmp_path, repo_root, [])
    fakes = Path(env["PATH"].split(":")[0])
    for name, text in [
        ("dpkg-query", "#!/bin/sh\nexit 1\n"),  # nothing installed
        ("id", '#!/bin/sh\n[ "$1" = -u ] && echo 1000 || /usr/bin/id "$@"\n'),
        ("sudo", "#!/bin/sh\necho 'user is not in the sudoers file.' >&2\nexit 1\n"),
        ("apt-get", "#!/bin/sh\nexit 0\n"),
    ]:
        (fakes / name).write_text(text)
        (fakes / name).chmod(0o755)
    done = run_script(checkout, env)
    assert done.returncode == 0, done.stderr
    assert "with sudo (it may ask for your password)" in done.stdout
    assert "could not install them (no sudo rights, or no network)" in done.stderr
    assert "libportaudio2" in done.stderr
    assert "camfx setup: 2/5 Python" in done.stdout  # and on it went


def test_packaging_metadata(repo_root: Path) -> None:
    """What keeps set-up quiet and right: an SPDX licence string with its files (a TOML-table
    licence makes setuptools print a deprecation block on every build), and one ONNX Runtime
    per extra with the same version range (a pin added to one must go to both)."""
    import re
    import tomllib

    project = tomllib.loads((repo_root / "pyproject.toml").read_text())
    meta = project["project"]
    assert isinstance(meta["license"], str)
    assert all((repo_root / f).is_file() for f in meta["license-files"])
    assert "setuptools>=77" in project["build-system"]["requires"]
    extras = meta["optional-dependencies"]
    assert not any("onnxruntime" in d for d in meta["dependencies"])
    spec = re.compile(r"^(onnxruntime(?:-gpu)?)([^;]*)")
    cpu = [m.groups() for d in extras["cpu"] if (m := spec.match(d))]
    gpu_ = [m.groups() for d in extras["gpu"] if (m := spec.match(d))]
    assert [name for name, _ in cpu] == ["onnxruntime"]
    assert [name for name, _ in gpu_] == ["onnxruntime-gpu"]
    assert cpu[0][1].strip() == gpu_[0][1].strip()
    assert not any(
        d.startswith("opencv-python") and "headless" not in d for d in meta["dependencies"]
    )
