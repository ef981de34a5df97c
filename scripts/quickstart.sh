#!/usr/bin/env bash
# The README's two commands: installs what is missing (Debian 12 packages), builds, then
#   train  runs the main job (`imagine train`: STORM on a built-in game, CPU preset), or
#   test   runs the whole test suite (ctest).
# A second run installs and rebuilds nothing that is already there.
# Environment: IMAGINE_PRESET (default release; CI uses ci, which adds -Werror),
#              IMAGINE_JOBS (parallel build jobs, default: number of cores).
set -euo pipefail

mode=${1:-}
shift || true
case "$mode" in
  train|test) ;;
  *) echo "usage: $0 train|test [extra arguments for imagine train / ctest]" >&2; exit 2 ;;
esac

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
preset=${IMAGINE_PRESET:-release}
jobs=${IMAGINE_JOBS:-$(nproc)}

packages=(cmake ninja-build g++ git ccache pkg-config
          libtorch-dev libopenblas0-openmp
          libcli11-dev libtomlplusplus-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
          libstb-dev libgif-dev zlib1g-dev libgtest-dev libbenchmark-dev
          python3-dev pybind11-dev python3-torch python3-numpy python3-pytest)  # the Python package
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "quickstart: installing ${missing[*]}" >&2
  if [ "$(id -u)" -ne 0 ]; then
    echo "quickstart: run as root, or install first: apt-get install ${missing[*]}" >&2
    exit 2
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

build="build/$preset"
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake --preset "$preset" >&2
fi
start=$(date +%s)
cmake --build "$build" -j "$jobs" >&2
echo "quickstart: build up to date in $(( $(date +%s) - start )) s" >&2

if [ "$mode" = train ]; then
  exec "$build/bin/imagine" train "$@"
else
  cd "$build"
  exec ctest --output-on-failure -j "$jobs" "$@"
fi
