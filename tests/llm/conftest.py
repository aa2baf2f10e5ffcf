"""The real llama.cpp server fixture (tests/llm_server.py) for this folder."""

from tests.llm_server import llm_server, llm_server_url  # noqa: F401
