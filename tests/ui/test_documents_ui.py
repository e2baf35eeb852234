"""Documents in the window: chips with pages and tokens, errors on the chip, citations, no UI stall."""

from __future__ import annotations

import pytest

from app.ui import backend
from app.ui.attachments import ChipState
from app.ui.widgets.qt_attachment_chips import chip_text
from app.ui.widgets.qt_passage import passage_html
from tests.documents.doc_files import PLANTED_FACT, long_pdf
from tests.support.stall_meter import StallMeter
from tests.ui.test_app_real_model import greedy
from tests.ui.test_window_behaviour import _drop

pytestmark = pytest.mark.timeout(600)


def test_documents_read_off_thread_cited_and_bad_files_flagged(qtbot, make_app, tiny_cpu_package, tmp_path) -> None:
    pdf = long_pdf(tmp_path / "depots.pdf", pages=100)
    junk = tmp_path / "notes.pdf"
    junk.write_bytes(b"\x00\x01garbage that is not a PDF\xff" * 100)
    facts = tmp_path / "depot-facts.txt"
    facts.write_text("Maintenance notes for the northern depots.\n\n" + PLANTED_FACT + "\n\nNothing else to report.\n")
    parts = make_app(backend.open_backend)
    a = parts.attachments
    with qtbot.waitSignal(parts.models.loaded, timeout=120000):
        parts.window.open_model_folder(str(tiny_cpu_package))

    meter = StallMeter()
    meter.start()
    parts.window.dropEvent(_drop([pdf, junk, facts]))
    assert not parts.window.composer.send_button.isEnabled()  # sending waits for the documents
    qtbot.waitUntil(lambda: not a.reading(), timeout=240000)
    stalls = meter.stop()
    print(f"UI event loop while extracting a 100-page PDF: {stalls}")
    assert stalls.adjusted_s < 0.05, f"UI stalled while documents were read: {stalls}"

    good, bad, note = a.items()
    assert good.state is ChipState.READY and good.pages == 100 and good.tokens > 1000
    assert chip_text(good).startswith("depots.pdf · 100 pages · ")
    assert bad.state is ChipState.ERROR and bad.message  # a human sentence on the chip
    chips = parts.window.composer.chips.chips
    assert len(chips) == 3 and chips[1].label.text() == "notes.pdf · damaged, or not the kind of file its name says"
    assert bad.message in chips[1].toolTip()  # the reader's own sentence, for whoever wants the detail
    assert note.state is ChipState.READY and note.pages is None  # a text file shows its size instead
    assert parts.window.composer.send_button.isEnabled()  # the chat keeps working

    parts.window.use_chat_settings(greedy(8))
    with qtbot.waitSignal(parts.replies.replyFinished, timeout=240000) as finished:
        parts.replies.send("Who services the emergency generator at the Kirkenes depot?")
    reply = finished.args[0]
    assert reply.citations, "the grounded prompt carried citations to the reply"
    documents = {d.name: d for d in a.documents()}
    shown = " ".join(passage_html(documents[cit.file_name], cit) for cit in reply.citations)
    assert "Halvorsen Marine" in shown  # the planted fact's passage reached the prompt and its citation
    parts.window.chat_view.flush()
    sources = parts.window.chat_view.message_widgets()[-1].sources
    assert sources.isVisible()
    if not reply.text.count("["):  # random weights cite nothing: the passages given are offered, not claimed
        assert "No source cited" in sources.text() and "Halvorsen" not in sources.text()
    # the document is stored with the conversation and comes back when it is reopened
    qtbot.waitUntil(lambda: parts.history.pending() == 0, timeout=20000)
    cid = parts.conversations.current_id()
    parts.window.new_action.trigger()
    assert a.items() == []
    with qtbot.waitSignal(a.changed, timeout=20000, check_params_cb=lambda items: len(items) == 2):
        parts.window.conversation_list.selected.emit(cid)
    assert [i.name for i in a.items()] == ["depots.pdf", "depot-facts.txt"]  # the bad file isn't kept
    assert a.items()[0].pages == 100
    assert PLANTED_FACT in a.documents()[1].text
