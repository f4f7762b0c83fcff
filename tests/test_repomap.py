"""The repo map on real repositories: ranking, signatures, budget, project
facts, the cache, the tool and the CLI command."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from agent.repomap import build_repo_map, focus_from_text
from agent.repomap import store
from agent.repomap.store import cache_file
from agent.tokens import count_tokens
from tests.conftest import make_repo, run_cli
from tools.registry import Registry, ToolContext
from tools.repo_map import TOOL

SHOP = {
    "pyproject.toml": '[project]\nname = "shop"\n[project.scripts]\nshop = "shop.cli:main"\n',
    "Dockerfile": "FROM python:3.11\n",
    ".gitignore": "build/\n",
    "build/generated.py": "def should_not_appear():\n    pass\n",
    "shop/__init__.py": "",
    "shop/core.py": (
        "class Money:\n"
        "    def __init__(self, cents: int) -> None:\n        self.cents = cents\n"
        "    def add(self, other: 'Money') -> 'Money':\n        return Money(self.cents + other.cents)\n"
        "    def __repr__(self):\n        return 'Money'\n\n"
        "def format_price(amount: int, currency: str = 'EUR') -> str:\n    return f'{amount} {currency}'\n"
    ),
    "shop/cart.py": (
        "from shop.core import Money, format_price\n\n"
        "class Cart:\n"
        "    def __init__(self):\n        self.items = []\n"
        "    def total(self) -> Money:\n        return Money(sum(i.cents for i in self.items))\n"
        "    def describe(self) -> str:\n        return format_price(self.total().cents)\n"
    ),
    "shop/orders.py": (
        "from .core import Money, format_price\nfrom .cart import Cart\n\n"
        "def place_order(cart: Cart) -> Money:\n    print(format_price(cart.total().cents))\n    return cart.total()\n"
    ),
    "shop/reports.py": (
        "from shop.core import Money, format_price\n\n"
        "def monthly_report(totals: list[Money]) -> str:\n    return format_price(sum(t.cents for t in totals))\n"
    ),
    "shop/leaf.py": "def lonely_helper(x):\n    return x\n",
    "shop/cli.py": (
        "import shop.orders\nfrom shop.cart import Cart\n\n"
        "def main() -> int:\n    shop.orders.place_order(Cart())\n    return 0\n\n"
        "if __name__ == '__main__':\n    main()\n"
    ),
    "shop/web.py": "from shop.reports import monthly_report\n\ndef create_app(config=None):\n    return monthly_report([])\n",
    "shop/broken.py": "def oops(:\n",
    "tests/test_cart.py": "from shop.cart import Cart\n\ndef test_total():\n    assert Cart().total().cents == 0\n",
    "tests/test_core.py": "from shop import core\n\ndef test_add():\n    assert core.Money(1).add(core.Money(2)).cents == 3\n",
}


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "shop", SHOP)


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The languages of the files the store parses (a spy on the real parser)."""
    calls: list[str] = []
    real = store.summarize

    def counting(source: bytes, lang: str):
        calls.append(lang)
        return real(source, lang)

    monkeypatch.setattr(store, "summarize", counting)
    monkeypatch.setattr(store, "PARALLEL_FROM", 10**9)  # in-process, so the spy sees every parse
    return calls


def _section(text: str, path: str) -> str:
    """The lines of the map under `path:`."""
    lines = text.splitlines()
    start = lines.index(f"{path}:")
    body = []
    for line in lines[start + 1 :]:
        if not line.startswith("  "):
            break
        body.append(line)
    return "\n".join(body)


def test_a_module_used_everywhere_ranks_above_a_leaf(shop: Path) -> None:
    text = build_repo_map(shop, tokens=4000)
    assert text.index("shop/core.py:") < text.index("shop/cart.py:") < text.index("lonely_helper")
    first_file = next(line for line in text.splitlines() if line.endswith(".py:"))
    assert first_file == "shop/core.py:"


