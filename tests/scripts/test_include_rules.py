#!/usr/bin/env python3
"""The layering of kdprune's folders, checked on every #include.

    python3 tests/scripts/test_include_rules.py <repo root>     # self-test, then the tree
    python3 tests/scripts/test_include_rules.py --selftest      # the self-test only
    python3 tests/scripts/test_include_rules.py --graph <root>  # which folder includes which, today

A file's folder is the first folder under include/kdprune/ or src/ (src/data/readers/ is data/,
src/losses/feature/ is losses/). An include names a folder when it is "kdprune/<folder>/..." (or
<kdprune/<folder>/...>), or when it is a relative quoted include that resolves, against the
including file's directory and then against src/, to a file under src/<folder>/ or
include/kdprune/<folder>/. Each folder may include itself and the folders ALLOWED lists for it;
a header under src/<folder>/ is private to that folder (what other folders use goes under
include/kdprune/<folder>/). Includes that name no folder (<torch/torch.h>, "kdprune/version.h",
generated files) are not checked.

ALLOWED is the table docs/architecture.md shows; this test also checks that the doc's table
says the same. Python 3 standard library only.
"""
import os
import re
import sys
import tempfile

# Each folder and the other folders it may include. Keep it acyclic (the self-test checks) and
# keep docs/architecture.md's layer table the same (the tree check compares them).
ALLOWED = {
    "util": set(),
    "config": {"util"},
    "dist": {"util"},
    "system": {"util"},
    "theory": {"util"},
    "io": {"util", "config"},
    "models": {"util", "dist"},
    "prune": {"util", "config", "io"},
    "data": {"util", "config", "io", "prune"},
    "pipeline": {"util", "config", "io", "prune"},
    "train": {"util", "config", "dist", "system", "io", "data", "models"},
    "losses": {"util", "config", "dist", "system", "io", "data", "models", "train"},
    "scoring": {"util", "config", "dist", "system", "io", "prune", "data", "models", "train"},
    "commands": {"util", "config", "dist", "system", "io", "prune", "data", "pipeline", "models", "train", "losses",
                 "scoring", "theory"},
    "cli": {"util", "config", "commands"},
}

# Includes that break the rules today, each a (file, include as written) pair with what to do
# about it. A new violation fails; fixing one of these leaves a "stale" note: delete its line.
KNOWN_EXCEPTIONS = {}

SOURCE_EXTENSIONS = (".h", ".hpp", ".cpp", ".cc", ".inl", ".ipp")
INCLUDE = re.compile(r'^\s*#\s*include\s*(?:"([^"]+)"|<(kdprune/[^>]+)>)')
DOC = "docs/architecture.md"
TEST = "tests/scripts/test_include_rules.py"


def layers(allowed):
    """Each folder's layer: 0 for a folder that includes no other, else 1 + the highest layer it may include."""
    out, visiting = {}, set()

    def layer(f):
        if f in out:
            return out[f]
        if f in visiting:
            raise ValueError("ALLOWED has a cycle through " + f + "/")
        visiting.add(f)
        deps = allowed.get(f, set())
        for d in deps:
            if d not in allowed:
                raise ValueError("ALLOWED[" + f + "] names " + d + "/, which has no row")
        out[f] = 1 + max((layer(d) for d in deps), default=-1)
        visiting.discard(f)
        return out[f]

    for f in allowed:
        layer(f)
    return out


def folder_of(rel):
    """(folder, private) of a path relative to the root; folder None outside include/kdprune/*/ and src/*/."""
    parts = rel.split("/")
    if len(parts) >= 4 and parts[0] == "include" and parts[1] == "kdprune":
        return parts[2], False
    if len(parts) >= 3 and parts[0] == "src":
        return parts[1], True
    return None, False


def target_of(root, file_dir, text, angle):
    """(folder, private) that an include names, or (None, False) when it names none."""
    if text.startswith("kdprune/"):
        parts = text.split("/")
        return (parts[1], False) if len(parts) >= 3 else (None, False)  # kdprune/version.h: generated
    if angle:
        return None, False
    for base in (file_dir, os.path.join(root, "src")):
        candidate = os.path.normpath(os.path.join(base, text))
        if os.path.isfile(candidate):
            return folder_of(os.path.relpath(candidate, root).replace(os.sep, "/"))
    return None, False  # a system or generated header (proto/tensorboard_event.pb.h)


