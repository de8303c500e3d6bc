"""The fake's settings: one definition read by the CLI, ``PATCH /_mock/settings`` and the marker.

Each setting documents what the real API is known to do. Where the vendor publishes nothing the
default is the strict answer, and the setting lets a user relax it.

PYTEST_DONT_REWRITE: loaded on every pytest run; its asserts need no rewriting.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from mockserver import spec
from mockserver.errors import SettingsError
from mockserver.secrets import mask_keys, mask_secret

__all__ = ["BODY_SETTINGS", "DEFAULT_API_KEY", "DEFAULT_PROJECT_ID", "Settings"]

DEFAULT_API_KEY = "test-api-key"
DEFAULT_PROJECT_ID = "test-project"

#: The settings that change which bodies are valid: validators are built and cached per their values.
BODY_SETTINGS = (
    "allow_naive_timestamps",
    "timestamp_format",
    "allow_empty_batches",
    "require_event_user_id",
    "check_reserved_properties",
    "reject_control_characters",
    "reject_unknown_reserved",
    "max_batch_items",
    "max_batch_profiles",
    "max_batch_events",
    "max_batch_devices",
    "max_batch_user_ids",
    "max_string_length",
    "max_properties",
    "max_depth",
)


def _doc(text: str, **extra: Any) -> dict[str, Any]:
    return {"doc": text, **extra}


@dataclass(frozen=True)
class Settings:
    """Everything that changes what the fake accepts or how it keeps state."""

    api_keys: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: {DEFAULT_API_KEY: (DEFAULT_PROJECT_ID,)},
        metadata=_doc("API keys and the projects each is valid for.", cli=False),
    )
    any_project: bool = field(
        default=False,
        metadata=_doc(
            "Accept any `project_id` with a configured API key (fake only): one fake shared by "
            "parallel test workers, each on a project of its own (the plugin does this under "
            "pytest-xdist with --marketap-url)."
        ),
    )
    allow_naive_timestamps: bool = field(
        default=False,
        metadata=_doc(
            "Accept timestamps without a time zone. The vendor asks for ISO 8601 with a zone; "
            "what it does without one is unknown."
        ),
    )
    timestamp_format: Literal["rfc3339", "iso8601"] = field(
        default="rfc3339",
        metadata=_doc(
            "Which timestamps are accepted. `rfc3339` (default): RFC 3339, the ISO 8601 extended "
            "form of the vendor's examples (`2025-01-17T05:39:22Z`, `2025-01-17T05:39:22+09:00`). "
            "`iso8601`: also ISO 8601's other complete forms an SDK could send: the basic form "
            "`20250117T053922Z`, offsets `+0900` and `+09`, a comma before the fraction. The "
            'vendor\'s page says "ISO 8601" and shows only the extended form (CONFIRMED); what it '
            "does with the others is unknown.",
            choices=spec.TIMESTAMP_FORMATS,
        ),
    )
    allow_empty_batches: bool = field(
        default=False,
        metadata=_doc(
            "Accept empty `profiles`, `events` and `devices` lists (unknown for the real API). "
            "`user_ids` keeps its confirmed minimum of 1."
        ),
    )
    require_event_user_id: bool = field(
        default=True,
        metadata=_doc("Require `user_id` on every event (inferred: server events have no device)."),
    )
    check_reserved_properties: bool = field(
        default=True,
        metadata=_doc("Reject reserved `mkt_*` properties of the wrong type (types from the SDKs)."),
    )
    reject_control_characters: bool = field(
        default=True,
        metadata=_doc("Reject strings holding C0 control characters other than tab, CR and LF."),
    )
    reject_unknown_reserved: bool = field(
        default=False,
        metadata=_doc(
            "Reject unknown `mkt_*` keys (a top-level property, an item or coupon key) instead of "
            "accepting them with a warning. What the vendor does with them is unknown; a misspelt "
            "reserved key (`mkt_qty` for `mkt_quantity`) is otherwise a silent production bug."
        ),
    )
    max_batch_items: int = field(
        default=spec.MAX_BATCH_ITEMS,
        metadata=_doc(
            "Most items per bulk call (confirmed 1,000 for profiles and events).", min=1, max=1_000_000
        ),
    )
    max_batch_profiles: int | None = field(
        default=None,
        metadata=_doc(
            "Most `profiles` per call, when not `max_batch_items` (confirmed 1,000).", min=1, max=1_000_000
        ),
    )
    max_batch_events: int | None = field(
        default=None,
        metadata=_doc(
            "Most `events` per call, when not `max_batch_items` (confirmed 1,000).", min=1, max=1_000_000
        ),
    )
    max_batch_devices: int | None = field(
        default=None,
        metadata=_doc(
            "Most `devices` per call, when not `max_batch_items` (inferred 1,000).", min=1, max=1_000_000
        ),
    )
    max_batch_user_ids: int | None = field(
        default=None,
        metadata=_doc(
            "Most `user_ids` per bulk deletion, when not `max_batch_items` (inferred 1,000).",
            min=1,
            max=1_000_000,
        ),
    )
    max_body_bytes: int = field(
        default=spec.MAX_BODY_BYTES,
        metadata=_doc("Largest body, after decompression; larger is 413 (unknown).", min=1, max=1 << 30),
    )
    max_string_length: int = field(
        default=spec.MAX_STRING_LENGTH,
        metadata=_doc("Longest string anywhere in a body, in characters (unknown).", min=1, max=1 << 30),
    )
    max_properties: int = field(
        default=spec.MAX_PROPERTIES,
        metadata=_doc("Most keys in one `properties` object (unknown).", min=1, max=1_000_000),
    )
    max_depth: int = field(
        default=spec.MAX_DEPTH,
        metadata=_doc("Deepest nesting of objects and arrays in a body (unknown).", min=2, max=10_000),
    )
    deletion_jobs: Literal["immediate", "manual"] = field(
        default="immediate",
        metadata=_doc(
            "How deletion jobs complete: `immediate` (on their own, after "
            "`deletion_job_delay`) or `manual` (only when completed through the control plane).",
            choices=("immediate", "manual"),
        ),
    )
    deletion_job_delay: float = field(
        default=0.0,
        metadata=_doc("Seconds on the fake's clock before an `immediate` job completes.", min=0, max=1e9),
    )
    processing_delay: float = field(
        default=0.0,
        metadata=_doc(
            "Seconds on the fake's clock between accepting events or profiles (202) and "
            "processing them: until then the state views and the plugin's assertions show them "
            "as pending, not stored. The vendor's page says events are processed "
            "asynchronously; 0 (default) shows them at once.",
            min=0,
            max=1e9,
        ),
    )
    journal_max_entries: int = field(
        default=10_000,
        metadata=_doc(
            "Most requests the journal keeps; the oldest are dropped and counted.", min=1, max=10**8
        ),
    )
    journal_max_bytes: int = field(
        default=64 * 1024 * 1024,
        metadata=_doc(
            "Most body bytes the journal keeps; the oldest are dropped and counted.", min=1, max=1 << 40
        ),
    )
    rate_limit: str | None = field(
        default=None,
        metadata=_doc(
            "Requests allowed per API key, as a token bucket on the fake's clock: '10/s', "
            "'600/m' or '1000/h'; over it, 429 with Retry-After. The vendor publishes no limit: "
            "this is the fake's simulation. Off by default.",
            metavar="N/UNIT",
        ),
    )
    max_stored_events: int = field(
        default=100_000,
        metadata=_doc(
            "Most events kept across projects; the oldest are dropped and counted.", min=1, max=10**9
        ),
    )
    max_stored_bytes: int = field(
        default=256 * 1024 * 1024,
        metadata=_doc(
            "Bytes of stored data kept across projects (events by their JSON text; profiles, devices "
            "and deletion jobs by their share of the request, times six for the parsed form); past "
            "it the oldest data is dropped and counted, so memory stays bounded whatever the traffic.",
            min=1,
            max=1 << 40,
        ),
    )
    read_timeout: float = field(
        default=10.0,
        metadata=_doc(
            "Seconds a request body may take to arrive in full; past it the fake answers 408 and "
            "stores nothing (on granian, up to 50 ms past it). A slow client never holds up the "
            "others.",
            min=0.1,
            max=3600,
        ),
    )

    def __post_init__(self) -> None:
        for f in fields(self):
            _check(f, getattr(self, f.name))

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], *, base: Settings | None = None) -> Settings:
        """Build settings from JSON-like values (strings from a CLI are converted), checked."""
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            from mockserver.names import did_you_mean

            named = ", ".join(f"{name}{did_you_mean(name, known)}" for name in unknown)
            raise SettingsError(f"unknown setting(s) {named}; known: {', '.join(sorted(known))}")
        converted = {name: _convert(known[name], value) for name, value in values.items()}
        return dataclasses.replace(base or cls(), **converted)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, with API keys masked, wherever they are named (a project named like one)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["api_keys"] = {}
        for number, (key, projects) in enumerate(self.api_keys.items(), 1):
            shown = mask_secret(key)
            # Two short keys both show as "****"; neither may hide the other.
            if shown in out["api_keys"]:
                shown = f"{shown} (key {number})"
            out["api_keys"][shown] = mask_keys(list(projects), self.api_keys)
        return out

    def requires(self, field: spec.Field) -> bool:
        """Whether every item must hold ``field``: events' ``user_id`` hangs on a setting."""
        return self.require_event_user_id if field.required == "setting" else field.required

    def max_items(self, key: str) -> int:
        """The most items the ``key`` list may hold: its own setting, else ``max_batch_items``."""
        own: int | None = getattr(self, f"max_batch_{key}", None)
        return self.max_batch_items if own is None else own

    def min_batch_items(self, key: str) -> int:
        """The fewest items the ``key`` list may hold: ``user_ids`` keeps its CONFIRMED 1."""
        return 0 if self.allow_empty_batches and key != "user_ids" else 1