def test_signatures_nest_methods_under_their_class(shop: Path) -> None:
    text = build_repo_map(shop, tokens=4000)
    core = _section(text, "shop/core.py")
    assert "  class Money\n    def __init__(cents: int) -> None\n    def add(other: 'Money') -> 'Money'" in core
    assert "  def format_price(amount, currency='EUR') -> str" in core  # too long with its annotations
    assert "    def total() -> Money" in _section(text, "shop/cart.py")  # a method's self says nothing


@pytest.mark.parametrize("budget", [60, 150, 400, 1000, 4000])
def test_the_map_fits_the_budget(shop: Path, budget: int) -> None:
    text = build_repo_map(shop, tokens=budget)
    assert count_tokens(text) <= budget
    if budget >= 400:
        assert "class Money" in text  # the most central definition is never the one dropped


def test_a_bigger_budget_shows_more(shop: Path) -> None:
    small = build_repo_map(shop, tokens=200)
    large = build_repo_map(shop, tokens=4000)
    assert len(large) > len(small)
    assert "lonely_helper" in large


def test_entry_points_configs_and_tests(shop: Path) -> None:
    text = build_repo_map(shop, tokens=4000)
    entry_line = next(line for line in text.splitlines() if line.startswith("Entry points: "))
    assert "shop → shop/cli.py:main (pyproject.toml)" in entry_line
    assert entry_line.count("shop/cli.py") == 1  # the declared script, not again as a file with a main guard
    assert "shop/web.py: create_app()" in entry_line
    config_line = next(line for line in text.splitlines() if line.startswith("Config files: "))
    assert config_line == "Config files: Dockerfile, pyproject.toml"
    # Each shown module names the tests that import it, right under its name.
    assert _section(text, "shop/cart.py").startswith("  (tested by tests/test_cart.py)")
    assert _section(text, "shop/core.py").startswith("  (tested by tests/test_core.py)")
    assert "def test_total" not in text  # test bodies are not part of the outline


def test_ignored_and_unparsable_files(shop: Path) -> None:
    text = build_repo_map(shop, tokens=4000)
    assert "should_not_appear" not in text and "build/generated.py" not in text
    assert "shop/broken.py" in text  # listed by name though it does not parse


def test_focus_brings_a_leaf_forward(shop: Path) -> None:
    plain = build_repo_map(shop, tokens=4000)
    by_ident = build_repo_map(shop, tokens=4000, focus_idents=["lonely_helper"])
    by_file = build_repo_map(shop, tokens=4000, focus_files=["shop/leaf.py"])
    assert plain.index("lonely_helper") > plain.index("class Money")
    assert by_ident.index("lonely_helper") < by_ident.index("class Money")
    assert by_file.index("shop/leaf.py:") < by_file.index("shop/core.py:")


def test_focus_from_text_picks_paths_and_code_names() -> None:
    files, idents = focus_from_text("Fix `Cart.total` in shop/cart.py; format_price breaks and MoneyBag too. Run it.")
    assert "shop/cart.py" in files
    assert {"Cart", "total", "format_price", "MoneyBag"} <= set(idents)
    assert "Run" not in idents and "breaks" not in idents


def test_the_cache_reparses_only_what_changed(shop: Path, parses: list[str], private_dirs: Path) -> None:
    build_repo_map(shop)
    assert len(parses) == 11  # every .py file once
    assert cache_file().is_file() and private_dirs in cache_file().parents

    parses.clear()
    build_repo_map(shop)
    assert parses == []  # nothing changed: all from the cache

    leaf = shop / "shop" / "leaf.py"
    leaf.write_text("def lonely_helper(x):\n    return x\n\ndef brand_new_function(a: int) -> int:\n    return a\n")
    (shop / "shop" / "reports.py").unlink()
    text = build_repo_map(shop, tokens=4000)
    assert parses == ["python"]
    assert "def brand_new_function(a: int) -> int" in text
    assert "monthly_report" not in text


