"""Parsing throughput: our EDIFACT layer and PNRGOV reader against pydifact, the Python peer.

    .venv/bin/python bench/parse.py            # 300-passenger flight + 10 MB batch, updates docs
    .venv/bin/python bench/parse.py --quick    # 300-passenger flight + 1 MB batch, prints only
    .venv/bin/python bench/parse.py --instructions   # instruction counts under valgrind

Why this benchmark: DESIGN.md chose our own tokenizer over pydifact because a PIU must
read a day's national traffic in minutes; this script is the evidence, run on the same
synthetic PNRGOV messages for every contender in the same process. Measured:

- pydifact tokenise: `pydifact.parser.Parser().parse(text)` drained to a list of segments
  (what pydifact does before building any collection);
- pydifact interchange: `pydifact.segmentcollection.Interchange.from_str(text)` (tokenise,
  UNB/UNZ envelope), the nearest equivalent of ours (its `get_messages()` rejects UNG groups);
- ours, envelope: `pnrguard.formats.edifact.parse_interchange(text)` (tokenise + envelopes);
- ours, full reader: `pnrguard.formats.pnrgov.read_pnrgov(text)` (all the way to `Booking`
  objects), which must reach 30x pydifact's tokeniser throughput.

Both builds of ours in one run: when the mypyc build is present (`make compile`), this
process times it and a child process times the pure-Python modules (a copy of `src/`
without the extension modules) on the same synthetic data; their rows sit side by side
against the same pydifact baseline. Without the compiled build only the pure one is shown.

Timing is best-of-N CPU time of this process (`time.process_time`), after one warm-up run,
with the data already decoded to `str` (both libraries take text). CPU time rather than wall
time: the benchmark machine is shared, and other jobs' load inflates wall time unevenly.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from pydifact.exceptions import MissingImplementationWarning
from pydifact.parser import Parser
from pydifact.segmentcollection import Interchange
from rich.console import Console
from rich.table import Table

import pnrguard
import pnrguard.formats.pnrgov
from pnrguard.formats.edifact import parse_interchange, tokenize
from pnrguard.formats.pnrgov import read_pnrgov
from pnrguard.formats.synth import PushKind, generate

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "performance.md"
SECTION = "## Parsing (bench/parse.py)"
TARGET_RATIO = 30.0
COMPILED = not pnrguard.formats.pnrgov.__file__.endswith(".py")
BUILD = "mypyc" if COMPILED else "pure Python"
BASE_DATE = dt.date(2025, 6, 1)


@dataclass(frozen=True, slots=True)
class Dataset:
    name: str
    texts: list[str]
    bookings: int

    @property
    def size(self) -> int:
        return sum(len(t.encode("utf-8")) for t in self.texts)

    @property
    def segments(self) -> int:
        return sum(len(tokenize(t)[1]) for t in self.texts)


@dataclass(frozen=True, slots=True)
class Result:
    dataset: str
    contender: str
    seconds: float
    mb_per_s: float
    segments_per_s: float
    ratio: float | None = None


def one_flight(seed: int) -> Dataset:
    """The closure push of a 300-passenger flight: the biggest message a flight produces."""
    traffic = generate(seed, flights=1, passengers_per_flight=300, base_date=BASE_DATE)
    push = next(p for p in traffic if p.kind is PushKind.CLOSURE)
    return Dataset(f"1 flight, {push.travellers} pax", [push.pnrgov], len(push.bookings))


def batch(seed: int, megabytes: float) -> Dataset:
    """Many flights' pushes (both kinds) until `megabytes` of PNRGOV text."""
    texts: list[str] = []
    bookings = 0
    size = 0
    target = int(megabytes * 1_000_000)
    flights = 0
    while size < target:  # generous first guess; grows if the pushes were small
        flights = flights * 2 if flights else max(4, int(megabytes * 8))
        texts, bookings, size = [], 0, 0
        for push in generate(seed, flights=flights, base_date=BASE_DATE):
            texts.append(push.pnrgov)
            bookings += len(push.bookings)
            size += len(push.pnrgov.encode("utf-8"))
            if size >= target:
                break
    return Dataset(f"batch {size / 1e6:.1f} MB, {len(texts)} msgs", texts, bookings)


