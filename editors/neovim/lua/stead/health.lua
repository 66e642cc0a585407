--- `:checkhealth stead`: can the server start, which settings are in effect, what may leave.
local M = {}

--- How long `stead doctor` may take to load the model before health gives up on that part.
M.doctor_timeout_ms = 30000

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
  health.start('stead: server')
  if not stead.setup_called then
    health.info(
      "require('stead').setup() was not called: using the defaults (vim.lsp.enable('stead') alone is fine)"
    )
  end
  for _, problem in ipairs(stead.problems or {}) do
    health.error('setup(): ' .. problem)
  end
  local cmd = stead.cmd()
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

--- The CLI command for a subcommand, from the server command (`stead serve` -> `stead doctor`).
function M.cli(cmd, sub)
  local out = {}
  for _, word in ipairs(cmd) do
    if word == 'serve' then
      break
    end
    out[#out + 1] = word
  end
  vim.list_extend(out, sub)
  return out
end

--- `stead doctor` lines -> health reports: "ok" / "!!" (required, missing) / "--" (optional).
function M.doctor_report(text)
  local out = {}
  local section
  for line in vim.gsplit(text, '\n', { plain = true }) do
    if line:match('^Checks:') then
      section = 'checks'
    elseif line:match('^Data directories:') or line:match('^Versions:') then
      section = nil
    elseif line:match('^Where each layer runs') then
      section = 'layers'
    elseif section == 'checks' then
      local mark, rest = line:match('^  (%S%S) (.*)$')
      local fix = line:match('^%s+fix: (.*)$')
      if fix and #out > 0 then
        table.insert(out[#out].advice, fix)
      elseif mark == 'ok' then
        out[#out + 1] = { level = 'ok', msg = rest, advice = {} }
      elseif mark == '!!' then
        out[#out + 1] = { level = 'error', msg = rest, advice = {} }
      elseif mark == '--' then
        out[#out + 1] = { level = 'warn', msg = rest, advice = {} }
      end
    elseif section == 'layers' then
      local leave = line:match('^%s+may leave: (.*)$')
      local name, runs = line:match('^  (%S.-)%s+runs: (.*)$')
      if name then
        out[#out + 1] = { level = 'info', msg = ('%s: runs %s'):format(name, runs), advice = {} }
      elseif leave and #out > 0 then
        out[#out].msg = out[#out].msg .. '; may leave: ' .. leave
      end
    end
  end
  return out
end

local function check_doctor()
  local cmd = require('stead').cmd()
  if vim.fn.executable(cmd[1]) == 0 then
    return
  end
  health.start('stead: doctor (where each layer runs, what may leave)')
  -- the model is loaded for real (a missing, damaged or unloadable file is the usual
  -- first-run failure); doctor says how long that took.  Bounded: a slow disk or a huge
  -- model must not hang :checkhealth.
  local ok, res = pcall(function()
    return vim.system(M.cli(cmd, { 'doctor' }), { text = true }):wait(M.doctor_timeout_ms)
  end)
  if ok and res.code == 124 then -- vim.system's timeout
    -- killed at the deadline: the checks that need no model still say what is missing
    health.warn(('`stead doctor` did not finish loading the model within %d s'):format(
      M.doctor_timeout_ms / 1000), { 'Run `stead doctor` in a terminal to see how long it takes.' })
    ok, res = pcall(function()
      return vim.system(M.cli(cmd, { 'doctor', '--no-load' }), { text = true }):wait(30000)
    end)
  end
  if not ok or res.code == nil or (res.code ~= 0 and res.code ~= 1) then
    health.warn('`stead doctor` did not run: ' .. tostring(ok and (res.stderr or res.code) or res))
    return
  end
  for _, r in ipairs(M.doctor_report(res.stdout or '')) do
    health[r.level](r.msg, #r.advice > 0 and r.advice or nil)
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
      local st = client:request_sync('stead/status', vim.empty_dict(), 5000)
      local status = st and st.result or {}
      if status.model_state == 'error' then
        health.error('model: ' .. tostring(status.model_error),
          status.model_fix ~= '' and { status.model_fix } or nil)
      elseif status.model_state then
        health.ok('model: ' .. status.model_state)
      end
      local index = type(status.index) == 'table' and status.index or {}
      if index.summary and index.summary ~= '' then
        health.info('index: ' .. index.summary)
      end
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
  check_doctor()
  check_running()
end

return M
