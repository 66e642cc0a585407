--- `:checkhealth stead`: can the server start, which settings are in effect, what may leave.
local M = {}

local health = vim.health

local function check_editor()
  health.start('stead: Neovim')
  local v = vim.version()
  local version = ('%d.%d.%d'):format(v.major, v.minor, v.patch)
  if vim.fn.has('nvim-0.11') == 0 then
    health.error(
      ('Neovim %s is too old: stead needs 0.11 or newer (vim.lsp.config / vim.lsp.enable)'):format(
        version
      )
    )
  else
    health.ok('Neovim ' .. version)
  end
  if vim.lsp.inline_completion then
    health.ok('ghost text: vim.lsp.inline_completion is available')
  else
    health.warn('ghost text needs Neovim 0.12 (vim.lsp.inline_completion)', {
      'Chat, search, history and escalation work on 0.11; upgrade for inline suggestions.',
    })
  end
end

local function check_server()
  local stead = require('stead')
  local config = require('stead.config')
  health.start('stead: server')
  if not stead.setup_called then
    health.info(
      "require('stead').setup() was not called: using the defaults (vim.lsp.enable('stead') alone is fine)"
    )
  end
  for _, problem in ipairs(stead.problems or {}) do
    health.error('setup(): ' .. problem)
  end
  local cmd = config.options.cmd
  local exe = vim.fn.exepath(cmd[1])
  if exe == '' then
    health.error(stead.missing_message(cmd))
    return
  end
  health.ok(('server command: %s (%s)'):format(table.concat(cmd, ' '), exe))
  local ok, res = pcall(function()
    return vim.system({ cmd[1], '--version' }, { text = true }):wait(10000)
  end)
  if ok and res.code == 0 then
    health.ok(vim.trim(res.stdout or ''))
  else
    health.warn(
      ('`%s --version` failed: %s'):format(cmd[1], ok and vim.trim(res.stderr or '') or res),
      { 'Is cmd pointing at the stead CLI?' }
    )
  end
end

local function check_running()
  health.start('stead: running servers')
  local clients = vim.lsp.get_clients({ name = 'stead' })
  if #clients == 0 then
    health.info('no stead server is running (open a file, or run :SteadStatus)')
    return
  end
  for _, client in ipairs(clients) do
    health.ok(('client %d, root %s'):format(client.id, client.root_dir or '(none)'))
    local res = client:request_sync('stead/settings', vim.empty_dict(), 5000)
    if not res or res.err then
      health.warn('stead/settings failed: ' .. vim.inspect(res and res.err or 'timeout'))
    else
      local result = res.result or {}
      for _, problem in ipairs(result.problems or {}) do
        health.error('settings: ' .. problem)
      end
      if #(result.problems or {}) == 0 then
        health.ok('settings: no problems')
      end
      local s = result.settings or {}
      local model = s.model or {}
      local path = model.path
      health.info(
        ('model: %s (%s)'):format(path ~= nil and path ~= '' and path or model.name, model.backend)
      )
      local remote = s.remote or {}
      if remote.enabled then
        local names = vim.tbl_keys(remote.providers or {})
        health.warn(
          ('remote escalation is ON (providers: %s): requests leave this machine only after you approve the manifest'):format(
            #names > 0 and table.concat(names, ', ') or 'none configured'
          )
        )
      else
        health.ok('remote escalation is off: nothing leaves this machine')
      end
    end
  end
end

function M.check()
  check_editor()
  check_server()
  check_running()
end

return M
