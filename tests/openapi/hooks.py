"""schemathesis hooks for scripts/openapi-check.sh (loaded through SCHEMATHESIS_HOOKS).

- Webhook URLs stay on loopback. A generated webhook endpoint the simulator would accept
  (`POST /v1/webhook-endpoints`, an endpoint update, `webhooks.endpoints` in
  `PUT /_sim/config`) is pointed at a closed loopback port before it is sent: the simulator
  posts every event to its endpoints, and a check must never make it connect to whatever host
  a fuzzer made up. URLs the simulator refuses are sent unchanged, so its URL validation is
  still exercised.
- Scenario files (`PUT /_sim/config` as `application/toml`) are sent as text: schemathesis
  has no serializer for TOML.
- NDJSON answers are checked line by line against the schema the document gives their lines
  (`x-item-schema`, OpenAPI 3.2's `itemSchema`): schemathesis cannot read NDJSON, and the
  ledger is the answer loadgen's money check trusts most.
"""

import json
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import schemathesis

DOCUMENT = json.loads((Path(__file__).resolve().parents[2] / "docs" / "openapi.json").read_text())

# Port 9 (discard) is closed on loopback: each delivery fails at once and is retried later.
LOOPBACK = "http://127.0.0.1:9/hooks"


def _would_be_accepted(url):
    """What gateway-sim takes as a webhook URL: absolute http(s), with a host, bounded."""
    if not isinstance(url, str) or len(url) > 2048:
        return False
    try:
        parts = urlsplit(url)
        return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
    except ValueError:
        return False


def _point_at_loopback(endpoint):
    if isinstance(endpoint, dict) and _would_be_accepted(endpoint.get("url")):
        endpoint["url"] = LOOPBACK


@schemathesis.hook
def before_call(context, case, kwargs):
    body = case.body
    if not isinstance(body, dict):
        return
    _point_at_loopback(body)
    webhooks = body.get("webhooks")
    if isinstance(webhooks, dict) and isinstance(webhooks.get("endpoints"), list):
        for endpoint in webhooks["endpoints"]:
            _point_at_loopback(endpoint)


@schemathesis.serializer("application/toml")
def toml_as_text(context, value):
    if isinstance(value, bytes):
        return {"data": value}
    if isinstance(value, str):
        return {"data": value.encode("utf-8")}
    # Negative cases may generate a non-string; send its JSON spelling, which is not TOML.
    return {"data": json.dumps(value).encode("utf-8")}


def _item_schema(case, response):
    """The documented schema of each line of this answer, if it is NDJSON with one."""
    media_type = response.headers.get("content-type", [""])
    media_type = (media_type[0] if isinstance(media_type, list) else media_type).split(";")[0]
    if media_type.strip() != "application/x-ndjson":
        return None
    operation = DOCUMENT["paths"].get(case.operation.path, {}).get(case.method.lower(), {})
    documented = operation.get("responses", {}).get(str(response.status_code), {})
    return documented.get("content", {}).get(media_type.strip(), {}).get("x-item-schema")


@schemathesis.check
def ndjson_lines_conform(ctx, response, case):
    """Each line of an NDJSON answer is a JSON object that its documented item schema accepts."""
    schema = _item_schema(case, response)
    if schema is None:
        return None
    # The document's components ride along, so `#/components/...` references resolve.
    validator = jsonschema.Draft202012Validator({**schema, "components": DOCUMENT["components"]})
    text = response.content.decode("utf-8")
    if text and not text.endswith("\n"):
        raise AssertionError("NDJSON answer does not end with a newline")
    for number, line in enumerate(text.splitlines(), start=1):
        errors = sorted(validator.iter_errors(json.loads(line)), key=str)
        if errors:
            raise AssertionError(f"line {number} breaks its documented schema: {errors[0].message}\n{line}")
    return True
