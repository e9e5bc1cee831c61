"""The embedded reference server: Starlette + uvicorn, a toy model, and hook points for defects.

Run it with ``python -m conformance.servers.reference``; build the ASGI app with
``conformance.servers.reference.app.create_app``.  This module imports nothing so that the
defect modules can import the pipeline types without pulling in the HTTP layer.
"""
