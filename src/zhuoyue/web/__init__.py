"""The browser UI (NiceGUI) mounted on the FastAPI app: :func:`mount_web`."""

from zhuoyue.web.app import mount_web

__all__ = ["mount_web"]
