"""Log context: the task, document and change a log line is about, on every line.

A context variable holds the fields; `ContextFilter` (on the console handler, see LOGGING in
settings) copies them onto each record, so loggers deep in the pipeline need no extra
arguments. Celery's task_prerun/task_postrun set the task name and id for each task (eager
tasks included); tasks add the document or change with `log_context(document_id=…)`.

Plain lines read `… INFO snapshots.services [task=snapshots.tasks.check_document[3f2a…]
document=42] check document=42 outcome=unchanged …`; LOG_FORMAT=json writes one JSON object a
line with the same fields as keys.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from types import MappingProxyType

# Record attributes, in the order the plain format shows them.
FIELDS = ("task", "task_id", "document_id", "change_id")

# Never mutated: each change sets a new dict (the default is read-only).
_context: ContextVar[Mapping[str, object]] = ContextVar(
    "clausewatch_log_context", default=MappingProxyType({})
)


def current() -> dict[str, object]:
    return dict(_context.get())


@contextmanager
def log_context(**fields: object) -> Iterator[None]:
    """Add fields (None values are left out) to every log line inside the block."""
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise TypeError(f"unknown log context fields: {sorted(unknown)}")
    token = _context.set(_context.get() | {k: v for k, v in fields.items() if v is not None})
    try:
        yield
    finally:
        _context.reset(token)


class ContextFilter(logging.Filter):
    """Copies the log context onto each record (as attributes named after FIELDS)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _context.get()
        for key in FIELDS:
            # A value passed with extra={...} wins over the context.
            if getattr(record, key, None) is None:
                setattr(record, key, context.get(key))
        return True


def render_context(record: logging.LogRecord) -> str:
    """`task=name[id] document=42 change=7`, from whatever fields the record carries."""
    parts = []
    task, task_id = getattr(record, "task", None), getattr(record, "task_id", None)
    if task:
        parts.append(f"task={task}[{task_id}]" if task_id else f"task={task}")
    if (document_id := getattr(record, "document_id", None)) is not None:
        parts.append(f"document={document_id}")
    if (change_id := getattr(record, "change_id", None)) is not None:
        parts.append(f"change={change_id}")
    return " ".join(parts)


class PlainFormatter(logging.Formatter):
    """The readable default: time, level, logger, [context], message."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(context)s%(message)s")

    def format(self, record: logging.LogRecord) -> str:
        rendered = render_context(record)
        record.context = f"[{rendered}] " if rendered else ""
        return super().format(record)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, the context
    fields that are set, and the traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in FIELDS:
            if (value := getattr(record, key, None)) is not None:
                payload[key] = value
        if record.exc_info:
            payload["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            payload["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(payload, default=str, ensure_ascii=False)


# Celery ------------------------------------------------------------------------------------

# Task id → the token that restores the context from before the task (nested eager tasks run
# inside their caller; each gets a fresh context and gives the caller's back when it ends).
_task_tokens: dict[str, Token] = {}


def _task_started(task_id: str | None = None, task=None, **_: object) -> None:
    name = getattr(task, "name", None)
    _task_tokens[str(task_id)] = _context.set({"task": name, "task_id": task_id})


def _task_finished(task_id: str | None = None, **_: object) -> None:
    token = _task_tokens.pop(str(task_id), None)
    if token is not None:
        try:
            _context.reset(token)
        except ValueError:  # set in another context (should not happen): start clean
            _context.set(MappingProxyType({}))


def _use_django_logging(**_: object) -> None:
    """Celery's setup_logging: configure the worker from Django's LOGGING, not Celery's own
    handlers (connecting any receiver also stops Celery hijacking the root logger)."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)


def connect_celery_signals() -> None:
    from celery import signals

    signals.task_prerun.connect(_task_started, dispatch_uid="clausewatch-log-task-started")
    signals.task_postrun.connect(_task_finished, dispatch_uid="clausewatch-log-task-finished")
    signals.setup_logging.connect(_use_django_logging, dispatch_uid="clausewatch-log-setup")
