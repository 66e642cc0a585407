-- The plugin starts `stead serve` from PATH for a file, the client attaches with the
-- workspace root, the settings given to setup() reach the server as initializationOptions,
-- and a custom request (`stead/settings`) round-trips.
local H = require('harness')
local P = H.params

require('stead').setup(P.opts)
H.step('setup done')
vim.cmd.edit(P.file)
local file_buf = vim.api.nvim_get_current_buf()
local client = H.client(0)
H.step('attached')
H.data('root_dir', client.root_dir)
H.data('server_name', client.server_info and client.server_info.name)
H.data('inline_capability', client:supports_method('textDocument/inlineCompletion'))

H.wait(function()
  return require('stead').statusline():find('local', 1, true)
end, 10000, 'the statusline to show the model and route')
H.data('statusline', require('stead').statusline())

local err, result = H.request(client, 'stead/settings', {})
H.data('settings_err', err)
H.data('settings', result)

-- The :SteadStatus command goes through the plugin's own request path.
vim.cmd('SteadStatus')
H.wait(function()
  return vim.fn.bufnr('stead://status') ~= -1
end, 10000, 'the status buffer')
H.data('status_lines', vim.api.nvim_buf_get_lines(vim.fn.bufnr('stead://status'), 0, -1, false))

-- :checkhealth stead with the server running: version, settings, doctor, egress state.
vim.cmd('checkhealth stead')
H.wait(function()
  return vim.bo.filetype == 'checkhealth'
    and table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\n'):find('running servers', 1, true)
end, 30000, 'the health report')
H.data('health', table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\n'))

-- Calling setup() again sends the new settings to the running server (no restart).
require('stead').setup(vim.tbl_deep_extend('force', P.opts or {}, P.reopts or {}))
-- (the notification is sent before the request below, and the server handles them in order)
local _, after = H.request(client, 'stead/settings', {})
H.data('settings_after_resetup', after)
local now = vim.lsp.get_clients({ name = 'stead', bufnr = file_buf })[1]
H.data('same_client_after_resetup', now ~= nil and now.id == client.id)
