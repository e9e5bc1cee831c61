"""The official ``openai`` Python SDK as a second client of the target.

The raw checks judge the bytes on the wire; these scenarios hand the same kind of requests to
``openai.OpenAI`` and report when the SDK raises on, or parses differently, an answer the raw
checks may have tolerated.  The SDK's HTTP traffic goes through the suite's own ``RawClient``
(see ``client``), so limits, budget, redaction and recorded exchanges are the same as for every
other scenario.  ``openai`` is optional: without it the SDK scenarios are skipped.
"""

from __future__ import annotations

# The SDK versions these checks were written and verified against (3.57.0 in the lab).
TESTED_RANGE = ((3, 50), (4, 0))
TESTED_RANGE_TEXT = "openai>=3.50,<4"
