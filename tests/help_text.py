"""The `Usage`, `Arguments` and `Options` of a command's `--help`, as docs/commands.md
quotes them (without the description, the example and the help option itself)."""

from __future__ import annotations

from typer.testing import CliRunner

from ledger.cli.main import app


def options_of(command: list[str]) -> str:
    shown = CliRunner().invoke(app, [*command, "--help"], prog_name="arr", terminal_width=80)
    assert shown.exit_code == 0, shown.output
    lines = shown.output.rstrip().splitlines()
    kept, inside = [lines[0]], False
    for line in lines[1:]:
        if line in ("Arguments:", "Options:"):
            kept += ["", line]
            inside = True
        elif inside and line and not line.startswith(" "):
            inside = False
        elif inside and line.strip() and "Show this message and exit." not in line:
            kept.append(line)
    return "\n".join(kept)
