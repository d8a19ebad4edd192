"""One CLI convention for every subcommand (table-driven over the real parsers)."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pytest
from io_helpers import write_native

from ccreco.cli import build_parser, main
from ccreco.cli._args import DEFAULT_SEED, HelpFormatter
from ccreco.cli.hpo import resolve_space, shipped_spaces
from ccreco.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]

# command -> what the convention requires of it:
#   inputs: positional FILE inputs; output: "file", "dir" or None; schema: --schema/--mapping;
#   seed: --seed (default DEFAULT_SEED); chunk: --chunk-size; plots: --plots [DIR]/--no-plots;
#   required: other required options, to parse a minimal command line;
#   old: deprecated spellings that must still parse, hidden from --help.
TABLE: dict[tuple[str, ...], dict] = {
    ("inspect",): dict(inputs=True, output=None, schema=True, seed=False, chunk=False, plots=False),
    ("simulate",): dict(inputs=False, output="file", schema=False, seed=True, chunk=True, plots=True,
                        required=["-n", "10"]),
    ("reco",): dict(inputs=True, output="dir", schema=True, seed=False, chunk=True, plots=True, old=["--outdir"]),
    ("evaluate", "peaks"): dict(inputs=True, output=None, schema=True, seed=False, chunk=True, plots=False,
                                old=["--data", "--step-size"]),
    ("evaluate", "clusters"): dict(inputs=True, output=None, schema=True, seed=False, chunk=True, plots=False,
                                   old=["--data", "--step-size"]),
    ("train", "peaks"): dict(inputs=True, output="file", schema=True, seed=True, chunk=False, plots=True,
                             old=["--data"]),
    ("train", "clusters"): dict(inputs=True, output="file", schema=True, seed=True, chunk=False, plots=True,
                                required=["--peak-model", "m.onnx"], old=["--data"]),
    ("train", "perpeak"): dict(inputs=True, output="file", schema=True, seed=True, chunk=False, plots=True),
    ("train", "runlevel"): dict(inputs=True, output="file", schema=True, seed=False, chunk=False, plots=True),
    ("tune",): dict(inputs=True, output="file", schema=True, seed=True, chunk=True, plots=True),
    ("pid",): dict(inputs=False, output="dir", schema=False, seed=True, chunk=False, plots=True, old=["--outdir"]),
    ("compare",): dict(inputs=True, output="dir", schema=True, seed=False, chunk=False, plots=True,
                       old=["--outdir"]),
    ("hpo", "peaks"): dict(inputs=True, output="dir", schema=True, seed=True, chunk=False, plots=True,
                           required=["--space", "peaks"], old=["--data", "--outdir"]),
    ("hpo", "clusters"): dict(inputs=True, output="dir", schema=True, seed=True, chunk=False, plots=True,
                              required=["--space", "clusters"], old=["--data", "--outdir"]),
    ("hpo", "perpeak"): dict(inputs=True, output="dir", schema=True, seed=True, chunk=False, plots=True,
                             required=["--space", "perpeak"], old=["--data", "--outdir"]),
}


def leaves(parser: argparse.ArgumentParser,
           path: tuple[str, ...] = ()) -> dict[tuple[str, ...], argparse.ArgumentParser]:
    """Every runnable (sub)command parser, by its command path."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        return {path: parser}
    out = {}
    for name, sub in subs[0].choices.items():
        out.update(leaves(sub, (*path, name)))
    return out


PARSERS = leaves(build_parser())


def options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {s: a for a in parser._actions for s in a.option_strings}


def parse(path: tuple[str, ...], *extra: str) -> argparse.Namespace:
    spec = TABLE[path]
    inputs = ["a.root", "b.root"] if spec["inputs"] else []
    if path == ("inspect",):
        inputs = ["a.root"]
    return build_parser().parse_args([*path, *inputs, *spec.get("required", []), *extra])


def test_table_covers_every_subcommand():
    assert set(PARSERS) == set(TABLE)