def best_of(fn: Callable[[], object], warm_up: Callable[[], object], repeats: int) -> float:
    warm_up()  # imports, caches, first-call allocations (on one message: pydifact is slow)
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


def contenders(texts: Sequence[str]) -> list[tuple[str, Callable[[], object], bool]]:
    """(name, callable, is_pydifact) for every contender over the same texts.

    Each callable reads the messages one after another and drops each result, as a
    streaming ingest does; keeping 10 MB of parsed objects alive would time the garbage
    collector walking them rather than the parser.
    """

    def pyd_tokenise() -> object:
        for t in texts:
            list(Parser().parse(t))
        return None

    def pyd_interchange() -> object:
        # Interchange.get_messages() cannot be used: pydifact 0.2 raises "UNH segment was not
        # closed" on any interchange with UNG/UNE groups, which PNRGOV pushes carry.
        for t in texts:
            Interchange.from_str(t)
        return None

    def ours_envelope() -> object:
        for t in texts:
            parse_interchange(t)
        return None

    def ours_full() -> object:
        for t in texts:
            read_pnrgov(t)
        return None

    return [
        ("pydifact tokenise (Parser.parse)", pyd_tokenise, True),
        ("pydifact Interchange.from_str", pyd_interchange, True),
        (f"ours ({BUILD}): edifact.parse_interchange", ours_envelope, False),
        (f"ours ({BUILD}): read_pnrgov (to Booking)", ours_full, False),
    ]