def _convert(f: dataclasses.Field[Any], value: Any) -> Any:
    kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    if f.name == "api_keys":
        shape = "api_keys must be a non-empty object of API key -> project id or list of project ids"
        if not isinstance(value, Mapping) or not value:
            raise SettingsError(shape)
        keys: dict[str, tuple[str, ...]] = {}
        for key, projects in value.items():
            projects = [projects] if isinstance(projects, str) else projects
            if not isinstance(key, str) or not isinstance(projects, (list, tuple)):
                raise SettingsError(f"{shape}, not {mask_secret(str(key))!r}: {projects!r}")
            if not all(isinstance(p, str) for p in projects):
                raise SettingsError(f"{shape}: the projects of {mask_secret(str(key))!r} must be strings")
            keys[key] = tuple(projects)
        return keys
    if isinstance(value, str) and f.name == "rate_limit" and value.strip().lower() in ("", "none", "off"):
        return None
    if kind == "int | None":
        # a per-array limit: unset (null, or "none" from a command line) follows max_batch_items
        if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none")):
            return None
        kind = "int"
    if isinstance(value, str):
        text = value.strip()
        if kind == "bool":
            lowered = text.lower()
            if lowered in {"1", "true", "yes", "on"}:
                return True
            if lowered in {"0", "false", "no", "off"}:
                return False
            raise SettingsError(f"{f.name} must be true or false, not {value!r}")
        # Python reads other scripts' digits as numbers (int("١٢") is 12); a setting takes ASCII only.
        if kind in ("int", "float") and not text.isascii():
            raise SettingsError(f"{f.name} must be written in ASCII digits, not {value!r}")
        if kind == "int":
            try:
                return int(text.replace("_", "").replace(",", ""))
            except ValueError:
                raise SettingsError(f"{f.name} must be a whole number, not {value!r}") from None
        if kind == "float":
            try:
                return float(text)
            except ValueError:
                raise SettingsError(f"{f.name} must be a number of seconds, not {value!r}") from None

    if kind == "float" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _check(f: dataclasses.Field[Any], value: Any) -> None:
    kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    meta = f.metadata
    if kind == "bool" and not isinstance(value, bool):
        raise SettingsError(f"{f.name} must be true or false, not {value!r}")
    if kind == "int | None" and value is not None:
        kind = "int"
    if kind == "int" and (not isinstance(value, int) or isinstance(value, bool)):
        raise SettingsError(f"{f.name} must be a whole number, not {value!r}")
    if kind == "float" and (
        not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value)
    ):
        raise SettingsError(f"{f.name} must be a finite number, not {value!r}")
    if "min" in meta and isinstance(value, (int, float)) and value < meta["min"]:
        raise SettingsError(f"{f.name} must be at least {meta['min']:,}, not {value!r}")
    if "max" in meta and isinstance(value, (int, float)) and value > meta["max"]:
        raise SettingsError(f"{f.name} must be at most {meta['max']:,}, not {value!r}")
    if "choices" in meta and value not in meta["choices"]:
        raise SettingsError(f"{f.name} must be one of {', '.join(meta['choices'])}, not {value!r}")
    if f.name == "rate_limit" and value is not None:
        from mockserver.faults import parse_rate_limit

        if not isinstance(value, str):
            raise SettingsError(f"rate_limit must look like '10/s', not {value!r}")
        parse_rate_limit(value)
    if f.name == "api_keys":
        for key, projects in value.items():
            if not key or not projects or not all(projects):
                raise SettingsError("every API key needs a non-empty name and at least one project")
