"""The models of :mod:`core.scaleway.models` and their codec (imported on first use of one
of them, see the end of that module; import them from there, not from here).

One declaration per model (a frozen dataclass) and one codec (:func:`decode`, :func:`encode`,
behind every model's ``from_api`` / ``to_api``); the field rules a type cannot say are
:func:`core.scaleway.models.wire`.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from core.scaleway.models import (
    _MISSING,
    EphemeralAction,
    SecretStatus,
    SecretType,
    VersionStatus,
    WireError,
    b64decode,
    b64encode,
    format_time,
    join_path,
    parse_time,
    wire,
)


def _json_type(value: object) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "a number"
    return names.get(type(value), type(value).__name__)


def _text(value: object, missing: str) -> str:
    """The slow path of a text field (the fast one takes a non-empty ``str``)."""
    if isinstance(value, dict | list | bool):
        raise TypeError
    return str(value) if value else missing


def _wrong() -> typing.NoReturn:
    raise TypeError


def _boolean(value: object) -> bool:
    if value is None:
        return False
    raise TypeError


def _strings(value: object) -> tuple[str, ...]:
    if value is None or value == ():
        return ()
    if isinstance(value, tuple):
        return value
    raise TypeError


class _Kind(Enum):
    """How one field's type goes to and from JSON (the codec's whole vocabulary)."""

    TEXT = "text"  # str: absent/null/"" -> the wire default; str() both ways
    INT = "int"  # int: absent/null -> the wire default
    OPT_INT = "opt_int"  # int | None
    BOOL = "bool"  # bool: absent/null -> False
    TIME = "time"  # datetime | None: RFC 3339 <-> aware UTC datetime
    STRINGS = "strings"  # tuple[str, ...]: absent/null -> (); a JSON list
    BYTES = "bytes"  # bytes: standard padded base64
    MODEL = "model"  # a nested model, or None
    RAW = "raw"  # str | None, bool | None, dict | None: as the JSON has it


_ZERO: dict[_Kind, object] = {
    _Kind.TEXT: "",
    _Kind.INT: 0,
    _Kind.BOOL: False,
    _Kind.STRINGS: (),
    _Kind.BYTES: b"",
}


@dataclass(frozen=True, slots=True)
class _Field:
    """One field's wire rule, as :func:`_make_plan` read it from the model."""

    name: str
    kind: _Kind
    required: bool
    missing: object
    omit_none: bool
    model: type[_Wire] | None
    raw: type | None = None  # the JSON type a RAW field must have (or null)


@dataclass(frozen=True, slots=True)
class _Plan:
    """A model's wire rules: its fields, their names, whether it keeps ``extra``."""

    fields: tuple[_Field, ...]
    names: frozenset[str]
    keeps_extra: bool
    ignored: frozenset[str]


def _kind(hint: object) -> tuple[_Kind, type[_Wire] | None]:
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    optional = len(args) < len(typing.get_args(hint))
    base = args[0] if optional and len(args) == 1 else hint
    if isinstance(base, type) and issubclass(base, _Wire):
        return _Kind.MODEL, base
    if optional:
        if base is int:
            return _Kind.OPT_INT, None
        if base is datetime:
            return _Kind.TIME, None
        return _Kind.RAW, None
    if typing.get_origin(hint) is tuple:
        return _Kind.STRINGS, None
    kinds = {str: _Kind.TEXT, int: _Kind.INT, bool: _Kind.BOOL, bytes: _Kind.BYTES}
    if hint in kinds:
        return kinds[hint], None
    raise TypeError(f"no wire rule for {hint!r}")


_PLANS: dict[type, _Plan] = {}
_DECODERS: dict[type, Callable[[Mapping[str, object]], object]] = {}


def _plan(cls: type[_Wire]) -> _Plan:
    plan = _PLANS.get(cls)
    if plan is None:
        plan = _PLANS[cls] = _make_plan(cls)
    return plan


def _raw_type(hint: object) -> type | None:
    """``str`` for ``str | None`` (and ``str`` kept as sent), ``bool``, ``dict``: the JSON
    type a field kept as the answer has it must still have."""
    args = [a for a in typing.get_args(hint) if a is not type(None)] or [hint]
    base = typing.get_origin(args[0]) or args[0] if len(args) == 1 else None
    return base if base in (str, bool, dict) else None


