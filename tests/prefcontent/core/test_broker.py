"""The embedded broker: only whole messages are delivered; an unreadable one is set aside, not raised."""
from __future__ import annotations

import logging
import threading

import pytest
from kombu import Connection

from prefcontent.core.broker import TRANSPORT, message_name


@pytest.fixture
def folder(tmp_path):
    for sub in ("in", "processed"):
        (tmp_path / sub).mkdir()
    return tmp_path


@pytest.fixture
def name(request) -> str:
    # kombu keeps declared exchanges in process-wide state: one queue name per test keeps tests apart.
    return request.node.name.replace("_", "")[:40]


def connect(folder, transport=TRANSPORT) -> Connection:
    return Connection("filesystem://", transport=transport, transport_options={
        "data_folder_in": str(folder / "in"), "data_folder_out": str(folder / "in"),
        "processed_folder": str(folder / "processed"), "store_processed": False,
        "control_folder": str(folder / "control")})


def assert_round_trip(queue) -> None:
    """One message put on `queue` comes back whole and is acknowledged."""
    queue.put({"ok": True})
    message = queue.get(timeout=1)
    assert message.payload == {"ok": True}
    message.ack()


def test_messages_go_through_in_order(folder, name):
    with connect(folder) as conn:
        queue = conn.SimpleQueue(name)
        for i in range(5):
            queue.put({"i": i})
        got = []
        for _ in range(5):
            message = queue.get(timeout=1)
            got.append(message.payload["i"])
            message.ack()
        assert got == [0, 1, 2, 3, 4] and queue.qsize() == 0
        queue.close()


def test_an_interrupted_write_is_never_delivered(folder, name):
    # A writer killed mid-write leaves its hidden temporary file; it is not a message.
    (folder / "in" / f".1_x.{name}.msg.tmp").write_bytes(b'{"half')
    with connect(folder) as conn:
        queue = conn.SimpleQueue(name)
        assert queue.qsize() == 0
        assert_round_trip(queue)
        queue.close()


def test_an_empty_or_garbage_message_is_set_aside_and_the_next_one_delivered(folder, name, caplog):
    empty, garbage = message_name(name, ns=1), message_name(name, ns=2)  # older than any new message
    (folder / "in" / empty).write_bytes(b"")
    (folder / "in" / garbage).write_bytes(b"{not json")
    with connect(folder) as conn, caplog.at_level(logging.WARNING):
        queue = conn.SimpleQueue(name)
        assert_round_trip(queue)
        queue.close()
    assert sorted(p.name for p in (folder / "corrupt").iterdir()) == [empty, garbage]
    assert sum("set aside" in r.getMessage() for r in caplog.records) == 2


def test_names_sort_in_time_order_whatever_the_digit_count(name):
    names = [message_name(name, ns=ns) for ns in (9, 10, 999_999, 1_000_000)]
    assert sorted(names) == names


def test_kombus_own_transport_raises_on_the_same_empty_file(folder, name):
    """What this transport exists for: kombu's filesystem transport crashes its consumer here."""
    (folder / "in" / f"1_empty.{name}.msg").write_bytes(b"")
    with connect(folder, transport="filesystem") as conn:
        queue = conn.SimpleQueue(name)
        with pytest.raises(ValueError):
            queue.get(timeout=1)
        queue.close()


def test_a_producer_and_consumer_racing_lose_nothing(folder, name):
    total = 300
    got: list[int] = []

    def consume():
        with connect(folder) as conn:
            queue = conn.SimpleQueue(name)
            while len(got) < total:
                message = queue.get(timeout=30)
                got.append(message.payload["i"])
                message.ack()
            queue.close()

    consumer = threading.Thread(target=consume)
    consumer.start()
    with connect(folder) as conn:
        queue = conn.SimpleQueue(name)
        for i in range(total):
            queue.put({"i": i})
        queue.close()
    consumer.join(120)
    assert sorted(got) == list(range(total))
    assert not (folder / "corrupt").exists()


def test_a_binding_this_process_already_holds_in_memory_is_still_written_to_the_table(folder, name):
    # The state a second thread sees while the first is between kombu's in-memory binding and its
    # table write: the binding is known, the table file does not exist yet.
    with connect(folder) as conn:
        channel = conn.default_channel
        channel.state.binding_declare(name, name, name, None)
        queue = conn.SimpleQueue(name)
        assert_round_trip(queue)
        queue.close()


def test_the_exchange_table_is_replaced_whole_and_a_deleted_queue_leaves_it(folder, name):
    with connect(folder) as conn:
        channel = conn.default_channel
        conn.SimpleQueue(name).close()
        table = folder / "control" / f"{name}.exchange"
        assert [e.queue for e in channel.get_table(name)] == [name]
        channel.queue_bind(f"{name}2", name, f"{name}2")
        channel.queue_bind(f"{name}2", name, f"{name}2")
        assert sorted(e.queue for e in channel.get_table(name)) == [name, f"{name}2"]
        channel.queue_delete(f"{name}2")
        assert [e.queue for e in channel.get_table(name)] == [name]
        assert not [p for p in table.parent.iterdir() if p.name.endswith(".tmp")]


def test_a_message_no_queue_is_bound_for_is_logged_not_dropped_silently(folder, name, caplog):
    from kombu import Exchange, Producer

    with connect(folder) as conn, caplog.at_level(logging.ERROR):
        exchange = Exchange(f"{name}x", type="direct")
        Producer(conn.default_channel, exchange=exchange).publish({"lost": True}, routing_key="nobody", declare=[exchange])
    assert any("no queue is bound" in r.getMessage() for r in caplog.records)
