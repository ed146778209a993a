"""Validation of typed secret payloads (spec §2.7) and of names, paths and durations.

The messages imitate the real API, which validates typed payloads with a JSON schema and
reports each violation as a ``- <field>: <description>\\n`` line in ``help_message``.
"""

from __future__ import annotations

import json
import re

from core.scaleway.models import SecretType, parse_duration

# Letters and digits of any script (Scaleway documents no character set; unicode names are
# a case the backup/restore tests exercise), plus ".", "_" and "-". Used with fullmatch.
NAME_RE = re.compile(r"[\w.-]{1,255}")
SEGMENT_RE = re.compile(r"[\w.-]{1,255}")
PEM_BLOCK_RE = re.compile(
    rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n([A-Za-z0-9+/=\r\n]+?)\r?\n?-----END \1-----"
)
PORT_RE = re.compile(r"^[0-9]+$")
DB_ENGINES = ("postgres", "mysql", "other")
MAX_TTL_SECONDS = 365 * 24 * 3600


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _load_object(data: bytes) -> tuple[dict[str, object] | None, list[str]]:
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None, ["(root): Invalid JSON"]
    if not isinstance(value, dict):
        return None, [f"(root): Invalid type. Expected: object, given: {_json_type(value)}"]
    return value, []


def _string_fields(obj: dict[str, object], required: tuple[str, ...]) -> list[str]:
    problems: list[str] = []
    for name in required:
        if name not in obj:
            problems.append(f"(root): {name} is required")
        elif not isinstance(obj[name], str):
            problems.append(
                f"{name}: Invalid type. Expected: string, given: {_json_type(obj[name])}"
            )
    return problems


def validate_payload(secret_type: str, data: bytes) -> str | None:
    """Return the real-API-style ``help_message`` for an invalid payload, or ``None``."""
    problems: list[str] = []
    if secret_type in (SecretType.OPAQUE, SecretType.UNKNOWN):
        return None
    if secret_type == SecretType.CERTIFICATE:
        stripped = data.strip()
        if not stripped:
            problems.append("(root): certificate must contain at least one PEM block")
        else:
            rest = PEM_BLOCK_RE.sub(b"", stripped).strip()
            if rest or not PEM_BLOCK_RE.search(stripped):
                problems.append("(root): certificate must be one or more PEM-encoded blocks")
    elif secret_type == SecretType.KEY_VALUE:
        obj, problems = _load_object(data)
        if obj is not None:
            for key, value in obj.items():
                if not isinstance(value, str):
                    problems.append(
                        f"{key}: Invalid type. Expected: string, given: {_json_type(value)}"
                    )
    elif secret_type == SecretType.BASIC_CREDENTIALS:
        obj, problems = _load_object(data)
        if obj is not None:
            problems = _string_fields(obj, ("username", "password"))
    elif secret_type == SecretType.DATABASE_CREDENTIALS:
        obj, problems = _load_object(data)
        if obj is not None:
            problems = _string_fields(
                obj, ("engine", "username", "password", "host", "dbname", "port")
            )
            engine = obj.get("engine")
            if isinstance(engine, str) and engine not in DB_ENGINES:
                allowed = ", ".join(f'"{e}"' for e in DB_ENGINES)
                problems.append(f"engine: engine must be one of the following: {allowed}")
            port = obj.get("port")
            if isinstance(port, str) and not PORT_RE.match(port):
                problems.append("port: Does not match pattern '^[0-9]+$'")
    elif secret_type == SecretType.SSH_KEY:
        obj, problems = _load_object(data)
        if obj is not None:
            problems = _string_fields(obj, ("ssh_private_key",))
    if not problems:
        return None
    return "".join(f"- {p}\n" for p in problems)


def valid_name(name: str) -> bool:
    return bool(NAME_RE.fullmatch(name))


def normalize_folder_path(path: str) -> str | None:
    """``/a/b/`` -> ``/a/b``; ``None`` when the path is malformed."""
    if not path.startswith("/"):
        return None
    stripped = path.rstrip("/")
    if stripped == "":
        return "/"
    segments = stripped[1:].split("/")
    if not all(SEGMENT_RE.fullmatch(s) for s in segments):
        return None
    return stripped


def valid_ttl(value: str) -> bool:
    try:
        seconds = parse_duration(value)
    except ValueError:
        return False
    return 1 <= seconds <= MAX_TTL_SECONDS