def _make_plan(cls: type[_Wire]) -> _Plan:
    hints = typing.get_type_hints(cls)
    planned: list[_Field] = []
    keeps_extra = False
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name == "extra":
            keeps_extra = True
            continue
        kind, model = _kind(hints[f.name])
        missing = f.metadata.get("missing", _MISSING)
        if missing is _MISSING:
            missing = f.default if f.default is not _MISSING else _ZERO.get(kind)
        if kind is _Kind.TEXT:
            missing = str(missing)
        if f.metadata.get("as_sent"):
            kind = _Kind.RAW
        raw = _raw_type(hints[f.name]) if kind is _Kind.RAW else None
        planned.append(
            _Field(
                name=f.name,
                kind=kind,
                required=bool(f.metadata.get("required", False)),
                missing=missing,
                omit_none=bool(f.metadata.get("omit_none", False)),
                model=model,
                raw=raw,
            )
        )
    names = frozenset(f.name for f in planned)
    return _Plan(tuple(planned), names, keeps_extra, getattr(cls, "_wire_ignore", frozenset()))


def _decode_expr(f: _Field, index: int) -> str:
    """The Python expression that decodes field ``f`` from ``data`` (``get`` = ``data.get``)."""
    key = repr(f.name)
    value = f"data[{key}]" if f.required else f"get({key}, m{index})"
    kind = f.kind
    if kind is _Kind.TEXT:
        return f"(v if (v := {value}).__class__ is str and v else text(v, m{index}))"
    if kind is _Kind.TIME:
        return f"parse_time({value})"
    if kind is _Kind.RAW:
        if f.raw is None:
            return value
        return f"(v if (v := {value}) is None or v.__class__ is raw{index} else wrong())"
    if kind is _Kind.BOOL:
        return f"(v if (v := {value}).__class__ is bool else boolean(v))"
    if kind is _Kind.STRINGS:
        return f"(tuple(v) if (v := {value}).__class__ is list else strings(v))"
    if kind is _Kind.INT:
        return f"int({value})" if f.required else f"int({value} or m{index})"
    if kind is _Kind.OPT_INT:
        return f"(None if (v := {value}) is None else int(v))"
    if kind is _Kind.MODEL:
        return f"(None if (v := {value}) is None else decode(model{index}, v))"
    return f"b64decode({value} or '')"  # BYTES


def _decoder(cls: type[_Wire]) -> Callable[[Mapping[str, object]], object]:
    decoder = _DECODERS.get(cls)
    if decoder is None:
        decoder = _DECODERS[cls] = _make_decoder(cls)
    return decoder


def _make_decoder(cls: type[_Wire]) -> Callable[[Mapping[str, object]], object]:
    """A decoding function generated once per model from its plan (as ``dataclasses``
    generates ``__init__``): one expression per field, no per-field dispatch at run time."""
    plan = _plan(cls)
    scope: dict[str, object] = {
        "cls": cls,
        "parse_time": parse_time,
        "b64decode": b64decode,
        "decode": decode,
        "text": _text,
        "boolean": _boolean,
        "strings": _strings,
        "wrong": _wrong,
        "names": plan.names | plan.ignored,
    }
    exprs: list[tuple[str, str]] = []  # (field, the expression that decodes it)
    for i, f in enumerate(plan.fields):
        scope[f"m{i}"] = f.missing
        scope[f"model{i}"] = f.model
        scope[f"raw{i}"] = f.raw
        exprs.append((f.name, _decode_expr(f, i)))
    if plan.keeps_extra:
        unknown = "{k: v for k, v in data.items() if k not in names}"
        exprs.append(("extra", f"{unknown} if data.keys() - names else {{}}"))
    source = "def decode_one(data):\n    get = data.get\n"
    declared = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    slots = [cls.__dict__.get(name) for name in declared]
    every_slot = all(isinstance(slot, types.MemberDescriptorType) for slot in slots)
    if [name for name, _ in exprs] == declared and every_slot and not hasattr(cls, "__post_init__"):
        # Every field decoded, and each a slot: set them on a bare instance, as ``__init__``
        # does but without its frozen ``object.__setattr__`` a field (a Secret: 4.45 -> 3.05
        # us). The slots' own setters, bound once here.
        source += "    obj = new(cls)\n"
        for i, ((name, expr), slot) in enumerate(zip(exprs, slots, strict=True)):
            scope[f"set{i}"] = slot.__set__  # type: ignore[union-attr]
            source += f"    set{i}(obj, {expr})  # {name}\n"
        source += "    return obj\n"
        scope["new"] = object.__new__
    else:  # by keyword (a field the plan leaves to its default)
        source += "    return cls(\n"
        source += "".join(f"        {name}={expr},\n" for name, expr in exprs) + "    )\n"
    exec(compile(source, f"<wire decoder of {cls.__name__}>", "exec"), scope)
    decoder = typing.cast(Callable[[Mapping[str, object]], object], scope["decode_one"])
    return decoder


