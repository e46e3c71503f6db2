"""kit.clients.Gate, which check 3 uses to make a quiet moment for its kill: shut() waits for the
requests under way and holds the next ones until open()."""

import threading
import time

from scalelab.kit.clients import Gate


def test_shut_waits_for_requests_under_way_and_holds_new_ones():
    gate, sent, release = Gate(), [], threading.Event()

    def send(client: int, n: int):
        sent.append((client, n, time.monotonic()))
        release.wait(5)

    gated = gate.through(send)
    under_way = threading.Thread(target=gated, args=(0, 0))
    under_way.start()
    while not sent:
        time.sleep(0.01)
    threading.Timer(0.3, release.set).start()
    started = time.monotonic()
    gate.shut()
    assert time.monotonic() - started >= 0.25, "shut() returned while a request was still under way"

    held = threading.Thread(target=gated, args=(1, 0))
    held.start()
    time.sleep(0.3)
    assert [s[0] for s in sent] == [0], "a request went through a shut gate"
    opened = time.monotonic()
    gate.open()
    held.join(5)
    assert [s[0] for s in sent] == [0, 1] and sent[1][2] >= opened
