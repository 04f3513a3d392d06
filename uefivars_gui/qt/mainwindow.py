"""The main window: the Variables page (filterable table, details pane), Diff and Check
pages, file handling (open, save in every format, recent files, drag and drop), undo,
and the bar that reports changes made to the open file by someone else (QEMU).

Thin: every change goes through :class:`~.document.Document` verbs (undoable commands);
decoding, diffing and checking are core/ops calls.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path

from PySide6.QtCore import QByteArray, QEvent, QItemSelectionModel, QModelIndex, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QIcon,
    QKeySequence,
    QPalette,
    QUndoGroup,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStyle,
    QTabWidget,
    QToolButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from .. import __version__
from ..cli.storefile import format_for_output
from ..codec.base import StoreFormat
from ..codec.edk2 import LAYOUTS, FlashImage
from ..core.attributes import Attributes
from ..core.guid import EFI_GLOBAL_VARIABLE, guid_label
from ..core.typed import decode_any
from ..core.variable import Variable, VariableKey
from ..errors import StoreFullError, UefiVarsError, UsageError
from ..ops.diff import ChangeKind, diff_stores
from .checkview import CheckPage
from .dialogs import AddVariableDialog
from .diffview import STORE_FILTER, DiffPage
from .document import ChangedOnDiskError, Document, LoadedFile, load_file, run_in_background, save_file
from .editors.attributes import AttributesWidget
from .filewatch import FileWatcher
from .models import NamespaceGroupModel, Role, VariableColumn, VariableFilterProxy, VariableTableModel
from .policypage import PolicyPage
from .securebootpage import SecureBootPage

ICONS = Path(__file__).resolve().parent / "resources" / "icons"
APP_NAME = "uefivars-gui"
MAX_RECENT = 10

#: Save As filters: filter text -> format.
SAVE_FILTERS: dict[str, StoreFormat] = {
    "QEMU uefi-vars JSON (*.json)": StoreFormat.JSON,
    "edk2 flash image (*.fd)": StoreFormat.EDK2,
    "AWS uefi-data (*.aws)": StoreFormat.AWS,
}
_SUFFIX = {StoreFormat.JSON: ".json", StoreFormat.EDK2: ".fd", StoreFormat.AWS: ".aws"}
_FORMAT_NAMES = {
    StoreFormat.JSON: "QEMU JSON",
    StoreFormat.EDK2: "edk2 flash image",
    StoreFormat.AWS: "AWS uefi-data",
}
#: Stores larger than this filter after a pause in typing rather than on every key.
LARGE_STORE = 2000
FILTER_DELAY_MS = 200
#: Layouts offered when a store is first written as a flash image.
LAYOUT_CHOICES = ["4M", "2M", "aavmf"]


def icon(name: str) -> QIcon:
    return QIcon(str(ICONS / f"{name}.svg"))


# --- the details pane ---------------------------------------------------------------------


class _FallbackViewer(QPlainTextEdit):
    """Shown when the typed editors are not available: the decoded fields, read only."""

    variable_edited = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setAccessibleName("Decoded value")
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)

    def set_variable(self, var: Variable | None, read_only: bool = False) -> None:
        if var is None:
            self.setPlainText("")
            return
        lines = [decode_any(var).fields().render(), ""]
        for offset in range(0, len(var.data), 16):
            chunk = var.data[offset : offset + 16]
            lines.append(f"{offset:08x}  {chunk.hex(' '):<47}")
        self.setPlainText("\n".join(lines))


def _make_editor(parent: QWidget) -> QWidget:
    try:
        from .editors import VariableEditor  # the typed editors (another module)
    except ImportError:
        return _FallbackViewer(parent)
    except Exception as exc:  # a broken editor package must not stop the application
        print(f"uefivars-gui: typed editors unavailable: {type(exc).__name__}: {exc}", file=sys.stderr)
        return _FallbackViewer(parent)
    editor: QWidget = VariableEditor(parent)
    return editor


class DetailsPane(QWidget):
    """The variable editor for one variable. With the typed editors it only hosts them
    (they bring header, attribute boxes, field tree and bytes); with the read-only
    fallback it adds a header with name, namespace and attribute checkboxes."""

    #: The user changed the variable: (key it had, the new Variable).
    variable_changed = Signal(object, object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Variable details")
        self._current: Variable | None = None
        self._read_only = True
        self.editor = _make_editor(self)
        self.has_typed_editor = not isinstance(self.editor, _FallbackViewer)
        self.title = QLabel(self)
        self.title.setAccessibleName("Variable name")
        font = self.title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.2)
        self.title.setFont(font)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.namespace = QLabel(self)
        self.namespace.setAccessibleName("Namespace")
        self.namespace.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.info = QLabel(self)
        self.info.setAccessibleName("Size and timestamp")
        self.info.setWordWrap(True)
        self.note = QLabel(self)
        self.note.setAccessibleName("Record state")
        self.note.setWordWrap(True)
        self.attributes = AttributesWidget(self)
        self.attributes.attributes_changed.connect(self._on_attributes_changed)
        self.editor.variable_edited.connect(self._on_edited)  # type: ignore[attr-defined]
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.title, self.namespace, self.attributes, self.info):
            layout.addWidget(widget)
            widget.setVisible(not self.has_typed_editor)
        layout.addWidget(self.note)
        layout.addWidget(self.editor, 1)
        self.set_variable(None)

    @property
    def current(self) -> Variable | None:
        return self._current

    @property
    def read_only(self) -> bool:
        return self._read_only

    def set_lookup(self, lookup: Callable[[str], Variable | None] | None) -> None:
        """How the editors find other variables of the store by name (BootOrder -> Boot####)."""
        set_context = getattr(self.editor, "set_context", None)
        if set_context is not None:
            set_context(lookup)

    def set_variable(self, var: Variable | None, read_only: bool = False, note: str = "") -> None:
        if var == self._current and read_only == self._read_only and var is not None:
            return
        self._current = var
        self._read_only = read_only or var is None
        self.note.setText(note)
        self.note.setVisible(bool(note))
        if not self.has_typed_editor:
            self._show_header(var)
        self.editor.set_variable(var, self._read_only)  # type: ignore[attr-defined]

    def _show_header(self, var: Variable | None) -> None:
        self.attributes.setVisible(var is not None)
        if var is None:
            self.title.setText("No variable selected")
            self.namespace.setText("")
            self.info.setText("")
            return
        self.title.setText(var.name)
        self.namespace.setText(f"{guid_label(var.guid)}  ({var.guid})")
        self.attributes.set_value(var.attributes)
        self.attributes.set_read_only(self._read_only)
        parts = [f"{var.size} bytes"]
        if var.timestamp is not None and not var.timestamp.is_zero:
            parts.append(f"timestamp {var.timestamp}")
        if var.digest:
            parts.append(f"digest {var.digest.hex()[:16]}…")
        self.info.setText(", ".join(parts))

    def _on_attributes_changed(self, value: int) -> None:
        if self._current is None or self._read_only:
            return
        self.variable_changed.emit(self._current.key, self._current.evolve(attributes=Attributes(value)))

    def _on_edited(self, new: Variable) -> None:
        if self._current is None or self._read_only:
            return
        old_key = self._current.key
        self._current = new
        self.variable_changed.emit(old_key, new)


# --- the external-change bar --------------------------------------------------------------


class ExternalChangeBar(QFrame):
    """A non-modal bar: the open file changed on disk. Reload or keep mine."""

    reload_requested = Signal()
    keep_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        self.setBackgroundRole(QPalette.ColorRole.AlternateBase)
        self.setAccessibleName("File changed on disk")
        icon_label = QLabel(self)
        icon_label.setPixmap(
            self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning).pixmap(24, 24)
        )
        self.message = QLabel(self)
        self.message.setWordWrap(True)
        self.message.setAccessibleName("What changed on disk")
        self.reload_button = QPushButton("&Reload", self)
        self.reload_button.setAccessibleName("Reload the file from disk")
        self.reload_button.setToolTip("Take the version on disk (Undo brings yours back)")
        self.keep_button = QPushButton("&Keep Mine", self)
        self.keep_button.setAccessibleName("Keep my version")
        self.keep_button.setToolTip("Keep the open version; saving overwrites the file on disk")
        self.reload_button.clicked.connect(self.reload_requested)
        self.keep_button.clicked.connect(self.keep_requested)
        layout = QHBoxLayout(self)
        layout.addWidget(icon_label, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.message, 1)
        layout.addWidget(self.reload_button)
        layout.addWidget(self.keep_button)
        self.hide()

    def show_message(self, text: str, can_reload: bool = True) -> None:
        self.message.setText(text)
        self.reload_button.setVisible(can_reload)
        self.keep_button.setText("&Keep Mine" if can_reload else "&Dismiss")
        self.show()


