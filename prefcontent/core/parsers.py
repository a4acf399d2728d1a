"""The one JSON parser every API route uses (REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"])."""
from __future__ import annotations

from rest_framework.parsers import JSONParser


class SafeJSONParser(JSONParser):
    """DRF's JSON parser with `core.safe_json`'s refusals: too deep, non-finite, NUL, lone surrogates.

    A view with `checks_text_per_item = True` (the events batch) gets NUL and lone surrogates through
    and refuses them item by item, so one bad event does not cost the batch.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        # Imported here: DRF loads this class while core.errors (which safe_json needs) imports DRF.
        from prefcontent.core.safe_json import parse_json

        view = (parser_context or {}).get("view")
        check_text = not getattr(view, "checks_text_per_item", False)
        return parse_json(stream.read() if stream is not None else b"", check_text=check_text)
