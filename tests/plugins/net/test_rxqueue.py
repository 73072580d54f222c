"""A TCP conversation's receive queue: the bytes come out in order whatever the write and read
sizes, writers' buffers are not aliased, and big writes are handed to the reader uncopied."""

from __future__ import annotations

import random

from kernkit.plugins.net.rxqueue import RxQueue


def test_mixed_writes_and_reads_keep_order_and_count() -> None:
    rng = random.Random(7)
    queue, written, read = RxQueue(), bytearray(), bytearray()
    for step in range(400):
        size = rng.choice([1, 7, 100, 4095, 4096, 9000, 1 << 17])
        data = bytes(rng.getrandbits(8) for _ in range(min(size, 64))) * (size // 64 + 1)
        data = data[:size]
        piece = data if step % 3 else memoryview(data)[: max(1, size // 3)]  # a partial write's view
        queue += piece
        written += piece
        if step % 2:
            want = rng.choice([1, 50, 4096, 1 << 17, 1 << 18])
            assert queue.peek(want) == written[len(read) : len(read) + want]
            read += queue.take(want)
        assert len(queue) == len(written) - len(read)
    while queue:
        read += queue.take(5000)
    assert read == written
    assert len(queue) == 0 and not queue


def test_a_writers_mutable_buffer_is_copied_not_kept() -> None:
    queue, buffer = RxQueue(), bytearray(b"a" * 10000)
    queue += buffer
    queue += memoryview(buffer)[:5000]
    buffer[:] = b"b" * 10000
    assert queue.take(15000) == b"a" * 15000


def test_a_whole_write_reaches_the_reader_as_the_same_object() -> None:
    queue, data = RxQueue(), bytes(1 << 17)
    queue += data
    assert queue.take(1 << 17) is data
    queue += data
    queue.clear()
    assert len(queue) == 0 and not queue
