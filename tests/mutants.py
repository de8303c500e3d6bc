"""Wrong fakes, and whether the contract suite catches each one: ``python -m tests.mutants``.

Each mutant is one realistic mistake in the fake (a limit off by one, a message swapped, a rule
dropped, a state effect missing). It is applied to a copy of ``mockserver/``, the copy is served
in a process of its own, and the contract suite judges it from this checkout, which stays
pristine: a wrong ``spec.py`` in the copy cannot move the suite's expectations with it. A mutant
the suite does not fail on is a survivor, and the command exits 1. The unmutated copy is judged
first, the same way, and must pass: otherwise every mutant would be "killed" for nothing.

The judge runs only the hand-written checks, never the generated ones: a rule must never rest on
a generated case alone.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

__all__ = ["MUTANTS", "Mutant", "Verdict", "judge", "main", "run"]

ROOT = Path(__file__).resolve().parents[1]


#: The hand-written modules of the contract suite.
SUITE = ("test_auth", "test_bodies", "test_envelope", "test_fake_only", "test_requests", "test_rules")


@dataclass(frozen=True)
class Mutant:
    """Replace ``old`` with ``new`` in ``mockserver/<file>``; ``old`` must occur there exactly once.

    ``by`` names the suite's modules the mutant is judged by (all of them unless narrowed), in
    the order they run: a kill by some of the suite is a kill by the suite, collecting fewer
    checks is faster, and the judge stops at the first failure, so the module that kills it
    goes first."""

    name: str
    file: str
    old: str
    new: str
    by: tuple[str, ...] = SUITE


MUTANTS: tuple[Mutant, ...] = (
    # --- auth
    Mutant(
        "a key passes for any project",
        "auth.py",
        "if not any_project and project_id not in keys[key]:",
        "if False:",
        by=("test_rules", "test_auth"),
    ),
    Mutant(
        "a bare key with no scheme passes",
        "auth.py",
        'scheme, _, presented = authorization.strip().partition(" ")',
        'scheme, _, presented = authorization.strip().partition(" ") if " " in authorization.strip() '
        'else ("Bearer", " ", authorization.strip())',
        by=("test_rules", "test_auth"),
    ),
    Mutant(
        "the scheme name is case-sensitive",
        "auth.py",
        'scheme.lower() != "bearer"',
        'scheme != "Bearer"',
        by=("test_auth", "test_rules"),
    ),
    Mutant(
        "no WWW-Authenticate on a 401",
        "auth.py",
        'CHALLENGE = {"WWW-Authenticate": "Bearer"}',
        "CHALLENGE = {}",
        by=("test_auth", "test_rules"),
    ),
    Mutant(
        "the 401 message reworded",
        "spec.py",
        '401: "Unauthorized request.",',
        '401: "Unauthorized.",',
        by=("test_rules", "test_bodies"),
    ),
    # --- project_id
    Mutant(
        "bulk deletion's message is its siblings'",
        "spec.py",
        'bad_request_message="Invalid request.",',
        'bad_request_message="Invalid request parameters.",',
        by=("test_bodies", "test_rules"),
    ),
    Mutant(
        "a repeated project_id passes",
        "pipeline.py",
        "if len(values) > 1:",
        "if len(values) > 99:",
        by=("test_requests", "test_rules"),
    ),
    Mutant(
        "a blank project_id passes",
        "pipeline.py",
        "if not values[0].strip():",
        "if not values[0]:",
        by=("test_requests", "test_rules"),
    ),
    # --- content type, encoding, size
    Mutant(
        "any charset passes",
        "pipeline.py",
        'value.strip().strip(\'"\').lower() not in ("utf-8", "utf8")',
        "False",
        by=("test_rules", "test_requests"),
    ),
    Mutant(
        "the media type compared case-sensitively",
        "pipeline.py",
        'if mime.strip().lower() != "application/json":',
        'if mime.strip() != "application/json":',
        by=("test_rules", "test_requests"),
    ),
    Mutant(
        "gzip refused",
        "pipeline.py",
        'if encoding != "gzip":',
        'if encoding != "x-gzip":',
        by=("test_rules", "test_requests"),
    ),
    Mutant(
        "the body limit off by one",
        "pipeline.py",
        "if request.too_large or len(request.body) > limit:",
        "if request.too_large or len(request.body) >= limit:",
        by=("test_fake_only", "test_requests", "test_rules"),
    ),
    # --- JSON values
    Mutant(
        "infinite numbers pass",
        "validation.py",
        # the free-form values' union, not the typed "number" property
        "cs.int_schema(strict=True),\n                cs.float_schema(strict=True, allow_inf_nan=False),",
        "cs.int_schema(strict=True),\n                cs.float_schema(strict=True, allow_inf_nan=True),",
        by=("test_rules",),
    ),
    Mutant(
        "control characters pass",
        "validation.py",
        r'_CONTROL_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*$"',
        r'_CONTROL_PATTERN = r"^[^\x00]*$"',
        by=("test_rules", "test_bodies", "test_fake_only"),
    ),
    Mutant(
        "strings one character too long pass",
        "validation.py",
        "min_length=min_length, max_length=self.s.max_string_length, pattern=pattern, strict=True",
        "min_length=min_length, max_length=self.s.max_string_length + 1, pattern=pattern, strict=True",
        by=("test_rules", "test_bodies", "test_fake_only"),
    ),
    Mutant(
        "one level of nesting too many passes",
        "validation.py",
        "if depth > settings.max_depth:",
        "if depth > settings.max_depth + 1:",
        by=("test_rules", "test_bodies", "test_fake_only"),
    ),
    # --- batches
    Mutant(
        "1,001 profiles, devices and user ids pass",
        "validation.py",
        "item, min_length=self.s.min_batch_items(key), max_length=self.s.max_items(key), strict=True",
        "item, min_length=self.s.min_batch_items(key), max_length=self.s.max_items(key) + 1, strict=True",
        by=("test_bodies", "test_rules", "test_fake_only"),
    ),
    Mutant(
        "one limit for every array",
        "settings.py",
        'own: int | None = getattr(self, f"max_batch_{key}", None)',
        "own: int | None = None",
        by=("test_fake_only",),
    ),
    Mutant(
        "1,001 events pass",
        "fastpath.py",
        'min_length=self.s.min_batch_items("events"), max_length=self.s.max_items("events")',
        'min_length=self.s.min_batch_items("events"), max_length=self.s.max_items("events") + 1',
        by=("test_bodies",),
    ),
    Mutant(
        "empty batches pass",
        "settings.py",
        'return 0 if self.allow_empty_batches and key != "user_ids" else 1',
        "return 0",
        by=("test_bodies", "test_rules", "test_fake_only"),
    ),
    Mutant(
        "empty user_ids pass when empty batches are allowed",
        "settings.py",
        'return 0 if self.allow_empty_batches and key != "user_ids" else 1',
        "return 0 if self.allow_empty_batches else 1",
        by=("test_fake_only", "test_bodies", "test_rules"),
    ),
    # --- timestamps
    Mutant(
        "a year % 4 leap rule",
        "spec.py",
        '_LEAP_YEAR = r"(?:[0-9][0-9](?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)"',
        '_LEAP_YEAR = r"(?:[0-9][0-9](?:0[048]|[2468][048]|[13579][26]))"',
        by=("test_rules", "test_bodies"),
    ),
    Mutant(
        "February 29 in every year",
        "spec.py",
        r'rf"|02{sep}(?:0[1-9]|1[0-9]|2[0-8]))"',
        r'rf"|02{sep}(?:0[1-9]|1[0-9]|2[0-9]))"',
        by=("test_rules", "test_bodies"),
    ),
    Mutant(
        "day 31 in every month",
        "spec.py",
        r'rf"|(?:0[469]|11){sep}(?:0[1-9]|[12][0-9]|30)"',
        r'rf"|(?:0[469]|11){sep}(?:0[1-9]|[12][0-9]|3[01])"',
        by=("test_rules", "test_bodies"),
    ),
    Mutant(
        "hour 24 passes",
        "spec.py",
        '_TIME = r"(?:[01][0-9]|2[0-3]):',
        '_TIME = r"(?:[01][0-9]|2[0-4]):',
        by=("test_bodies", "test_rules"),
    ),
    Mutant(
        "second 60 passes",
        "spec.py",
        r':[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?"',
        r':[0-5][0-9]:(?:[0-5][0-9]|60)(?:\.[0-9]+)?"',
        by=("test_rules", "test_bodies"),
    ),
    Mutant(
        "a fraction point with no digits passes",
        "spec.py",
        r'[0-5][0-9](?:\.[0-9]+)?"',
        r'[0-5][0-9](?:\.[0-9]*)?"',
        by=("test_rules", "test_bodies"),
    ),
    Mutant(
        "a space for T passes",
        "spec.py",
        'rf"^{DATE_PATTERN}[Tt]{_TIME}{_ZONE}$"',
        'rf"^{DATE_PATTERN}[Tt ]{_TIME}{_ZONE}$"',
        by=("test_bodies", "test_rules"),
    ),
    Mutant(
        "an offset without its colon passes",
        "spec.py",
        ':[0-5][0-9])"\n#: A date-time with a time zone',
        ':?[0-5][0-9])"\n#: A date-time with a time zone',
        by=("test_bodies", "test_rules"),
    ),
    Mutant(
        "lower-case t and z refused",
        "spec.py",
        '_ZONE = r"(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"',
        '_ZONE = r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"',
        by=("test_rules", "test_bodies"),
    ),
    # --- fields and reserved properties
    Mutant(
        "a device without platform passes",
        "spec.py",
        'Field("platform", "platform", True),',
        'Field("platform", "platform", False),',
        by=("test_rules", "test_bodies"),
    ),
    Mutant(
        "a web device refused",
        "spec.py",
        'DEVICE_PLATFORMS: Final = ("android", "ios", "web")',
        'DEVICE_PLATFORMS: Final = ("android", "ios")',
        by=("test_bodies", "test_rules"),
    ),
    Mutant(
        "an email consent flag takes any type",
        "spec.py",
        '"mkt_email_opt_in": "boolean",',
        '"mkt_email_opt_in": "string",',
        by=("test_bodies", "test_rules"),
    ),
    Mutant(
        "the push consent flag takes any type",
        "spec.py",
        '{"opt_in": "boolean"}',
        "{}",
        by=("test_rules", "test_bodies"),
    ),
    Mutant(
        "a quantity may be a fraction",
        "spec.py",
        '"mkt_quantity": "integer",',
        '"mkt_quantity": "number",',
        by=("test_rules", "test_bodies"),
    ),
    Mutant(
        "a coupon's expiry takes any string",
        "spec.py",
        '"mkt_expires_at": "timestamp",',
        '"mkt_expires_at": "string",',
        by=("test_rules", "test_bodies"),
    ),
    # --- what is stored
    Mutant(
        "profiles replaced, not merged",
        "state.py",
        '_merge_properties(stored.setdefault(profile["user_id"], {}), profile.get("properties"))',
        'stored[profile["user_id"]] = {}\n'
        '            _merge_properties(stored[profile["user_id"]], profile.get("properties"))',
        by=("test_fake_only",),
    ),
    Mutant(
        "null erases a stored property",
        "state.py",
        "        if value is not None:\n            target[key] = value",
        "        target[key] = value",
        by=("test_fake_only",),
    ),
    Mutant(
        "a repeated event id stored again",
        "state.py",
        "                if event_id in seen:\n                    continue",
        "                pass",
        by=("test_fake_only",),
    ),
    Mutant(
        "an event id stored before taken as new in a batch that repeats none",
        "state.py",
        "if len(given) == given_ids and seen.isdisjoint(given):",
        "if len(given) == given_ids:",
        by=("test_fake_only",),
    ),
    Mutant(
        "remove_user_id ignored",
        "state.py",
        'if device.get("remove_user_id"):',
        "if False:",
        by=("test_fake_only",),
    ),
    Mutant(
        "a device's user mapping not stored",
        "state.py",
        'for key in ("platform", "token", "user_id"):',
        'for key in ("platform", "token"):',
        by=("test_fake_only",),
    ),
    Mutant(
        "deletion leaves the users' events",
        "state.py",
        "            events += len(indexes)\n            self._remove_events(batch, indexes, users_of)",
        "            events += len(indexes)",
        by=("test_fake_only",),
    ),
    Mutant(
        "deletion leaves device mappings",
        "state.py",
        '                device["user_id"] = None\n                mappings += 1',
        "                mappings += 1",
        by=("test_fake_only",),
    ),
    Mutant(
        "bulk deletion deletes the first user only",
        "state.py",
        "list(dict.fromkeys(user_ids))",
        "list(dict.fromkeys(user_ids))[:1]",
        by=("test_fake_only",),
    ),
    Mutant(
        "the processing delay ignored",
        "backend.py",
        "if delay > 0 and endpoint in _DELAYED:",
        "if False:",
        by=("test_fake_only",),
    ),
    Mutant(
        "deletion jobs ignore their delay",
        "backend.py",
        'due = None if settings.deletion_jobs == "manual" else now + settings.deletion_job_delay',
        'due = None if settings.deletion_jobs == "manual" else now',
        by=("test_fake_only",),
    ),
)


@dataclass(frozen=True)
class Verdict:
    mutant: Mutant | None  # None: the unmutated copy
    killed: bool
    seconds: float
    detail: str


def _copy(base: Path, mutant: Mutant | None) -> Path:
    """A copy of ``mockserver/`` under ``base``, with ``mutant`` applied."""
    base.mkdir(parents=True)
    shutil.copytree(ROOT / "mockserver", base / "mockserver", ignore=shutil.ignore_patterns("__pycache__"))
    if mutant is not None:
        target = base / "mockserver" / mutant.file
        target.write_text(_apply(mutant, target.read_text()))
    return base


def _apply(mutant: Mutant, text: str) -> str:
    found = text.count(mutant.old)
    if found != 1:
        raise ValueError(f"mutant {mutant.name!r}: {mutant.old!r} occurs {found} times in {mutant.file}")
    return text.replace(mutant.old, mutant.new)


# Each copy is served, and each judgement made, in a child forked from this process once the
# libraries both sides need are loaded: a fresh interpreter per mutant costs seconds of start-up,
# a fork almost nothing. The children import ``mockserver`` themselves (the server from its
# copy, the judge from this checkout); this process never does, so neither inherits the other's.
_WARM = ("flask", "werkzeug", "pydantic_core", "msgspec", "httpx", "hypothesis", "pytest", "_pytest.pytester")


def _fork(child: Callable[[], int]) -> int:
    pid = os.fork()
    if pid == 0:  # the child: never return into the parent's code
        code = 70
        try:
            code = child()
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    return pid


def _serve_copy(copy: Path, url_out: int) -> int:
    sys.path.insert(0, str(copy))
    from mockserver import Backend
    from mockserver.werkzeug_server import LiveServer

    imported = sys.modules["mockserver"].__file__ or ""
    if not imported.startswith(str(copy)):
        raise RuntimeError(f"the copy is not what was imported: {imported}")
    with LiveServer(Backend()) as server:
        os.write(url_out, server.url.encode() + b"\n")
        os.close(url_out)
        while True:
            time.sleep(3600)


def _judge_url(url: str, log: Path, by: Sequence[str]) -> int:
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    import pytest

    return int(
        pytest.main(
            [
                *(str(ROOT / "contract_tests" / f"{module}.py") for module in by),
                f"--rootdir={ROOT}",
                f"--marketap-url={url}",
                "-x",
                "-q",
                "-p",
                "no:randomly",
                "-p",
                "no:cacheprovider",
                "-p",
                "no:xdist",
                "-o",
                "addopts=--strict-markers",
                # this harness's own package is loaded already; the suite's files are not
                "-W",
                "ignore::pytest.PytestAssertRewriteWarning",
            ]
        )
    )


def _wait(pid: int) -> int:
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def judge(base: Path, mutant: Mutant | None) -> Verdict:
    """Serve ``mutant`` (or the unmutated fake) and run the pristine contract suite against it."""
    started = time.monotonic()
    copy = _copy(base, mutant)
    read, write = os.pipe()
    server = _fork(lambda: _serve_copy(copy, write))
    os.close(write)
    try:
        with os.fdopen(read) as pipe:
            url = pipe.readline().strip()
        if not url:
            raise RuntimeError(f"the copy at {copy} did not start (exit {_wait(server)})")
        log = base / "judge.log"
        code = _wait(_fork(lambda: _judge_url(url, log, SUITE if mutant is None else mutant.by)))
    finally:
        os.kill(server, signal.SIGKILL)
        _wait(server)
    output = log.read_text(errors="replace")
    if code not in (0, 1):
        raise RuntimeError(f"the contract suite could not run ({code}):\n{output[-3000:]}")
    failed = re.findall(r"^FAILED (\S+)", output, re.MULTILINE)
    return Verdict(mutant, code == 1, time.monotonic() - started, failed[0] if failed else "")


def run(mutants: Sequence[Mutant] = MUTANTS, *, workers: int = 4) -> tuple[Verdict, list[Verdict]]:
    """The unmutated copy's verdict, then each mutant's, ``workers`` at a time."""
    if "mockserver" in sys.modules:
        raise RuntimeError(
            "run this in a process of its own (python -m tests.mutants): mockserver is imported"
        )
    for mutant in mutants:  # every mutant still applies, before anything starts
        _apply(mutant, (ROOT / "mockserver" / mutant.file).read_text())
    for name in _WARM:
        __import__(name)
    with tempfile.TemporaryDirectory(prefix="marketap-mutants-") as tmp:
        root = Path(tmp)
        control = judge(root / "pristine", None)
        if control.killed:
            return control, []
        with ThreadPoolExecutor(max_workers=workers) as pool:
            verdicts = list(pool.map(lambda im: judge(root / f"m{im[0]:02d}", im[1]), enumerate(mutants)))
        return control, verdicts


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.mutants", description=__doc__.split("\n")[0])
    parser.add_argument("-k", dest="only", default=None, help="only mutants whose name holds this text")
    parser.add_argument("--workers", type=int, default=4, help="mutants judged at once (default 4)")
    ns = parser.parse_args(argv)
    mutants = [m for m in MUTANTS if ns.only is None or ns.only in m.name]
    started = time.monotonic()
    control, verdicts = run(mutants, workers=ns.workers)
    if control.killed:
        print(f"the unmutated fake fails the contract suite: {control.detail}")
        return 2
    for verdict in verdicts:
        assert verdict.mutant is not None
        state = f"killed by {verdict.detail}" if verdict.killed else "SURVIVED"
        print(f"{verdict.seconds:5.1f}s  {verdict.mutant.file:14}  {verdict.mutant.name}: {state}")
    killed = sum(v.killed for v in verdicts)
    print(f"{killed}/{len(verdicts)} mutants killed in {time.monotonic() - started:.0f}s")
    return 0 if killed == len(verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
