--- :SteadIndex, :SteadSearch, :SteadHistory, :SteadAudit and :SteadStatus.
---
--- Each command sends one `stead/...` request and presents the answer the Neovim way:
--- search results in the quickfix list, lists in a scratch buffer, short answers as messages.
local stead = require('stead')
local ui = require('stead.ui')
local get = ui.get

local M = {}

--- Key/value lines for a nested table, sorted (status and index state).
local function kv_lines(t, indent, out)
  out = out or {}
  indent = indent or ''
  local keys = vim.tbl_keys(t)
  table.sort(keys, function(a, b)
    return tostring(a) < tostring(b)
  end)
  for _, k in ipairs(keys) do
    local v = t[k]
    if type(v) == 'table' and not vim.islist(v) and next(v) ~= nil then
      out[#out + 1] = ('%s%s:'):format(indent, k)
      kv_lines(v, indent .. '  ', out)
    else
      if type(v) == 'table' then
        v = table.concat(vim.tbl_map(tostring, v), ', ')
      elseif v == vim.NIL then
        v = '-'
      end
      out[#out + 1] = ('%s%s: %s'):format(indent, k, tostring(v))
    end
  end
  return out
end
M.kv_lines = kv_lines

function M.status()
  stead.request('stead/status', {}, function(result)
    local buf = ui.buffer('status', 'yaml')
    ui.set_lines(buf, kv_lines(result or {}))
    ui.show(buf, false)
  end)
end

function M.index(arg)
  arg = vim.trim(arg or '')
  if arg == 'status' then
    stead.request('stead/indexStatus', {}, function(result)
      local buf = ui.buffer('index', 'yaml')
      ui.set_lines(buf, kv_lines(result or {}))
      ui.show(buf, false)
    end)
    return
  end
  if arg ~= '' and arg ~= 'rebuild' then
    return stead.notify(
      ('unknown :SteadIndex argument %q (use status or rebuild)'):format(arg),
      vim.log.levels.ERROR
    )
  end
  stead.request('stead/index', { rebuild = arg == 'rebuild' }, function(result)
    local files = get(result, 'files')
    stead.notify(
      'indexing '
        .. (files and (tostring(files) .. ' files') or 'the workspace')
        .. ' (progress in the statusline; :SteadIndex status)'
    )
  end)
end

--- Search results → quickfix items.
---@param results table[]
---@return table[]
function M.qf_items(results)
  local items = {}
  for _, r in ipairs(results or {}) do
    local path = get(r, 'path') or get(r, 'file') or get(r, 'uri') or ''
    if type(path) == 'string' and vim.startswith(path, 'file://') then
      path = vim.uri_to_fname(path)
    end
    local lnum = get(r, 'start_line') or get(r, 'line') or 1
    local text = get(r, 'symbol') or get(r, 'name') or ''
    local snippet = get(r, 'text') or get(r, 'snippet') or ''
    local first = vim.trim(vim.split(snippet, '\n', { plain = true })[1] or '')
    local score = get(r, 'score')
    items[#items + 1] = {
      filename = path,
      lnum = lnum,
      end_lnum = get(r, 'end_line'),
      text = vim.trim(
        (text ~= '' and (text .. ': ') or '')
          .. first
          .. (type(score) == 'number' and ('  [%.3f]'):format(score) or '')
      ),
    }
  end
  return items
end

function M.search(query)
  query = vim.trim(query or '')
  if query == '' then
    return stead.notify('usage: :SteadSearch {query}', vim.log.levels.ERROR)
  end
  stead.request('stead/search', { query = query }, function(result)
    local results = get(result, 'results') or result or {}
    local items = M.qf_items(results)
    vim.fn.setqflist({}, ' ', { title = 'stead: ' .. query, items = items })
    if #items == 0 then
      local note = get(result, 'note') or get(result, 'message')
      stead.notify(('no results for %q%s'):format(query, note and (' (' .. note .. ')') or ''))
    else
      vim.cmd('botright copen')
    end
  end)
end

--- One line per history entry.
function M.history_lines(entries)
  local lines = {}
  for _, e in ipairs(entries or {}) do
    local id = get(e, 'id') or '?'
    local when = get(e, 'created') or get(e, 'time') or get(e, 'ts') or ''
    if type(when) == 'number' then
      when = os.date('%Y-%m-%d %H:%M', math.floor(when))
    end
    local kind = get(e, 'kind') or get(e, 'route') or ''
    local model = get(e, 'model') or ''
    local text = get(e, 'prompt') or get(e, 'summary') or get(e, 'question') or ''
    text = vim.split(tostring(text), '\n', { plain = true })[1]
    lines[#lines + 1] = ('#%s  %s  %s  %s  %s'):format(id, when, kind, model, text)
  end
  if #lines == 0 then
    lines = { '(no history yet)' }
  end
  return lines
end

local function show_entry(id)
  stead.request('stead/history/show', { id = tonumber(id) or id }, function(result)
    local buf = ui.buffer('history/' .. tostring(id))
    local lines = {}
    local entry = get(result, 'entry') or result or {}
    for _, key in ipairs({ 'id', 'created', 'kind', 'route', 'model', 'outcome', 'tokens', 'latency_ms' }) do
      local v = get(entry, key)
      if v ~= nil then
        lines[#lines + 1] = ('%s: %s'):format(key, type(v) == 'table' and vim.inspect(v) or tostring(v))
      end
    end
    for _, key in ipairs({ 'prompt', 'response', 'answer' }) do
      local v = get(entry, key)
      if v ~= nil then
        lines[#lines + 1] = ''
        lines[#lines + 1] = '## ' .. key
        vim.list_extend(lines, ui.lines(v))
      end
    end
    ui.set_lines(buf, lines)
    ui.show(buf, true)
  end)
end

local function open_list(method, params, title)
  stead.request(method, params, function(result)
    local entries = get(result, 'entries') or get(result, 'items') or result or {}
    local buf = ui.buffer('history', 'stead-history')
    local lines = { title, '' }
    vim.list_extend(lines, M.history_lines(entries))
    ui.set_lines(buf, lines)
    vim.keymap.set('n', '<CR>', function()
      local id = vim.api.nvim_get_current_line():match('^#(%S+)')
      if id then
        show_entry(id)
      end
    end, { buffer = buf, desc = 'stead: show this history entry' })
    ui.show(buf, true)
  end)
end

--- :SteadHistory [list [N] | search {text} | show {id} | delete {id} | private on|off | export {file}]
function M.history(fargs)
  local sub = fargs[1] or 'list'
  local rest = table.concat(vim.list_slice(fargs, 2), ' ')
  if sub == 'list' then
    open_list('stead/history/list', { limit = tonumber(fargs[2]) or 50 }, '# stead history (<CR> opens an entry)')
  elseif sub == 'search' and rest ~= '' then
    open_list('stead/history/search', { query = rest }, ('# stead history matching %q'):format(rest))
  elseif sub == 'show' and rest ~= '' then
    show_entry(rest)
  elseif sub == 'delete' and rest ~= '' then
    local id = rest == 'all' and 'all' or tonumber(rest)
    local choice = vim.fn.confirm(('Delete history %s?'):format(rest == 'all' and 'entirely' or ('entry #' .. rest)), '&Yes\n&No', 2)
    if choice == 1 then
      local params = id == 'all' and { all = true } or { ids = { id } }
      stead.request('stead/history/delete', params, function(result)
        stead.notify(('deleted %s'):format(tostring(get(result, 'deleted') or rest)))
      end)
    end
  elseif sub == 'private' and (rest == 'on' or rest == 'off') then
    stead.request('stead/history/private', { enabled = rest == 'on' }, function()
      stead.notify(rest == 'on' and 'private mode: nothing is recorded until :SteadHistory private off' or 'private mode off')
    end)
  elseif sub == 'export' and rest ~= '' then
    local path = vim.fn.fnamemodify(vim.fn.expand(rest), ':p')
    stead.request('stead/history/export', { path = path }, function(result)
      stead.notify(('history exported to %s'):format(get(result, 'path') or path))
    end)
  else
    stead.notify(
      'usage: :SteadHistory [list [N] | search {text} | show {id} | delete {id|all} | private on|off | export {file}]',
      vim.log.levels.ERROR
    )
  end
end

function M.audit()
  stead.request('stead/audit/verify', {}, function(result)
    local ok = get(result, 'ok')
    local n = get(result, 'entries') or get(result, 'count')
    if ok == false then
      stead.notify(
        ('the audit log does NOT verify: %s'):format(tostring(get(result, 'error') or get(result, 'problem') or vim.inspect(result))),
        vim.log.levels.ERROR
      )
    else
      stead.notify(('audit log verified%s'):format(n and (' (' .. tostring(n) .. ' entries)') or ''))
    end
  end)
end

return M
