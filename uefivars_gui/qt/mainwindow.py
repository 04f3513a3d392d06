"""The main window (bare for now: open a store and list its variables)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSortFilterProxyModel, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QHeaderView, QLineEdit, QMainWindow, QMessageBox, QTableView, QVBoxLayout, QWidget

from ..cli.storefile import OpenedStore, open_store
from ..errors import UefiVarsError
from .models import VariableColumn, VariableTableModel


class MainWindow(QMainWindow):
    def __init__(self) -> None:
        super().__init__()
        self.opened: OpenedStore | None = None
        self.model = VariableTableModel()
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setFilterKeyColumn(-1)

        self.filter_edit = QLineEdit(placeholderText="Filter by name, namespace, attributes or value")
        self.filter_edit.setAccessibleName("Filter variables")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self.proxy.setFilterFixedString)

        self.table = QTableView()
        self.table.setAccessibleName("Variables")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setSectionResizeMode(VariableColumn.VALUE, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().hide()

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addWidget(self.filter_edit)
        layout.addWidget(self.table)
        self.setCentralWidget(central)

        open_action = QAction("&Open…", self, shortcut=QKeySequence.StandardKey.Open, triggered=self._choose_file)
        quit_action = QAction("&Quit", self, shortcut=QKeySequence.StandardKey.Quit, triggered=self.close)
        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction(open_action)
        file_menu.addSeparator()
        file_menu.addAction(quit_action)
        self.resize(1100, 650)
        self._update_title()

    def _update_title(self) -> None:
        name = self.opened.path.name if self.opened else "no store"
        self.setWindowTitle(f"{name} — uefivars-gui")

    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open variable store", "", "Variable stores (*.json *.fd *.aws);;All files (*)")
        if path:
            self.open_path(path)

    def open_path(self, path: str | Path) -> bool:
        try:
            opened = open_store(path)
        except UefiVarsError as exc:
            QMessageBox.critical(self, "Cannot open store", str(exc))
            return False
        self.opened = opened
        self.model.set_store(opened.store)
        self.table.resizeColumnsToContents()
        self._update_title()
        self.statusBar().showMessage(f"Opened {opened.path} ({opened.format.value}, {len(opened.store)} variables)")
        return True
