"""Kivy without a window: these settings must be in place before the first kivy import.

Test modules that need kivy start with `pytest.importorskip("kivy", ...)`, so they skip with a clear reason
where the `mobile` extra is not installed.
"""

from __future__ import annotations

import os
import tempfile

os.environ["KIVY_NO_ARGS"] = "1"
os.environ.setdefault("KIVY_HOME", tempfile.mkdtemp(prefix="schakel-kivy-"))
os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")  # log through `logging`, not Kivy's own handlers
os.environ.setdefault("SDL_VIDEODRIVER", "offscreen")
os.environ.setdefault("KIVY_GL_BACKEND", "mock")

KIVY_MISSING = "kivy is not installed: install the `mobile` extra (`make install` does)"