@pytest.mark.parametrize("path", list(TABLE), ids=" ".join)
def test_convention(path, capsys):
    spec = TABLE[path]
    p = PARSERS[path]
    opts = options(p)
    # help: the shared formatter shows defaults, and an example of this very command ends it
    assert p.formatter_class is HelpFormatter
    assert p.epilog and p.epilog.startswith("examples:\n") and f"ccreco {' '.join(path)} " in p.epilog
    text = p.format_help()
    assert "(default: " in text or path == ("inspect",) or "default" in text
    for action in p._actions:  # no default typed by hand next to the formatter's
        assert not re.search(r"\(default \d", action.help or ""), (path, action.help)
    # inputs are positional
    positional = [a for a in p._actions if not a.option_strings and not isinstance(a, argparse._SubParsersAction)]
    if spec["inputs"]:
        assert positional, path
        args = parse(path)
        got = [getattr(args, a.dest) for a in positional]
        assert "a.root" in str(got)
    else:
        assert not positional
    # -o/--output
    if spec["output"]:
        assert opts["-o"] is opts["--output"] and opts["-o"].dest == "output"
        assert parse(path, "-o", "X").output == "X"
    else:
        assert "-o" not in opts and "--output" not in opts
    # --schema NAME / --mapping FILE.toml, exclusive
    if spec["schema"]:
        assert opts["--schema"].default == "native" and opts["--mapping"].metavar == "FILE.toml"
        with pytest.raises(SystemExit):
            parse(path, "--schema", "cepc", "--mapping", "m.toml")
        capsys.readouterr()
    else:
        assert "--schema" not in opts and "--mapping" not in opts
    # --json [FILE]
    assert opts["--json"].nargs == "?" and parse(path, "--json", "out.json").json == "out.json"
    assert parse(path, "--json").json == "-" and parse(path).json is None
    # --seed, one default
    if spec["seed"]:
        assert parse(path).seed == DEFAULT_SEED and parse(path, "--seed", "7").seed == 7
    else:
        assert "--seed" not in opts
    # --chunk-size
    if spec["chunk"]:
        assert parse(path, "--chunk-size", "123").chunk_size == 123
    else:
        assert "--chunk-size" not in opts
    # --plots [DIR] / --no-plots
    if spec["plots"]:
        assert parse(path, "--no-plots").plots is False
        assert parse(path, "--plots").plots is True
        assert parse(path, "--plots", "D").plots == "D"
    else:
        assert "--plots" not in opts and "--no-plots" not in opts
    # deprecated spellings parse and stay out of --help
    for old in spec.get("old", []):
        assert old in opts and opts[old].help == argparse.SUPPRESS and old not in text


def test_deprecated_aliases_store_into_new_names(capsys):
    args = build_parser().parse_args(["evaluate", "peaks", "--data", "x.root", "y.root", "--step-size", "7"])
    assert args.data_files == ["x.root", "y.root"] and args.chunk_size == 7
    assert "--data is deprecated" in capsys.readouterr().err
    args = build_parser().parse_args(["compare", "a.root", "b.root", "--outdir", "out"])
    assert args.output == "out"


def test_output_required_and_inputs_required(tmp_path, capsys):
    assert main(["compare", "a.root", "b.root"]) == 2
    assert "-o/--output is required" in capsys.readouterr().err
    assert main(["evaluate", "peaks", "--method", "deriv"]) == 2
    assert "at least one input FILE" in capsys.readouterr().err


