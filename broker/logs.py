"""Log lines nobody outside can forge or flood (issue 12 item 5; docs/security.md X-05).

Log messages carry values from requests and from IdPs: a connection id from a URL path, an
email typed on the login page, an IdP's error text. A CR or LF in one of them would start a
line of the attacker's choosing in a text log (`login complete ... sub=usr_admin`); a NUL or
an escape sequence confuses the tools that read logs; a 30 KB value makes every line about it
30 KB. So every record's arguments and message are escaped and capped *when the record is
made*, before any handler or formatter sees it, whoever configured the handlers (uvicorn,
gunicorn, a deployment's own): `install()` wraps the process's log record factory.

Escaping is per value, so a formatter that unpacks arguments (uvicorn's access log reads its
five arguments by position) still gets five strings. Control characters (C0, DEL, C1, and
the Unicode line and paragraph separators) become `\\xNN` / `\\uNNNN` text; each value is cut
to `MAX_VALUE` characters with a note of how much was left out.

Every record also carries `request_id`, the reference of the request being served (the one
its error page shows and its audit events store; `-` outside a request), and
`TextFormatter` writes it on every line: the CLI and `gatehouse serve` log through it, so a
reference a person reads out finds its log lines.

`GATEHOUSE_LOG_FORMAT=json` (production's default) writes JSON lines instead (`JsonFormatter`,
structlog's formatter for the standard library's records): `timestamp` (UTC, ISO 8601),
`level`, `logger`, `message`, `request_id`, and `organization_id` / `connection_id` once the
code serving the request knows them (`about()`); a traceback is the `exception` field, so a
record stays one line. A log pipeline filters on the fields instead of parsing text.
"""

from __future__ import annotations

import contextvars
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

import structlog

MAX_VALUE = 1000
#: The reference of the request this thread or task serves (set by the web layer's
#: middleware); `-` outside a request.
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
#: The ids `about()` may attach to the lines of the request being served.
CONTEXT_FIELDS = ("organization_id", "connection_id")
#: One line per record, with the request's reference.
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_INSTALLED = "_gatehouse_escapes_values"


def escape(text: str, *, limit: int = MAX_VALUE) -> str:
    """`text` on one line, with no control character, at most `limit` characters (plus a
    note saying how many more there were)."""
    if len(text) > limit:
        text = f"{text[:limit]}…[{len(text) - limit} more]"
    return _CONTROL.sub(_escaped_character, text)


def _escaped_character(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


class _Shown:
    """An argument that is not a string or a number: escaped when the message is
    formatted, whichever of `%s` or `%r` shows it."""

    __slots__ = ("_value",)

    def __init__(self, value: object) -> None:
        self._value = value

    def __str__(self) -> str:
        return escape(str(self._value))

    def __repr__(self) -> str:
        return escape(repr(self._value))


def _safe(value: object) -> object:
    if isinstance(value, str):
        return escape(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    return _Shown(value)


def safe_args(args: Any) -> Any:
    if isinstance(args, tuple):
        return tuple(_safe(a) for a in args)
    if isinstance(args, Mapping):
        return {k: _safe(v) for k, v in args.items()}
    return args


#: Libraries whose DEBUG lines carry secrets: authlib logs every token it issues ("Issue
#: token {'access_token': ...}"). Held at INFO whatever the root's level; an operator who
#: sets one of them to DEBUG by name asks for tokens in the log.
QUIET_BELOW_INFO = ("authlib",)


def install() -> None:
    """Make every log record of this process escape its values, and keep the libraries of
    `QUIET_BELOW_INFO` from logging secrets at DEBUG (idempotent)."""
    for name in QUIET_BELOW_INFO:
        if logging.getLogger(name).level == logging.NOTSET:
            logging.getLogger(name).setLevel(logging.INFO)
    current: Callable[..., logging.LogRecord] = logging.getLogRecordFactory()
    if getattr(current, _INSTALLED, False):
        return

    def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = current(*args, **kwargs)
        if isinstance(record.msg, str):
            record.msg = escape(record.msg, limit=MAX_VALUE * 4)
        else:
            record.msg = _Shown(record.msg)
        record.args = safe_args(record.args)
        record.request_id = request_id.get()
        return record

    setattr(make_record, _INSTALLED, True)
    logging.setLogRecordFactory(make_record)


class TextFormatter(logging.Formatter):
    """`TEXT_FORMAT`, also for records made before `install()` (a server's start-up lines),
    which have no `request_id` of their own."""

    def __init__(self, fmt: str = TEXT_FORMAT, datefmt: str | None = None) -> None:
        super().__init__(fmt, datefmt)

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "request_id"):
            record.request_id = "-"
        return super().format(record)


def about(*, organization_id: str | None = None, connection_id: str | None = None) -> None:
    """Attach the organization and connection a request turned out to be about to the rest of
    its log lines (JSON fields). The binding lives in the request's context, so it ends with
    the request and never reaches another one."""
    given = {"organization_id": organization_id, "connection_id": connection_id}
    structlog.contextvars.bind_contextvars(**{k: v for k, v in given.items() if v is not None})


def _request_id(_: Any, __: str, event: structlog.typing.EventDict) -> structlog.typing.EventDict:
    record = event.get("_record")
    event["request_id"] = getattr(record, "request_id", None) or request_id.get()
    return event


class JsonFormatter(structlog.stdlib.ProcessorFormatter):
    """One JSON object per record, for `GATEHOUSE_LOG_FORMAT=json`."""

    def __init__(self) -> None:
        super().__init__(
            foreign_pre_chain=[
                structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
                structlog.stdlib.add_log_level,
                structlog.stdlib.add_logger_name,
                _request_id,
                structlog.contextvars.merge_contextvars,
            ],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.EventRenamer("message"),
                structlog.processors.ExceptionRenderer(),
                structlog.processors.JSONRenderer(),
            ],
        )


FORMATTERS: Mapping[str, str] = {
    "text": "broker.logs.TextFormatter",
    "json": "broker.logs.JsonFormatter",
}


def formatter(log_format: str) -> logging.Formatter:
    """The formatter `GATEHOUSE_LOG_FORMAT` names (`text` or `json`)."""
    return JsonFormatter() if log_format == "json" else TextFormatter()


def uvicorn_log_config(level: str = "info", log_format: str = "text") -> dict[str, Any]:
    """uvicorn's own loggers (start-up, errors, the access log) and ours, through the
    formatter `log_format` names."""
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "chosen",
        "stream": "ext://sys.stderr",
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"chosen": {"()": FORMATTERS[log_format]}},
        "handlers": {"chosen": handler},
        "root": {"handlers": ["chosen"], "level": level.upper()},
        "loggers": {
            name: {"handlers": [], "level": level.upper(), "propagate": True}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }
