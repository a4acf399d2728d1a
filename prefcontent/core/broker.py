"""The embedded broker: kombu's filesystem transport with atomic writes and reads that cannot crash.

kombu's own transport creates a message file, then writes it; a consumer that lists the folder in
between moves and reads an empty file, and its JSONDecodeError kills the worker's consumer. Here a
message is written to a hidden temporary name, flushed to disk and renamed into place (rename is
atomic within a folder), so a reader only ever sees whole messages. A file that still does not decode
(a disk error, a hand-edited folder) is moved to `corrupt/` and logged, and the worker goes on.

The exchange tables in the control folder get the same care. kombu records a binding in process-wide
memory before it writes the table file, so a second thread of the same process that declares the same
queue in between skips the write, publishes, finds no table and drops the message without a word; and
it truncates the table file before locking it, so a reader can see it empty. Here every declare makes
sure the file holds its binding, tables change under a lock file and are replaced by rename, and a
message that a direct exchange cannot route is logged as an error.

Select it with `CELERY_BROKER_URL=filesystem://` (the embedded default); settings.py names this
transport class.
"""
from __future__ import annotations

import logging
import os
import time
import uuid
from pathlib import Path
from queue import Empty

from kombu.exceptions import ChannelError
from kombu.transport import filesystem, virtual
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

logger = logging.getLogger(__name__)
TRANSPORT = "prefcontent.core.broker:Transport"


def message_name(queue: str, ns: int | None = None) -> str:
    """"<ns>_<uuid>.<queue>.msg" with the wall-clock time zero-padded, so that names sort in time
    order across restarts and digit-count changes (a monotonic clock restarts at boot)."""
    return f"{time.time_ns() if ns is None else ns:020d}_{uuid.uuid4()}.{queue}.msg"


def _is_message_of(filename: str, queue: str) -> bool:
    # a temporary ".<name>.tmp" never matches.
    return not filename.startswith(".") and filename.partition(".")[2] == f"{queue}.msg"


def _replace_whole(path: Path, data: bytes) -> None:
    """Write `data` to a hidden temporary beside `path`, then rename it over `path` (atomic in a folder)."""
    temporary = path.with_name(f".{path.name}.{uuid.uuid4()}.tmp")
    try:
        temporary.write_bytes(data)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        """Write the message under a temporary name, fsync it, then rename it into the queue."""
        name = message_name(queue)
        final = os.path.join(self.data_folder_out, name)
        temporary = os.path.join(self.data_folder_out, f".{name}.tmp")
        try:
            with open(temporary, "wb", buffering=0) as fh:
                fh.write(str_to_bytes(dumps(payload)))
                os.fsync(fh.fileno())
            os.rename(temporary, final)
        except OSError as exc:
            Path(temporary).unlink(missing_ok=True)
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc

    def _get(self, queue):
        """The oldest whole message of `queue`; an unreadable one is set aside, never raised."""
        processed = Path(self.processed_folder)
        processed.mkdir(parents=True, exist_ok=True)
        for filename in sorted(os.listdir(self.data_folder_in)):
            if not _is_message_of(filename, queue):
                continue
            taken = processed / filename
            try:
                # The rename claims the message: of two consumers racing for it, one gets it.
                os.rename(os.path.join(self.data_folder_in, filename), taken)
            except OSError:
                continue
            try:
                payload = taken.read_bytes()
                message = loads(bytes_to_str(payload))
            except (OSError, ValueError) as exc:
                self._set_aside(taken, exc)
                continue
            if not self.store_processed:
                taken.unlink(missing_ok=True)
            return message
        raise Empty()

    def _set_aside(self, path: Path, exc: Exception) -> None:
        corrupt = Path(self.processed_folder).parent / "corrupt"
        corrupt.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(path, corrupt / path.name)
        except OSError:
            path.unlink(missing_ok=True)
        logger.warning("broker message %s could not be read and was set aside in %s: %s", path.name, corrupt, exc)


    def queue_bind(self, queue, exchange=None, routing_key="", arguments=None, **kwargs):
        super().queue_bind(queue, exchange, routing_key, arguments, **kwargs)
        # kombu returns early when this process already holds the binding in memory, although the
        # thread that put it there may not have written the table file yet.
        exchange = exchange or "amq.direct"
        meta = self.typeof(exchange).prepare_bind(queue, exchange, routing_key, arguments)
        self._queue_bind(exchange, *meta)

    def get_table(self, exchange):
        file = self._exchange_file(exchange)
        try:
            table = loads(bytes_to_str(file.read_bytes()))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            raise ChannelError(f"Cannot read exchange table {file}") from exc
        return [filesystem.exchange_queue_t(*entry) for entry in table]

    def _queue_bind(self, exchange, routing_key, pattern, queue):
        entry = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        self._change_table(exchange, lambda table: table if entry in table else [entry, *table])

    def _delete(self, queue, exchange, routing_key, pattern, *args, **kwargs):
        virtual.Channel._delete(self, queue, exchange, routing_key, pattern, *args, **kwargs)
        entry = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        self._change_table(exchange, lambda table: [e for e in table if e != entry])

    def _change_table(self, exchange, change) -> None:
        """Apply `change` to the exchange table under an exclusive lock; readers see old or new, whole."""
        file = self._exchange_file(exchange)
        try:
            self.control_folder.mkdir(parents=True, exist_ok=True)
            with open(file.with_name(f".{file.name}.lock"), "a") as lock_file:
                filesystem.lock(lock_file, filesystem.LOCK_EX)
                try:
                    table = self.get_table(exchange)
                    changed = change(table)
                    if changed != table:
                        _replace_whole(file, str_to_bytes(dumps(changed)))
                finally:
                    filesystem.unlock(lock_file)
        except OSError as exc:
            raise ChannelError(f"Cannot update exchange table {file}") from exc

    def _lookup(self, exchange, routing_key, default=None):
        queues = super()._lookup(exchange, routing_key, default)
        if not queues and exchange and self.typeof(exchange).type == "direct":
            logger.error("broker: no queue is bound to exchange %r with key %r; the message is dropped",
                         exchange, routing_key)
        return queues


class Transport(filesystem.Transport):
    Channel = Channel
