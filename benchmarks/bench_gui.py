"""Responsiveness of the desktop application on a synthetic 10,000-variable store.

Opens the store in the real main window (offscreen) and reports: the time to the first
paint of the table, the longest stall of the event loop while opening (the decode runs in
a worker thread), the work per scroll frame, and filtering, sorting and grouping times.
Prints numbers; asserts nothing.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

VARIABLES = 10_000


def make_store(path: Path, count: int = VARIABLES) -> None:
    """A QEMU JSON store: mostly Boot####-like entries, some namespaces, mixed sizes."""
    from uefivars_gui.cli.storefile import save_store
    from uefivars_gui.codec.base import StoreFormat
    from uefivars_gui.core import guid as g
    from uefivars_gui.core.attributes import NV_BS, NV_BS_RT
    from uefivars_gui.core.store import VarStore
    from uefivars_gui.core.ucs2 import encode_ucs2
    from uefivars_gui.core.variable import Variable

    namespaces = [g.EFI_GLOBAL_VARIABLE, g.SHIM_LOCK, g.MICROSOFT_VENDOR] + [
        uuid.UUID(int=i) for i in range(1, 8)
    ]
    variables = []
    for i in range(count):
        guid = namespaces[i % len(namespaces)]
        if guid == g.EFI_GLOBAL_VARIABLE:
            name, data = f"Var{i:05d}", encode_ucs2(f"value number {i}")
        else:
            name, data = f"Data{i:05d}", bytes((i + k) % 256 for k in range(8 + i % 120))
        variables.append(Variable(name, guid, NV_BS_RT if i % 4 else NV_BS, data))
    save_store(path, VarStore(variables), StoreFormat.JSON)