def run_pure_child(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """Seconds per dataset and contender of the pure-Python build, timed in a child process
    whose import path holds a copy of `src/` without the extension modules."""
    src = Path(pnrguard.__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as tmp:
        pure = Path(tmp) / "src"
        shutil.copytree(src, pure, ignore=shutil.ignore_patterns("*.so", "__pycache__", "build"))
        cmd = [sys.executable, str(Path(__file__).resolve()), "--pure-child", "--seed", str(args.seed)]
        if args.quick:
            cmd.append("--quick")
        env = {**os.environ, "PYTHONPATH": str(pure)}
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    timings: dict[str, dict[str, float]] = json.loads(out.stdout)
    return timings


def run(
    dataset: Dataset, repeats_ours: int, repeats_pyd: int, *, ours_only: bool = False
) -> list[Result]:
    size, segments = dataset.size, dataset.segments
    results: list[Result] = []
    baseline: float | None = None
    warm_ups = contenders(dataset.texts[:1])
    for (name, fn, is_pyd), (_, warm_up, _) in zip(contenders(dataset.texts), warm_ups, strict=True):
        if ours_only and is_pyd:
            continue
        seconds = best_of(fn, warm_up, repeats_pyd if is_pyd else repeats_ours)
        if baseline is None:
            baseline = seconds
        results.append(
            Result(
                dataset=dataset.name,
                contender=name,
                seconds=seconds,
                mb_per_s=size / seconds / 1e6,
                segments_per_s=segments / seconds,
                ratio=baseline / seconds,
            )
        )
    return results


def table(results: Sequence[Result], title: str) -> Table:
    t = Table(title=title)
    for col in ("data", "contender", "best s", "MB/s", "segments/s", "x pydifact tokenise"):
        t.add_column(col, justify="left" if col in ("data", "contender") else "right")
    for r in results:
        t.add_row(
            r.dataset,
            r.contender,
            f"{r.seconds:.4f}",
            f"{r.mb_per_s:.2f}",
            f"{r.segments_per_s:,.0f}",
            f"{r.ratio:.1f}x" if r.ratio is not None else "",
        )
    return t


def markdown(results: Sequence[Result], datasets: Sequence[Dataset], command: str) -> str:
    env = (
        f"Python {platform.python_version()} on {platform.machine()} ({platform.system()}), "
        f"pydifact {version('pydifact')}, {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f} at the end of the run (CPU time suffers less from load than "
        "wall time, but figures are still noisy above 1 per CPU), "
        f"measured {dt.date.today().isoformat()}"
    )
    lines = [
        SECTION,
        "",
        f"Command: `{command}` (`--quick` uses a 1 MB batch and does not touch this file).",
        "",
        "Same synthetic PNRGOV messages (`pnrguard.formats.synth`, seed 1) for every contender, "
        "decoded text in memory, best-of-N CPU time (`time.process_time`). Ratio is against "
        "pydifact's tokeniser. "
        f"Target: the full reader at least {TARGET_RATIO:.0f}x pydifact.",
        "",
        f"Environment: {env}.",
        "",
        "| data | contender | best s | MB/s | segments/s | x pydifact tokenise |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in results:
        ratio = f"{r.ratio:.1f}x" if r.ratio is not None else ""
        lines.append(
            f"| {r.dataset} | {r.contender} | {r.seconds:.4f} | {r.mb_per_s:.2f} | "
            f"{r.segments_per_s:,.0f} | {ratio} |"
        )
    lines.append("")
    for d in datasets:
        lines.append(f"- {d.name}: {d.size:,} bytes, {d.segments:,} segments, {d.bookings:,} bookings.")
    lines.append("")
    for d in datasets:
        for full in _full_readers(results, d):
            verdict = "meets" if (full.ratio or 0) >= TARGET_RATIO else "misses"
            lines.append(
                f"Verdict, {d.name}, {full.contender.split(':')[0]}: full reader "
                f"{full.ratio:.1f}x pydifact; {verdict} the target."
            )
        lines.append("")
    lines.append(
        "Ingest rate into SQLite (target 2,000 bookings/s) is measured by the storage benchmark "
        "and reported in its own section."
    )
    lines.append("")
    lines.append(
        "Builds: `ours (mypyc)` is `make compile` (tools/compile_formats.py, mypyc opt level 3 "
        "over the edifact, paxlst and pnrgov packages, formats/reader, result, deviations and the "
        "booking model domain/model.py, plus the tokenizer's hand-written C accelerator "
        "formats/edifact/_csplit.c); `ours (pure Python)` is the same source interpreted (the "
        "accelerator's pure twins in formats/edifact/splitting.py), timed in a child process of "
        "the same run."
    )
    lines.append("")
    return "\n".join(lines)


def _full_readers(results: Sequence[Result], d: Dataset) -> list[Result]:
    return [r for r in results if r.dataset == d.name and r.contender.endswith("read_pnrgov (to Booking)")]


def write_section(text: str) -> None:
    """Replace our section of docs/performance.md (up to the next `## `), keeping the rest."""
    DOC.parent.mkdir(parents=True, exist_ok=True)
    current = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Performance\n\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(current):
        updated = pattern.sub(lambda _m: text + "\n", current, count=1)
    else:
        updated = current.rstrip("\n") + "\n\n" + text
    DOC.write_text(updated.rstrip("\n") + "\n", encoding="utf-8")


_ONE_READ = """
import sys, warnings
sys.path.insert(0, {bench!r})
import parse
warnings.simplefilter("ignore")
text = parse.one_flight({seed}).texts[0]
fns = {{"pydifact": lambda: list(parse.Parser().parse(text)), "ours": lambda: parse.read_pnrgov(text)}}
fn = fns[sys.argv[1]]
fn()
for _ in range(int(sys.argv[2])):
    fn()
"""


def instructions(seed: int, pure_src: Path | None = None) -> dict[str, int]:
    """Instructions per read of the one-flight push (valgrind's callgrind: the same count
    whatever the machine's load), for pydifact's tokeniser and our full reader: the count
    of a process that reads k+1 times less that of one that reads once, divided by k."""
    script = _ONE_READ.format(bench=str(Path(__file__).resolve().parent), seed=seed)
    env = {**os.environ, **({"PYTHONPATH": str(pure_src)} if pure_src else {})}

    def count(who: str, reads: int) -> int:
        out = subprocess.run(
            ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-c", script,
             who, str(reads)],
            env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        found = re.search(r"Collected : ([0-9]+)", out.stderr)
        assert found is not None, out.stderr[-500:]
        return int(found.group(1))

    result = {}
    for who, k in (("pydifact", 1), ("ours", 4)):
        result[who] = (count(who, k) - count(who, 0)) // k
    return result


def print_instructions(seed: int) -> int:
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 1
    builds: list[tuple[str, Path | None]] = [(BUILD, None)]
    tmp = None
    if COMPILED:
        tmp = tempfile.TemporaryDirectory()
        pure = Path(tmp.name) / "src"
        src = Path(pnrguard.__file__).resolve().parents[1]
        shutil.copytree(src, pure, ignore=shutil.ignore_patterns("*.so", "__pycache__", "build"))
        builds.append(("pure Python", pure))
    for name, path in builds:
        counts = instructions(seed, path)
        print(
            f"1 flight, ours ({name}): read_pnrgov {counts['ours'] / 1e6:.1f} M instructions, "
            f"pydifact tokenise {counts['pydifact'] / 1e6:.1f} M: {counts['pydifact'] / counts['ours']:.1f}x"
        )
    if tmp is not None:
        tmp.cleanup()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="1 MB batch, fewer repeats, no doc update")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pure-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--instructions", action="store_true",
        help="instructions per read of the 1-flight push under valgrind (load-independent), both builds",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.instructions:
        return print_instructions(args.seed)
    console = Console()
    # pydifact warns once per segment tag that it has no XML directory to validate against.
    warnings.simplefilter("ignore", MissingImplementationWarning)
    warnings.filterwarnings("ignore", category=SyntaxWarning, module="pydifact")  # "SRC is empty"
    batch_mb = 1.0 if args.quick else 10.0
    repeats_ours, repeats_pyd = (3, 1) if args.quick else (5, 2)
    with console.status("generating synthetic PNRGOV traffic"):
        datasets = [one_flight(args.seed), batch(args.seed, batch_mb)]
    results: list[Result] = []
    if args.pure_child:
        timings = {}
        for i, d in enumerate(datasets):
            timed = run(d, repeats_ours * (4 if i == 0 else 1), 0, ours_only=True)
            timings[d.name] = {r.contender: r.seconds for r in timed}
        print(json.dumps(timings))
        return 0
    for i, d in enumerate(datasets):
        scale = 4 if i == 0 else 1  # the single flight is quick: more repeats, less noise
        with console.status(f"timing {d.name}"):
            results.extend(run(d, repeats_ours * scale, repeats_pyd * scale))
    if COMPILED:
        with console.status("timing the pure-Python build in a child process"):
            pure = run_pure_child(args)
        for d in datasets:
            baseline = next(r.seconds for r in results if r.dataset == d.name)
            for name, seconds in pure[d.name].items():
                results.append(
                    Result(
                        dataset=d.name, contender=name, seconds=seconds, mb_per_s=d.size / seconds / 1e6,
                        segments_per_s=d.segments / seconds, ratio=baseline / seconds,
                    )
                )  # fmt: skip
        order = {d.name: i for i, d in enumerate(datasets)}
        results.sort(key=lambda r: order[r.dataset])
    console.print(table(results, "PNRGOV parsing throughput (best of N)"))
    ok = True
    for d in datasets:
        for full in _full_readers(results, d):
            verdict = "meets" if (full.ratio or 0) >= TARGET_RATIO else "MISSES"
            ok &= verdict == "meets"
            console.print(
                f"{d.name}, {full.contender.split(':')[0]}: full reader {full.ratio:.1f}x pydifact, "
                f"{verdict} the {TARGET_RATIO:.0f}x target"
            )
    if not args.quick:
        command = ".venv/bin/python bench/parse.py"
        write_section(markdown(results, datasets, command))
        console.print(f"figures written to {DOC.relative_to(ROOT)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
