"""The one YAML reader: the line map, faithful values, and hostile input refused with file:line (never a hang, a
traceback or a crash), through the loader and through every command that reads each kind of file."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml

from asrctl import yamlfile
from asrctl.errors import BadInput
from asrctl.yamlfile import MAX_DEPTH, load_yaml, parse_once, parse_yaml

PROJECT = Path(__file__).resolve().parent.parent
SAMPLES = sorted(
    [*PROJECT.glob("stacks/*.yaml"), *PROJECT.glob("runbooks/plans/*.yaml"), *PROJECT.glob("tests/fixtures/**/*.yaml"),
     PROJECT / "policy" / "config.example.json", PROJECT / "policy" / "PulumiPolicy.yaml"]
)

# A "billion laughs": nine levels of ten aliases each would be 10^9 strings.
ALIAS_BOMB = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 10)}]\n" for i in range(8)
)

# (id, text, line, fragment): each must be refused at that line with a message containing the fragment.
HOSTILE = [
    ("control-character", "name: ok\ndescription: bell\x07here\n", 2,
     "control character U+0007 (BEL) at column 18; YAML allows tabs and line breaks"),
    ("escape-sequence", "name: ok\ndescription: \x1b[31mred\n", 2, "control character U+001B (ESC) at column 14"),
    ("nul-byte", "name: ok\x00\n", 1, "control character U+0000 (NUL) at column 9"),
    ("alias-bomb", ALIAS_BOMB, 2, "YAML alias *a is not supported; write the value out"),
    ("deep-flow-nesting", "name: " + "[" * 100_000 + "]" * 100_000 + "\n", 1, f"nested deeper than {MAX_DEPTH} levels"),
    ("deep-block-nesting", "".join("  " * i + "k:\n" for i in range(MAX_DEPTH + 5)), MAX_DEPTH + 1,
     f"nested deeper than {MAX_DEPTH} levels"),
    ("duplicate-key", "name: a\ngroups: []\nname: b\n", 3, "duplicate key 'name'; keep one of them"),
    ("merge-key", "base: {x: 1}\nother:\n  <<: {y: 2}\n", 3, "YAML merge keys (<<) are not supported"),
    ("python-tag", "name: !!python/object/apply:os.system [id]\n", 1, "YAML tag !!python/object/apply:os.system"),
    ("custom-tag", "name: !Ref other\n", 1, "YAML tag !Ref is not supported here"),
    ("two-documents", "name: a\n---\nname: b\n", 2, "a second document starts here"),
    ("not-utf8", "description: caf\xe9\n".encode("latin-1"), 1, "not UTF-8 text (byte 0xe9)"),
    ("syntax-error", "name: [a, b\ngroups: 3\n", 2, "invalid YAML: expected ',' or ']', but got ':'"),
]


def _write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------------------------
# What a good file gives


def test_every_key_and_list_item_has_its_line(tmp_path: Path) -> None:
    doc = load_yaml(_write(tmp_path / "t.yaml", (
        "# comment\n"
        "config:\n"
        "  ns:machines:\n"
        "  - name: a\n"
        "    disks: [{sizeGb: 64}, {sizeGb: 128}]\n"
        "  -\n"
        "    name: b\n"
        "  ns:tags: {owner: me}\n"
    )))
    assert doc.data == {"config": {"ns:machines": [{"name": "a", "disks": [{"sizeGb": 64}, {"sizeGb": 128}]},
                                                   {"name": "b"}], "ns:tags": {"owner": "me"}}}
    assert doc.lines == {
        (): 2, ("config",): 2, ("config", "ns:machines"): 3,
        ("config", "ns:machines", 0): 4, ("config", "ns:machines", 0, "name"): 4,
        ("config", "ns:machines", 0, "disks"): 5, ("config", "ns:machines", 0, "disks", 0): 5,
        ("config", "ns:machines", 0, "disks", 0, "sizeGb"): 5, ("config", "ns:machines", 0, "disks", 1): 5,
        ("config", "ns:machines", 0, "disks", 1, "sizeGb"): 5,
        ("config", "ns:machines", 1): 7, ("config", "ns:machines", 1, "name"): 7,  # a block mapping starts at its key
        ("config", "ns:tags"): 8, ("config", "ns:tags", "owner"): 8,
    }
    assert doc.where(("config", "ns:machines", 1, "name")) == f"{doc.path}:7"
    assert doc.line_of(("config", "ns:machines", 0, "no-such-key")) == 4  # nearest ancestor


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: str(p.relative_to(PROJECT)))
def test_samples_read_exactly_as_pyyaml_reads_them(path: Path) -> None:
    assert load_yaml(path).data == yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)


def test_scalar_types_are_safe_loaders() -> None:
    text = (
        "date: 2026-01-01\nstamp: 2026-01-01T10:00:00Z\nnothing: ~\nempty:\nyes_: yes\nno_: off\nhex: 0x1f\n"
        "octal: 017\nsexagesimal: 1:30\nfloat: 1.5\nnot_float: 1.5e3\ninf: .inf\nquoted: '5'\nforced: !!str 5\n"
        "nonspecific: ! 5\nint_tag: !!int '7'\nbinary: !!binary aGk=\nport: \"1433\"\n2: two\ntrue: t\n"
        "block: |\n  two\n  lines\n"
    )
    assert parse_yaml(text, Path("t.yaml")).data == yaml.load(text, Loader=yaml.SafeLoader)


def test_empty_file_and_empty_document() -> None:
    assert parse_yaml("", Path("t.yaml")).data is None
    assert parse_yaml("# only a comment\n", Path("t.yaml")).lines == {(): 1}
    assert parse_yaml("---\n", Path("t.yaml")).data is None


def test_crlf_files_have_the_same_lines(tmp_path: Path) -> None:
    doc = load_yaml(_write(tmp_path / "t.yaml", b"a: 1\r\nb:\r\n  - x\r\n"))
    assert doc.data == {"a": 1, "b": ["x"]} and doc.lines[("b", 0)] == 3


def test_json_indented_with_tabs_is_read(tmp_path: Path) -> None:
    """A --policy-pack-config file is JSON, where tabs are whitespace; libyaml reads it (PyYAML's own parser did not)."""
    assert yaml.__with_libyaml__, "this PyYAML lacks libyaml: install the pinned wheel (pip install -r requirements.txt)"
    doc = load_yaml(_write(tmp_path / "policy.json", '{\n\t"storage-https-only": "advisory",\n\t"all": "mandatory"\n}\n'))
    assert doc.data == {"storage-https-only": "advisory", "all": "mandatory"} and doc.lines[("all",)] == 3


def test_without_libyaml_the_pure_python_parser_gives_the_same_result(monkeypatch: pytest.MonkeyPatch) -> None:
    path = PROJECT / "stacks" / "Pulumi.prod.yaml"
    fast = load_yaml(path)
    monkeypatch.setattr(yamlfile, "_FastLoader", yaml.SafeLoader)
    slow = load_yaml(path)
    assert (slow.data, slow.lines) == (fast.data, fast.lines)
    with pytest.raises(BadInput, match=r"t\.yaml:1: nested deeper than"):
        parse_yaml("[" * 10_000, Path("t.yaml"))


# ---------------------------------------------------------------------------------------------------------------
# Hostile input: one line, file:line, the fix


@pytest.mark.parametrize(("text", "line", "fragment"), [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE])
def test_hostile_input_is_refused_with_file_and_line(tmp_path: Path, text: str | bytes, line: int, fragment: str) -> None:
    with pytest.raises(BadInput) as info:
        load_yaml(_write(tmp_path / "t.yaml", text))
    message = str(info.value)
    assert message.startswith(f"{tmp_path / 't.yaml'}:{line}: "), message
    assert fragment in message and "\n" not in message, message


def test_a_file_larger_than_the_bound_is_refused_before_it_is_read(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlfile, "MAX_FILE_BYTES", 1024 * 1024)
    with pytest.raises(BadInput, match=r"t\.yaml:1: larger than 1 MB, the most asrctl reads from one YAML file"):
        load_yaml(_write(tmp_path / "t.yaml", "a: " + "x" * (1024 * 1024) + "\n"))
    with pytest.raises(BadInput, match=r"^/dev/zero:1: larger than"):  # a device has no size: the read is bounded
        load_yaml(Path("/dev/zero"))


def test_unreadable_paths(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match=r"nope\.yaml: file not found$"):
        load_yaml(tmp_path / "nope.yaml")
    with pytest.raises(BadInput, match=r"is a directory, not a YAML file$"):
        load_yaml(tmp_path)


# ---------------------------------------------------------------------------------------------------------------
# One parse per file per command


def test_parse_once_reuses_an_unchanged_file_and_rereads_a_changed_one(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path / "t.yaml", "a: 1\n")
    parses: list[str] = []
    real = yamlfile.parse_yaml
    monkeypatch.setattr(yamlfile, "parse_yaml", lambda text, p: parses.append(text) or real(text, p))
    load_yaml(path), load_yaml(path)
    assert len(parses) == 2  # outside the block every read parses
    with parse_once():
        first = load_yaml(path)
        assert load_yaml(path) is first and len(parses) == 3
        with parse_once():  # nested blocks share the outer one
            assert load_yaml(path) is first
        _write(path, "a: 22\n")
        os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
        assert load_yaml(path).data == {"a": 22} and len(parses) == 4
    load_yaml(path)
    assert len(parses) == 5


# ---------------------------------------------------------------------------------------------------------------
# Every kind of file, through the command that reads it

CLI_CASES = [h for h in HOSTILE if h[0] not in ("syntax-error",)]


def _assert_one_line_exit_2(result, path_fragment: str, fragment: str) -> None:
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert path_fragment in result.stderr and fragment in result.stderr, result.stderr


@pytest.mark.parametrize(("text", "line", "fragment"), [h[1:] for h in CLI_CASES], ids=[h[0] for h in CLI_CASES])
def test_plan_file(cli, tmp_path: Path, text: str | bytes, line: int, fragment: str) -> None:
    path = _write(tmp_path / "bad.yaml", text)
    _assert_one_line_exit_2(cli("plan", "validate", str(path), "--stack", "dev"), f"bad.yaml:{line}:", fragment)


@pytest.mark.parametrize(("text", "line", "fragment"), [h[1:] for h in CLI_CASES], ids=[h[0] for h in CLI_CASES])
def test_policy_config_file(cli, tmp_path: Path, text: str | bytes, line: int, fragment: str) -> None:
    path = _write(tmp_path / "policy.yaml", text)
    result = cli("policy", "check", "--stack", "dev", "--config", str(path))
    _assert_one_line_exit_2(result, f"policy.yaml:{line}:", fragment)


@pytest.mark.parametrize(("text", "line", "fragment"), [h[1:] for h in CLI_CASES], ids=[h[0] for h in CLI_CASES])
def test_simulator_fault_file(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str | bytes, line: int,
                              fragment: str) -> None:
    monkeypatch.setenv("ASRCTL_SIM_FAULTS", str(_write(tmp_path / "faults.yaml", text)))
    _assert_one_line_exit_2(cli("readiness", "erp", "--stack", "dev"), f"ASRCTL_SIM_FAULTS: {tmp_path}/faults.yaml:{line}:",
                            fragment)


@pytest.mark.parametrize(("text", "line", "fragment"), [h[1:] for h in CLI_CASES], ids=[h[0] for h in CLI_CASES])
def test_stack_file(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str | bytes, line: int,
                    fragment: str) -> None:
    project = tmp_path / "project"
    (project / "stacks").mkdir(parents=True)
    shutil.copy(PROJECT / "Pulumi.yaml", project / "Pulumi.yaml")
    (project / "runbooks").symlink_to(PROJECT / "runbooks")
    _write(project / "stacks" / "Pulumi.bad.yaml", text)
    monkeypatch.setenv("ASRCTL_PROJECT_DIR", str(project))
    _assert_one_line_exit_2(cli("plan", "validate", "erp", "--stack", "bad"), f"Pulumi.bad.yaml:{line}:", fragment)
