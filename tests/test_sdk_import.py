"""agent/sdk.py: the openai package without building all of openai.types up
front, and unchanged for whoever reads openai.types. Each test runs a fresh
interpreter: the deferral only happens before the SDK's first import."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def python(code: str, *path: Path) -> str:
    env_path = ":".join(map(str, (*path, ROOT)))
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"}, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_request_does_not_build_every_type_yet_every_type_is_there():
    out = python("""
        import sys
        from agent.sdk import openai
        client = openai.OpenAI(api_key="sk-test", base_url="http://127.0.0.1:9/v1")
        client.chat.completions, client.responses  # what a request loads
        print("openai.types.batch" in sys.modules, "openai.types.eval_create_params" in sys.modules)
        from openai.types import Batch
        print(Batch.__name__, openai.types.Completion.__name__, "openai.types.batch" in sys.modules)
    """)
    assert out.splitlines() == ["False False", "Batch Completion True"]


def test_subpackages_wait_too_and_their_submodules_are_attributes_as_usual():
    out = python("""
        import sys
        from agent.sdk import openai
        openai.OpenAI(api_key="sk-test", base_url="http://127.0.0.1:9/v1").chat.completions
        responses = sys.modules["openai.types.responses"]
        print("Response" in vars(responses))  # a chat request has not built the Responses API's types
        print(responses.response_create_params.__name__, "Response" in vars(responses))
        print(openai.types.responses.Response.__name__, "Response" in vars(responses))
    """)
    assert out.splitlines() == ["False", "openai.types.responses.response_create_params False", "Response True"]


def test_threads_reading_the_types_at_once_all_see_them():
    out = python("""
        import threading
        from agent.sdk import openai
        barrier, seen = threading.Barrier(8), []
        def read():
            barrier.wait()
            seen.append(openai.types.FileObject.__name__)
        threads = [threading.Thread(target=read) for _ in range(8)]
        [t.start() for t in threads]; [t.join() for t in threads]
        print(sorted(set(seen)), len(seen))
    """)
    assert out == "['FileObject'] 8"


def test_a_missing_name_is_an_attribute_error_as_from_any_module():
    out = python("""
        from agent.sdk import openai
        try:
            openai.types.NoSuchType
        except AttributeError as exc:
            print(exc)
    """)
    assert out == "module 'openai.types' has no attribute 'NoSuchType'"


def test_an_sdk_that_cannot_be_imported_so_is_imported_plainly(tmp_path):
    # An SDK whose __init__ needs its types' __init__ to have run already.
    package = tmp_path / "openai"
    (package / "types").mkdir(parents=True)
    (package / "types" / "__init__.py").write_text("READY = True\n")
    (package / "__init__.py").write_text(
        "from . import types\n"
        "if 'READY' not in vars(types):\n"
        "    raise ImportError('types not initialised')\n"
        "OpenAI = 'plain'\n"
    )
    out = python("""
        from agent.sdk import openai
        print(openai.OpenAI, openai.types.READY)
    """, tmp_path)
    assert out == "plain True"


def test_a_getattr_of_the_packages_own_is_kept(tmp_path):
    package = tmp_path / "openai"
    (package / "types").mkdir(parents=True)
    (package / "types" / "__init__.py").write_text("def __getattr__(name):\n    return 'lazily ' + name\n")
    (package / "__init__.py").write_text("OpenAI = 'fake'\n")
    out = python("""
        from agent.sdk import openai
        import openai.types
        print(openai.types.first, "/", openai.types.second)
    """, tmp_path)
    assert out == "lazily first / lazily second"


def test_a_responses_api_request_builds_none_of_its_typed_models():
    # The typed `responses` resource would import the whole Responses API model
    # tree (~0.3 s of CPU before the first request); the client reads the JSON.
    from tests.fake_openai import FakeOpenAI, call, text

    with FakeOpenAI([call("read_file", {"path": "a.py"}), text("streamed"), text("whole")]) as server:
        out = python(f"""
            import sys
            from agent.sdk import openai
            from agent.messages import Message
            from agent.model_responses import ResponsesClient
            sdk = openai.OpenAI(api_key="sk-test", base_url="{server.base_url}", max_retries=0)
            history = [Message(role="user", content="hi")]
            for stream in (True, True, False):
                reply = ResponsesClient(sdk, model="m", stream=stream).complete("be brief", history, None)
                print([(c.name, c.arguments) for c in reply.message.tool_calls], reply.message.content)
            print("openai.resources.responses" in sys.modules, "openai.types.responses.response" in sys.modules)
        """)
    assert out.splitlines() == [
        """[('read_file', '{"path": "a.py"}')] """,
        "[] streamed",
        "[] whole",
        "False False",
    ]
