"""What a test bot did, one JSON object a line on stdout, for the Node test that runs it."""

import json
import os

# Which bot this is when several run at once (set by the test).
NAME = os.environ.get("TEST_BOT_NAME", "bot")


def report(what: str, **fields) -> None:
    print(json.dumps({"what": what, "bot": NAME, **fields}, ensure_ascii=False), flush=True)
