--- The stead language server for `vim.lsp.enable('stead')` (Neovim 0.11+).
---
--- Works without setup(): the server command is `stead serve` from PATH and the server reads
--- its settings from `~/.config/stead/config.toml`.  `require('stead').setup(opts)` layers
--- the options given there on top (see editors/neovim/README.md).
---@type vim.lsp.Config
return require('stead').lsp_config()
