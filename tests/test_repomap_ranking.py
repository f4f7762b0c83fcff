"""The repo map's ranking rules, one small real repository each: what a
name's information content is worth, what the task's words point at, how
definitions are laid out, and what the map cache and --explain say."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agent.repomap import build_repo_map
from agent.repomap.python_tags import summarize_python
from agent.repomap.tags import summarize
from agent.tokens import count_tokens
from tests.conftest import REPO, make_repo, run_cli


def _headings(text: str) -> list[str]:
    """The files shown with definitions, in map order."""
    return [line[:-1] for line in text.splitlines() if line.endswith(".py:") and " " not in line]


def _filler(n: int) -> dict[str, str]:
    """Modules of a package that use each other: the background a focus must beat."""
    files = {"pkg/__init__.py": ""}
    for i in range(n):
        files[f"pkg/mod{i}.py"] = (
            f"from pkg.base import BaseThing\n\nclass Thing{i}(BaseThing):\n"
            f"    def describe_thing{i}(self) -> str:\n        return 'x'\n"
        )
    files["pkg/base.py"] = "class BaseThing:\n    def describe(self) -> str:\n        return ''\n"
    return files


def test_only_uses_that_can_resolve_count_as_references() -> None:
    source = (
        b"from shop.core import format_price\nimport shop.cart\n\n"
        b"def f(value_of, e):\n"
        b"    total = e + value_of\n"
        b"    r = total * 2\n"
        b"    return format_price(r) + shop.cart.checkout() + Money\n"
    )
    refs = summarize_python(source).refs
    # Parameters and locals are not uses of whatever other file defines `e` or `total`.
    assert not {"e", "value_of", "total", "r"} & refs.keys()
    # Calls, attribute access, imported names and class names are.
    assert {"format_price", "cart", "checkout", "Money"} <= refs.keys()
    assert "f" not in refs  # its own `def f(` is no use of it


def test_a_short_name_defined_in_many_files_does_not_outrank_a_long_unique_one(tmp_path: Path) -> None:
    files = {f"pkg/runner{i}.py": "class Runner:\n    def go(self):\n        pass\n" for i in range(3)}
    files["pkg/ledger.py"] = "class Ledger:\n    def post_entry(self, amount):\n        pass\n"
    for i in range(6):  # every user calls `.go()` a lot, and names Ledger once
        calls = "".join("    obj.go()\n" for _ in range(10))
        files[f"pkg/user{i}.py"] = f"def work(obj):\n{calls}" + ("    return Ledger()\n" if i < 2 else "")
    text = build_repo_map(make_repo(tmp_path / "r", files), tokens=1000)
    shown = _headings(text)
    assert shown[0] == "pkg/ledger.py"
    assert "def go(" not in text  # a 2-character definition never gets a line


def test_a_one_or_two_character_definition_is_shown_when_the_task_names_it(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {
        "calc/activation.py": "class Activation:\n    def e(self):\n        return 1\n    def excitation(self):\n        return 2\n",
        "calc/use.py": "from calc.activation import Activation\n\ndef run_it():\n    return Activation().e()\n",
    })
    assert "def e()" not in build_repo_map(repo, tokens=1000)
    assert "def e()" in build_repo_map(repo, tokens=1000, task="make `e` return the excitation")


def test_a_word_of_the_task_matching_a_module_name_focuses_it(tmp_path: Path) -> None:
    files = _filler(30)
    files["pkg/signals.py"] = "class Namespace:\n    def signal(self, name: str):\n        pass\n"
    repo = make_repo(tmp_path / "r", files)
    unfocused = _headings(build_repo_map(repo, tokens=300))
    focused = _headings(build_repo_map(repo, tokens=300, task="blinker is required, signals are always available"))
    assert "pkg/signals.py" not in unfocused
    assert focused[0] == "pkg/signals.py"


def test_a_word_matching_a_folder_name_lifts_its_files(tmp_path: Path) -> None:
    files = _filler(30)
    files["pkg/logic/__init__.py"] = ""
    files["pkg/logic/boolalg.py"] = "class BooleanFunction:\n    def simplify_form(self):\n        pass\n"
    repo = make_repo(tmp_path / "r", files)
    assert _headings(build_repo_map(repo, tokens=300))[0] != "pkg/logic/boolalg.py"
    assert _headings(build_repo_map(repo, tokens=300, task="logic: simplify nested forms"))[0] == "pkg/logic/boolalg.py"


def test_a_slashed_pair_of_words_is_not_a_path(tmp_path: Path) -> None:
    files = _filler(30)
    files["pkg/printing/__init__.py"] = ""
    files["pkg/printing/pretty/__init__.py"] = ""
    files["pkg/printing/pretty/pretty.py"] = "class PrettyPrinter:\n    def print_sum(self, expr):\n        pass\n"
    files["pkg/printing/latex.py"] = "class LatexPrinter:\n    def print_integral(self, expr):\n        pass\n"
    repo = make_repo(tmp_path / "r", files)
    shown = _headings(build_repo_map(repo, tokens=400, task="pretty/LaTeX: fix the output of sums"))
    assert set(shown[:2]) == {"pkg/printing/pretty/pretty.py", "pkg/printing/latex.py"}


def test_a_plain_word_defined_in_exactly_one_file_focuses_it(tmp_path: Path) -> None:
    files = _filler(30)
    files["pkg/frob.py"] = "def frobnicate(x):\n    return x\n"
    repo = make_repo(tmp_path / "r", files)
    assert _headings(build_repo_map(repo, tokens=300))[0] != "pkg/frob.py"
    assert _headings(build_repo_map(repo, tokens=300, task="frobnicate twice when asked"))[0] == "pkg/frob.py"


def test_a_focused_name_with_many_definers_does_not_dilute_the_focus(tmp_path: Path) -> None:
    files = _filler(10)
    for i in range(17):
        files[f"pkg/printers/p{i}.py"] = "class Printer:\n    def _print_Function(self, expr):\n        pass\n"
    files["pkg/special.py"] = "def compute_special_total(x):\n    return x\n"
    repo = make_repo(tmp_path / "r", files)
    text = build_repo_map(repo, tokens=300, task="`_print_Function` should call `compute_special_total`")
    assert _headings(text)[0] == "pkg/special.py"


def test_definitions_are_laid_out_in_file_rank_order(tmp_path: Path) -> None:
    # Ten modules each use one of hub.py's five functions: the hub is the
    # most central file, but each of its functions has only two users, while
    # leaf.py's one function has three. The first definition to get a line is the hub's.
    names = ["alpha_handler", "beta_handler", "gamma_handler", "delta_handler", "omega_handler"]
    files = {
        f"app/m{i}.py": f"import app.hub\n\ndef part{i}():\n    return app.hub.{names[i // 2]}()\n" for i in range(10)
    }
    files["app/hub.py"] = "".join(f"def {n}():\n    pass\n" for n in names)
    files["app/leaf.py"] = "def leaf_special_builder():\n    pass\n"
    for i in range(3):
        files[f"app/user{i}.py"] = "from app.leaf import leaf_special_builder\nleaf_special_builder()\n"
    repo = make_repo(tmp_path / "r", files)
    for budget in range(30, 300, 5):
        shown = _headings(build_repo_map(repo, tokens=budget))
        if shown:
            break
    assert shown == ["app/hub.py"]


def test_the_header_stays_within_its_share_of_the_budget(tmp_path: Path) -> None:
    files = _filler(20)
    for i in range(30):
        files[f"services/s{i}/Dockerfile"] = "FROM python\n"
        files[f".github/workflows/w{i}.yml"] = "on: push\n"
        files[f"scripts/tool{i}.py"] = "if __name__ == '__main__':\n    pass\n"
    text = build_repo_map(make_repo(tmp_path / "r", files), tokens=1000)
    header = text.split("\n\n", 1)[0]
    assert count_tokens(header) <= 150
    assert ".github/workflows/ (30 files)" in header


def test_an_unchanged_tree_ranks_nothing_the_second_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from agent.repomap import rank

    repo = make_repo(tmp_path / "r", _filler(5))
    first = build_repo_map(repo, tokens=500, task="describe things")
    calls: list[int] = []
    real = rank.rank_files_and_defs
    monkeypatch.setattr(rank, "rank_files_and_defs", lambda *a, **k: calls.append(1) or real(*a, **k))
    assert build_repo_map(repo, tokens=500, task="describe things") == first
    assert calls == []
    build_repo_map(repo, tokens=500, task="another task")  # another focus: ranked again
    assert calls == [1]
    (repo / "pkg" / "mod1.py").write_text("def brand_new_function():\n    pass\n")
    changed = build_repo_map(repo, tokens=500, task="describe things")
    assert calls == [1, 1] and "brand_new_function" in changed


def test_a_map_that_obviously_fits_never_loads_the_tokenizer(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"a.py": "def alpha_function():\n    pass\n"})
    probe = (
        "import sys; from pathlib import Path; from agent.repomap import build_repo_map; "
        "text = build_repo_map(Path(sys.argv[1]), tokens=2048); "
        "print('alpha_function' in text, 'tiktoken' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe, str(repo)], capture_output=True, text=True,
                         env={"PYTHONPATH": str(REPO), "XDG_CACHE_HOME": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"})
    assert out.stdout.split() == ["True", "False"], out.stderr


def test_explain_says_why_a_file_is_or_is_not_in_the_map(tmp_path: Path) -> None:
    files = _filler(40)
    files["pkg/signals.py"] = "class Namespace:\n    def signal(self, name: str):\n        pass\n"
    repo = make_repo(tmp_path / "r", files)
    out = run_cli(["map", "--tokens", "300", "--explain", "pkg/signals.py"], cwd=repo)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("pkg/signals.py: rank ")
    assert "Not in the map" in out.stdout
    out = run_cli(["map", "--tokens", "300", "--task", "signals are always available", "--explain", "signals.py"],
                  cwd=repo / "pkg")
    assert out.returncode == 0, out.stderr
    assert "rank 1 of" in out.stdout
    assert "its name matches the task's word 'signals'" in out.stdout
    assert "In the map with 2 of its 2 definitions" in out.stdout
    out = run_cli(["map", "--explain", "pkg/base.py"], cwd=repo)
    assert "Identifiers other files use: BaseThing (40 files)" in out.stdout
    missing = run_cli(["map", "--explain", "nope.py"], cwd=repo)
    assert missing.returncode == 0 and "no such file" in missing.stdout


def test_two_words_in_a_row_can_name_a_module(tmp_path: Path) -> None:
    files = _filler(30)
    files["pkg/character_table.py"] = "class CharacterTable:\n    def irreducible_rows(self):\n        pass\n"
    repo = make_repo(tmp_path / "r", files)
    shown = _headings(build_repo_map(repo, tokens=300, task="fix docstring of the character table class"))
    assert shown[0] == "pkg/character_table.py"


def test_a_named_test_file_shows_its_tests_and_pulls_up_the_module_it_tests(tmp_path: Path) -> None:
    files = _filler(30)
    files["pkg/error_functions.py"] = "def owens_like(h, a):\n    return h\n"
    files["pkg/tests/__init__.py"] = ""
    files["pkg/tests/test_error_functions.py"] = "from pkg.mod1 import Thing1\n\ndef test_owens_sum():\n    pass\n"
    repo = make_repo(tmp_path / "r", files)
    text = build_repo_map(repo, tokens=400, task="test_error_functions: silence a lint warning in the Sum test")
    assert set(_headings(text)[:2]) == {"pkg/tests/test_error_functions.py", "pkg/error_functions.py"}
    assert "def test_owens_sum()" in text
    assert "def test_owens_sum()" not in build_repo_map(repo, tokens=4000)  # tests are not outlined unasked


def test_a_module_names_the_tests_most_surely_about_it(tmp_path: Path) -> None:
    files = {"lib/__init__.py": "", "lib/money.py": "class Money:\n    pass\n", "lib/tests/__init__.py": ""}
    for i in range(5):  # tests that import money.py among others
        files[f"lib/tests/test_misc{i}.py"] = "from lib.money import Money\n"
    files["lib/tests/test_money.py"] = "from lib.money import Money\nfrom lib import other\n"
    files["lib/other.py"] = "def other_thing():\n    pass\n"
    text = build_repo_map(make_repo(tmp_path / "r", files), tokens=1000)
    assert "lib/money.py:\n  (tested by lib/tests/test_money.py, lib/tests/test_misc0.py, +4 more)" in text


@pytest.mark.parametrize("module,definition,task", [
    ("pkg/auth.py", "def get_netrc_auth(url)", "Fix empty netrc entry usage"),
    # By its stem: "configuration" and "configure" share "configur".
    ("pkg/hooks.py", "def pytest_configure(config)", "Raise UsageError for invalid configuration values"),
])
def test_a_definition_whose_name_holds_a_word_of_the_task_goes_first(
    tmp_path: Path, module: str, definition: str, task: str
) -> None:
    files = _filler(30)
    files[module] = "".join(f"def helper_number_{i}():\n    pass\n" for i in range(30))
    files[module] += f"{definition}:\n    pass\n"
    repo = make_repo(tmp_path / "r", files)
    text = build_repo_map(repo, tokens=400, task=task)
    assert _headings(text)[0] == module
    assert definition in text


def test_a_definition_the_task_names_goes_before_those_holding_its_words(tmp_path: Path) -> None:
    files = _filler(10)
    files["pkg/tests/__init__.py"] = ""
    files["pkg/tests/test_manual.py"] = "".join(f"def test_manualintegrate_case{i}():\n    pass\n" for i in range(30))
    files["pkg/tests/test_manual.py"] += "def test_issue_10847():\n    pass\n"
    repo = make_repo(tmp_path / "r", files)
    text = build_repo_map(repo, tokens=200, task="manualintegrate(test_issue_10847): update for unconditional folding")
    assert "def test_issue_10847()" in text
    assert text.count("def test_manualintegrate_case") < 30  # the budget cut some: the named one stayed


def test_vendored_stubs_are_left_out_unless_the_task_names_them(tmp_path: Path) -> None:
    files = _filler(5)
    # A stub every module uses: ranked, it would come first.
    files["pkg/typeshed/stdlib/typing.pyi"] = "class TypeVar:\n    def __init__(self, name: str) -> None: ...\n"
    for i in range(5):
        files[f"pkg/mod{i}.py"] += "\nT = TypeVar('T')\nU = TypeVar('U')\n"
    repo = make_repo(tmp_path / "r", files)
    assert "typing.pyi" not in build_repo_map(repo, tokens=2000)
    assert "pkg/typeshed/stdlib/typing.pyi:" in build_repo_map(repo, tokens=2000, task="fix pkg/typeshed/stdlib/typing.pyi")


def _ranked_names(files: dict[str, str], path: str, task: str = "") -> list[str]:
    """The definitions of `path` in the order the ranking lays them out."""
    from agent.repomap.focus import resolve_focus
    from agent.repomap.rank import definers_of, rank_files_and_defs

    summaries = {f: summarize(text.encode(), "python") for f, text in files.items()}
    focus = resolve_focus(summaries, definers_of(summaries), task=task)
    _, ranked = rank_files_and_defs(summaries, {}, focus)
    return [summaries[f].defs[j].name for _, f, j in ranked if f == path and j >= 0]


def test_init_ranks_with_its_class(tmp_path: Path) -> None:
    files = {"pkg/widget.py": (
        "class Widget:\n    def reshape_everything(self):\n" + "        pass\n" * 30
        + "    def __init__(self):\n        self.size = 1\n"
    )}
    for i in range(5):
        files[f"pkg/user{i}.py"] = "def use_it():\n    return Widget()\n"
    order = _ranked_names(files, "pkg/widget.py")
    # Nobody names __init__ or reshape_everything, the longer and earlier one.
    assert order.index("__init__") < order.index("reshape_everything")


def test_among_unused_definitions_the_longest_goes_first(tmp_path: Path) -> None:
    files = {"pkg/visitor.py": (
        "class Visitor:\n    def visit_small(self, node):\n        pass\n"
        "    def visit_large(self, node):\n" + "        x = node\n" * 40
        + "    def visit_medium(self, node):\n" + "        x = node\n" * 10
    )}
    assert _ranked_names(files, "pkg/visitor.py") == ["visit_large", "visit_medium", "visit_small", "Visitor"]


def test_a_private_module_and_a_plural_match_the_words_of_the_task(tmp_path: Path) -> None:
    files = _filler(30)
    files["pkg/_client.py"] = "class HttpClient:\n    def send_now(self):\n        pass\n"
    repo = make_repo(tmp_path / "r", files)
    assert _headings(build_repo_map(repo, tokens=300, task="Keep clients in sync"))[0] == "pkg/_client.py"


def test_a_test_file_tests_the_module_it_is_named_after(tmp_path: Path) -> None:
    files = _filler(5)
    files["pkg/blueprints.py"] = "class Blueprint:\n    def register_views(self):\n        pass\n"
    files["tests/test_blueprints.py"] = "import pkg\n\ndef test_register():\n    pkg.blueprints.Blueprint()\n"
    text = build_repo_map(make_repo(tmp_path / "r", files), tokens=2000)
    assert "pkg/blueprints.py:\n  (tested by tests/test_blueprints.py)" in text


def test_a_test_file_shows_the_tests_holding_a_word_of_the_task(tmp_path: Path) -> None:
    files = _filler(5)
    files["pkg/parser.py"] = "class Parser:\n    def parse_tuple(self):\n        pass\n"
    files["tests/test_parser.py"] = (
        "from pkg.parser import Parser\n\ndef test_namespace_tuple():\n    Parser().parse_tuple()\n\n"
        "def test_plain_values():\n    Parser()\n"
    )
    repo = make_repo(tmp_path / "r", files)
    text = build_repo_map(repo, tokens=2000, task="Add support for namespaces in tuple assignment")
    assert "tests/test_parser.py:" in text and "def test_namespace_tuple()" in text
    assert "test_plain_values" not in text.split("Other files")[0]  # no word of the task: no line


def test_a_long_signature_is_cut_in_the_map(tmp_path: Path) -> None:
    params = ", ".join(f"parameter_{i}: int = {i}" for i in range(12))
    files = {"pkg/api.py": f"def request_everything({params}) -> None:\n    pass\n"}
    text = build_repo_map(make_repo(tmp_path / "r", files), tokens=2000)
    line = next(line for line in text.splitlines() if "def request_everything(" in line)
    assert line.strip() == "def request_everything(parameter_0=0, parameter…"


def test_a_long_signature_loses_its_annotations_before_its_parameters(tmp_path: Path) -> None:
    files = {"pkg/api.py": "def format_price(amount: int, currency: str = 'EUR') -> str:\n    pass\n"}
    text = build_repo_map(make_repo(tmp_path / "r", files), tokens=2000)
    assert text.endswith("\n  def format_price(amount, currency='EUR') -> str")


def test_the_parts_of_a_compound_word_the_repository_does_not_define_pick_definitions(tmp_path: Path) -> None:
    files = _filler(30)
    helpers = [f"def helper_number_{i}():\n    pass\n" for i in range(80)]
    files["pkg/xmlreport.py"] = "".join(helpers[:40] + ["def add_junit_options(parser):\n    pass\n"] + helpers[40:])
    repo = make_repo(tmp_path / "r", files)
    text = build_repo_map(repo, tokens=300, task="Register junit_family with a Literal type, xmlreport")
    assert _headings(text)[0] == "pkg/xmlreport.py"
    assert "def add_junit_options(parser)" in text


def test_the_word_docs_names_the_documentation_folder(tmp_path: Path) -> None:
    files = _filler(30)
    files["docs/conf.py"] = "project = 'pkg'\n\ndef setup(app):\n    pass\n"
    repo = make_repo(tmp_path / "r", files)
    assert _headings(build_repo_map(repo, tokens=300, task="add gettext config"))[0] != "docs/conf.py"
    assert _headings(build_repo_map(repo, tokens=300, task="add gettext config for docs"))[0] == "docs/conf.py"


def test_the_methods_of_a_two_character_class_get_no_line(tmp_path: Path) -> None:
    files = {
        "pkg/ops.py": "class Op:\n    def emit_register(self):\n        pass\n\nclass LoadOp(Op):\n    def emit_load(self):\n        pass\n",
        "pkg/use.py": "from pkg.ops import LoadOp\n\ndef build_it(x):\n    x.emit_register()\n    return LoadOp().emit_load()\n",
    }
    repo = make_repo(tmp_path / "r", files)
    text = build_repo_map(repo, tokens=1000)
    assert "def emit_load()" in text
    assert "class Op" not in text and "emit_register" not in text  # it would need its class's line
    assert "class Op" in build_repo_map(repo, tokens=1000, task="`Op` emits registers twice")


def test_with_a_task_a_files_longest_definition_goes_before_its_most_used(tmp_path: Path) -> None:
    files = _filler(10)
    files["pkg/store.py"] = (
        "def get_value(key):\n    return key\n\n"
        "def rebuild_index(entries):\n" + "    entries = sorted(entries)\n" * 40
    )
    for i in range(6):
        files[f"pkg/reader{i}.py"] = "from pkg.store import get_value\n\ndef read_it():\n    return get_value(1)\n"
    repo = make_repo(tmp_path / "r", files)
    text = build_repo_map(repo, tokens=120, task="the store loses entries after a restart")
    # A change is a few lines somewhere in the file: most likely inside its longest definition.
    assert "def rebuild_index(entries)" in text and "def get_value(key)" not in text
    # Without a task the map is an overview: the definition others use first.
    assert "def get_value(key)" in build_repo_map(repo, tokens=120)


def test_with_a_task_a_central_files_many_definitions_leave_room_for_the_next_files(tmp_path: Path) -> None:
    files = {"pkg/__init__.py": "", "pkg/notes.py": "def keep_note():\n    pass\n"}
    helpers = [f"helper_number_{i}" for i in range(30)]
    files["pkg/core.py"] = "".join(f"def {name}():\n    pass\n\n" for name in helpers)
    for i in range(12):  # core.py is used everywhere: PageRank puts it far above the rest
        calls = "".join(f"    core.{name}()\n" for name in helpers)
        files[f"pkg/user{i}.py"] = f"from pkg import core\n\ndef use_all{i}():\n{calls}"
    files["pkg/ledger.py"] = "from pkg import core\n\ndef settle_accounts(book):\n" + "    book = core.helper_number_0(book)\n" * 30
    files["pkg/report.py"] = "from pkg.ledger import settle_accounts\n\ndef monthly_report():\n    return settle_accounts(1)\n"
    repo = make_repo(tmp_path / "r", files)
    text = build_repo_map(repo, tokens=60, task="keep a note in pkg/notes.py")
    # Any one of core.py's small helpers is less likely to be touched than
    # ledger.py's one long function, though core.py ranks far higher.
    assert "def keep_note()" in text and "def settle_accounts(book)" in text


def test_a_method_is_shown_without_its_self(tmp_path: Path) -> None:
    files = {"pkg/cart.py": "class Cart:\n    def add_item(self, item):\n        pass\n\n    def clear_all(self):\n        pass\n\n"
                            "    def url_for(self, /, endpoint):\n        pass\n\ndef merge(self, other):\n    pass\n"}
    text = build_repo_map(make_repo(tmp_path / "r", files), tokens=2000)
    assert "  class Cart\n    def add_item(item)\n    def clear_all()\n    def url_for(endpoint)\n" in text
    assert "  def merge(self, other)" in text  # a function's first parameter is its own, whatever its name


def test_a_word_names_its_folder_in_the_plural_too(tmp_path: Path) -> None:
    files = _filler(30)
    files["pkg/domains/__init__.py"] = ""
    files["pkg/domains/javascript.py"] = "class JSCallable:\n    def handle_signature(self, sig):\n        pass\n"
    repo = make_repo(tmp_path / "r", files)
    assert _headings(build_repo_map(repo, tokens=300))[0] != "pkg/domains/javascript.py"
    task = "js domain: remove extra brackets from arguments"
    assert _headings(build_repo_map(repo, tokens=300, task=task))[0] == "pkg/domains/javascript.py"
