"""The export's connections read a quick client's next request without a round through epoll,
a bounded number of times, and stop looking when the client is not that quick."""

from __future__ import annotations

import socket

from kernkit.core.hostio import HostIO
from kernkit.plugins.ninep import proto, transport
from kernkit.plugins.ninep.memfs import MemFS
from kernkit.plugins.ninep.proto import NOFID, NOTAG, Message
from kernkit.plugins.ninep.server import Session

L = "9P2000.L"


class ScriptedSocket:
    """A client's side as the connection sees it: ``recv`` gives the next request while there
    are any (then would block), ``send`` takes everything."""

    def __init__(self, fd: int) -> None:
        self.fd, self.requests, self.recvs, self.replies = fd, [], 0, []

    def fileno(self) -> int:
        return self.fd

    def recv_into(self, buffer: memoryview) -> int:
        self.recvs += 1
        if not self.requests:
            raise BlockingIOError
        request = self.requests.pop(0)
        buffer[: len(request)] = request
        return len(request)

    def send(self, data: bytes) -> int:
        self.replies.append(bytes(data))
        return len(data)

    def sendmsg(self, parts: list[bytes]) -> int:
        return self.send(b"".join(parts))

    def close(self) -> None:
        pass


def connection():
    hostio = HostIO()
    listener = transport.Listener(hostio, "127.0.0.1", 0, lambda: Session(MemFS(), max_msize=8192))
    left, right = socket.socketpair()  # a descriptor epoll accepts; nothing is read from it
    sock = ScriptedSocket(left.fileno())
    conn = transport.Connection(listener, sock, listener.new_session())
    for message in (Message("Tversion", NOTAG, msize=8192, version=L),
                    Message("Tattach", 1, fid=1, afid=NOFID, uname="u", aname="", n_uname=0)):
        conn.session.receive(proto.encode(message, L))
    return conn, sock, (listener, left, right)


def walks(count: int) -> list[bytes]:
    return [proto.encode(Message("Twalk", i, fid=1, newfid=2 + i, wnames=[]), L) for i in range(count)]


def test_a_quick_client_is_served_a_bounded_batch_per_readable_event():
    conn, sock, _keep = connection()
    sock.requests = walks(3 * transport.EAGER_READS)
    conn._readable()  # the look after the first reply finds the next request: the client is quick
    assert len(sock.replies) == 2
    conn._readable()  # never more in a row than EAGER_READS: other descriptors get their turn
    assert len(sock.replies) == 2 + transport.EAGER_READS
    while sock.requests:
        conn._readable()
    assert len(sock.replies) == 3 * transport.EAGER_READS
    assert all(proto.decode(r, 8192, L).type == "Rwalk" for r in sock.replies)


def test_a_client_that_is_not_that_quick_costs_one_failed_look_in_a_while():
    conn, sock, _keep = connection()
    rounds = 4 * transport.PROBE_EVERY
    for request in walks(rounds):
        sock.requests = [request]  # one request per readable event, the next not there yet
        conn._readable()
    assert len(sock.replies) == rounds
    failed_looks = sock.recvs - rounds
    assert failed_looks <= rounds // transport.PROBE_EVERY + 1


class GappySocket(ScriptedSocket):
    """A quick client whose next request is now and then not there yet: None in ``requests``
    is a look that finds nothing."""

    def recv_into(self, buffer: memoryview) -> int:
        if self.requests and self.requests[0] is None:
            self.recvs += 1
            self.requests.pop(0)
            raise BlockingIOError
        return super().recv_into(buffer)


def test_an_occasional_empty_look_does_not_stop_the_eager_looks():
    conn, _, _keep = connection()
    sock = conn.sock = GappySocket(conn.fd)
    batches = 20
    requests = walks(10 * batches)
    for batch in range(batches):  # ten quick requests, then a look that finds nothing
        sock.requests += [*requests[10 * batch : 10 * batch + 10], None]
    readable_events = 0
    while sock.requests:
        readable_events += 1
        conn._readable()
    assert len(sock.replies) == 10 * batches
    assert readable_events <= batches + 2  # one round through epoll per gap, not per request
