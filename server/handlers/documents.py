"""Document sync events fanned out to every area that cares (completion, context, index).

pygls keeps the text itself; LSP allows one handler per notification, so this module owns
them and calls `ls.document_listeners`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

if TYPE_CHECKING:
    from server.lsp import SteadServer


def register(ls: SteadServer) -> None:
    @ls.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: SteadServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.emit_document("open", params.text_document.uri, params)

    @ls.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: SteadServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.emit_document("change", params.text_document.uri, params)

    @ls.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: SteadServer, params: types.DidSaveTextDocumentParams) -> None:
        ls.emit_document("save", params.text_document.uri, params)

    @ls.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: SteadServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.emit_document("close", params.text_document.uri, params)

    @ls.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched(ls: SteadServer, params: types.DidChangeWatchedFilesParams) -> None:
        for change in params.changes:
            ls.emit_document("watched", change.uri, change)
