"""Generated requests: the OpenAPI document, Hypothesis strategies, invariant oracles, the fuzz
driver and the schemathesis runner."""
