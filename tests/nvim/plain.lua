-- Without setup(): `vim.lsp.enable('stead')` finds lsp/stead.lua on the runtimepath, starts
-- `stead serve` for the file and the server runs on its own defaults and config file.
local H = require('harness')
local P = H.params

vim.lsp.enable('stead')
vim.cmd.edit(P.file)
local client = H.client(0)
H.step('attached')
H.data('name', client.name)
H.data('init_options', client.config.init_options or vim.NIL)
local _, result = H.request(client, 'stead/settings', {})
H.data('settings', result)
H.data('inline_enabled', vim.lsp.inline_completion.is_enabled({ bufnr = 0 }))
H.data('tab_mapped', vim.fn.maparg('<Tab>', 'i', false, true).desc or vim.NIL)

-- :SteadRestart stops the server and starts a new one for the same buffer.
vim.cmd('SteadRestart')
local again = H.wait(function()
  local c = vim.lsp.get_clients({ name = 'stead', bufnr = 0 })[1]
  return c and c.id ~= client.id and c
end, 30000, 'the restarted client')
H.data('restarted', again.id ~= client.id)
H.sleep(200)
H.data('clients_after_restart', #vim.lsp.get_clients({ name = 'stead' }))
