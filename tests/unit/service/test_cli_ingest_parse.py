"""`pnrguard parse` and `pnrguard ingest`, run in-process with Typer's CliRunner."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pnrguard.cli import app
from pnrguard.cli.ingest import collect_files

runner = CliRunner()


def _files(conformance_dir: Path) -> list[Path]:
    return sorted((conformance_dir / "gtas").iterdir())


def test_parse_prints_json_lines_for_every_conformance_file(conformance_dir: Path) -> None:
    for path in _files(conformance_dir):
        result = runner.invoke(app, ["parse", str(path)])
        assert result.exit_code == 0, (path.name, result.output)
        lines = result.stdout.splitlines()
        assert lines, path.name
        for line in lines:
            obj = json.loads(line)
            assert obj["source"] in {"PNR", "API"}
            # AVML (a religious meal code) is in the samples; it never reaches the output.
            assert "AVML" not in line


def test_parse_reports_unreadable_files_with_exit_2(tmp_path: Path, conformance_dir: Path) -> None:
    bad = tmp_path / "bad.edi"
    bad.write_bytes(b"UNB+IATA:1+XX'GARBAGE WITH A NAME OBRIEN")
    good = _files(conformance_dir)[0]
    result = runner.invoke(app, ["parse", str(bad), str(good), str(tmp_path / "missing.edi")])
    assert result.exit_code == 2
    assert result.stdout.splitlines()  # the readable file is still printed
    assert "error:" in result.stderr
    assert "OBRIEN" not in result.stderr


@pytest.fixture
def node_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    var = tmp_path / "var"
    monkeypatch.setenv("PNRGUARD_DATABASE_URL", f"sqlite:///{var / 'pnrguard.db'}")
    monkeypatch.setenv("PNRGUARD_KEY_FILE", str(var / "keys.json"))
    return var


def test_ingest_directory_then_again(node_env: Path, tmp_path: Path, conformance_dir: Path) -> None:
    inbox = tmp_path / "inbox"
    shutil.copytree(conformance_dir / "gtas", inbox / "gtas")
    (inbox / "notes.md").write_text("not a message")  # skipped: not *.edi / *.txt
    n = len(_files(conformance_dir))
    result = runner.invoke(app, ["ingest", str(inbox)])
    assert result.exit_code == 0, result.output
    assert "messages accepted" in result.stdout
    assert (node_env / "pnrguard.db").exists()
    assert (node_env / "keys.json").stat().st_mode & 0o077 == 0
    assert re.search(rf"messages accepted\s*│\s*{n}\s*│", result.stdout)

    again = runner.invoke(app, ["ingest", str(inbox)])
    assert again.exit_code == 0
    assert "messages duplicate" in again.stdout


def test_ingest_quarantine_and_strict_exit(node_env: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.edi"
    bad.write_bytes(b"NOT EDIFACT")
    assert runner.invoke(app, ["ingest", str(bad)]).exit_code == 0
    bad.write_bytes(b"NOT EDIFACT EITHER")
    result = runner.invoke(app, ["ingest", "--strict-exit", str(bad)])
    assert result.exit_code == 1
    assert "quarantined" in result.stderr
    assert runner.invoke(app, ["ingest", str(tmp_path / "missing")]).exit_code == 2


def test_collect_files(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    for name in ("a/1.edi", "a/b/2.TXT", "a/b/3.json", "x.dat"):
        (tmp_path / name).write_text("x")
    files, missing = collect_files([tmp_path / "a", tmp_path / "x.dat", tmp_path / "nope"])
    assert [f.relative_to(tmp_path).as_posix() for f in files] == ["a/1.edi", "a/b/2.TXT", "x.dat"]
    assert missing == [tmp_path / "nope"]
