"""Log lines as JSON objects, one per line, for log shippers (LOG_FORMAT=json).

Each line carries time (UTC, ISO 8601), level, logger and message, plus every
`extra={...}` field the call passed (the tick's figures under "tick", for
instance), so a log pipeline can filter and graph them without parsing text.
"""

import json
import logging
from datetime import UTC, datetime

# Attributes every LogRecord has; anything else on a record came from `extra`.
_STANDARD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRIBUTES and not key.startswith("_") and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        # default=str: an extra that is not JSON (a request, a datetime) still
        # logs, as its text, rather than losing the whole line.
        return json.dumps(entry, default=str, ensure_ascii=False)
