"""Every pipeline log line carries its task, document and change (config/logcontext.py)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest

from alerts.tasks import fan_out_change
from config.logcontext import ContextFilter, JsonFormatter, PlainFormatter, log_context
from snapshots.tasks import check_document
from tests.alerts.helpers import make_change
from tests.factories import DocumentFactory
from tests.pages import wrap_in_noisy_html

REPO = Path(__file__).resolve().parents[2]
PIPELINE = ("snapshots", "alerts")


def _console_handler() -> logging.Handler:
    """The handler settings.LOGGING configured on the root logger (the one with our filter)."""
    for handler in logging.getLogger().handlers:
        if any(isinstance(f, ContextFilter) for f in handler.filters):
            return handler
    raise AssertionError("settings.LOGGING put no ContextFilter on a root handler")


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def captured():
    """Records as the configured console handler sees them (same filters), plus its output."""
    console = _console_handler()
    capture = _Capture()
    for f in console.filters:
        capture.addFilter(f)
    stream = StringIO()
    previous = console.setStream(stream)
    root = logging.getLogger()
    root.addHandler(capture)
    try:
        yield capture.records, stream
    finally:
        root.removeHandler(capture)
        console.setStream(previous)


def _pipeline(records):
    return [r for r in records if r.name.split(".")[0] in PIPELINE]


@pytest.mark.django_db
def test_it_labels_every_pipeline_line_of_a_check_with_the_task_and_document(captured, httpserver):
    records, stream = captured
    httpserver.expect_request("/terms").respond_with_data(
        wrap_in_noisy_html("# Terms\n\nWe host what you upload.\n", seed=1),
        content_type="text/html",
    )
    httpserver.expect_request("/gone").respond_with_data("no", status=404)
    doc = DocumentFactory(url=httpserver.url_for("/terms"))
    broken = DocumentFactory(url=httpserver.url_for("/gone"))

    assert check_document.delay(doc.pk).get() == "first"
    assert check_document.delay(doc.pk).get() == "unchanged"
    assert check_document.delay(broken.pk).get() == "error"
    logging.getLogger("snapshots.services").info("after the tasks")

    during, after = _pipeline(records)[:-1], _pipeline(records)[-1]
    assert len(during) >= 3  # at least the summary line of each check
    for record in during:
        assert record.task == "snapshots.tasks.check_document", record.getMessage()
        assert record.task_id
        assert record.document_id in {doc.pk, broken.pk}
    assert {r.document_id for r in during} == {doc.pk, broken.pk}
    assert len({r.task_id for r in during}) == 3  # one id per task run
    # The context ends with the task.
    assert (after.task, after.task_id, after.document_id) == (None, None, None)

    lines = [line for line in stream.getvalue().splitlines() if " snapshots." in line]
    assert any(
        f"[task=snapshots.tasks.check_document[{during[0].task_id}] document={doc.pk}]" in line
        for line in lines
    ), lines
    assert lines[-1].endswith("snapshots.services after the tasks")


@pytest.mark.django_db
def test_it_labels_a_fan_out_with_its_change_and_restores_the_callers_context(captured):
    records, _ = captured
    # Archive history is never alerted: the fan-out logs that and stops.
    change = make_change(alertable=False)
    with log_context(document_id=7):
        fan_out_change.delay(change.pk)
        logging.getLogger("snapshots.recording").warning("back in the caller")

    fan_out = [r for r in records if r.name == "alerts.services.fan_out"]
    assert fan_out, [r.getMessage() for r in records]
    for record in fan_out:
        assert record.task == "alerts.tasks.fan_out_change"
        assert record.change_id == change.pk
        assert record.document_id is None  # a task starts with a fresh context
    caller = [r for r in records if r.getMessage() == "back in the caller"]
    assert [(r.task, r.document_id, r.change_id) for r in caller] == [(None, 7, None)]


def _record(message: str, **extra) -> logging.LogRecord:
    record = logging.LogRecord(
        "snapshots.services", logging.WARNING, __file__, 1, message, (), None
    )
    record.__dict__.update(extra)
    return record


def test_it_writes_one_parseable_json_object_per_line():
    formatter, context = JsonFormatter(), ContextFilter()
    with log_context(task="snapshots.tasks.check_document", task_id="abc", document_id=42):
        first = _record('fetch failed: "quoted"\nsecond line')
        context.filter(first)
    try:
        raise ValueError("boom")
    except ValueError:
        second = _record("no context", exc_info=sys.exc_info())
    context.filter(second)

    lines = [formatter.format(first), formatter.format(second)]
    assert all("\n" not in line for line in lines)
    one, two = map(json.loads, lines)
    assert one["message"] == 'fetch failed: "quoted"\nsecond line'
    assert (one["task"], one["task_id"], one["document_id"]) == (
        "snapshots.tasks.check_document",
        "abc",
        42,
    )
    assert (one["level"], one["logger"]) == ("WARNING", "snapshots.services")
    assert one["time"].endswith("+00:00")
    assert "task" not in two and "document_id" not in two
    assert "ValueError: boom" in two["exc_info"]


def test_it_shows_the_context_in_the_plain_format_only_when_there_is_one():
    formatter, context = PlainFormatter(), ContextFilter()
    with log_context(task="alerts.tasks.fan_out_change", task_id="t1", change_id=9):
        labelled = _record("sent")
        context.filter(labelled)
    bare = _record("idle")
    context.filter(bare)
    assert formatter.format(labelled).endswith(
        "WARNING snapshots.services [task=alerts.tasks.fan_out_change[t1] change=9] sent"
    )
    assert formatter.format(bare).endswith("WARNING snapshots.services idle")


def test_it_refuses_fields_it_does_not_know():
    with pytest.raises(TypeError), log_context(documentid=1):
        pass


def test_the_worker_logs_through_djangos_logging_config_in_json(tmp_path):
    """What `celery -A config worker` does at start (app.log.setup → setup_logging signal):
    with our receiver Celery leaves the root logger to settings.LOGGING."""
    script = (
        "import logging\n"
        "from config.celery import app\n"
        "app.log.setup(loglevel='INFO')\n"
        "from config.logcontext import log_context\n"
        "with log_context(task='snapshots.tasks.check_document', task_id='w1', document_id=5):\n"
        "    logging.getLogger('snapshots.services').info('checked')\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env |= {"LOG_FORMAT": "json", "DJANGO_SETTINGS_MODULE": "config.settings"}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert {
        "logger": "snapshots.services",
        "message": "checked",
        "task": "snapshots.tasks.check_document",
        "task_id": "w1",
        "document_id": 5,
    }.items() <= lines[-1].items(), result.stderr


def test_the_settings_reject_an_unknown_log_format():
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env |= {"LOG_FORMAT": "xml", "DJANGO_SETTINGS_MODULE": "config.settings"}
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "LOG_FORMAT='xml'" in result.stderr