_T = typing.TypeVar("_T", bound="_Wire")


def decode(cls: type[_T], data: Mapping[str, object]) -> _T:
    """A model from its JSON object: unknown keys kept in ``extra`` (when the model has
    one), unknown enum values kept as strings, absent and ``null`` keys per the field's rule.

    Raises :class:`WireError` naming the field that cannot be read (absent though required,
    of the wrong JSON type, bad base64); the fast path checks nothing twice, the field is
    found afterwards."""
    try:
        return typing.cast(_T, _decoder(cls)(data))
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        raise _locate(cls, data) from exc


_EXPECT: dict[_Kind, str] = {
    _Kind.TEXT: "a string",
    _Kind.INT: "an integer",
    _Kind.OPT_INT: "an integer",
    _Kind.BOOL: "a boolean",
    _Kind.TIME: "an RFC 3339 timestamp",
    _Kind.STRINGS: "a list of strings",
    _Kind.BYTES: "base64 text",
    _Kind.MODEL: "an object",
}
_RAW_EXPECT: dict[type, str] = {str: "a string", bool: "a boolean", dict: "an object"}
_FIELD_DECODERS: dict[
    type, tuple[tuple[_Field, Callable[[Mapping[str, object]], object]], ...]
] = {}


def _field_decoders(
    cls: type[_Wire],
) -> tuple[tuple[_Field, Callable[[Mapping[str, object]], object]], ...]:
    """One decoding function per field (the slow path that finds which field is wrong)."""
    found = _FIELD_DECODERS.get(cls)
    if found is None:
        plan = _plan(cls)
        scope: dict[str, object] = {
            "parse_time": parse_time,
            "b64decode": b64decode,
            "decode": decode,
            "text": _text,
            "boolean": _boolean,
            "strings": _strings,
            "wrong": _wrong,
        }
        source = ""
        for i, f in enumerate(plan.fields):
            scope[f"m{i}"] = f.missing
            scope[f"model{i}"] = f.model
            scope[f"raw{i}"] = f.raw
            source += f"def f{i}(data):\n    get = data.get\n    return {_decode_expr(f, i)}\n"
        exec(compile(source, f"<field decoders of {cls.__name__}>", "exec"), scope)
        found = _FIELD_DECODERS[cls] = tuple(
            (f, typing.cast(Callable[[Mapping[str, object]], object], scope[f"f{i}"]))
            for i, f in enumerate(plan.fields)
        )
    return found


def _locate(cls: type[_Wire], data: object) -> WireError:
    """Why ``data`` does not decode as ``cls``: the first field that fails, and how."""
    if not isinstance(data, Mapping):
        return WireError(None, f"expected an object, got {_json_type(data)}")
    for f, decode_field in _field_decoders(cls):
        try:
            decode_field(data)
        except WireError as inner:  # a nested model: name the path to the field
            return WireError(f"{f.name}.{inner.field}" if inner.field else f.name, inner.reason)
        except KeyError:
            return WireError(f.name, "is missing")
        except (TypeError, ValueError, AttributeError):
            value = data.get(f.name)
            if f.kind is _Kind.BYTES and isinstance(value, str):
                return WireError(f.name, "is not valid base64")
            got = _json_type(value)
            expected = _EXPECT.get(f.kind) or _RAW_EXPECT.get(f.raw, "another type")  # type: ignore[arg-type]
            return WireError(f.name, f"expected {expected}, got {got}")
    return WireError(None, "the object does not match the model")


