"""``marketap-mock replay FILE``: the command around :mod:`mockserver.replay`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TextIO

from mockserver.errors import SettingsError
from mockserver.recording import RecordingError, read_recording
from mockserver.replay import in_process, over_http, progress_bar, replay

__all__ = ["run_replay"]


def run_replay(ns: argparse.Namespace, out: TextIO, parser: argparse.ArgumentParser) -> int:
    """0 when every compared exchange agrees, 1 on any disagreement, 2 when the recording or the
    settings are wrong (and then nothing is sent)."""
    from mockserver.cli import settings_from

    try:
        recording = read_recording(ns.recording)
    except RecordingError as exc:
        print(f"marketap-mock replay: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"marketap-mock replay: cannot read {ns.recording}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    if ns.report:
        # Said before anything is sent: a report that cannot be written is known now.
        try:
            Path(ns.report).touch()
        except OSError as exc:
            print(f"marketap-mock replay: cannot write {ns.report}: {exc.strerror or exc}", file=sys.stderr)
            return 2
    close = None
    if ns.url:
        send, close = over_http(ns.url)
        target = ns.url
    else:
        ns.credentials = [("api_key", ns.api_key), ("project_id", ns.project_id)]
        try:
            settings = settings_from(ns)
        except SettingsError as exc:
            parser.error(str(exc))
        send = in_process(settings)
        target = "a fresh fake in process"
    show = ns.progress if ns.progress is not None else sys.stderr.isatty()
    try:
        result = replay(
            recording.exchanges,
            send,
            api_key=ns.api_key,
            project_id=ns.project_id,
            source=ns.recording,
            target=target,
            progress=progress_bar(sys.stderr) if show and recording.exchanges else None,
        )
    except OSError as exc:
        print(f"marketap-mock replay: cannot reach {target}: {exc}", file=sys.stderr)
        return 2
    finally:
        if close is not None:
            close()
    out.write(result.text() + "\n")
    if ns.report:
        try:
            Path(ns.report).write_text(json.dumps(result.as_dict(), indent=2, ensure_ascii=False) + "\n")
        except OSError as exc:
            print(f"marketap-mock replay: cannot write {ns.report}: {exc.strerror or exc}", file=sys.stderr)
            return 2
    return 1 if result.disagreements else 0
