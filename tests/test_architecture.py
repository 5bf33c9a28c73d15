"""The house: one installed package, layers that point one way, small definitions."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# Top-level folders installed inside citecast (setuptools package-dir).
MAPPED = {"channels": "citecast.channels", "flows": "citecast.flows", "templates": "citecast.templates"}
MAX_FUNCTION_LINES = 80
MAX_CLASS_LINES = 250


def _package_name(folder: Path) -> str:
    rel = folder.relative_to(ROOT)
    top = rel.parts[0]
    prefix = MAPPED.get(top, top)
    return ".".join([prefix, *rel.parts[1:]])


def test_every_package_in_the_tree_is_installed():
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    found = {
        _package_name(init.parent)
        for top in ("citecast", *MAPPED)
        for init in (ROOT / top).rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    assert found - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"
    assert listed - found == set(), "these are listed but have no __init__.py"


@pytest.fixture(scope="module")
def installed_wheel(tmp_path_factory) -> Path:
    """The wheel a user gets, installed into a bare folder (no editable finder)."""
    work = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(work), str(ROOT)],
        check=True, capture_output=True,
    )
    wheel = next(work.glob("citecast-*.whl"))
    target = work / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, capture_output=True)
    return wheel


def test_the_wheel_holds_one_top_level_package_with_the_templates(installed_wheel):
    names = zipfile.ZipFile(installed_wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"citecast"}
    for template in ("x.md.j2", "linkedin.md.j2", "reddit.md.j2"):
        assert f"citecast/templates/{template}" in names
    assert "citecast/ledger/migrations/versions/0001_initial.py" in names


def test_import_contracts_hold_on_the_installed_package(installed_wheel):
    site = installed_wheel.parent / "site"
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
                            cwd=site, env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" not in result.stdout.lower().replace("0 broken", "")


def test_a_site_folder_with_only_content_and_settings_runs_from_the_wheel(installed_wheel, tmp_path):
    site = installed_wheel.parent / "site"
    (tmp_path / "content").mkdir()
    for page in sorted((ROOT / "content").glob("*.md"))[:2]:
        (tmp_path / "content" / page.name).write_text(page.read_text())
    (tmp_path / "citecast.toml").write_text('[site]\nbase_url = "https://docs.example.org"\n')
    env = {"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "COLUMNS": "200"}
    cli = [sys.executable, "-m", "citecast"]
    check = subprocess.run([*cli, "check"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    run = subprocess.run([*cli, "run", "--local"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    posts = list((tmp_path / "outbox").rglob("*.md"))
    assert len(posts) == 2 * 3, run.stdout
    texts = [p.read_text() for p in posts]
    assert all("https://" in t for t in texts), "every post carries its canonical link"
    assert not any("not found" in t for t in texts)


def _long_definitions():
    for top in ("citecast", "channels", "flows"):
        for path in sorted((ROOT / top).rglob("*.py")):
            source = path.read_text().splitlines()
            for node in ast.walk(ast.parse("\n".join(source))):
                if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    continue
                limit = MAX_CLASS_LINES if isinstance(node, ast.ClassDef) else MAX_FUNCTION_LINES
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                above = source[first - 2] if first >= 2 else ""
                if node.end_lineno - node.lineno + 1 > limit and "# long because:" not in above:
                    yield f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"


def test_no_long_definition_without_a_reason_next_to_it():
    assert list(_long_definitions()) == []


def test_no_bare_top_level_imports_of_our_folders():
    bad = []
    for path in ROOT.rglob("*.py"):
        if ".venv" in path.parts or "build" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            bad += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] in MAPPED]
    assert bad == [], "import citecast.channels / citecast.flows, not the bare folders"