def scan(root, allowed, exceptions):
    """Returns (violations, used exception keys, files scanned, kdprune includes found)."""
    root = os.path.abspath(root)
    violations, used, files, includes = [], set(), 0, 0
    unknown = set()
    for top in ("include/kdprune", "src"):
        for d, dirs, names in os.walk(os.path.join(root, top)):
            dirs.sort()
            for name in sorted(names):
                if not name.endswith(SOURCE_EXTENSIONS):
                    continue
                path = os.path.join(d, name)
                rel = os.path.relpath(path, root).replace(os.sep, "/")
                own, _ = folder_of(rel)
                if own is None:
                    continue
                try:
                    with open(path, encoding="utf-8", errors="replace") as f:
                        lines = f.readlines()
                except FileNotFoundError:  # removed while we walked (someone is moving files)
                    continue
                files += 1
                if own not in allowed and own not in unknown:
                    unknown.add(own)
                    violations.append(f"{rel}: folder {own}/ is not in the layer table (add its row to ALLOWED in "
                                      f"{TEST} and to {DOC})")
                for number, line in enumerate(lines, 1):
                    m = INCLUDE.match(line)
                    if not m:
                        continue
                    text = m.group(1) or m.group(2)
                    target, private = target_of(root, d, text, m.group(1) is None)
                    if target is None:
                        continue
                    includes += 1
                    if target == own:
                        continue
                    if own not in allowed:
                        continue  # reported once above
                    if target not in allowed[own]:
                        why = f"{own}/ may not use {target}/"
                    elif private:
                        why = f"a header under src/{target}/ is private to {target}/ (what {own}/ uses goes in include/kdprune/{target}/)"
                    else:
                        continue
                    if (rel, text) in exceptions:
                        used.add((rel, text))
                        continue
                    violations.append(f"{rel}:{number} includes {text}: {why}")
    return violations, used, files, includes


def doc_table(root):
    """{folder: (layer cell, set of may-include folders)} from the doc's table with a 'may include' column."""
    path = os.path.join(root, DOC)
    if not os.path.isfile(path):
        return None
    rows, header = {}, None
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line.startswith("|"):
                if header is not None and rows:
                    break
                continue
            cells = [c.strip() for c in line.strip("|").split("|")]
            if header is None:
                if "may include" in cells:
                    header = cells
                continue
            if set(line) <= set("|-: "):
                continue
            m = re.fullmatch(r"`(\w+)/`", cells[header.index("folder")])
            if not m:
                continue
            rows[m.group(1)] = (cells[header.index("layer")] if "layer" in header else None,
                                set(re.findall(r"`(\w+)/`", cells[header.index("may include")])))
    return rows


def check_doc(root, allowed):
    rows = doc_table(root)
    if rows is None:
        return [f"{DOC}: missing (it shows this test's layer table)"]
    if not rows:
        return [f"{DOC}: no table with the columns folder | may include (it shows this test's layer table)"]
    problems, layer = [], layers(allowed)
    for folder in sorted(set(rows) | set(allowed)):
        if folder not in rows:
            problems.append(f"{DOC}: the layer table has no row for {folder}/ (ALLOWED in {TEST} has one)")
        elif folder not in allowed:
            problems.append(f"{DOC}: the layer table has a row for {folder}/, which ALLOWED in {TEST} lacks")
        else:
            cell, deps = rows[folder]
            if deps != allowed[folder]:
                problems.append(f"{DOC}: {folder}/ may include {fmt(deps)} in the doc but {fmt(allowed[folder])} in {TEST}")
            if cell is not None and cell != str(layer[folder]):
                problems.append(f"{DOC}: {folder}/ is on layer {cell} in the doc but {layer[folder]} by ALLOWED")
    return problems


def fmt(folders):
    return ", ".join(f + "/" for f in sorted(folders)) or "nothing"


