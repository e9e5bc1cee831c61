"""The defect proxy: the reference server's named defects applied in front of any real
OpenAI-compatible upstream, so client authors can test their SDKs against broken servers."""

from .app import create_proxy_app
from .capability import proxy_capable, refused

__all__ = ["create_proxy_app", "proxy_capable", "refused"]
