"""Schemathesis hooks for scripts/trials/fuzz.py (loaded through SCHEMATHESIS_HOOKS=fuzz_hooks).

One hook, narrowly scoped: a schema-valid request that the service refuses for a reason JSON Schema cannot
state is not a disagreement between the schema and the service. Exactly these 400s are accepted, and each is
recorded (one JSON line in $FUZZ_ACCEPTED_LOG) so the run's report counts them:

* ``published_after is later than published_before`` (a comparison between two fields);
* ``no record could be indexed`` (POST /v1/documents: every record is checked on its content, e.g. an id and
  a text that is not all boilerplate, which the loose batch schema does not spell out);
* ``(NEWSDESK_MAX_QUESTION_CHARS)`` for the chat completion (the limit applies to the question the service
  derives from the conversation, not to any one message).

Every other failure, of any check, fails the run.
"""

from __future__ import annotations

import json
import os
from typing import Any

import schemathesis

ACCEPTED_400 = {
    "published_after is later than published_before": None,
    "no record could be indexed": "/v1/documents",
    "(NEWSDESK_MAX_QUESTION_CHARS)": "/v1/chat/completions",
}
"""Message fragment -> the only path where it is accepted (None: any path)."""


@schemathesis.hook
def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    if type(failure).__name__ != "RejectedPositiveData" or response.status_code != 400:
        return True
    path = case.operation.path
    for fragment, only in ACCEPTED_400.items():
        if fragment in response.text and (only is None or only == path):
            log = os.environ.get("FUZZ_ACCEPTED_LOG")
            if log:
                with open(log, "a", encoding="utf-8") as out:
                    out.write(json.dumps({"operation": f"{case.method} {path}", "reason": fragment}) + "\n")
            return False
    return True
