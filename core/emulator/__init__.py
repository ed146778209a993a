"""A faithful local emulator of Scaleway Secret Manager v1beta1 and Account v3 projects.

```python
from core.emulator import EmulatorApp, EmulatorState, ThreadedServer, demo_state, load_config
app = EmulatorApp(demo_state())                     # ASGI: httpx.ASGITransport(app=app)
with ThreadedServer(app) as server:                 # real HTTP on 127.0.0.1, a free port
    print(server.url)
```
"""

from core.emulator.app import EmulatorApp, EmulatorStats
from core.emulator.config import load_config, parse_config
from core.emulator.demo import demo_state
from core.emulator.server import ThreadedServer, serve
from core.emulator.state import (
    ApiKey,
    EmulatorState,
    ProjectState,
    SecretState,
    Settings,
    VersionState,
)

__all__ = [
    "ApiKey",
    "EmulatorApp",
    "EmulatorState",
    "EmulatorStats",
    "ProjectState",
    "SecretState",
    "Settings",
    "ThreadedServer",
    "VersionState",
    "demo_state",
    "load_config",
    "parse_config",
    "serve",
]
