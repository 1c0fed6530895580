#!/usr/bin/env bash
# The install step and the design's usage line: `cmake --install` into a fresh prefix, then the
# installed kdprune, from an unrelated directory, finds a shipped config by name and resolves the
# config's relative paths by the documented rule (file-relative; ${run.root}; overrides from cwd).
# Usage: test_install.sh BUILD_DIR
set -euo pipefail
build=${1:?usage: test_install.sh BUILD_DIR}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
cmake --install "$build" --prefix "$tmp/prefix" > "$tmp/install.log" || { cat "$tmp/install.log"; fail "cmake --install"; }
[ -x "$tmp/prefix/bin/kdprune" ] || fail "no bin/kdprune"
[ -f "$tmp/prefix/share/kdprune/configs/cifar100/f0.1.yaml" ] || fail "no shipped configs"
mkdir -p "$tmp/elsewhere" && cd "$tmp/elsewhere"
out=$("$tmp/prefix/bin/kdprune" config --config cifar100_f0.1.yaml run.root=myruns 2>&1) || { echo "$out"; fail "config by name"; }
echo "$out" | grep -q "using the shipped config $tmp/prefix/share/kdprune/configs/cifar100/f0.1.yaml" \
  || { echo "$out"; fail "the installed copy should be used"; }
echo "$out" | grep -q 'teacher: "myruns/cifar100-teacher-resnet32/model.pt"' || { echo "$out"; fail '${run.root} in kd.teacher'; }
out=$("$tmp/prefix/bin/kdprune" config --config fashion_mnist_teacher 2>&1) || { echo "$out"; fail "name without .yaml"; }
out=$("$tmp/prefix/bin/kdprune" config --config no_such_config.yaml 2>&1) && fail "an unknown name was accepted"
echo "$out" | grep -q "is neither a file nor a shipped config" || { echo "$out"; fail "unknown name message"; }
info=$("$tmp/prefix/bin/kdprune" info 2>&1)
grep -q "cifar100_f0.1.yaml" <<<"$info" || { echo "$info"; fail "info does not list the shipped configs"; }
echo "install: ok"
