"""Generated requests: the OpenAPI document, Hypothesis strategies, request classification, the fuzz
driver and the schemathesis runner."""
