"""The published OpenAPI schema describes what the service does: security scheme, the real error body for every
documented error, event streams, and the limits that come from settings."""

from __future__ import annotations

from typing import Any

import httpx
import jsonschema_rs
import pytest

from service.schemas import NOT_BLANK

QUESTION_LIMIT = 300  # service_settings' max_question_chars


@pytest.fixture(scope="module")
def spec(service_url: str) -> dict[str, Any]:
    return httpx.get(f"{service_url}/schema/openapi.json").json()


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m, p, op) for p, item in spec["paths"].items() for m, op in item.items() if isinstance(op, dict)]


def validator(spec: dict[str, Any], ref: dict[str, Any]) -> Any:
    return jsonschema_rs.validator_for({**ref, "components": spec["components"]})


def test_bearer_scheme_on_every_v1_operation(spec: dict[str, Any], auth_url: str) -> None:
    assert spec["components"]["securitySchemes"]["bearer"] == {**spec["components"]["securitySchemes"]["bearer"],
                                                               "type": "http", "scheme": "bearer"}
    for method, path, op in operations(spec):
        if path.startswith("/v1/"):
            assert {"bearer": []} in op["security"], (method, path)
            assert {} in op["security"]  # no key configured on this server: the key is optional
        else:
            assert "security" not in op, (method, path)
    keyed = httpx.get(f"{auth_url}/schema/openapi.json").json()
    for method, path, op in operations(keyed):
        if path.startswith("/v1/"):
            assert op["security"] == [{"bearer": []}] and "401" in op["responses"], (method, path)


def test_every_error_response_is_the_error_body(spec: dict[str, Any]) -> None:
    seen = set()
    for method, path, op in operations(spec):
        for status, response in op["responses"].items():
            if status.startswith(("4", "5")) and path != "/ready":
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (method, path, status)
                seen.add(status)
    assert {"400", "404", "413", "415", "503"} <= seen
    body = spec["components"]["schemas"]["ErrorBody"]
    assert set(body["required"]) == {"error", "message"}
    assert {"error", "message", "detail", "results", "request_id"} == set(body["properties"])


def test_documented_statuses(spec: dict[str, Any]) -> None:
    paths = spec["paths"]
    assert {"200", "400", "413", "415", "503"} <= set(paths["/v1/search"]["post"]["responses"])
    assert {"200", "400", "404", "503"} <= set(paths["/v1/documents/{doc_id}"]["get"]["responses"])
    assert {"200", "404"} <= set(paths["/v1/models/{model_id}"]["get"]["responses"])
    assert "429" not in paths["/v1/search"]["post"]["responses"]  # no rate limit on this server
    assert "head" in paths["/health"]


def test_real_error_bodies_match_the_schema(spec: dict[str, Any], client: httpx.Client) -> None:
    check = validator(spec, {"$ref": "#/components/schemas/ErrorBody"})
    answers = [
        client.post("/v1/search", json={"query": "x", "limit": True}),
        client.post("/v1/search", content=b"{", headers={"content-type": "application/json"}),
        client.post("/v1/search", content=b"{}", headers={"content-type": "text/plain"}),
        client.post("/v1/documents", json=[{"id": "only-bad"}]),
        client.get("/v1/documents/nothing/here"),
        client.post("/v1/ask", json={"question": "x" * 70_000}),
        client.get("/v1/models/gpt-4"),
        client.put("/v1/search"),
    ]
    assert [r.status_code for r in answers] == [400, 400, 415, 400, 404, 413, 404, 405]
    for r in answers:
        errors = [e.message for e in check.iter_errors(r.json())]
        assert errors == [], (r.request.url, r.text, errors)


def test_request_schemas_state_the_service_limits(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    for model, field in (("SearchRequest", "query"), ("AskRequest", "question")):
        prop = schemas[model]["properties"][field]
        assert prop["minLength"] == 1 and prop["pattern"] == NOT_BLANK and prop["maxLength"] == QUESTION_LIMIT
        assert schemas[model]["additionalProperties"] is False
    assert schemas["Filters"]["additionalProperties"] is False
    assert {"type": "string"} in schemas["Filters"]["properties"]["source"]["anyOf"]
    records = spec["paths"]["/v1/documents"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    batch = next(s for s in records["oneOf"] if s["type"] == "array")
    assert batch["minItems"] == 1 and batch["maxItems"] == 1000
    chat = schemas["ChatCompletionRequest"]["properties"]["messages"]
    assert chat["contains"]["properties"]["role"] == {"const": "user"}


@pytest.mark.parametrize("text", ["", " ", "\t\n", "\u3000", "\x1c", "\ufeff"])
def test_blank_text_is_refused_by_both(spec: dict[str, Any], client: httpx.Client, text: str) -> None:
    check = validator(spec, {"$ref": "#/components/schemas/SearchRequest"})
    assert not check.is_valid({"query": text})
    assert client.post("/v1/search", json={"query": text}).status_code == 400
    assert check.is_valid({"query": f"{text}x"})
    assert client.post("/v1/search", json={"query": f"{text}x"}).status_code == 200


def test_event_streams_are_documented(spec: dict[str, Any]) -> None:
    for path in ("/v1/ask", "/v1/chat/completions"):
        content = spec["paths"][path]["post"]["responses"]["200"]["content"]
        assert {"application/json", "text/event-stream"} <= set(content), path
        assert content["text/event-stream"]["schema"]["type"] == "object"


def test_options_lists_every_method(client: httpx.Client) -> None:
    allow = client.options("/v1/documents/a/b.md").headers["allow"]
    assert {m.strip() for m in allow.split(",")} == {"DELETE", "GET", "OPTIONS"}
    allow = client.options("/health").headers["allow"]
    assert {m.strip() for m in allow.split(",")} == {"GET", "HEAD", "OPTIONS"}
