"""What a newcomer trips on, from the first command to their own data (each message as
the user reads it)."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger import Ledger, Refused
from ledger.cli.main import app
from ledger.domain.errors import UsageError
from ledger.intake.rows import Row

runner = CliRunner()
ROOT = Path(__file__).resolve().parent.parent


def arr(*args: str, given: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), input=given, prog_name="arr")
    return result.exit_code, result.stdout, result.stderr


def test_after_the_first_command_every_try_next_line_runs_in_a_fresh_shell(
    tmp_path: Path,
) -> None:
    """README's first command activates the venv: `arr` is then a command of the shell.
    Here the shell gets the venv's `bin` on its PATH, as `. .venv/bin/activate` does."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    folder = tmp_path / "sample"
    shown = subprocess.run(
        ["bash", "-c", f"arr demo --customers 40 --folder {shlex.quote(str(folder))}"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lines = shown.split("Try next, against the sample:\n")[1].split("In Python")[0]
    commands = [line.strip() for line in lines.splitlines() if line.strip()]
    assert len(commands) == 9 and all(c.startswith("arr ") for c in commands)
    for command in commands:
        ran = subprocess.run(["bash", "-c", command], env=env, cwd=tmp_path, capture_output=True)
        assert ran.returncode == 0, (command, ran.stderr)


def test_the_demo_says_where_its_sample_stays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    code, out, _ = arr("demo", "--customers", "20")
    (folder,) = tmp_path.glob("arr-demo-*")
    assert code == 0
    assert out.rstrip().endswith(
        f"The sample stays in {folder} for the commands above; remove it with:\n  rm -r {folder}"
    )


def test_version_and_short_help() -> None:
    code, out, _ = arr("--version")
    assert code == 0 and out.startswith("arr 0.")
    code, out, _ = arr("-h")
    assert code == 0 and out.startswith("Usage: arr [OPTIONS] COMMAND [ARGS]...")
    code, out, _ = arr("report", "-h")
    assert code == 0 and "--as-of DATE" in out and "<str>" not in out


def test_fields_lists_every_field_of_a_type_with_what_it_takes() -> None:
    code, out, _ = arr("fields", "void", "--format", "csv")
    assert code == 0 and out.splitlines()[0] == "type,field,required,takes"
    assert out.splitlines()[1:] == [
        'void,event_id,yes,"your unique id, at most 200 characters; the same event again does '
        'nothing"',
        'void,type,yes,"new, upgrade, downgrade, churn, renewal, one_time_fee, void, fx_rate, '
        'trial, pause, resume, discount"',
        'void,customer_id,no,"the account, at most 200 characters (none on fx_rate, or on a '
        'void of one)"',
        "void,target_event_id,yes,the event_id of the event this void cancels",
        "void,currency,no,\"ISO 4217 code (EUR); empty: the subscription's, or for a new one "
        "the ledger's; on fx_rate, the currency rated\"",
        'void,reason,no,"why: a code of 1-64 characters a-z, 0-9, _ and - (not lapsed, '
        'unspecified)"',
        'void,note,no,"any text up to 1,000 characters: why, in words"',
    ]
    code, out, _ = arr("fields", "--format", "csv")
    fields = {tuple(line.split(",")[:3]) for line in out.splitlines()[1:]}
    assert {
        ("new", "term_months", "no"),
        ("renewal", "amount", "no"),
        ("new", "amount", "yes"),
        ("one_time_fee", "description", "no"),
        ("new", "plan", "no"),
        ("trial", "trial_end", "no"),
        ("pause", "resume_date", "no"),
        ("discount", "percent_off", "no"),
        ("churn", "reason", "no"),
    } <= fields
    code, _, err = arr("fields", "refund")
    assert (code, err.strip()) == (
        2,
        "usage: TYPE: 'refund' is not one of new, upgrade, downgrade, churn, renewal, "
        "one_time_fee, void, fx_rate, trial, pause, resume, discount",
    )


def test_the_template_imports_as_it_is_and_is_shipped_in_docs(tmp_path: Path) -> None:
    code, out, _ = arr("template")
    assert code == 0 and out == (ROOT / "docs" / "template.csv").read_text()
    assert out.splitlines()[0] == (
        "event_id,type,customer_id,subscription_id,effective_date,amount,interval,term_months,"
        "plan,quantity,description,target_event_id,currency,rate,source,trial_end,resume_date,"
        "percent_off,amount_off,duration_months,reason,note"
    )
    filled = tmp_path / "events.csv"
    filled.write_text(out)
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    assert arr("init", "--db", url)[0] == 0
    assert arr("import", str(filled), "--db", url)[:2] == (
        0,
        "imported 13 events, skipped 0 already recorded (positions 1-13)\n",
    )


def test_a_misspelt_field_gets_the_nearest_name(ledger: Ledger) -> None:
    row = {"event_id": "e1", "type": "new", "customer_id": "a", "subscription_id": "s"}
    row |= {"effective_date": "2024-01-01", "amount": "5"}
    with pytest.raises(Refused) as refused:
        ledger.import_rows(
            [
                Row("f.csv:2", row | {"term": "12"}),
                Row("f.csv:3", row | {"ammount": "5", "event_id": "e2"}),
            ]
        )
    assert [str(p) for p in refused.value.problems] == [
        "f.csv:2: term: not a field of this event type (value '12'); did you mean term_months?",
        "f.csv:3: ammount: not a field of this event type (value '5'); did you mean amount?",
    ]


@pytest.mark.parametrize(
    ("header", "said"),
    [
        (
            "event_id;type;customer_id\n",
            "the header row is ';'-separated ('event_id;type;customer_id'): separate the "
            "columns with commas",
        ),
        (
            "Event ID,Type,Customer,Amount\n",
            "the header row must name the fields; 'Event ID' — did you mean event_id?; 'Type' "
            "— did you mean type?; 'Customer' — did you mean customer_id?; 'Amount' — did you "
            "mean amount?",
        ),
        (
            "id,kind\n",
            "the header row must name the fields (event_id, type, customer_id, …), but it has "
            "'id', 'kind': see `arr fields`, or `arr template` for a file to fill in",
        ),
    ],
)
def test_header_problems_say_what_was_found_and_what_to_do(
    ledger: Ledger, tmp_path: Path, header: str, said: str
) -> None:
    path = tmp_path / "events.csv"
    path.write_text(header + "e1,new,acme\n")
    with pytest.raises(Refused) as refused:
        ledger.import_files([str(path)])
    assert [str(p) for p in refused.value.problems] == [f"{path}:1: {said}"]


def test_an_id_repeated_in_one_file_names_both_lines_and_the_fields(
    ledger: Ledger, tmp_path: Path
) -> None:
    path = tmp_path / "events.csv"
    path.write_text(
        "event_id,type,customer_id,subscription_id,effective_date,amount,plan\n"
        "e1,new,acme,s1,2024-01-01,100,pro\n"
        "e2,new,bolt,s2,2024-01-01,50,\n"
        "e1,new,acme,s1,2024-02-01,100,\n"
    )
    with pytest.raises(Refused) as refused:
        ledger.import_files([str(path)])
    assert [str(p) for p in refused.value.problems] == [
        f"{path}:4: event_id 'e1' appears on lines 2 and 4 with other content: effective_date "
        "'2024-01-01' there, '2024-02-01' here; plan 'pro' there, absent here"
    ]
    assert ledger.head() == 0


def test_a_conflict_with_a_recorded_event_names_its_position_and_the_fields(
    ledger: Ledger,
) -> None:
    row = {"event_id": "e1", "type": "new", "customer_id": "a", "subscription_id": "s"}
    ledger.append(row | {"effective_date": "2024-01-01", "amount": "5"})
    with pytest.raises(Refused) as refused:
        ledger.append(row | {"effective_date": "2024-01-01", "amount": "6"})
    assert [str(p) for p in refused.value.problems] == [
        "event: event_id 'e1' is already recorded (position 1) with other content: amount "
        "'5' recorded, '6' here"
    ]


def test_a_lowercase_currency_is_taken_and_the_api_says_what_it_means(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    assert arr("init", "--db", url, "--currency", "eur")[:2] == (
        0,
        f"ledger ready at {url} (EUR)\n",
    )
    with pytest.raises(UsageError) as wrong:
        Ledger.init(f"sqlite:///{tmp_path / 'other.db'}", currency="usd")
    assert (
        str(wrong.value)
        == "currency: 'usd' is not a three-letter currency code: did you mean 'USD'?"
    )


def test_a_bare_file_name_as_db_gets_the_url_to_give(tmp_path: Path) -> None:
    assert arr("init", "--db", "ledger.db")[0::2] == (
        1,
        "error: --db: 'ledger.db' is not a database URL (for a SQLite file: sqlite:///ledger.db)\n",
    )


def test_csv_piped_to_standard_input_is_one_line_saying_stdin_takes_json_lines(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    assert arr("init", "--db", url)[0] == 0
    given = "event_id,type,customer_id\ne1,new,acme\ne2,new,bolt\n"
    assert arr("import", "-", "--db", url, given=given)[0::2] == (
        1,
        "<stdin>:1: standard input takes JSON Lines (one JSON object per line), and this looks "
        "like CSV: give the file's name instead (arr import events.csv)\nnothing was written\n",
    )