def describe_disk_change(mine: Document, disk: LoadedFile) -> str:
    """What the version on disk changes relative to the open one, in a sentence or two."""
    changes = diff_stores(mine.store, disk.document.store)
    name = disk.path.name
    if not changes:
        text = f"{name} was rewritten on disk; its variables are the same as the open ones."
    else:
        counts = {kind: [c.variable.name for c in changes if c.kind is kind] for kind in ChangeKind}
        parts = []
        for kind, label in (
            (ChangeKind.CHANGED, "changed"),
            (ChangeKind.ADDED, "added"),
            (ChangeKind.REMOVED, "removed"),
        ):
            names = counts[kind]
            if names:
                shown = ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
                parts.append(f"{len(names)} {label} ({shown})")
        text = f"{name} was changed on disk (by QEMU or another program): " + "; ".join(parts) + "."
    if mine.is_modified:
        text += " You have unsaved changes: Reload replaces them (Undo brings them back)."
    return text


# --- the main window ---------------------------------------------------------------------


class MainWindow(QMainWindow):
    """The application window. ``settings`` is injected (tests pass a temporary one)."""

    #: A document was opened or created (the Document).
    document_opened = Signal(object)
    #: A save finished (the LoadedFile read back).
    document_saved = Signal(object)
    #: An open or save failed (the message shown).
    operation_failed = Signal(str)

    def __init__(self, settings: QSettings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings if settings is not None else QSettings(APP_NAME, APP_NAME)
        self.document: Document | None = None
        self._pending_disk: LoadedFile | None = None
        self._saving = False
        self._busy = 0
        self._discard_confirmed = False
        self.undo_group = QUndoGroup(self)
        self.setWindowIcon(icon("app"))
        self.setAcceptDrops(True)

        self.table_model = VariableTableModel(parent=self)
        self.table_model.history_foreground = self.palette().color(
            QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text
        )
        self.group_model: NamespaceGroupModel | None = None
        self.proxy = VariableFilterProxy(self)
        self.proxy.setSourceModel(self.table_model)
        self._key_before_reset: VariableKey | None = None
        self.proxy.modelAboutToBeReset.connect(self._remember_current)
        self.proxy.modelReset.connect(self._restore_current)

        self.watcher = FileWatcher(self)
        self.watcher.changed.connect(self._on_disk_changed)
        self.watcher.unreadable.connect(self._on_disk_unreadable)

        self._build_variables_page()
        self.change_bar = ExternalChangeBar(self)
        self.change_bar.reload_requested.connect(self.reload_from_disk)
        self.change_bar.keep_requested.connect(self.keep_mine)
        self.pages = QTabWidget(self)
        self.pages.setDocumentMode(True)
        self.pages.setAccessibleName("Pages")
        self.add_page("Variables", self.variables_page)
        self.diff_page = DiffPage(self)
        self.diff_page.variable_activated.connect(self.select_variable)
        self.diff_page.message.connect(self.show_status)
        self.add_page("Diff", self.diff_page)
        self.check_page = CheckPage(self)
        self.check_page.variable_activated.connect(self.select_variable)
        self.check_page.message.connect(self.show_status)
        self.add_page("Check", self.check_page)
        self.secure_boot_page = SecureBootPage(self)
        self.secure_boot_page.message.connect(self.show_status)
        self.add_page("Secure Boot", self.secure_boot_page)
        self.policy_page = PolicyPage(self)
        self.policy_page.message.connect(self.show_status)
        self.add_page("Policies", self.policy_page)
        self.document_opened.connect(self.secure_boot_page.set_document)
        self.document_opened.connect(self.policy_page.set_document)

        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.change_bar)
        layout.addWidget(self.pages, 1)
        self.setCentralWidget(central)

        self.progress = QProgressBar(self)
        self.progress.setRange(0, 0)
        self.progress.setMaximumWidth(160)
        self.progress.setAccessibleName("Working")
        self.progress.hide()
        self.statusBar().addPermanentWidget(self.progress)
        self._progress_timer = QTimer(self)
        self._progress_timer.setSingleShot(True)
        self._progress_timer.setInterval(150)
        self._progress_timer.timeout.connect(self._show_progress)

        self._create_actions()
        self._create_menus()
        self._restore_settings()
        if not self.settings.value("window/geometry"):
            self.resize(1200, 720)
        self.new_document()

    # -- building ------------------------------------------------------------------------------
    def _build_variables_page(self) -> None:
        self.variables_page = QWidget(self)
        self.filter_edit = QLineEdit(self.variables_page)
        self.filter_edit.setPlaceholderText("Filter by name, namespace, GUID, attributes or value")
        self.filter_edit.setAccessibleName("Filter variables")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self._on_filter_typed)
        self._filter_timer = QTimer(self)
        self._filter_timer.setSingleShot(True)
        self._filter_timer.setInterval(FILTER_DELAY_MS)
        self._filter_timer.timeout.connect(lambda: self._on_filter_changed(self.filter_edit.text()))
        self.group_button = QToolButton(self.variables_page)
        self.deleted_button = QToolButton(self.variables_page)

        self.view = QTreeView(self.variables_page)
        self.view.setAccessibleName("Variables")
        self.view.setModel(self.proxy)
        self.view.setUniformRowHeights(True)
        self.view.setRootIsDecorated(False)
        self.view.setAlternatingRowColors(True)
        self.view.setAllColumnsShowFocus(True)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        header = self.view.header()
        header.setSortIndicatorClearable(True)
        header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.view.setSortingEnabled(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for column, width in (
            (VariableColumn.NAME, 200),
            (VariableColumn.NAMESPACE, 190),
            (VariableColumn.ATTRIBUTES, 110),
            (VariableColumn.SIZE, 70),
            (VariableColumn.TIME, 150),
        ):
            header.resizeSection(column, width)
        self.view.selectionModel().currentChanged.connect(self._on_current_changed)
        self.view.selectionModel().selectionChanged.connect(self._update_actions)
        self.details = DetailsPane(self.variables_page)
        self.view.doubleClicked.connect(self._focus_details)
        self.details.variable_changed.connect(self._on_details_changed)

        left = QWidget(self.variables_page)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        top.addWidget(self.filter_edit, 1)
        top.addWidget(self.group_button)
        top.addWidget(self.deleted_button)
        left_layout.addLayout(top)
        left_layout.addWidget(self.view, 1)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self.variables_page)
        self.splitter.setObjectName("details-splitter")
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.details)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setChildrenCollapsible(False)
        page_layout = QVBoxLayout(self.variables_page)
        page_layout.addWidget(self.splitter)

    def _action(
        self,
        text: str,
        slot: Callable[[], object],
        shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None,
        icon_: QIcon | None = None,
        tip: str = "",
    ) -> QAction:
        action = QAction(text, self)
        if icon_ is not None:
            action.setIcon(icon_)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        action.triggered.connect(lambda _checked=False: slot())
        return action

    def _toggle(
        self, text: str, slot: Callable[[bool], None], shortcut: str | None = None, tip: str = ""
    ) -> QAction:
        action = QAction(text, self)
        action.setCheckable(True)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        action.toggled.connect(slot)
        return action

    def _create_actions(self) -> None:
        std = QKeySequence.StandardKey
        style = self.style()
        self.new_action = self._action(
            "&New Store",
            self.new_store,
            std.New,
            style.standardIcon(QStyle.StandardPixmap.SP_FileIcon),
            "Start an empty store",
        )
        self.open_action = self._action(
            "&Open…", self.open_dialog, std.Open, icon("open"), "Open a variable store"
        )
        self.save_action = self._action("&Save", self.save, std.Save, icon("save"), "Save the store")
        self.save_as_action = self._action(
            "Save &As…", self.save_as, std.SaveAs, None, "Save in another file or format"
        )
        self.quit_action = self._action("&Quit", self.close, std.Quit, None, "Quit uefivars-gui")
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)

        self.undo_action = self.undo_group.createUndoAction(self, "&Undo")
        self.undo_action.setShortcut(QKeySequence(std.Undo))
        self.undo_action.setIcon(
            QIcon.fromTheme(QIcon.ThemeIcon.EditUndo, style.standardIcon(QStyle.StandardPixmap.SP_ArrowBack))
        )
        self.undo_action.triggered.connect(lambda: self.show_status(f"Undone: {self.undo_group.redoText()}"))
        self.redo_action = self.undo_group.createRedoAction(self, "&Redo")
        self.redo_action.setShortcut(QKeySequence(std.Redo))
        self.redo_action.setIcon(
            QIcon.fromTheme(
                QIcon.ThemeIcon.EditRedo, style.standardIcon(QStyle.StandardPixmap.SP_ArrowForward)
            )
        )
        self.redo_action.triggered.connect(lambda: self.show_status(f"Redone: {self.undo_group.undoText()}"))

        self.add_action = self._action(
            "&Add Variable…", self.add_variable, "Ctrl+Shift+N", icon("add"), "Add a new variable"
        )
        self.duplicate_action = self._action(
            "D&uplicate…",
            self.duplicate_selected,
            "Ctrl+D",
            icon("duplicate"),
            "Copy the selected variable under a new name",
        )
        self.delete_action = self._action(
            "&Delete", self.delete_selected, std.Delete, icon("delete"), "Delete the selected variables"
        )
        self.find_action = self._action("&Find", self.focus_filter, std.Find, None, "Filter the variables")

        self.group_action = self._toggle(
            "&Group by Namespace", self.set_grouped, "Ctrl+G", "Show the variables under their namespace"
        )
        self.deleted_action = self._toggle(
            "Show &Deleted Records",
            self.set_show_deleted,
            "Ctrl+H",
            "Show the deleted and superseded records of a flash image (read only)",
        )
        self.group_button.setDefaultAction(self.group_action)
        self.group_button.setAccessibleName("Group by namespace")
        self.deleted_button.setDefaultAction(self.deleted_action)
        self.deleted_button.setAccessibleName("Show deleted records")

        for action in (self.duplicate_action, self.delete_action, self.add_action):
            self.view.addAction(action)

        self.page_actions: list[QAction] = []
        for number, name in enumerate(("Variables", "Diff", "Check"), start=1):
            page_action = self._action(
                f"{name} Page", partial(self.pages.setCurrentIndex, number - 1), f"Ctrl+{number}"
            )
            self.page_actions.append(page_action)

        self.about_action = self._action("&About uefivars-gui", self.about)
        self.about_action.setMenuRole(QAction.MenuRole.AboutRole)

    def _create_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.new_action)
        file_menu.addAction(self.open_action)
        self.recent_menu = QMenu("Open &Recent", self)
        file_menu.addMenu(self.recent_menu)
        file_menu.addSeparator()
        file_menu.addAction(self.save_action)
        file_menu.addAction(self.save_as_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        edit_menu = bar.addMenu("&Edit")
        edit_menu.addAction(self.undo_action)
        edit_menu.addAction(self.redo_action)
        edit_menu.addSeparator()
        edit_menu.addAction(self.add_action)
        edit_menu.addAction(self.duplicate_action)
        edit_menu.addAction(self.delete_action)
        edit_menu.addSeparator()
        edit_menu.addAction(self.find_action)
        view_menu = bar.addMenu("&View")
        view_menu.addAction(self.group_action)
        view_menu.addAction(self.deleted_action)
        view_menu.addSeparator()
        self.pages_menu = view_menu
        for action in self.page_actions:
            view_menu.addAction(action)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.about_action)

        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("main-toolbar")
        tools: list[QAction | None] = [
            self.open_action,
            self.save_action,
            None,
            self.undo_action,
            self.redo_action,
            None,
            self.add_action,
            self.duplicate_action,
            self.delete_action,
        ]
        for tool in tools:
            if tool is None:
                toolbar.addSeparator()
            else:
                toolbar.addAction(tool)

    def add_page(self, name: str, widget: QWidget, icon_: QIcon | None = None) -> int:
        """Add a page (Secure Boot, Policies, ...); returns its index."""
        widget.setAccessibleName(widget.accessibleName() or f"{name} page")
        if icon_ is not None:
            return self.pages.addTab(widget, icon_, name)
        return self.pages.addTab(widget, name)

    # -- settings ------------------------------------------------------------------------------
    def _restore_settings(self) -> None:
        s = self.settings
        geometry = s.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        state = s.value("window/state")
        if isinstance(state, QByteArray):
            self.restoreState(state)
        splitter = s.value("window/splitter")
        if isinstance(splitter, QByteArray):
            self.splitter.restoreState(splitter)
        else:
            self.splitter.setSizes([700, 500])
        header = s.value("variables/header")
        if isinstance(header, QByteArray):
            self.view.header().restoreState(header)
            self.view.header().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.group_action.setChecked(_as_bool(s.value("variables/grouped", False)))
        self.deleted_action.setChecked(_as_bool(s.value("variables/show_deleted", False)))
        self._rebuild_recent_menu()

    def save_settings(self) -> None:
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue("window/splitter", self.splitter.saveState())
        s.setValue("variables/header", self.view.header().saveState())
        s.setValue("variables/grouped", self.group_action.isChecked())
        s.setValue("variables/show_deleted", self.deleted_action.isChecked())
        s.sync()

    def recent_files(self) -> list[str]:
        value = self.settings.value("recent_files", [])
        if isinstance(value, str):
            return [value] if value else []
        return [str(v) for v in value] if isinstance(value, list) else []

    def _add_recent(self, path: Path) -> None:
        name = str(path.resolve())
        files = [name] + [f for f in self.recent_files() if f != name]
        self.settings.setValue("recent_files", files[:MAX_RECENT])
        self.settings.setValue("last_directory", str(path.resolve().parent))
        self._rebuild_recent_menu()

    def _rebuild_recent_menu(self) -> None:
        self.recent_menu.clear()
        files = self.recent_files()
        for number, name in enumerate(files, start=1):
            action = self.recent_menu.addAction(f"&{number % 10} {Path(name).name}")
            action.setToolTip(name)
            action.setStatusTip(name)
            action.triggered.connect(lambda _checked=False, n=name: self.open_path(n))
        if files:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("&Clear Recent Files", self._clear_recent)
        self.recent_menu.setEnabled(bool(files))

    def _clear_recent(self) -> None:
        self.settings.setValue("recent_files", [])
        self._rebuild_recent_menu()
        self.show_status("Recent files cleared")

    def _start_directory(self) -> str:
        if self.document is not None and self.document.path is not None:
            return str(self.document.path.parent)
        return str(self.settings.value("last_directory", "") or "")

    # -- status and busy state ----------------------------------------------------------------
    def show_status(self, text: str, timeout_ms: int = 8000) -> None:
        self.statusBar().showMessage(text, timeout_ms)

    def _begin_busy(self, text: str) -> None:
        self._busy += 1
        self.show_status(text, 0)
        self._progress_timer.start()
        self._update_actions()

    def _end_busy(self) -> None:
        self._busy = max(self._busy - 1, 0)
        if not self._busy:
            self._progress_timer.stop()
            self.progress.hide()
        self._update_actions()

    def _show_progress(self) -> None:
        if self._busy:
            self.progress.show()

    @property
    def is_busy(self) -> bool:
        return bool(self._busy)

    def _update_title(self, *_args: object) -> None:
        doc = self.document
        name = doc.display_name if doc is not None else "no store"
        self.setWindowTitle(f"{name}[*] — {APP_NAME}")
        self.setWindowModified(bool(doc is not None and doc.is_modified))

    def _update_actions(self, *_args: object) -> None:
        has_doc = self.document is not None
        editable = has_doc and not self._saving
        live = bool(self.selected_keys())
        self.save_action.setEnabled(has_doc and not self._busy)
        self.save_as_action.setEnabled(has_doc and not self._busy)
        self.open_action.setEnabled(not self._saving)
        self.add_action.setEnabled(editable)
        self.duplicate_action.setEnabled(editable and self.current_key() is not None)
        self.delete_action.setEnabled(editable and live)
        stack = self.document.undo_stack if editable and self.document is not None else None
        self.undo_group.setActiveStack(stack)  # type: ignore[arg-type]  # None: no active stack
        self.details.setEnabled(not self._saving)
        has_history = bool(has_doc and self.document is not None and self.document.history)
        self.deleted_action.setEnabled(has_history or self.deleted_action.isChecked())

    # -- documents -----------------------------------------------------------------------------
    def set_document(self, document: Document) -> None:
        old = self.document
        if old is not None:
            old.modified_changed.disconnect(self._update_title)
            old.variable_replaced.disconnect(self._on_variable_replaced)
            old.store_reset.disconnect(self._refresh_details)
            old.origin_changed.disconnect(self._on_origin_changed)
            self.undo_group.removeStack(old.undo_stack)
        self.document = document
        document.setParent(self)
        self.undo_group.addStack(document.undo_stack)
        self.undo_group.setActiveStack(document.undo_stack)
        document.modified_changed.connect(self._update_title)
        document.variable_replaced.connect(self._on_variable_replaced)
        document.store_reset.connect(self._refresh_details)
        document.origin_changed.connect(self._on_origin_changed)
        self.table_model.set_document(document)
        self.table_model.prefetch_summaries()
        self.details.set_lookup(lambda name: _lookup(document, name))
        self.diff_page.set_document(document)
        self.check_page.set_document(document)
        self.watcher.watch(document.path, document.digest)
        self.change_bar.hide()
        self._pending_disk = None
        self.details.set_variable(None)
        if self.group_model is not None:
            self.view.expandAll()
        if old is not None:
            old.deleteLater()
        self._update_title()
        self._update_actions()
        self.document_opened.emit(document)

    def new_document(self) -> None:
        self.set_document(Document(parent=self))

    def new_store(self) -> None:
        def start() -> None:
            self.new_document()
            self.show_status("New empty store (saved as QEMU JSON unless you choose another format)")

        self._when_saved_or_discarded(start)

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open Variable Store", self._start_directory(), STORE_FILTER
        )
        if path:
            self.open_path(path)

    def open_path(self, path: str | Path) -> None:
        """Open a store file (asks about unsaved changes first; reads in the background)."""
        self._when_saved_or_discarded(lambda: self._start_open(Path(path)))

    def _start_open(self, path: Path) -> None:
        self._begin_busy(f"Opening {path}…")
        run_in_background(
            lambda: load_file(path), self._on_opened, lambda exc: self._on_open_failed(path, exc)
        )

    def _on_opened(self, loaded: LoadedFile) -> None:
        self._end_busy()
        document = Document.from_loaded(loaded, parent=self)
        self.set_document(document)
        self._add_recent(loaded.path)
        extra = f", {len(document.history)} deleted or superseded records" if document.history else ""
        self.show_status(
            f"Opened {loaded.path.name}: {_FORMAT_NAMES[document.format]}, {len(document)} variables{extra}"
        )
        if len(document):
            self.view.setCurrentIndex(self.proxy.index(0, 0))

    def _on_open_failed(self, path: Path, exc: BaseException) -> None:
        self._end_busy()
        if not isinstance(exc, UefiVarsError):
            raise exc
        self.show_status(f"Cannot open {path.name}")
        self.operation_failed.emit(str(exc))
        QMessageBox.warning(self, "Cannot Open Store", str(exc))

    def _when_saved_or_discarded(self, then: Callable[[], None]) -> None:
        """Run ``then`` once unsaved changes are saved or discarded (not if cancelled)."""
        doc = self.document
        if doc is None or not doc.is_modified:
            then()
            return
        answer = QMessageBox.question(
            self,
            "Unsaved Changes",
            f"The store “{doc.display_name}” has unsaved changes. Save them first?",
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save,
        )
        if answer == QMessageBox.StandardButton.Save:
            self.save(then=then)
        elif answer == QMessageBox.StandardButton.Discard:
            then()
        else:
            self.show_status("Cancelled")

    # -- saving ------------------------------------------------------------------------------
    def save(self, then: Callable[[], None] | None = None) -> bool:
        """Save to the open file in its format (Save As for a new store)."""
        doc = self.document
        if doc is None:
            return False
        if doc.path is None:
            return self.save_as(then=then)
        return self._save_to(doc.path, doc.format, doc.origin, then=then)

    def save_as(self, then: Callable[[], None] | None = None) -> bool:
        doc = self.document
        if doc is None:
            return False
        current = next(text for text, fmt in SAVE_FILTERS.items() if fmt is doc.format)
        start = self._start_directory()
        if doc.path is not None:
            start = str(doc.path)
        path_text, chosen = QFileDialog.getSaveFileName(
            self, "Save Store As", start, ";;".join(SAVE_FILTERS), current
        )
        if not path_text:
            self.show_status("Save cancelled")
            return False
        path = Path(path_text)
        try:
            fmt = format_for_output(path, None, SAVE_FILTERS.get(chosen, doc.format))
        except UsageError as exc:
            QMessageBox.warning(self, "Cannot Save", str(exc))
            return False
        if not path.suffix:
            path = path.with_suffix(_SUFFIX[fmt])
        origin = doc.origin if fmt is doc.format else None
        layout = None
        if fmt is StoreFormat.EDK2 and not isinstance(origin, FlashImage):
            layout = self._ask_layout()
            if layout is None:
                self.show_status("Save cancelled")
                return False
        return self._save_to(path, fmt, origin, layout, then=then)

    def _ask_layout(self) -> str | None:
        descriptions = [
            f"{name} — {LAYOUTS[name].description}" if name in LAYOUTS else name for name in LAYOUT_CHOICES
        ]
        choice, ok = QInputDialog.getItem(
            self,
            "Flash Image Layout",
            "The store is not a flash image yet. Which firmware's VARS layout should it get?",
            descriptions,
            0,
            False,
        )
        if not ok:
            return None
        return LAYOUT_CHOICES[descriptions.index(choice)] if choice in descriptions else choice.split(" ")[0]

    def _save_to(
        self,
        path: Path,
        fmt: StoreFormat,
        origin: object,
        layout: str | None = None,
        then: Callable[[], None] | None = None,
    ) -> bool:
        doc = self.document
        if doc is None or self._saving:
            return False
        store = doc.store.copy()
        clean_index = doc.undo_stack.index()
        same_file = doc.path is not None and path.resolve() == doc.path.resolve()
        if same_file:
            self.watcher.pause()
        self._saving = True
        self._begin_busy(f"Saving {path.name}…")

        def done(saved: LoadedFile) -> None:
            self._saving = False
            self._end_busy()
            if self.document is doc:
                doc.mark_saved(saved, clean_index)
                self.watcher.watch(saved.path, saved.digest)
                self._update_title()
            self._add_recent(saved.path)
            self.show_status(f"Saved {saved.path.name} ({_FORMAT_NAMES[fmt]}, {len(store)} variables)")
            self.document_saved.emit(saved)
            if then is not None:
                then()

        def failed(exc: BaseException) -> None:
            self._saving = False
            self._end_busy()
            if same_file:
                self.watcher.resume(doc.digest)
            if not isinstance(exc, UefiVarsError):
                raise exc
            if isinstance(exc, ChangedOnDiskError):
                self.watcher.check_now()  # brings up the bar with what changed
            text = self._save_error_text(exc, layout or _layout_name(origin))
            self.show_status(f"Not saved: {path.name}")
            self.operation_failed.emit(text)
            QMessageBox.warning(self, "Cannot Save", text)

        expected = doc.digest if same_file else None
        run_in_background(
            lambda: save_file(path, store, fmt, origin, layout, expected_digest=expected), done, failed
        )
        return True

    @staticmethod
    def _save_error_text(exc: UefiVarsError, layout: str | None) -> str:
        if isinstance(exc, StoreFullError):
            where = f"the {layout} flash store" if layout else "the flash store"
            return (
                f"The variables do not fit into {where}: {exc.missing} bytes do not fit.\n\n"
                "Delete variables that are not needed (old boot entries, test keys), save as a flash image "
                "with a larger layout (4M), or save as QEMU JSON, which has no fixed size.\n\n"
                "The file on disk was not changed."
            )
        if isinstance(exc, ChangedOnDiskError):
            return f"{exc}.\n\nThe file on disk was not changed."
        return f"{exc}\n\nThe file on disk was not changed."

    # -- closing ---------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if self._saving:
            self.show_status("Waiting for the save to finish…")
            event.ignore()
            return
        doc = self.document
        if doc is not None and doc.is_modified and not self._discard_confirmed:
            answer = QMessageBox.question(
                self,
                "Unsaved Changes",
                f"The store “{doc.display_name}” has unsaved changes. Save them before closing?",
                QMessageBox.StandardButton.Save
                | QMessageBox.StandardButton.Discard
                | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Save,
            )
            if answer == QMessageBox.StandardButton.Cancel:
                event.ignore()
                self.show_status("Close cancelled")
                return
            if answer == QMessageBox.StandardButton.Save:
                event.ignore()
                self.save(then=self._close_after_save)
                return
            self._discard_confirmed = True
        self.save_settings()
        self.watcher.watch(None, None)
        event.accept()

    def _close_after_save(self) -> None:
        if self.document is not None and not self.document.is_modified:
            self.close()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802
        if event.type() == QEvent.Type.PaletteChange:  # the system switched light/dark
            self.table_model.history_foreground = self.palette().color(
                QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text
            )
        super().changeEvent(event)

    # -- drag and drop ---------------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        files = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if not files:
            event.ignore()
            return
        event.acceptProposedAction()
        self.open_path(files[0])

    # -- selection and the details pane ----------------------------------------------------------
    def _source_row(self, proxy_index: QModelIndex) -> QModelIndex:
        index = self.proxy.mapToSource(proxy_index)
        if self.group_model is not None:
            index = self.group_model.mapToSource(index)
        return index

    def _proxy_index(self, key: VariableKey) -> QModelIndex:
        row = self.table_model.row_of(key)
        if row < 0:
            return QModelIndex()
        index = self.table_model.index(row, 0)
        if self.group_model is not None:
            index = self.group_model.mapFromSource(index)
        return self.proxy.mapFromSource(index)

    def selected_keys(self) -> list[VariableKey]:
        """Keys of the selected live variables, in view order."""
        model = self.view.selectionModel()
        keys = [index.data(Role.KEY) for index in model.selectedRows(0)] if model is not None else []
        return [key for key in keys if key is not None]

    def current_key(self) -> VariableKey | None:
        key = self.view.currentIndex().data(Role.KEY)
        return key if key is not None else None

    def _focus_details(self, _index: QModelIndex) -> None:
        self.details.setFocus()

    def _remember_current(self) -> None:
        self._key_before_reset = self.current_key()

    def _restore_current(self) -> None:
        """After a model reset (bulk change, reload, sorting a grouped view): expand the
        namespaces again and put the selection back."""
        if self.group_model is not None:
            self.view.expandAll()
        key, self._key_before_reset = self._key_before_reset, None
        if key is not None:
            index = self._proxy_index(key)
            if index.isValid():
                self.view.setCurrentIndex(index)
                self.view.scrollTo(index)

    def select_variable(self, key: VariableKey) -> bool:
        """Show the Variables page with ``key`` selected (clearing a filter that hides it)."""
        index = self._proxy_index(key)
        if not index.isValid() and self.filter_edit.text():
            self.filter_edit.clear()
            index = self._proxy_index(key)
        if not index.isValid():
            self.show_status(f"{key[1]} is not in the store")
            return False
        self.pages.setCurrentWidget(self.variables_page)
        self.view.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        )
        self.view.scrollTo(index)
        self.show_status(f"Selected {key[1]} ({guid_label(key[0])})")
        return True

    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex = QModelIndex()) -> None:  # noqa: B008
        self._refresh_details()
        self._update_actions()

    def _refresh_details(self) -> None:
        index = self.view.currentIndex()
        if not index.isValid():
            self.details.set_variable(None)
            return
        if index.data(Role.IS_GROUP):
            count = self.proxy.rowCount(index.siblingAtColumn(0))
            self.details.set_variable(None, note=f"{index.data()} — {count} variables")
            return
        var = index.data(Role.VARIABLE)
        if index.data(Role.IS_HISTORY):
            record = index.data(Role.RECORD)
            note = (
                f"{record.state_name} record at 0x{record.offset:x} — read only" if record is not None else ""
            )
            self.details.set_variable(var, read_only=True, note=note)
        else:
            self.details.set_variable(var)

    def _on_variable_replaced(self, _row: int, old: Variable, new: Variable) -> None:
        current = self.details.current
        if current is not None and current.key in (old.key, new.key) and not self.details.read_only:
            self.details.set_variable(new)

    def _on_details_changed(self, old_key: VariableKey, new: Variable) -> None:
        doc = self.document
        if doc is None:
            return
        try:
            if doc.replace_variable(old_key, new):
                self.show_status(f"Changed {new.name}")
        except UefiVarsError as exc:
            self.show_status(str(exc))
            QMessageBox.warning(self, "Cannot Change Variable", str(exc))
            self._refresh_details()

    def _on_origin_changed(self) -> None:
        self._update_title()
        self._update_actions()

    # -- editing ----------------------------------------------------------------------------------
    def add_variable(self) -> None:
        doc = self.document
        if doc is None:
            return
        dialog = AddVariableDialog(doc.store.keys(), dict.fromkeys(var.guid for var in doc), self)
        if dialog.exec() != AddVariableDialog.DialogCode.Accepted:
            self.show_status("Add cancelled")
            return
        try:
            var = dialog.variable()
            doc.add_variable(var)
        except UefiVarsError as exc:
            QMessageBox.warning(self, "Cannot Add Variable", str(exc))
            return
        self.select_variable(var.key)
        self.show_status(f"Added {var.name} ({guid_label(var.guid)})")

    def duplicate_selected(self) -> None:
        doc = self.document
        key = self.current_key()
        if doc is None or key is None:
            self.show_status("Select a variable to duplicate")
            return
        suggestion = _free_name(key[1], lambda name: (key[0], name) in doc.store)
        name, ok = QInputDialog.getText(
            self,
            "Duplicate Variable",
            f"Name of the copy of {key[1]} (same namespace):",
            QLineEdit.EchoMode.Normal,
            suggestion,
        )
        if not ok:
            self.show_status("Duplicate cancelled")
            return
        try:
            copy = doc.duplicate_variable(key, name)
        except UefiVarsError as exc:
            QMessageBox.warning(self, "Cannot Duplicate", str(exc))
            return
        self.select_variable(copy.key)
        self.show_status(f"Duplicated {key[1]} as {copy.name}")

    def delete_selected(self) -> None:
        doc = self.document
        keys = self.selected_keys()
        if doc is None or not keys:
            self.show_status("Select variables to delete (deleted records are read only)")
            return
        row = self.view.currentIndex().row()
        count = doc.delete_variables(keys)
        undo = QKeySequence(QKeySequence.StandardKey.Undo).toString(QKeySequence.SequenceFormat.NativeText)
        what = keys[0][1] if count == 1 else f"{count} variables"
        self.show_status(f"Deleted {what} — {undo} undoes it")
        if self.proxy.rowCount():
            self.view.setCurrentIndex(self.proxy.index(min(max(row, 0), self.proxy.rowCount() - 1), 0))

    def focus_filter(self) -> None:
        self.pages.setCurrentWidget(self.variables_page)
        self.filter_edit.setFocus()
        self.filter_edit.selectAll()

    def _on_filter_typed(self, text: str) -> None:
        if self.table_model.rowCount() > LARGE_STORE and text:
            self._filter_timer.start()
        else:
            self._filter_timer.stop()
            self._on_filter_changed(text)

    def _on_filter_changed(self, text: str) -> None:
        self.proxy.set_filter_text(text)
        if self.group_model is not None:
            self.view.expandAll()
        if text:
            shown = self._count_shown()
            self.show_status(f"{shown} of {len(self.document or ())} variables match “{text}”")
        else:
            self.show_status("Filter cleared")

    def _count_shown(self) -> int:
        if self.group_model is None and not self.table_model.show_history:
            return self.proxy.rowCount()
        if self.group_model is None:
            return sum(1 for row in range(self.proxy.rowCount()) if self.proxy.index(row, 0).data(Role.KEY))
        total = 0
        for row in range(self.proxy.rowCount()):
            parent = self.proxy.index(row, 0)
            total += sum(
                1
                for child in range(self.proxy.rowCount(parent))
                if self.proxy.index(child, 0, parent).data(Role.KEY)
            )
        return total

    # -- view toggles --------------------------------------------------------------------------------
    def set_grouped(self, grouped: bool) -> None:
        if grouped == (self.group_model is not None):
            return
        current = self.current_key()
        if grouped:
            self.group_model = NamespaceGroupModel(self)
            self.group_model.setSourceModel(self.table_model)
            self.proxy.setSourceModel(self.group_model)
            self.view.setRootIsDecorated(True)
            self.view.expandAll()
        else:
            group, self.group_model = self.group_model, None  # before the proxy's reset
            self.proxy.setSourceModel(self.table_model)
            if group is not None:
                group.deleteLater()
            self.view.setRootIsDecorated(False)
        if current is not None:
            self.select_variable(current)
        self.show_status("Grouped by namespace" if grouped else "Flat list in store order")

    def set_show_deleted(self, show: bool) -> None:
        self.table_model.set_show_history(show)
        if self.group_model is not None:
            self.view.expandAll()
        count = self.table_model.history_count
        if show:
            self.show_status(
                f"Showing {count} deleted or superseded records (read only)"
                if count
                else "This store has no deleted records"
            )
        else:
            self.show_status("Deleted records hidden")
        self._update_actions()

    # -- external changes ------------------------------------------------------------------------------
    def _on_disk_changed(self, loaded: LoadedFile) -> None:
        doc = self.document
        if doc is None or doc.path is None or loaded.path != doc.path:
            return
        self._pending_disk = loaded
        text = describe_disk_change(doc, loaded)
        self.change_bar.show_message(text)
        self.show_status(f"{loaded.path.name} changed on disk")

    def _on_disk_unreadable(self, reason: str) -> None:
        self._pending_disk = None
        self.change_bar.show_message(
            f"The file changed on disk but cannot be read ({reason}). Your version is kept; saving overwrites the file.",
            can_reload=False,
        )

    def reload_from_disk(self) -> None:
        doc, loaded = self.document, self._pending_disk
        self.change_bar.hide()
        self._pending_disk = None
        if doc is None or loaded is None:
            return
        doc.reload(loaded)
        self.watcher.set_known(loaded.digest)
        self._refresh_details()
        if self.group_model is not None:
            self.view.expandAll()
        self.show_status(f"Reloaded {loaded.path.name} from disk (Undo brings your version back)")

    def keep_mine(self) -> None:
        doc, loaded = self.document, self._pending_disk
        self.change_bar.hide()
        self._pending_disk = None
        if doc is None:
            return
        if loaded is not None:
            doc.keep_mine(loaded.digest)
        self._update_title()
        self.show_status("Kept your version; saving will overwrite the file on disk")

    # -- help -----------------------------------------------------------------------------------------
    def about(self) -> None:
        QMessageBox.about(
            self,
            f"About {APP_NAME}",
            f"<b>{APP_NAME}</b> {__version__}<br>The workbench for UEFI variable stores of virtual machines: "
            "QEMU uefi-vars JSON, edk2 flash images and AWS uefi-data.",
        )


def _lookup(document: Document, name: str) -> Variable | None:
    """A variable by name for the editors (BootOrder -> Boot####): EFI global first."""
    var = document.get((EFI_GLOBAL_VARIABLE, name))
    if var is not None:
        return var
    named = document.store.named(name)
    return named[0] if named else None


def _as_bool(value: object) -> bool:
    if isinstance(value, str):
        return value.lower() in ("true", "1", "yes")
    return bool(value)


def _layout_name(origin: object) -> str | None:
    return origin.layout.name if isinstance(origin, FlashImage) else None


def _free_name(name: str, taken: Callable[[str], bool]) -> str:
    """``nameCopy``, ``nameCopy2``, ... — the first that is not taken."""
    candidate = f"{name}Copy"
    number = 2
    while taken(candidate):
        candidate = f"{name}Copy{number}"
        number += 1
    return candidate