def encode(model: _Wire) -> dict[str, Any]:
    """The JSON object of a model, keys in field order (the real API's order)."""
    encoder = _ENCODERS.get(type(model))
    if encoder is None:
        encoder = _ENCODERS[type(model)] = _make_encoder(type(model))
    return encoder(model)


_ENCODERS: dict[type, Callable[[Any], dict[str, Any]]] = {}


def _encode_expr(f: _Field) -> str:
    """The expression that encodes field ``f``'s value ``v``: text as ``str``, times as
    Scaleway writes them, string lists as lists, nested models as objects, bytes as base64."""
    kind = f.kind
    if kind is _Kind.TEXT:
        return "v if v.__class__ is str else str(v)"
    if kind is _Kind.TIME:
        return "format_time(v)"
    if kind is _Kind.STRINGS:
        return "[x if x.__class__ is str else str(x) for x in v] if v else []"
    if kind is _Kind.MODEL:
        return "None if v is None else encode(v)"
    if kind is _Kind.BYTES:
        return "b64encode(v)"
    return "v"


def _make_encoder(cls: type[_Wire]) -> Callable[[Any], dict[str, Any]]:
    """An encoding function generated once per model from its plan, as its decoder is: one
    statement per field (an emulator's list page encodes 100 secrets of 18 fields)."""
    lines = ["def encode_one(model):", "    out = {}"]
    for f in _plan(cls).fields:
        lines.append(f"    v = model.{f.name}")
        assign = f"out[{f.name!r}] = {_encode_expr(f)}"
        lines.append(f"    if v is not None: {assign}" if f.omit_none else f"    {assign}")
    lines.append("    return out")
    scope: dict[str, object] = {
        "format_time": format_time,
        "encode": encode,
        "b64encode": b64encode,
    }
    exec(compile("\n".join(lines) + "\n", f"<wire encoder of {cls.__name__}>", "exec"), scope)
    return typing.cast(Callable[[Any], dict[str, Any]], scope["encode_one"])


class _Wire:
    """What every model shares: ``from_api`` and ``to_api`` through the one codec."""

    __slots__ = ()

    @classmethod
    def from_api(cls, data: Mapping[str, object]) -> typing.Self:
        return decode(cls, data)

    def to_api(self) -> dict[str, Any]:
        return encode(self)


# --------------------------------------------------------------------------- models


@dataclass(frozen=True, slots=True)
class EphemeralPolicy(_Wire):
    """Expiry policy of a secret; Scaleway only accepts it at creation time."""

    time_to_live: str | None = None
    expires_once_accessed: bool | None = None
    action: str = EphemeralAction.UNKNOWN

    @classmethod
    def from_api(cls, data: Mapping[str, object] | None) -> typing.Self | None:  # type: ignore[override]
        return None if data is None else decode(cls, data)


@dataclass(frozen=True, slots=True)
class EphemeralProperties(_Wire):
    """Expiry of one version, derived from its secret's policy."""

    expires_at: datetime | None = None
    expires_once_accessed: bool | None = None
    action: str = EphemeralAction.UNKNOWN

    @classmethod
    def from_api(cls, data: Mapping[str, object] | None) -> typing.Self | None:  # type: ignore[override]
        return None if data is None else decode(cls, data)


@dataclass(frozen=True, slots=True)
class Secret(_Wire):
    """A secret's metadata (never its data)."""

    id: str = field(metadata=wire(required=True, as_sent=True))
    project_id: str = field(metadata=wire(as_sent=True))
    name: str = field(metadata=wire(as_sent=True))
    status: str = field(default=SecretStatus.READY, metadata=wire(missing=SecretStatus.UNKNOWN))
    created_at: datetime | None = None
    updated_at: datetime | None = None
    tags: tuple[str, ...] = ()
    version_count: int = 0
    description: str = ""
    managed: bool = False
    type: str = SecretType.OPAQUE
    protected: bool = False
    path: str = "/"
    ephemeral_policy: EphemeralPolicy | None = None
    used_by: tuple[str, ...] = ()
    deletion_requested_at: datetime | None = None
    key_id: str | None = None
    region: str = field(default="fr-par", metadata=wire(missing="", as_sent=True))
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def full_path(self) -> str:
        """``path/name`` as secret selectors match it (``/prod/db/password``)."""
        return join_path(self.path, self.name)

    @property
    def scheduled_for_deletion(self) -> bool:
        return self.deletion_requested_at is not None

    def __repr__(self) -> str:  # names and paths are secret-bearing: ids only
        return f"Secret(id={self.id!r}, region={self.region!r}, versions={self.version_count})"


