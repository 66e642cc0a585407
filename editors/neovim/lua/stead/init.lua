--- stead for Neovim: a thin client of the stead language server.
---
--- Everything that decides anything (context, routing, redaction, history) lives in the
--- server; this module starts it, shows what it returns and asks the user when the server
--- needs consent.  Requests never block the editor: every call is asynchronous.
local config = require('stead.config')

local M = {}

M.name = 'stead'

--- Crash bookkeeping: restarts done this session and the buffers a crashed client served.
local restarts = 0
local missing_reported = {}
--- Clients we stop on purpose (their exit is not a crash).
local stopping = {}
--- Latest progress message per token, for the statusline.
M.progress = nil

local function notify(msg, level)
  vim.notify('stead: ' .. msg, level or vim.log.levels.INFO)
end
M.notify = notify

-- -- server command -------------------------------------------------------------------

--- The command that starts the server: setup()'s `cmd`, unless `vim.lsp.config('stead',
--- { cmd = {...} })` replaced the config's command with a list of its own.
function M.cmd()
  local ok, resolved = pcall(function()
    return vim.lsp.config[M.name]
  end)
  if ok and resolved and type(resolved.cmd) == 'table' and type(resolved.cmd[1]) == 'string' then
    return resolved.cmd
  end
  return config.options.cmd
end

--- The fix to show when the server command cannot be found.
function M.missing_message(cmd)
  return table.concat({
    ('the server command %q was not found (cmd = %s).'):format(cmd[1], vim.inspect(cmd)),
    'stead is installed from its source checkout (it is not on PyPI):',
    '`python3 -m venv ~/.local/share/stead-venv && ~/.local/share/stead-venv/bin/pip install /path/to/stead`,',
    'then `stead models install qwen2.5-coder-0.5b`; put that bin/ on PATH',
    "or point the plugin at it: require('stead').setup({ cmd = { '/path/to/venv/bin/stead', 'serve' } })",
    "(or vim.lsp.config('stead', { cmd = { ... } })). Run :checkhealth stead for details.",
  }, ' ')
end

--- True when the configured command can run; reports once per command when it cannot.
function M.check_cmd()
  local cmd = M.cmd()
  if vim.fn.executable(cmd[1]) == 1 then
    return true
  end
  local key = table.concat(cmd, ' ')
  if not missing_reported[key] then
    missing_reported[key] = true
    -- Scheduled: this runs inside FileType autocommands, where an error message would
    -- abort the autocommand chain (and other plugins' handlers) instead of informing.
    vim.schedule(function()
      notify(M.missing_message(cmd), vim.log.levels.ERROR)
    end)
  end
  return false
end

--- The workspace root for a buffer: the nearest root marker, else the cwd when the file is
--- inside it, else the file's directory.
---@param bufnr integer
---@return string
function M.root_dir(bufnr)
  local root = vim.fs.root(bufnr, config.options.root_markers)
  if root then
    return root
  end
  local cwd = vim.fn.getcwd()
  local name = vim.api.nvim_buf_get_name(bufnr)
  if name == '' then
    return cwd
  end
  local file = vim.fs.normalize(vim.fn.fnamemodify(name, ':p'))
  if vim.startswith(file, vim.fs.normalize(cwd) .. '/') then
    return cwd
  end
  return vim.fs.dirname(file)
end

-- -- the vim.lsp.Config ------------------------------------------------------------------

--- Client capabilities: stead reports work-done progress for indexing.
local function capabilities()
  local caps = vim.lsp.protocol.make_client_capabilities()
  caps.window = caps.window or {}
  caps.window.workDoneProgress = true
  return caps
end

--- The vim.lsp.Config for stead; `lsp/stead.lua` returns it so `vim.lsp.enable('stead')`
--- works without setup(), and setup() refines it with the user's options.
---@return vim.lsp.Config
function M.lsp_config()
  ---@type vim.lsp.Config
  return {
    cmd = function(dispatchers, cfg)
      return vim.lsp.rpc.start(M.cmd(), dispatchers, {
        cwd = cfg.cmd_cwd,
        env = config.options.cmd_env or cfg.cmd_env,
      })
    end,
    root_dir = function(bufnr, on_dir)
      if M.check_cmd() then
        on_dir(M.root_dir(bufnr))
      end
    end,
    filetypes = config.options.filetypes,
    init_options = config.init_options(),
    capabilities = capabilities(),
    handlers = {
      ['stead/chat/chunk'] = function(_, params)
        require('stead.chat').on_chunk(params)
      end,
      ['stead/escalate/chunk'] = function(_, params)
        require('stead.escalate').on_chunk(params)
      end,
      -- shown as usual; an error (a missing model) also changes what the statusline says
      ['window/showMessage'] = function(err, result, ctx)
        local out = vim.lsp.handlers['window/showMessage'](err, result, ctx)
        local client = vim.lsp.get_client_by_id(ctx.client_id)
        if client then
          M.refresh_status(client)
        end
        return out
      end,
    },
    on_attach = function(client, bufnr)
      M.on_attach(client, bufnr)
    end,
    on_exit = function(code, signal, client_id)
      M.on_exit(code, signal, client_id)
    end,
  }
end

-- -- attach, keymaps, ghost text --------------------------------------------------------

local function has_inline()
  return vim.lsp.inline_completion ~= nil
end
M.has_inline = has_inline

--- Tell the server what became of a suggestion (it feeds the cache and history).
---@param kind 'accepted'|'rejected'
---@param bufnr integer
---@param text string
---@param pos? integer[] (0-based row, col)
local function feedback(kind, bufnr, text, pos)
  for _, client in ipairs(vim.lsp.get_clients({ name = M.name, bufnr = bufnr })) do
    client:notify('stead/completion/' .. kind, {
      uri = vim.uri_from_bufnr(bufnr),
      text = text,
      line = pos and pos[1] or -1,
      character = pos and pos[2] or -1,
    })
  end
end

--- Hide the current suggestion and forget it (the next keystroke asks again).
function M.dismiss(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  if has_inline() and vim.lsp.inline_completion.is_enabled({ bufnr = bufnr }) then
    local shown = M.shown(bufnr)
    vim.lsp.inline_completion.enable(false, { bufnr = bufnr })
    vim.lsp.inline_completion.enable(true, { bufnr = bufnr })
    if shown then
      local row, col = unpack(vim.api.nvim_win_get_cursor(0))
      feedback('rejected', bufnr, shown, { row - 1, col })
    end
  end
end

local ghost_ns ---@type integer?
--- The ghost text shown in a buffer, or nil (read from Neovim's inline-completion marks).
---@param bufnr? integer
---@return string?
function M.shown(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  ghost_ns = ghost_ns or vim.api.nvim_get_namespaces()['nvim.lsp.inline_completion']
  if not ghost_ns then
    return nil
  end
  local marks = vim.api.nvim_buf_get_extmarks(bufnr, ghost_ns, 0, -1, { details = true })
  local parts = {}
  for _, mark in ipairs(marks) do
    local d = mark[4] or {}
    local line = {}
    for _, chunk in ipairs(d.virt_text or {}) do
      line[#line + 1] = chunk[1]
    end
    parts[#parts + 1] = table.concat(line)
    for _, vl in ipairs(d.virt_lines or {}) do
      local l = {}
      for _, chunk in ipairs(vl) do
        l[#l + 1] = chunk[1]
      end
      parts[#parts + 1] = table.concat(l)
    end
  end
  return #parts > 0 and table.concat(parts, '\n') or nil
end

--- Apply an accepted item as Neovim would, then report it to the server.
---@param item vim.lsp.inline_completion.Item
---@param bufnr integer
local function apply(item, bufnr)
  local text = item.insert_text
  local win = vim.fn.bufwinid(bufnr)
  local pos
  if type(text) ~= 'string' then
    text = text.value
    vim.snippet.expand(text)
  elseif item.range and item.range.start and item.range.start.row then
    local r = item.range
    local lines = vim.split(text, '\n', { plain = true })
    vim.api.nvim_buf_set_text(bufnr, r.start.row, r.start.col, r.end_.row, r.end_.col, lines)
    pos = { r.start.row, r.start.col }
    if win ~= -1 then
      vim.api.nvim_win_set_cursor(win, {
        r.start.row + #lines,
        (#lines == 1 and r.start.col or 0) + #lines[#lines],
      })
    end
  else
    local row, col = unpack(vim.api.nvim_win_get_cursor(win ~= -1 and win or 0))
    pos = { row - 1, col }
    vim.api.nvim_paste(text, false, -1)
  end
  if item.command then
    local client = vim.lsp.get_client_by_id(item.client_id)
    if client then
      client:exec_cmd(item.command, { bufnr = bufnr })
    end
  end
  feedback('accepted', bufnr, text, pos)
end

--- Accept the suggestion shown; false when there is none.
function M.accept()
  if not has_inline() then
    return false
  end
  local bufnr = vim.api.nvim_get_current_buf()
  return vim.lsp.inline_completion.get({
    bufnr = bufnr,
    on_accept = function(item)
      apply(item, bufnr)
    end,
  })
end

local function map_keys(bufnr)
  local keys = config.options.keymaps or {}
  local function map(lhs, rhs, desc, opts)
    if lhs then
      vim.keymap.set(
        'i',
        lhs,
        rhs,
        vim.tbl_extend('force', { buffer = bufnr, desc = 'stead: ' .. desc }, opts or {})
      )
    end
  end
  map(keys.accept, function()
    if not M.accept() then
      return vim.keycode(keys.accept)
    end
    return ''
  end, 'accept the suggestion', { expr = true, replace_keycodes = false })
  map(keys.next, function()
    vim.lsp.inline_completion.select({ count = 1 })
  end, 'next suggestion')
  map(keys.prev, function()
    vim.lsp.inline_completion.select({ count = -1 })
  end, 'previous suggestion')
  map(keys.dismiss, function()
    M.dismiss(bufnr)
  end, 'dismiss the suggestion')
end

--- Last `stead/status` per client (model, route, index state) for the statusline.
M.status = {}

local function refresh_status(client)
  client:request('stead/status', vim.empty_dict(), function(err, result)
    if not err and result then
      M.status[client.id] = result
      vim.cmd.redrawstatus()
    end
  end)
end
M.refresh_status = refresh_status

--- Ghost text must not look like typed text.  Neovim draws it with `ComplHint`, linked by
--- default to `NonText`, which has only a GUI colour: on a terminal without truecolor the
--- suggestion then looks exactly like code.  `SteadGhostText` (grey, italic, for both GUI
--- and 256-colour terminals) is linked in only while `ComplHint` is still that default, so a
--- colorscheme's own choice wins; override `SteadGhostText` to restyle it.
function M.highlights()
  local nontext = vim.api.nvim_get_hl(0, { name = 'NonText', link = false })
  vim.api.nvim_set_hl(0, 'SteadGhostText', {
    default = true,
    fg = nontext.fg or 0x808080,
    ctermfg = nontext.ctermfg or 244,
    italic = true,
    cterm = { italic = true },
  })
  local hint = vim.api.nvim_get_hl(0, { name = 'ComplHint' })
  if vim.tbl_isempty(hint) or (hint.link == 'NonText' and vim.tbl_count(hint) == 1) then
    vim.api.nvim_set_hl(0, 'ComplHint', { link = 'SteadGhostText' })
  end
end

--- The statusline follows work-done progress (indexing) however stead was started:
--- setup() or the plain `vim.lsp.enable('stead')` route (which never calls setup()).
function M.watch_progress()
  if M._watching then
    return
  end
  M._watching = true
  local group = vim.api.nvim_create_augroup('stead.progress', { clear = true })
  local last = 0
  vim.api.nvim_create_autocmd('LspProgress', {
    group = group,
    callback = function(ev)
      local client = vim.lsp.get_client_by_id(ev.data.client_id)
      if not client or client.name ~= M.name then
        return
      end
      local value = ev.data.params.value or {}
      if value.kind == 'end' then
        M.progress = nil
        refresh_status(client)
      else
        M.progress = {
          title = value.title or (M.progress and M.progress.title) or 'stead',
          message = value.message,
          percentage = value.percentage,
        }
        local now = vim.uv.now()
        if now - last > 2000 then -- what search works meanwhile, at most every 2 s
          last = now
          refresh_status(client)
        end
      end
      vim.cmd.redrawstatus()
    end,
  })
  vim.api.nvim_create_autocmd('ColorScheme', {
    group = group,
    callback = function()
      M.highlights()
    end,
  })
end

---@param client vim.lsp.Client
---@param bufnr integer
function M.on_attach(client, bufnr)
  M.watch_progress()
  if not M.status[client.id] then
    M.status[client.id] = {}
    M.highlights()
    refresh_status(client)
    -- the model can break or be fixed at any time (a package removed, `stead models
    -- install` run): look again every 10 s while this client runs
    local timer = assert(vim.uv.new_timer())
    timer:start(10000, 10000, vim.schedule_wrap(function()
      if client:is_stopped() then
        timer:stop()
        timer:close()
        M.status[client.id] = nil
        return
      end
      pcall(refresh_status, client)
    end))
  end
  if not config.options.inline_completion then
    return
  end
  if not has_inline() then
    if not M._warned_inline then
      M._warned_inline = true
      notify('ghost text needs Neovim 0.12 (vim.lsp.inline_completion); other features work.')
    end
    return
  end
  if client:supports_method('textDocument/inlineCompletion', bufnr) then
    vim.lsp.inline_completion.enable(true, { bufnr = bufnr })
    map_keys(bufnr)
    -- A keystroke makes every suggestion still being computed stale: cancel them so the
    -- server stops generating and nothing outdated is shown (Neovim asks again after its
    -- debounce).
    local group = vim.api.nvim_create_augroup('stead.inline.' .. bufnr, { clear = true })
    vim.api.nvim_create_autocmd({ 'TextChangedI', 'CursorMovedI', 'InsertLeave' }, {
      group = group,
      buffer = bufnr,
      callback = function()
        M.cancel_pending(bufnr)
      end,
    })
  end
end

--- Cancel the inline-completion requests still pending for a buffer.
---@param bufnr integer
---@return integer cancelled
function M.cancel_pending(bufnr)
  local n = 0
  for _, client in ipairs(vim.lsp.get_clients({ name = M.name, bufnr = bufnr })) do
    for id, req in pairs(client.requests or {}) do
      if
        req.type == 'pending'
        and req.bufnr == bufnr
        and req.method == 'textDocument/inlineCompletion'
      then
        client:cancel_request(id)
        n = n + 1
      end
    end
  end
  return n
end

-- -- crashes --------------------------------------------------------------------------

--- A crashed server is restarted (a bounded number of times) for the buffers it served.
function M.on_exit(code, signal, client_id)
  local client = vim.lsp.get_client_by_id(client_id)
  local buffers = client and vim.tbl_keys(client.attached_buffers) or {}
  local wanted = stopping[client_id]
  stopping[client_id] = nil
  if wanted or (code == 0 and (signal == 0 or signal == 15)) then
    return
  end
  vim.schedule(function()
    local why = signal ~= 0 and ('signal %d'):format(signal) or ('exit code %d'):format(code)
    if restarts >= config.options.max_restarts then
      notify(
        ('the server stopped unexpectedly (%s) and has crashed %d times: not restarting. '):format(
          why,
          restarts + 1
        ) .. ('See :checkhealth stead and the log at %s; :SteadRestart tries again.'):format(
          vim.lsp.log.get_filename()
        ),
        vim.log.levels.ERROR
      )
      return
    end
    restarts = restarts + 1
    notify(
      ('the server stopped unexpectedly (%s); restarting it (%d/%d).'):format(
        why,
        restarts,
        config.options.max_restarts
      ),
      vim.log.levels.WARN
    )
    for _, bufnr in ipairs(buffers) do
      M.start(bufnr)
    end
  end)
end

--- Start (or reuse) the server for a buffer.
---@param bufnr integer
---@param opts? {attach?: boolean}
---@return integer? client_id
function M.start(bufnr, opts)
  if not M.check_cmd() then
    return nil
  end
  local cfg = vim.deepcopy(vim.lsp.config.stead or M.lsp_config())
  cfg.name = M.name
  cfg.root_dir = M.root_dir(bufnr)
  local attach = not (opts and opts.attach == false)
  if attach and (not vim.api.nvim_buf_is_valid(bufnr) or vim.bo[bufnr].buftype ~= '') then
    return nil
  end
  return vim.lsp.start(cfg, { bufnr = bufnr, attach = attach })
end

--- Stop every stead server and start it again for the buffers it served.
function M.restart()
  restarts = 0
  local buffers = {}
  for _, client in ipairs(vim.lsp.get_clients({ name = M.name })) do
    vim.list_extend(buffers, vim.tbl_keys(client.attached_buffers))
    stopping[client.id] = true
    client:stop()
  end
  local function again(tries)
    if #vim.lsp.get_clients({ name = M.name }) > 0 and tries > 0 then
      return vim.defer_fn(function()
        again(tries - 1)
      end, 50)
    end
    if #buffers == 0 then
      buffers = { vim.api.nvim_get_current_buf() }
    end
    for _, bufnr in ipairs(buffers) do
      M.start(bufnr)
    end
    notify('server restarted')
  end
  again(100)
end

-- -- requests -------------------------------------------------------------------------

--- The stead client for the current buffer, else any running one, else a new one started
--- without attaching (so commands work from an empty buffer too).
---@return vim.lsp.Client?
function M.client()
  local bufnr = vim.api.nvim_get_current_buf()
  local clients = vim.lsp.get_clients({ name = M.name, bufnr = bufnr })
  if #clients == 0 then
    clients = vim.lsp.get_clients({ name = M.name })
  end
  if clients[1] then
    return clients[1]
  end
  local id = M.start(bufnr, { attach = vim.bo[bufnr].buftype == '' })
  return id and vim.lsp.get_client_by_id(id) or nil
end

--- Send a request to the server; `on_result(result)` runs only on success, errors are shown.
---@param method string
---@param params table?
---@param on_result fun(result: any, client: vim.lsp.Client)
---@param on_error? fun(err: lsp.ResponseError)
---@return boolean sent
function M.request(method, params, on_result, on_error)
  local client = M.client()
  if not client then
    notify(
      'no stead server is running (see :checkhealth stead).',
      vim.log.levels.ERROR
    )
    return false
  end
  local ok = client:request(method, params or vim.empty_dict(), function(err, result)
    if err then
      if on_error then
        on_error(err)
      else
        notify(('%s failed: %s'):format(method, err.message or vim.inspect(err)), vim.log.levels.ERROR)
      end
      return
    end
    on_result(result, client)
  end, vim.api.nvim_get_current_buf())
  if not ok then
    notify(('%s: the server is not running'):format(method), vim.log.levels.ERROR)
  end
  return ok
end

--- A notification to the server (no answer).
function M.notify_server(method, params)
  local client = M.client()
  if client then
    client:notify(method, params or vim.empty_dict())
  end
end

-- -- setup ----------------------------------------------------------------------------

--- Configure and enable stead.  `opts` mixes plugin options (cmd, keymaps, …) and the
--- server's settings sections (model, completion, context, index, chat, history, remote).
---@param opts? table
function M.setup(opts)
  local problems = config.set(opts)
  for _, problem in ipairs(problems) do
    notify('setup: ' .. problem, vim.log.levels.ERROR)
  end
  M.setup_called = true
  M.problems = problems
  vim.lsp.config(M.name, M.lsp_config())
  vim.lsp.enable(M.name)

  -- Settings changed after start-up reach running servers without a restart.
  for _, client in ipairs(vim.lsp.get_clients({ name = M.name })) do
    client:notify(
      'workspace/didChangeConfiguration',
      { settings = config.init_options() or vim.empty_dict() }
    )
  end

  M.watch_progress()
end

--- A short text for the statusline: model, route and index progress, e.g.
--- `stead smollm2-135m local Indexing 40%`, or what is wrong: `stead model error`.
function M.statusline()
  local clients = vim.lsp.get_clients({ name = M.name, bufnr = 0 })
  if #clients == 0 then
    return ''
  end
  local parts = { 'stead' }
  local status = M.status[clients[1].id] or {}
  if status.model_state == 'error' then
    parts[#parts + 1] = 'model error (:SteadStatus)'
  elseif status.model and status.model ~= '' then
    parts[#parts + 1] = vim.fs.basename(status.model)
  end
  if status.route then
    parts[#parts + 1] = status.route
  end
  local index = type(status.index) == 'table' and status.index or {}
  if M.progress then
    local p = M.progress
    -- (a literal "%": use it as `%{v:lua...}`, whose result is not parsed again)
    parts[#parts + 1] = p.title:gsub('^stead:%s*', '')
      .. (p.percentage and (' %d%%'):format(p.percentage) or '')
      .. (p.message and (' ' .. p.message) or '')
  elseif index.state == 'error' then
    parts[#parts + 1] = 'index error'
  end
  return table.concat(parts, ' ')
end

return M
