"""Compile `pnrguard.formats`, the booking model, the matcher of `pnrguard.screening` and
the blind index's tokenisers with mypyc (as black and mypy ship themselves), in place.

    make compile                       # or: .venv/bin/python tools/compile_formats.py
    make compile-clean                 # back to the pure-Python modules

The extension modules land next to the sources (`src/pnrguard/formats/**.so`,
`src/pnrguard/domain/model*.so`, `src/pnrguard/screening/*.so`,
`src/pnrguard/links/tokens*.so`, plus mypyc's shared runtime `src/*__mypyc*.so`), with the
tokenizer's hand-written C accelerator
(`formats/edifact/_csplit.c`, whose pure-Python twin is `formats/edifact/splitting.py`);
Python imports them in preference to the `.py` files, which stay the fallback: a machine
without a C compiler or Python headers simply never builds them. The code is `mypy --strict`
clean, which is what mypyc needs; the compiled builds must give identical output
(tests/unit/formats/test_compiled.py, tests/unit/formats/test_csplit.py,
tests/unit/screening/test_compiled_matcher.py, tests/unit/service/test_compiled_tokens.py).

Exit status 0 when built, 1 when no compiler is there (the caller decides whether that is
an error; `make compile` says so and carries on).
"""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
MODULES = ["reader", "result", "deviations"]
PACKAGES = ["edifact", "paxlst", "pnrgov"]  # every module of these packages
# Outside formats/: the classes the readers build (native classes construct several times
# faster than interpreted dataclasses; docs/performance.md), and link analysis's tokens,
# derived for every booking at ingest (index upkeep: docs/performance.md, fifth pass).
OTHERS = ["pnrguard/domain/model.py", "pnrguard/links/tokens.py"]
#: The matcher's query path (docs/performance.md, "Screening"): names, index, query form,
#: bounds, scoring and the screener. Not the list parsers: they run once per import. And the
#: blind index's tokeniser, which runs for every traveller at ingest.
SCREENING = ["names", "index", "query_form", "bounds", "score", "screener", "blind_index"]
#: A hand-written C extension (not mypyc): the tokenizer's per-character passes, and the
#: commonest PNRGOV date and time shapes (formats/pnrgov/values.py).
ACCELERATOR = "pnrguard.formats.edifact._csplit"


def compiler_available() -> bool:
    include = Path(sysconfig.get_paths()["include"]) / "Python.h"
    return include.exists() and any(shutil.which(c) for c in ("cc", "gcc", "clang"))


def clean() -> None:
    built = [
        *(SRC / "pnrguard" / "formats").rglob("*.so"),
        *(SRC / "pnrguard" / "domain").glob("*.so"),
        *(SRC / "pnrguard" / "screening").glob("*.so"),
        *(SRC / "pnrguard" / "links").glob("*.so"),
    ]
    for path in [*SRC.glob("*__mypyc*.so"), *built]:
        path.unlink()
    shutil.rmtree(SRC / "build", ignore_errors=True)  # setuptools' staging directory


def build() -> int:
    if not compiler_available():
        print("no C compiler or Python headers: keeping the pure-Python readers", file=sys.stderr)
        return 1
    from mypyc.build import mypycify
    from setuptools import Extension, setup

    clean()
    formats = SRC / "pnrguard" / "formats"
    paths = [f"pnrguard/formats/{m}.py" for m in MODULES] + [
        str(p.relative_to(SRC)) for pkg in PACKAGES for p in sorted((formats / pkg).glob("*.py"))
    ] + OTHERS
    paths += [f"pnrguard/screening/{m}.py" for m in SCREENING]
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(SRC)  # module names follow the paths: pnrguard.formats.*
        setup(
            name="pnrguard-formats-compiled",
            ext_modules=[
                *mypycify(paths, opt_level="3", target_dir=str(Path(tmp) / "c")),
                # The tokenizer's C accelerator (edifact/splitting.py falls back to Python).
                Extension(ACCELERATOR, [ACCELERATOR.replace(".", "/") + ".c"], extra_compile_args=["-O2"]),
            ],
            script_args=["build_ext", "--inplace", "--build-temp", str(Path(tmp) / "o"), "--quiet"],
        )
    shutil.rmtree(SRC / "build", ignore_errors=True)
    print(
        f"compiled {len(paths)} modules (formats, domain, links, screening), and {ACCELERATOR}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--clean"]:
        clean()
        sys.exit(0)
    sys.exit(build())
