"""A bare pygls 2 server: the baseline stead's start-up is compared against."""

from pygls.lsp.server import LanguageServer

server = LanguageServer("bare", "0")

if __name__ == "__main__":
    server.start_io()