def _paint_watch_class():  # the class needs Qt, imported only when the benchmark runs
    from PySide6.QtCore import QEvent, QObject

    class PaintWatch(QObject):
        """Calls ``on_paint`` after each paint event of the watched widget."""

        def __init__(self, on_paint) -> None:
            super().__init__()
            self._on_paint = on_paint

        def eventFilter(self, _watched, event) -> bool:  # noqa: N802
            if event.type() == QEvent.Type.Paint:
                from PySide6.QtCore import QTimer

                QTimer.singleShot(0, self._on_paint)  # after the paint has been done
            return False

    return PaintWatch


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def main() -> dict[str, float]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSettings, Qt, QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    from uefivars_gui.qt.document import BackgroundTask
    from uefivars_gui.qt.mainwindow import MainWindow
    from uefivars_gui.qt.models import VariableColumn

    _PaintWatch = _paint_watch_class()  # noqa: N806

    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        store_path = Path(tmp) / "big.json"
        start = time.perf_counter()
        make_store(store_path)
        print(
            f"synthetic store: {VARIABLES} variables, {store_path.stat().st_size // 1024} KiB "
            f"(made in {_ms(time.perf_counter() - start).strip()})"
        )

        settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings)
        window.resize(1200, 800)
        window.show()
        app.processEvents()

        # the event loop's longest stall from "open" to the first paint of the table
        ticks: list[float] = []
        ticker = QTimer()
        ticker.setInterval(2)
        ticker.timeout.connect(lambda: ticks.append(time.perf_counter()))
        opened: list[float] = []
        painted: list[float] = []
        window.document_opened.connect(lambda _doc: opened.append(time.perf_counter()))
        paint_watch = _PaintWatch(lambda: painted.append(time.perf_counter()) if opened else None)
        window.view.viewport().installEventFilter(paint_watch)
        ticker.start()
        start = time.perf_counter()
        window.open_path(store_path)
        while not painted:
            app.processEvents()
        ticker.stop()
        window.view.viewport().removeEventFilter(paint_watch)
        loaded, first_paint = opened[0], painted[0]
        gaps = [b - a for a, b in zip([start, *ticks], [*ticks, first_paint], strict=False)]
        results["open_to_model_ms"] = (loaded - start) * 1000
        results["first_paint_ms"] = (first_paint - start) * 1000
        results["longest_stall_ms"] = max(gaps) * 1000
        print(f"open -> model ready (decode in a worker): {_ms(loaded - start)}")
        print(f"open -> first paint of the table:         {_ms(first_paint - start)}")
        print(f"longest event-loop stall until then:      {_ms(max(gaps))}  (the tree view's row layout)")

        # scrolling: one page per frame, each frame painted
        bar = window.view.verticalScrollBar()
        frames = []
        step = max(bar.pageStep(), 1)
        value = 0
        for _ in range(60):
            value = (value + step) % max(bar.maximum(), 1)
            begin = time.perf_counter()
            bar.setValue(value)
            window.view.viewport().repaint()
            frames.append(time.perf_counter() - begin)
        results["scroll_frame_median_ms"] = statistics.median(frames) * 1000
        results["scroll_frame_max_ms"] = max(frames) * 1000
        print(
            f"scroll frame (page down + paint):         {_ms(statistics.median(frames))} median, "
            f"{_ms(max(frames)).strip()} max"
        )

        def timed(label: str, key: str, action) -> None:
            begin = time.perf_counter()
            action()
            window.view.viewport().repaint()
            elapsed = time.perf_counter() - begin
            results[key] = elapsed * 1000
            print(f"{label:<42}{_ms(elapsed)}")

        begin = time.perf_counter()
        while window.table_model.prefetching:  # previews decoded in idle time since opening
            app.processEvents()
        print(f"{'idle-time preview decoding, remaining':<42}{_ms(time.perf_counter() - begin)}")
        timed(
            "keystroke in the filter (debounced)",
            "filter_keystroke_ms",
            lambda: window.filter_edit.setText("V"),
        )
        window._filter_timer.stop()
        timed("filter 'Var01' applied", "filter_ms", lambda: window._on_filter_changed("Var01"))
        timed(
            "filter 'global value 12' applied",
            "filter_words_ms",
            lambda: window._on_filter_changed("global value 12"),
        )
        timed("clear the filter", "filter_clear_ms", window.filter_edit.clear)
        timed(
            "sort by name",
            "sort_name_ms",
            lambda: window.view.sortByColumn(VariableColumn.NAME, Qt.SortOrder.AscendingOrder),
        )
        timed(
            "sort by size",
            "sort_size_ms",
            lambda: window.view.sortByColumn(VariableColumn.SIZE, Qt.SortOrder.DescendingOrder),
        )
        timed(
            "back to store order",
            "sort_none_ms",
            lambda: window.view.sortByColumn(-1, Qt.SortOrder.AscendingOrder),
        )
        timed("group by namespace", "group_ms", lambda: window.group_action.setChecked(True))
        timed("ungroup", "ungroup_ms", lambda: window.group_action.setChecked(False))
        doc = window.document
        first = next(iter(doc))
        timed(
            "edit one variable (undoable)",
            "edit_ms",
            lambda: doc.replace_variable(first.key, first.with_data(b"x")),
        )
        keys = [v.key for v in list(doc)[:1000]]
        timed("delete 1000 variables (one undo step)", "delete_1000_ms", lambda: doc.delete_variables(keys))
        timed("undo that delete", "undo_delete_ms", doc.undo_stack.undo)

        saved: list[float] = []
        window.document_saved.connect(lambda _loaded: saved.append(time.perf_counter()))
        begin = time.perf_counter()
        window.save()
        while not saved:
            app.processEvents()
        results["save_ms"] = (saved[0] - begin) * 1000
        print(f"{'save (encode + atomic write + re-read)':<42}{_ms(saved[0] - begin)}")

        window.document.undo_stack.setClean()
        BackgroundTask.wait_all(10)
        window.close()
        window.deleteLater()
        app.processEvents()
    return results


if __name__ == "__main__":
    main()
