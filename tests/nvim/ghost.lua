-- Ghost text: entering insert mode asks the server (debounced by Neovim), the suggestion
-- from the real model appears as inline virtual text, <Tab> inserts it and the server hears
-- that it was accepted.  <C-]> dismisses a suggestion and reports the rejection.
local H = require('harness')
local P = H.params
local stead = require('stead')

require('stead').setup(P.opts)
vim.cmd.edit(P.file)
local client = H.client(0)
H.step('attached')
H.data('inline_enabled', vim.lsp.inline_completion.is_enabled({ bufnr = 0 }))

-- Record the feedback notifications the plugin sends.
local sent = {}
local notify = client.notify
client.notify = function(self, method, params)
  if method:match('^stead/completion/') then
    sent[#sent + 1] = { method = method, params = params }
  end
  return notify(self, method, params)
end

local function ghost()
  return stead.shown(0)
end

-- Cursor at the end of line P.line, in insert mode: Neovim requests a suggestion.
H.feed(P.line .. 'GA')
H.wait(function()
  return vim.api.nvim_get_mode().mode == 'i'
end, 5000, 'insert mode')
H.data('mode', vim.api.nvim_get_mode().mode)
local shown = H.wait(ghost, 30000, 'ghost text to appear')
H.step('ghost shown')
H.data('ghost', shown)
H.data('buffer_before', vim.api.nvim_buf_get_lines(0, 0, -1, false))

-- Dismiss: the text disappears, nothing is inserted, the server hears "rejected".
H.feed('<C-]>', 50)
H.wait(function()
  return ghost() == nil
end, 5000, 'the ghost text to go after <C-]>')
H.data('after_dismiss', ghost() or vim.NIL)
H.data('buffer_after_dismiss', vim.api.nvim_buf_get_lines(0, 0, -1, false))

-- Moving the cursor brings a suggestion back (the debounce runs again); <Tab> accepts it.
H.feed('<Left>', 10)
H.feed('<Right>', 10)
H.wait(ghost, 30000, 'ghost text to come back')
H.step('ghost back')
H.feed('<Tab>', 100)
H.wait(function()
  return ghost() == nil
end, 5000, 'the ghost text to go after accepting')
H.data('buffer_after', vim.api.nvim_buf_get_lines(0, 0, -1, false))
H.data('cursor_after', vim.api.nvim_win_get_cursor(0))
H.data('mode_after', vim.api.nvim_get_mode().mode)
H.data('feedback', sent)

-- With no suggestion shown, <Tab> is a plain Tab.
H.feed('<Esc>', 30)
H.wait(function()
  return vim.api.nvim_get_mode().mode == 'n'
end, 5000, 'normal mode')
vim.lsp.inline_completion.enable(false, { bufnr = 0 })
H.feed('Go<C-u>x<Tab>y<Esc>', 100)
H.wait(function()
  return vim.api.nvim_get_mode().mode == 'n' and vim.api.nvim_buf_line_count(0) == 3
end, 5000, 'the plain-Tab line')
H.data('plain_tab_line', vim.api.nvim_buf_get_lines(0, -2, -1, false)[1])
