"""The one worker pattern, on a real QThread: started / yielded / finished or errored, in order, one ticket each."""

from __future__ import annotations

import threading

import pytest

from app.ui.application import WorkerThreads
from app.ui.worker import Worker, WorkerClient


class Host:
    """Stands for a model or a store: records the thread each job ran on."""

    def __init__(self) -> None:
        self.ran_on: list[int] = []
        self.gate = threading.Event()

    def count(self, n: int, report) -> str:
        self.ran_on.append(threading.get_ident())
        for i in range(n):
            report(i)
        return f"counted {n}"

    def fail(self, _report) -> None:
        raise RuntimeError("the disk is full")

    def wait_for_gate(self, _report) -> str:
        self.gate.wait(30)
        return "slow"


@pytest.fixture
def worker(qtbot):
    threads = WorkerThreads()
    host = Host()
    worker = Worker(host)
    threads.start("test", worker)
    client = WorkerClient(worker)
    yield client, host
    host.gate.set()
    threads.join()


def test_a_job_streams_its_items_then_its_result_off_the_ui_thread(qtbot, worker) -> None:
    client, host = worker
    seen: list[object] = []
    client.submit(lambda h, report: h.count(3, report), started=lambda: seen.append("started"),
                  yielded=seen.append, finished=lambda value: seen.append(("finished", value)))
    qtbot.waitUntil(lambda: client.pending() == 0, timeout=10000)
    assert seen == ["started", 0, 1, 2, ("finished", "counted 3")]
    assert host.ran_on and threading.get_ident() not in host.ran_on  # callbacks here, the job there


def test_a_failure_reaches_its_callback_as_a_sentence_or_else_unhandled(qtbot, worker) -> None:
    client, _host = worker
    errors: list[str] = []
    finished: list[object] = []
    unhandled: list[str] = []
    client.unhandled.connect(unhandled.append)
    client.submit(lambda h, report: h.fail(report), finished=finished.append, errored=errors.append)
    client.submit(lambda h, report: h.fail(report))
    qtbot.waitUntil(lambda: client.pending() == 0, timeout=10000)
    assert errors == ["the disk is full"] and finished == []
    assert unhandled == ["the disk is full"]  # the job without an errored callback


def test_jobs_run_one_at_a_time_in_the_order_submitted(qtbot, worker) -> None:
    client, host = worker
    order: list[str] = []
    started: list[str] = []
    client.submit(lambda h, report: h.wait_for_gate(report), started=lambda: started.append("slow"),
                  finished=order.append)
    client.submit(lambda h, report: h.count(0, report), started=lambda: started.append("quick"),
                  finished=order.append)
    qtbot.waitUntil(lambda: started == ["slow"], timeout=10000)
    assert order == [] and client.pending() == 2  # the second job waits behind the first
    host.gate.set()
    qtbot.waitUntil(lambda: client.pending() == 0, timeout=10000)
    assert started == ["slow", "quick"] and order == ["slow", "counted 0"]


def test_a_later_job_with_the_same_key_supersedes_an_earlier_one(qtbot, worker) -> None:
    client, host = worker
    shown: list[str] = []
    other: list[str] = []
    client.submit(lambda h, report: h.wait_for_gate(report), finished=shown.append, latest="list")
    client.submit(lambda h, report: h.count(2, report), finished=other.append, latest="another key")
    client.submit(lambda h, report: h.count(1, report), finished=shown.append, latest="list")
    host.gate.set()
    qtbot.waitUntil(lambda: client.pending() == 0, timeout=10000)
    assert shown == ["counted 1"]  # the slow, older answer never overwrote the newer one
    assert other == ["counted 2"]  # a different key is not superseded