def test_a_copy_of_the_repository_shares_the_cache(shop: Path, tmp_path: Path, parses: list[str]) -> None:
    build_repo_map(shop)
    parses.clear()
    copy = tmp_path / "worktree"
    shutil.copytree(shop, copy)
    assert build_repo_map(copy, tokens=4000) == build_repo_map(shop, tokens=4000)
    assert parses == []  # same contents, same summaries


def test_a_folder_that_is_not_a_git_repository(tmp_path: Path) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "lib.py").write_text("def shared(): pass\n")
    (folder / "a.py").write_text("from lib import shared\nshared()\n")
    (folder / "b.py").write_text("from lib import shared\nshared()\n")
    text = build_repo_map(folder, tokens=500)
    assert text.splitlines()[2] == "lib.py:"
    assert "  def shared()" in text


def test_an_empty_repository(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "empty", {"README.md": "# nothing\n"})
    assert build_repo_map(repo) == "Repository map: no source files found."


def test_the_repo_map_tool(shop: Path) -> None:
    registry = Registry([TOOL])
    ctx = ToolContext(root=shop)
    result = registry.call("repo_map", '{"focus": ["shop/leaf.py", "lonely_helper"], "tokens": 600}', ctx)
    assert result.ok
    assert result.data["focus_files"] == ["shop/leaf.py"]
    assert result.data["focus_idents"] == ["lonely_helper"]
    assert count_tokens(result.output) <= 600
    assert result.output.index("shop/leaf.py:") < result.output.index("shop/core.py:")

    bad = registry.call("repo_map", '{"focus": "shop/leaf.py"}', ctx)
    assert not bad.ok and "focus" in bad.output


def test_the_tool_keeps_a_big_map_under_the_loops_cap(tmp_path: Path) -> None:
    # The loop elides the middle of a longer result: the map would lose its middle ranks.
    from agent.loop import Limits

    body = "".join(f"def function_{j}(alpha: int, beta: str = 'b') -> int:\n    return {j}\n\n" for j in range(20))
    repo = make_repo(tmp_path / "big", {f"pkg/module_{i}.py": body for i in range(80)})
    result = Registry([TOOL]).call("repo_map", '{"tokens": 50000}', ToolContext(root=repo))
    assert result.ok and count_tokens(result.output) > 4000
    assert count_tokens(result.output) <= Limits().tool_output_tokens


def test_the_map_command(shop: Path) -> None:
    out = run_cli(["map", "--tokens", "300"], cwd=shop / "shop")
    assert out.returncode == 0, out.stderr
    assert "shop/core.py:" in out.stdout
    assert count_tokens(out.stdout.rstrip("\n")) <= 300


def test_a_head_start_from_earlier_ranks_gives_the_same_ranking(shop: Path) -> None:
    from agent.repomap.project import project_facts
    from agent.repomap.rank import rank_files_and_defs
    from agent.repomap.store import SummaryStore
    from tools.search import walk_files

    files = walk_files(shop)
    with SummaryStore(shop) as cache:
        summaries = cache.summaries(files)
    imports = project_facts(shop, files, summaries).imports
    cold_ranks, cold_defs = rank_files_and_defs(summaries, imports)
    skewed = {f: (100.0 if f.endswith("leaf.py") else 0.01) for f in cold_ranks}  # a bad guess on purpose
    warm_ranks, warm_defs = rank_files_and_defs(summaries, imports, head_start=skewed)
    assert sorted(cold_ranks, key=cold_ranks.get) == sorted(warm_ranks, key=warm_ranks.get)
    assert [(p, i) for _, p, i in cold_defs] == [(p, i) for _, p, i in warm_defs]
    assert abs(sum(warm_ranks.values()) - 1) < 1e-3


def test_parsing_in_worker_processes_gives_the_same_map(
    shop: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store, "PARALLEL_FROM", 1)  # a process pool even for a dozen files
    parallel = build_repo_map(shop, tokens=4000)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "another-cache"))
    monkeypatch.setattr(store, "PARALLEL_FROM", 10**9)
    assert build_repo_map(shop, tokens=4000) == parallel
    assert "class Money" in parallel
