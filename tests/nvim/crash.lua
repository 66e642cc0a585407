-- A server that dies is restarted for the buffers it served, a bounded number of times,
-- and the user is told each time; past the bound it stays stopped and the user is told why.
local H = require('harness')
local P = H.params

require('stead').setup({ max_restarts = 1 })
vim.cmd.edit(P.file)
local first = H.client(0)
H.step('attached')

--- The server's process: the child of Neovim running `stead serve`.
local function server_pids()
  local pids = {}
  for _, pid in ipairs(vim.api.nvim_get_proc_children(vim.fn.getpid())) do
    pids[#pids + 1] = pid
  end
  return pids
end

local function crash()
  local pids = H.wait(function()
    local p = server_pids()
    return #p > 0 and p
  end, 5000, 'the server process')
  for _, pid in ipairs(pids) do
    vim.uv.kill(pid, 'sigkill')
  end
end

crash()
local second = H.wait(function()
  local c = vim.lsp.get_clients({ name = 'stead', bufnr = 0 })[1]
  return c and c.id ~= first.id and c
end, 30000, 'a restarted client')
H.step('restarted')
H.data('restarted', second.id ~= first.id)
local err, result = H.request(second, 'stead/settings', {})
H.data('works_after_restart', err == nil and result ~= nil)

crash()
H.wait(function()
  for _, n in ipairs(H.result.notifications) do
    if n.msg:find('not restarting', 1, true) then
      return true
    end
  end
end, 10000, 'the give-up message')
H.sleep(300)
H.data('clients_after_second_crash', #vim.lsp.get_clients({ name = 'stead' }))
