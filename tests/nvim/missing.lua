-- With no `stead` on PATH the plugin says so once, with the fix, and starts nothing;
-- :checkhealth stead reports the same problem.
local H = require('harness')
local P = H.params

require('stead').setup({})
vim.cmd.edit(P.file)
vim.cmd('new')
vim.cmd.edit(vim.fn.fnamemodify(P.file, ':h') .. '/other.py')
H.sleep(300)
H.data('clients', #vim.lsp.get_clients({ name = 'stead' }))

vim.cmd('checkhealth stead')
H.wait(function()
  return vim.bo.filetype == 'checkhealth' and vim.api.nvim_buf_line_count(0) > 3
end, 10000, 'the health report')
H.data('health', table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\n'))

-- Pointing the config at the executable fixes it, without restarting Neovim.
vim.lsp.config('stead', { cmd = { P.stead, 'serve' } })
vim.cmd('wincmd p')
vim.cmd.edit(P.file)
vim.cmd('doautocmd FileType')
local client = H.client(0)
H.data('fixed_client', client.name)
