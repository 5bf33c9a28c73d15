"""Unknown settings keys are errors, in citecast.toml and in CITECAST_* variables; documented ones all work."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import get_args, get_origin

import pytest
from pydantic import BaseModel
from typer.testing import CliRunner

from citecast import channels as registry
from citecast.cli import app
from citecast.settings import KNOWN_CHANNELS, ConfigError, Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def _append(project, text: str) -> None:
    """A citecast.toml of one [site] table and `text`."""
    project.config.write_text('[site]\nbase_url = "https://example.org"\n\n' + text + "\n")


def _error(project) -> str:
    with pytest.raises(ConfigError) as caught:
        _load()
    return str(caught.value)


def _load():
    settings = load_settings()
    settings.check_channel_options({n: registry.settings_keys(n) for n in settings.channels})
    return settings


def _line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if line.startswith(text))


def test_a_misspelt_key_in_the_file_names_file_line_key_and_the_nearest(project):
    project.config.write_text(project.config.read_text().replace("base_url =", "base_ulr =", 1))
    line = _line_of(project.config, "base_ulr")
    message = _error(project)
    assert f"{project.config}:{line}: error: site.base_ulr: unknown setting (fix: did you mean site.base_url?)" in message


@pytest.mark.parametrize("table, key, nearest", [
    ("[llm]\nmodle = 'x'", "llm.modle", "llm.model"),
    ("[citations]\nsampels = 2", "citations.sampels", "citations.samples"),
    ("[citations.engines.mine]\nkind = 'chat'\nmodle = 'm'", "citations.engines.mine.modle",
     "citations.engines.mine.model"),
    ("[schedule]\nprobe_crn = '0 1 * * *'", "schedule.probe_crn", "schedule.probe_cron"),
    ("[channels.mastodon]\nvisiblity = 'public'", "channels.mastodon.visiblity", "channels.mastodon.visibility"),
    ("[channels.reddit.extra]\nx = 1", "channels.reddit.extra", None),
    ("[sitee]\nname = 'x'", "sitee", "site"),
])
def test_unknown_keys_in_every_table_are_errors(project, table, key, nearest):
    _append(project, table)
    message = _error(project)
    assert f": error: {key}: unknown setting" in message
    assert str(project.config) in message
    if nearest:
        assert f"did you mean {nearest}?" in message


def test_a_misspelt_channel_option_is_refused_not_ignored(project):
    project.config.write_text(project.config.read_text().replace('subreddit = "test"', 'subredit = "test"'))
    message = _error(project)
    line = _line_of(project.config, "subredit")
    assert f"{project.config}:{line}: error: channels.reddit.subredit: unknown setting" in message
    assert "did you mean channels.reddit.subreddit?" in message


COMMANDS = [["check"], ["ledger"], ["channels"], ["funnel"], ["engagement"], ["logs", "agents"], ["cohorts", "show"],
            ["queries", "suggest"], ["report", "--power"], ["import", "logs", "access.log"]]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_misspelt_channel_option_stops_every_command(project, command):
    """Every command loads settings the one way (cli.common.load_settings), adapters' keys checked."""
    project.config.write_text(project.config.read_text().replace('subreddit = "test"', 'subredit = "test"'))
    (project.root / "access.log").write_text("")
    result = runner.invoke(app, command)
    assert result.exit_code == 2, result.output
    assert "channels.reddit.subredit: unknown setting" in result.output


def test_an_unknown_channel_table_lists_the_channels(project):
    _append(project, "[channels.twitter]\nuser_id = '1'")
    message = _error(project)
    assert "channels.twitter: unknown setting (fix: valid keys here: x, linkedin, reddit, bluesky, mastodon)" in message


def test_free_mappings_stay_free(project):
    _append(project, "[distribution.utm]\nutm_source = '{channel}'\nanything_goes = 'yes'\n"
                     "[citations.engines.local]\nkind = 'chat'\nmodel = 'llama3.1'\nbase_url = 'http://127.0.0.1:9/v1'")
    settings = _load()
    assert settings.distribution.utm == {"utm_source": "{channel}", "anything_goes": "yes"}
    assert settings.citations.engines["local"].model == "llama3.1"


