#!/usr/bin/env bash
# Fetches libtorch (the C++ side of PyTorch 2.13.0, CPU use only) for the `lstm` cargo feature
# into .libtorch/ at the repository root, from PyPI wheels. The build then finds it through
# .cargo/config.toml (LIBTORCH and an rpath); see DEVELOPERS.md.
#
# Idempotent: when .libtorch/build-version already says 2.13.0 and the libraries are there, it
# returns at once. Skipped entirely when LIBTORCH points elsewhere (an existing libtorch) or
# when TOCSIN_SKIP_LIBTORCH=1 (a lean build only).
#
# Wheels (the exact pins torch 2.13.0 asks for through cuda-toolkit[cudart,cupti]==13.0.3):
#   torch==2.13.0                      torch/lib/{libtorch,libtorch_cpu,libc10,libgomp}.so, torch/include
#   nvidia-cuda-runtime==13.0.96       nvidia/cu13/lib/libcudart.so.13 (libtorch_cpu links it
#   nvidia-cuda-cupti==13.0.85         nvidia/cu13/lib/libcupti.so.13   even on a CPU-only box)
set -euo pipefail

TORCH_VERSION=2.13.0
CUDART_VERSION=13.0.96
CUPTI_VERSION=13.0.85

root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/.libtorch"
whl="$root/.whl"

die() {
  echo "setup-libtorch: $*" >&2
  exit 1
}

if [[ "${TOCSIN_SKIP_LIBTORCH:-0}" == "1" ]]; then
  exit 0
fi
if [[ -n "${LIBTORCH:-}" && "$(cd "$LIBTORCH" 2>/dev/null && pwd)" != "$dest" ]]; then
  [[ -f "$LIBTORCH/lib/libtorch_cpu.so" ]] || die "LIBTORCH=$LIBTORCH has no lib/libtorch_cpu.so"
  exit 0
fi

needed=(libtorch.so libtorch_cpu.so libc10.so libcudart.so.13 libcupti.so.13)
complete() {
  [[ -f "$dest/build-version" && "$(cat "$dest/build-version")" == "$TORCH_VERSION" ]] || return 1
  [[ -d "$dest/include/torch" ]] || return 1
  local f
  for f in "${needed[@]}"; do
    [[ -f "$dest/lib/$f" ]] || return 1
  done
}
if complete; then
  exit 0
fi

case "$(uname -s)/$(uname -m)" in
  Linux/x86_64) ;;
  *) die "only Linux x86_64 is set up by this script (found $(uname -s)/$(uname -m)); point LIBTORCH at a libtorch $TORCH_VERSION, or build lean with --no-default-features" ;;
esac

python="${PYTHON:-python3}"
command -v "$python" >/dev/null 2>&1 || die "$python is needed to download the wheels (set PYTHON=...)"
"$python" -m pip --version >/dev/null 2>&1 || die "pip is needed: $python -m pip is not available"
command -v unzip >/dev/null 2>&1 || "$python" -c 'import zipfile' || die "neither unzip nor python zipfile available"

echo "setup-libtorch: fetching PyTorch $TORCH_VERSION CPU libraries into $dest (once, ~540 MB download)" >&2
mkdir -p "$whl"
# The torch wheel is per Python version; pin the tags so the download does not depend on which
# python3 runs pip. The two NVIDIA wheels are pure `py3-none`.
pipdl=("$python" -m pip download --no-cache-dir --no-deps --only-binary=:all: --disable-pip-version-check -d "$whl")
ls "$whl"/torch-"$TORCH_VERSION"-*.whl >/dev/null 2>&1 \
  || "${pipdl[@]}" --python-version 3.11 --implementation cp --abi cp311 \
    --platform manylinux_2_28_x86_64 "torch==$TORCH_VERSION" \
  || die "pip could not download torch==$TORCH_VERSION (is PyPI reachable?)"
ls "$whl"/nvidia_cuda_runtime-"$CUDART_VERSION"-*.whl >/dev/null 2>&1 \
  || "${pipdl[@]}" "nvidia-cuda-runtime==$CUDART_VERSION" \
  || die "pip could not download nvidia-cuda-runtime==$CUDART_VERSION"
ls "$whl"/nvidia_cuda_cupti-"$CUPTI_VERSION"-*.whl >/dev/null 2>&1 \
  || "${pipdl[@]}" "nvidia-cuda-cupti==$CUPTI_VERSION" \
  || die "pip could not download nvidia-cuda-cupti==$CUPTI_VERSION"

# Unpack into a scratch folder next to the destination and move it in place at the end, so an
# interrupted run never leaves a .libtorch that looks complete.
tmp="$root/.libtorch.tmp"
rm -rf "$tmp"
mkdir -p "$tmp/lib" "$tmp/unz"
extract() { # wheel, patterns...
  local w="$1"
  shift
  "$python" - "$w" "$tmp/unz" "$@" <<'EOF' || die "could not unpack $w"
import fnmatch, sys, zipfile
wheel, out, pats = sys.argv[1], sys.argv[2], sys.argv[3:]
with zipfile.ZipFile(wheel) as z:
    names = [n for n in z.namelist() if any(fnmatch.fnmatch(n, p) for p in pats)]
    if not names:
        sys.exit(f"no file in {wheel} matches {pats}")
    for n in names:
        z.extract(n, out)
EOF
}
extract "$(ls "$whl"/torch-"$TORCH_VERSION"-*.whl)" \
  'torch/lib/libtorch.so' 'torch/lib/libtorch_cpu.so' 'torch/lib/libc10.so' \
  'torch/lib/libgomp*' 'torch/lib/libshm.so' 'torch/include/*'
extract "$(ls "$whl"/nvidia_cuda_runtime-"$CUDART_VERSION"-*.whl)" 'nvidia/cu13/lib/libcudart.so.13'
extract "$(ls "$whl"/nvidia_cuda_cupti-"$CUPTI_VERSION"-*.whl)" 'nvidia/cu13/lib/libcupti.so.13'
mv "$tmp"/unz/torch/lib/* "$tmp"/unz/nvidia/cu13/lib/* "$tmp/lib/"
mv "$tmp/unz/torch/include" "$tmp/include"
rm -rf "$tmp/unz"
echo "$TORCH_VERSION" >"$tmp/build-version"
rm -rf "$dest"
mv "$tmp" "$dest"
complete || die "unpacked $dest is incomplete (expected lib/{${needed[*]}} and include/torch)"
# The wheels are only a cache of what was unpacked: drop them (over 500 MB).
rm -rf "$whl"
echo "setup-libtorch: done ($(du -sh "$dest" | cut -f1) in $dest)" >&2