@dataclass(frozen=True, slots=True)
class SecretVersion(_Wire):
    """One version's metadata (never its data)."""

    revision: int = field(metadata=wire(required=True))
    secret_id: str = field(metadata=wire(as_sent=True))
    status: str = field(default=VersionStatus.ENABLED, metadata=wire(missing=VersionStatus.UNKNOWN))
    created_at: datetime | None = None
    updated_at: datetime | None = None
    deleted_at: datetime | None = None
    description: str = ""
    latest: bool = False
    ephemeral_properties: EphemeralProperties | None = None
    deletion_requested_at: datetime | None = None
    region: str = field(default="fr-par", metadata=wire(missing="", as_sent=True))
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def __repr__(self) -> str:
        return f"SecretVersion(secret_id={self.secret_id!r}, revision={self.revision}, status={self.status!r})"


@dataclass(frozen=True, slots=True)
class AccessedVersion(_Wire):
    """The data of one version, as returned by the access endpoints."""

    secret_id: str = field(metadata=wire(as_sent=True))
    revision: int = field(metadata=wire(required=True))
    data: bytes
    data_crc32: int | None
    type: str = SecretType.OPAQUE

    def __repr__(self) -> str:  # never the data
        return f"AccessedVersion(secret_id={self.secret_id!r}, revision={self.revision}, size={len(self.data)})"


@dataclass(frozen=True, slots=True)
class BrowseItem(_Wire):
    """One entry of ``/secrets/browse``: a folder or a secret directly under the prefix."""

    name: str = field(metadata=wire(as_sent=True))
    created_at: datetime | None
    updated_at: datetime | None
    # {id, tags, version_count, protected, type, ephemeral_policy}; one of the two is set
    secret: dict[str, Any] | None = field(default=None, metadata=wire(omit_none=True))
    folder: dict[str, Any] | None = field(default=None, metadata=wire(omit_none=True))

    @property
    def is_folder(self) -> bool:
        return self.folder is not None

    def __repr__(self) -> str:
        return f"BrowseItem(folder={self.is_folder})"


@dataclass(frozen=True, slots=True)
class Project(_Wire):
    """An Account v3 project."""

    id: str = field(metadata=wire(required=True, as_sent=True))
    name: str = field(metadata=wire(as_sent=True))
    organization_id: str = field(metadata=wire(as_sent=True))
    created_at: datetime | None = None
    updated_at: datetime | None = None
    description: str = ""
    qualification: dict[str, Any] | None = None
    status: str | None = field(default=None, metadata=wire(omit_none=True))
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def __repr__(self) -> str:
        return f"Project(id={self.id!r})"


@dataclass(frozen=True, slots=True)
class ApiKey(_Wire):
    """An IAM API key as ``GET /iam/v1alpha1/api-keys/{access_key}`` describes it.

    Its secret key is never kept (the API only shows it at creation; ``_wire_ignore``
    keeps it out of ``extra`` should an answer carry it anyway).
    """

    _wire_ignore: typing.ClassVar[frozenset[str]] = frozenset({"secret_key"})

    access_key: str = field(metadata=wire(required=True, as_sent=True))
    application_id: str | None = None
    user_id: str | None = None
    description: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    expires_at: datetime | None = None
    default_project_id: str | None = None
    editable: bool = False
    deletable: bool = False
    managed: bool = False
    creation_ip: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def __repr__(self) -> str:
        return (
            f"ApiKey(access_key={self.access_key!r}, expires_at={format_time(self.expires_at)!r})"
        )