def test_inspect_json_file_and_stdout(tmp_path, capsys):
    f = write_native(tmp_path / "n.root", 10)
    out = tmp_path / "sub" / "report.json"
    assert main(["inspect", str(f), "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "entries:     10" in text  # text report on stdout, JSON in the file
    assert json.loads(out.read_text())["entries"] == 10
    assert main(["inspect", str(f), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True


def test_mapping_everywhere_files_are_read(tmp_path, capsys):
    f = write_native(tmp_path / "n.root", 10)
    bad = tmp_path / "bad.toml"
    bad.write_text("tre = 'x'\n")
    assert main(["evaluate", "peaks", str(f), "--mapping", str(bad)]) == 2
    assert "unknown key 'tre'" in capsys.readouterr().err
    good = tmp_path / "same.toml"
    good.write_text('preset = "native"\n')
    assert main(["evaluate", "clusters", str(f), "--mapping", str(good), "--method", "deriv"]) == 0


def test_hpo_space_shipped_names(tmp_path, monkeypatch):
    assert {"peaks", "clusters", "perpeak"} <= set(shipped_spaces())
    for name in ("peaks", "clusters", "perpeak"):
        shipped = resolve_space(name)
        # the shipped copies are the examples/ files, byte for byte
        assert shipped.read_bytes() == (ROOT / "examples" / f"hpo_space_{name}.toml").read_bytes()
    monkeypatch.chdir(tmp_path)  # outside the clone, the README's path still resolves
    assert resolve_space("examples/hpo_space_peaks.toml") == resolve_space("peaks")
    with pytest.raises(ConfigError, match="shipped: clusters, peaks"):
        resolve_space("nope.toml")


def test_evaluate_threshold_works_for_lstm(tmp_path, capsys):
    from ccreco.sim import SimConfig, simulate_to_file

    f = tmp_path / "sim.root"
    simulate_to_file(f, SimConfig.from_preset("tb2023-untuned"), 40, seed=5, progress=False)
    results = {}
    for thr in ("0.05", "0.95"):
        out = tmp_path / f"t{thr}.json"
        assert main(["evaluate", "peaks", str(f), "--method", "lstm", "--threshold", thr, "--json", str(out)]) == 0
        results[thr] = json.loads(out.read_text())
    capsys.readouterr()
    assert results["0.05"]["options"]["threshold"] == "0.05"
    # a lower working point selects more windows: higher recall, lower precision
    assert results["0.05"]["recall"] > results["0.95"]["recall"]
    assert results["0.05"]["precision"] < results["0.95"]["precision"]
    # --set threshold= wins over --threshold (one value, not two)
    out = tmp_path / "set.json"
    assert main(["evaluate", "peaks", str(f), "--method", "lstm", "--threshold", "0.05", "--set", "threshold=0.95",
                 "--json", str(out)]) == 0
    assert json.loads(out.read_text())["recall"] == results["0.95"]["recall"]
    # methods without scores say so
    assert main(["evaluate", "peaks", str(f), "--method", "deriv", "--threshold", "0.5"]) == 2
    assert "--threshold applies to methods with window scores" in capsys.readouterr().err


def test_preset_names_in_help_equal_the_tables():
    from ccreco.cli import _args
    from ccreco.models.config import CLUSTER_PRESETS, PEAK_PRESETS
    from ccreco.sim import PRESETS

    assert _args.SIM_PRESETS == tuple(sorted(PRESETS))
    assert _args.PEAK_MODEL_PRESETS == tuple(sorted(PEAK_PRESETS))
    assert _args.CLUSTER_MODEL_PRESETS == tuple(sorted(CLUSTER_PRESETS))
    expected = {("simulate",): (PRESETS, "tb2023-untuned"), ("tune",): (PRESETS, "tb2023-untuned"),
                ("pid",): (PRESETS, "pid"), ("train", "peaks"): (PEAK_PRESETS, "compact"),
                ("train", "clusters"): (CLUSTER_PRESETS, "ihep")}
    with_preset = {path for path, p in PARSERS.items() if "--preset" in options(p)}
    assert with_preset == set(expected)
    for path, (table, default) in expected.items():
        action = options(PARSERS[path])["--preset"]
        assert action.default == default and default in table
        help_text = " ".join(PARSERS[path].format_help().split())
        for name in table:
            assert re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", action.help), (path, name)
        assert f"(default: {default})" in help_text, path


@pytest.mark.parametrize("argv", [["simulate", "-n", "3", "-o", "{tmp}/x.root"],
                                  ["tune", "{tmp}/none.root", "-o", "{tmp}/t.toml"],
                                  ["pid", "-o", "{tmp}/pid"],
                                  ["train", "peaks", "{tmp}/none.root", "-o", "{tmp}/m.onnx"],
                                  ["train", "clusters", "{tmp}/none.root", "--peak-model", "{tmp}/m.onnx",
                                   "-o", "{tmp}/c.onnx"]], ids=lambda a: " ".join(a[:2]))
def test_unknown_preset_is_one_line_naming_the_known(argv, tmp_path, capsys):
    from ccreco.cli import _args

    known = {"simulate": _args.SIM_PRESETS, "tune": _args.SIM_PRESETS, "pid": _args.SIM_PRESETS,
             "peaks": _args.PEAK_MODEL_PRESETS, "clusters": _args.CLUSTER_MODEL_PRESETS}[argv[1] if argv[0] == "train"
                                                                                          else argv[0]]
    assert main([a.format(tmp=tmp_path) for a in argv] + ["--preset", "nope"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nope" in err[0], err
    assert all(name in err[0] for name in known), err
    assert not any(tmp_path.iterdir())


def test_evaluate_without_what_prints_its_help(capsys) -> None:
    """``ccreco evaluate`` alone shows what it can evaluate (it used to complain about input files)."""
    from ccreco.cli import main

    assert main(["evaluate"]) == 2
    out = capsys.readouterr()
    assert "usage: ccreco evaluate" in out.out and "peaks" in out.out and "input FILE" not in out.err