@pytest.mark.parametrize("name, nearest", [
    ("CITECAST_LLM__MODLE", "CITECAST_LLM__MODEL"),
    ("CITECAST_DISTRIBUTON__DAILY_CAP", "CITECAST_DISTRIBUTION"),
    ("CITECAST_CHANNELS__REDDIT__SUBREDIT", "CITECAST_CHANNELS__REDDIT__SUBREDDIT"),
    ("CITECAST_CITATIONS__ENGINES__OPENAI__MODLE", "CITECAST_CITATIONS__ENGINES__OPENAI__MODEL"),
])
def test_an_unknown_variable_is_an_error_naming_it_and_the_nearest(project, monkeypatch, name, nearest):
    monkeypatch.setenv(name, "1")
    message = _error(project)
    assert message.startswith(f"{name}: error: ")
    assert f"did you mean {nearest}?" in message


def test_one_underscore_where_two_belong_is_explained(project, monkeypatch):
    monkeypatch.setenv("CITECAST_DISTRIBUTION_DAILY_CAP", "3")
    message = _error(project)
    assert "did you mean CITECAST_DISTRIBUTION__DAILY_CAP?" in message and "two underscores" in message


def test_the_cli_reports_every_bad_key_and_exits_2(project, monkeypatch):
    _append(project, "[llm]\nmodle = 'x'")
    monkeypatch.setenv("CITECAST_SITE__NAEM", "x")
    for command in (["check"], ["run", "--local"], ["channels"], ["ledger"], ["probe"], ["report"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2, (command, result.output)
        assert "llm.modle" in result.output and "CITECAST_SITE__NAEM" in result.output, command
        assert "did you mean CITECAST_SITE__NAME?" in result.output


def test_variables_override_one_key_and_keep_the_rest_of_the_table(project, monkeypatch):
    monkeypatch.setenv("CITECAST_CHANNELS__REDDIT__TIMEOUT", "3")
    monkeypatch.setenv("CITECAST_DISTRIBUTION__CHANNELS", '["x", "mastodon"]')
    settings = _load()
    assert settings.channels["reddit"] == {"subreddit": "test", "timeout": "3"}
    assert settings.distribution.channels == ["x", "mastodon"]
    monkeypatch.setenv("CITECAST_DISTRIBUTION__CHANNELS", "x, mastodon")
    assert "CITECAST_DISTRIBUTION__CHANNELS: error: distribution.channels: not valid JSON" in _error(project)


def test_a_bad_value_from_a_variable_names_the_variable(project, monkeypatch):
    monkeypatch.setenv("CITECAST_LLM__CONCURRENCY", "0")
    assert _error(project).startswith("CITECAST_LLM__CONCURRENCY: error: llm.concurrency: ")


def _models(annotation, seen=None):
    seen = set() if seen is None else seen
    if isinstance(annotation, type) and issubclass(annotation, BaseModel) and annotation not in seen:
        seen.add(annotation)
        for field in annotation.model_fields.values():
            _models(field.annotation, seen)
    for arg in get_args(annotation):
        _models(arg, seen)
    return seen


def test_every_settings_table_forbids_unknown_keys():
    loose = [m.__name__ for m in _models(Settings) if m.model_config.get("extra") != "forbid"]
    assert loose == [], "derive settings tables from citecast.settings.Table"


def _documented_variables() -> set[str]:
    names = set()
    for path in [ROOT / "README.md", ROOT / "citecast.toml", *(ROOT / "docs").glob("*.md"),
                 ROOT / "benchmarks" / "README.md"]:
        names |= set(re.findall(r"CITECAST_[A-Z0-9_]*[A-Z0-9]", path.read_text()))
    misspelt_on_purpose = {"CITECAST_LLM__MODLE"}  # the README's example of an error
    return {n for n in names if "__" in n and not n.endswith("__")} - misspelt_on_purpose


def test_every_documented_variable_is_a_setting(project, monkeypatch):
    from citecast.settings import _read_env

    documented = _documented_variables()
    assert "CITECAST_LEDGER__URL" in documented and "CITECAST_LLM__MODEL" in documented
    _, _, problems = _read_env({name: "1" for name in documented})
    assert problems == []


def _documented_channel_options() -> dict[str, set[str]]:
    """The `Settings ([channels.<name>])` column of docs/channels.md."""
    found = {}
    for line in (ROOT / "docs" / "channels.md").read_text().splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) > 4 and cells[1] in KNOWN_CHANNELS:
            found[cells[1]] = set(re.findall(r"`([a-z_]+)`", cells[3])) - {"self", "link"}
            found[cells[1]] |= set(re.findall(r"\(`([a-z_]+_block)`\)", cells[2]))
    return found


def test_every_documented_channel_option_is_accepted():
    documented = _documented_channel_options()
    assert set(documented) == set(KNOWN_CHANNELS)
    for name, keys in documented.items():
        assert keys <= registry.settings_keys(name), (name, keys - registry.settings_keys(name))


def _keys_read(source: str) -> set[str]:
    """Option keys an adapter's source reads: options.get("k"), options["k"], secret(..., "k_block"), f"..._block"."""
    keys = set(re.findall(r"options(?:\.get\(|\[)\"([a-z_]+)\"", source))
    keys |= set(re.findall(r"secret\(\"[A-Z_]+\", options, \"([a-z_]+)\"\)", source))
    for call in ast.walk(ast.parse(source)):
        if isinstance(call, ast.Tuple) and all(isinstance(e, ast.Constant) and str(e.value).isupper() for e in call.elts):
            if '_block"' in source or "_block'" in source:  # credentials read as <ENV minus prefix>_block
                keys |= {str(e.value).split("_", 1)[1].lower() + "_block" for e in call.elts if "_" in str(e.value)}
    for opt in re.findall(r"for opt in \(([^)]*)\)", source):
        keys |= set(re.findall(r"\"([a-z_]+)\"", opt))
    return keys


@pytest.mark.parametrize("name", KNOWN_CHANNELS)
def test_each_adapter_declares_every_option_it_reads(name):
    cls = registry.adapter_class(name)
    source = Path(__import__(cls.__module__, fromlist=["_"]).__file__).read_text()
    read = _keys_read(source) | _keys_read((ROOT / "channels" / "base.py").read_text())
    assert read, name
    declared = registry.settings_keys(name)
    assert read <= declared, f"{name} reads {sorted(read - declared)} but does not declare them"


def test_the_shipped_settings_load(project):
    settings = _load()
    assert settings.site.base_url == "https://citecast.dev"
    assert settings.channel_options("reddit") == {"subreddit": "test"}


def _toml_examples():
    """Every ```toml block of the README and docs/ that parses (some are fragments)."""
    import tomllib

    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for block in re.findall(r"```toml\n(.*?)```", path.read_text(), re.S):
            try:
                yield path.name, tomllib.loads(block)
            except tomllib.TOMLDecodeError:
                continue


def test_every_documented_toml_example_uses_known_keys():
    from citecast.settings import _unknown_in

    examples = list(_toml_examples())
    assert len(examples) >= 3
    for name, data in examples:
        assert list(_unknown_in(data, Settings)) == [], name
        for channel, options in data.get("channels", {}).items():
            assert set(options) <= registry.settings_keys(channel), (name, channel)


def test_the_shipped_citecast_toml_documents_every_settings_key():
    """Every table and key of the settings is in citecast.toml, set or commented out with its
    default; uncommented, the file is still valid settings."""
    import tomllib

    from citecast.settings import EngineSettings, Table

    text = (ROOT / "citecast.toml").read_text()
    data = tomllib.loads(re.sub(r"^# ?(?=\[|[a-z_]+ *=)", "", text, flags=re.M))
    Settings.model_validate(data)  # unknown keys or bad values would raise
    missing = []
    for section, field in Settings.model_fields.items():
        if section == "root":  # set by load_settings, not read from the file
            continue
        if section not in data:
            missing.append(f"[{section}]")
        elif isinstance(field.annotation, type) and issubclass(field.annotation, Table):
            missing += [f"{section}.{key}" for key in field.annotation.model_fields if key not in data[section]]
    engine = next(iter(data["citations"]["engines"].values()))
    missing += [f"citations.engines.<name>.{key}" for key in EngineSettings.model_fields if key not in engine]
    assert missing == [], "document these in citecast.toml (commented out, with the default)"


@pytest.mark.parametrize("value", ["citecast.dev", "ftp://citecast.dev", "https://"])
def test_a_base_url_without_scheme_or_host_is_the_settings_error_not_every_pages(project, value):
    """Else each page whose URL derives from it fails check as a bad canonical_url of its own."""
    project.config.write_text(project.config.read_text().replace('base_url = "https://citecast.dev"',
                                                                 f'base_url = "{value}"', 1))
    line = _line_of(project.config, "base_url")
    message = _error(project)
    assert f"citecast.toml:{line}: error: site.base_url: '{value}' is not an absolute http(s) URL" in message
    assert "e.g. 'https://example.com'" in message and "Value error" not in message


def test_a_base_url_with_a_path_is_accepted(project, monkeypatch):
    monkeypatch.setenv("CITECAST_SITE__BASE_URL", "http://localhost:4000/blog")
    assert _load().site.base_url == "http://localhost:4000/blog"