def selftest():
    """A synthetic tree with known violations: the scanner must report exactly those."""
    with tempfile.TemporaryDirectory() as root:
        def write(rel, *lines):
            path = os.path.join(root, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                f.write("\n".join(lines) + "\n")

        write("include/kdprune/train/trainer.h", "#pragma once")
        write("include/kdprune/models/model.h", "#pragma once", "#include <torch/torch.h>")
        write("include/kdprune/models/bad.h", "#pragma once", '#include "kdprune/train/trainer.h"')
        write("src/models/foo.cpp", *(["// filler"] * 11), '#include "kdprune/train/trainer.h"')
        write("src/cli/cli.h", "#pragma once")
        write("src/commands/uses_cli.cpp", '#include "../cli/cli.h"')
        write("src/losses/uses_cli.cpp", '#include <kdprune/cli/cli.h>')
        write("src/config/private.h", "#pragma once")
        write("src/pipeline/private_use.cpp", '#  include "../config/private.h"')
        write("src/train/model_run.h", "#pragma once")
        write("src/util/up.cpp", '#include "train/model_run.h"')  # resolved against src/
        write("src/train/fine.cpp", '#include "kdprune/models/model.h"', '#include "model_run.h"',
              '#include "kdprune/version.h"', "#include <torch/torch.h>", '#include "proto/generated.pb.h"',
              '// #include "kdprune/cli/cli.h"', '#include "kdprune/data/view.h"')
        write("src/newfolder/x.cpp", '#include "kdprune/util/error.h"')
        write("src/prune/excused.cpp", '#include "kdprune/train/trainer.h"')
        expected = {
            "include/kdprune/models/bad.h:2 includes kdprune/train/trainer.h: models/ may not use train/",
            "src/models/foo.cpp:12 includes kdprune/train/trainer.h: models/ may not use train/",
            "src/commands/uses_cli.cpp:1 includes ../cli/cli.h: commands/ may not use cli/",
            "src/losses/uses_cli.cpp:1 includes kdprune/cli/cli.h: losses/ may not use cli/",
            "src/pipeline/private_use.cpp:1 includes ../config/private.h: a header under src/config/ is private to "
            "config/ (what pipeline/ uses goes in include/kdprune/config/)",
            "src/util/up.cpp:1 includes train/model_run.h: util/ may not use train/",
            f"src/newfolder/x.cpp: folder newfolder/ is not in the layer table (add its row to ALLOWED in {TEST} and "
            f"to {DOC})",
        }
        excused = ("src/prune/excused.cpp", "kdprune/train/trainer.h")
        violations, used, files, includes = scan(root, ALLOWED, {excused: "test", ("src/gone.cpp", "x.h"): "test"})
        problems = []
        for v in sorted(expected - set(violations)):
            problems.append("self-test: not reported: " + v)
        for v in sorted(set(violations) - expected):
            problems.append("self-test: reported wrongly: " + v)
        if used != {excused}:
            problems.append(f"self-test: known exceptions used {sorted(used)}, expected {[excused]}")
        if files != 14 or includes != 11:
            problems.append(f"self-test: scanned {files} files / {includes} kdprune includes, expected 14 / 11")
        try:
            layers({"a": {"b"}, "b": {"a"}})
            problems.append("self-test: a cyclic table was accepted")
        except ValueError:
            pass
        try:
            layers(ALLOWED)
        except ValueError as e:
            problems.append("ALLOWED: " + str(e))
        # The doc check on a doc that disagrees.
        write(DOC, "| layer | folder | may include |", "|---|---|---|", "| 0 | `util/` | — |",
              "| 1 | `config/` | `util/`, `io/` |")
        doc = check_doc(root, {"util": set(), "config": {"util"}, "io": {"util"}})
        want = {f"{DOC}: config/ may include io/, util/ in the doc but util/ in {TEST}",
                f"{DOC}: the layer table has no row for io/ (ALLOWED in {TEST} has one)"}
        if set(doc) != want:
            problems.append(f"self-test: doc check gave {doc}, expected {sorted(want)}")
    return problems


def graph(root):
    """Which folders each folder includes today (cross-folder includes, with counts)."""
    edges = {}
    for rel_top in ("include/kdprune", "src"):
        for d, dirs, names in os.walk(os.path.join(root, rel_top)):
            for name in names:
                if not name.endswith(SOURCE_EXTENSIONS):
                    continue
                rel = os.path.relpath(os.path.join(d, name), root).replace(os.sep, "/")
                own, _ = folder_of(rel)
                try:
                    with open(os.path.join(d, name), encoding="utf-8", errors="replace") as f:
                        lines = f.readlines()
                except FileNotFoundError:
                    continue
                for line in lines:
                    m = INCLUDE.match(line)
                    if not m:
                        continue
                    target, _ = target_of(root, d, m.group(1) or m.group(2), m.group(1) is None)
                    if own and target and target != own:
                        edges.setdefault(own, {}).setdefault(target, 0)
                        edges[own][target] += 1
    for own in sorted(edges):
        print(f"{own}/ -> " + " ".join(f"{t}/({n})" for t, n in sorted(edges[own].items())))


def main(argv):
    if argv[1:] == ["--selftest"]:
        problems = selftest()
        print("\n".join(problems) or "include rules self-test: OK")
        return 1 if problems else 0
    if len(argv) == 3 and argv[1] == "--graph":
        graph(os.path.abspath(argv[2]))
        return 0
    if len(argv) != 2 or argv[1].startswith("-"):
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    root = os.path.abspath(argv[1])
    problems = selftest()
    violations, used, files, includes = scan(root, ALLOWED, KNOWN_EXCEPTIONS)
    problems += violations
    # Guard against passing vacuously (a wrong root, a broken pattern).
    if files < 50 or includes < 100:
        problems.append(f"{root}: only {files} source files and {includes} kdprune includes found under include/kdprune/ "
                        "and src/ (expected at least 50 and 100): is this the repository root?")
    problems += check_doc(root, ALLOWED)
    for key in sorted(KNOWN_EXCEPTIONS):
        if key in used:
            print(f"known exception: {key[0]} includes {key[1]}: {KNOWN_EXCEPTIONS[key]}")
        else:
            print(f"stale known exception (fixed? delete it from KNOWN_EXCEPTIONS): {key[0]} includes {key[1]}")
    if problems:
        print("\n".join(problems))
        print(f"include rules: {len(problems)} problem(s); the rules: {DOC}, the table: ALLOWED in {TEST}")
        return 1
    print(f"include rules: OK ({files} files, {includes} kdprune includes, {len(used)} known exceptions)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
