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

--- :SteadIndex            index the workspace (changed files only; progress in the statusline)
--- :SteadIndex status     what the index holds and whether it is up to date
--- :SteadIndex {files}    re-index these files (`%` is the current one)
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
  local params = {}
  if arg ~= '' then
    params.paths = {}
    for _, word in ipairs(vim.split(arg, '%s+', { trimempty = true })) do
      params.paths[#params.paths + 1] = vim.fn.fnamemodify(vim.fn.expand(word), ':p')
    end
  end
  stead.request('stead/index', params, function(result)
    if get(result, 'started') == false then
      local err = get(result, 'error')
      return stead.notify(
        ('indexing not started: the index is %s%s'):format(
          tostring(get(result, 'state')),
          err and (' (' .. tostring(err) .. ')') or ''
        ),
        vim.log.levels.WARN
      )
    end
    local what = params.paths and (#params.paths .. ' file(s)') or 'the workspace'
    stead.notify(('indexing %s (progress in the statusline; :SteadIndex status)'):format(what))
  end)
end

--- Search results → quickfix items.
---@param results table[]
---@return table[]
function M.qf_items(results)
  local items = {}
  for _, r in ipairs(results or {}) do
    -- the URI is absolute; `path` is relative to the workspace root
    local path = get(r, 'uri') or get(r, 'path') or get(r, 'file') or ''
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
  stead.request('stead/search', { query = query, k = 30 }, function(result)
    local items = M.qf_items(get(result, 'hits') or {})
    vim.fn.setqflist({}, ' ', { title = 'stead: ' .. query, items = items })
    if #items == 0 then
      local state, err = get(result, 'state'), get(result, 'error')
      local why = err and ('index ' .. tostring(state) .. ': ' .. tostring(err))
        or (state and state ~= 'ready' and ('the index is ' .. tostring(state)))
      stead.notify(('no results for %q%s'):format(query, why and (' (' .. why .. ')') or ''))
    else
      vim.cmd('botright copen')
    end
  end)
end

--- One line per history entry: id, time, kind, model, outcome, summary.
function M.history_lines(entries)
  local lines = {}
  for _, e in ipairs(entries or {}) do
    local when = get(e, 'ts') or get(e, 'created') or ''
    if type(when) == 'number' then
      when = os.date('%Y-%m-%d %H:%M', math.floor(when))
    end
    local text = get(e, 'summary') or get(e, 'prompt') or ''
    text = vim.split(tostring(text), '\n', { plain = true })[1]
    lines[#lines + 1] = ('#%s  %s  %-10s %-14s %-9s %s%s'):format(
      tostring(get(e, 'id') or '?'),
      when,
      get(e, 'kind') or '',
      get(e, 'model') or '',
      get(e, 'outcome') or '',
      get(e, 'private') and '[private] ' or '',
      text
    )
  end
  if #lines == 0 then
    lines = { '(no history yet)' }
  end
  return lines
end

--- The lines of one entry: its fields, the files it used, then prompt and response.
function M.entry_lines(entry)
  local lines = {}
  for _, key in ipairs({ 'id', 'ts', 'kind', 'route', 'model', 'outcome', 'private', 'workspace', 'prompt_tokens', 'completion_tokens', 'latency_ms' }) do
    local v = get(entry, key)
    if key == 'ts' and type(v) == 'number' then
      v = os.date('%Y-%m-%d %H:%M:%S', math.floor(v))
    end
    if v ~= nil then
      lines[#lines + 1] = ('%s: %s'):format(key, tostring(v))
    end
  end
  local files = get(entry, 'files') or {}
  if #files > 0 then
    lines[#lines + 1] = 'files:'
    for _, f in ipairs(files) do
      lines[#lines + 1] = ('  %s:%s-%s'):format(get(f, 'path') or '?', tostring(get(f, 'start_line') or '?'), tostring(get(f, 'end_line') or '?'))
    end
  end
  local redactions = get(entry, 'redactions')
  if type(redactions) == 'table' and next(redactions) then
    local parts = {}
    for kind, n in pairs(redactions) do
      parts[#parts + 1] = ('%s %s'):format(tostring(n), kind)
    end
    table.sort(parts)
    lines[#lines + 1] = 'redactions: ' .. table.concat(parts, ', ')
  end
  for _, key in ipairs({ 'prompt', 'response' }) do
    local v = get(entry, key)
    if v ~= nil then
      lines[#lines + 1] = ''
      lines[#lines + 1] = '## ' .. key
      vim.list_extend(lines, ui.lines(v))
    end
  end
  return lines
end

local function show_entry(id)
  stead.request('stead/history/show', { id = tonumber(id) }, function(entry)
    local buf = ui.buffer('history/' .. tostring(id))
    ui.set_lines(buf, M.entry_lines(entry or {}))
    ui.show(buf, true)
  end)
end

local function open_list(method, params, title)
  stead.request(method, params, function(result)
    local entries = get(result, 'entries') or {}
    local buf = ui.buffer('history', 'stead-history')
    local lines = { title, '' }
    vim.list_extend(lines, M.history_lines(entries))
    ui.set_lines(buf, lines)
    vim.keymap.set('n', '<CR>', function()
      local id = vim.api.nvim_get_current_line():match('^#(%d+)')
      if id then
        show_entry(id)
      end
    end, { buffer = buf, desc = 'stead: show this history entry' })
    ui.show(buf, true)
  end)
end

local HISTORY_USAGE = 'usage: :SteadHistory [list [N] | search {text} | show {id} | '
  .. 'private {id} [off] | delete {id}|all | export {file}]'

--- :SteadHistory [list [N] | search {text} | show {id} | private {id} [off] | delete {id}|all | export {file}]
function M.history(fargs)
  local sub = fargs[1] or 'list'
  local rest = table.concat(vim.list_slice(fargs, 2), ' ')
  local id = tonumber(fargs[2])
  if sub == 'list' then
    open_list(
      'stead/history/list',
      { limit = tonumber(fargs[2]) or 100 },
      '# stead history, newest first (<CR> opens an entry)'
    )
  elseif sub == 'search' and rest ~= '' then
    open_list('stead/history/search', { query = rest }, ('# stead history matching %q'):format(rest))
  elseif sub == 'show' and id then
    show_entry(id)
  elseif sub == 'private' and id then
    local private = fargs[3] ~= 'off'
    stead.request('stead/history/private', { ids = { id }, private = private }, function()
      stead.notify(('entry #%d is %s'):format(id, private and 'private (never exported or sent)' or 'no longer private'))
    end)
  elseif sub == 'delete' and (id or rest == 'all') then
    local what = id and ('entry #' .. id) or 'ALL history'
    if vim.fn.confirm(('Delete %s?'):format(what), '&Yes\n&No', 2) == 1 then
      local params = id and { ids = { id } } or { all = true }
      stead.request('stead/history/delete', params, function(result)
        stead.notify(('deleted %s entr%s'):format(tostring(get(result, 'deleted') or 0), get(result, 'deleted') == 1 and 'y' or 'ies'))
      end)
    end
  elseif sub == 'export' and rest ~= '' then
    local path = vim.fn.fnamemodify(vim.fn.expand(rest), ':p')
    stead.request('stead/history/export', { path = path }, function(result)
      stead.notify(('exported %s entries to %s'):format(tostring(get(result, 'count') or '?'), get(result, 'path') or path))
    end)
  else
    stead.notify(HISTORY_USAGE, vim.log.levels.ERROR)
  end
end

--- Audit records as lines: time, outcome, provider/model, tokens, what was sent.
function M.audit_lines(verified, records)
  local lines = {}
  if get(verified, 'ok') then
    lines[1] = ('# audit log: verified, %d records, chain intact'):format(get(verified, 'records') or 0)
  else
    lines[1] = '# audit log: DOES NOT VERIFY'
    for _, p in ipairs(get(verified, 'problems') or {}) do
      lines[#lines + 1] = '  ! ' .. tostring(p)
    end
  end
  lines[#lines + 1] = ''
  for _, r in ipairs(records or {}) do
    local items = get(r, 'items')
    lines[#lines + 1] = ('%s  %-8s %s/%s%s%s'):format(
      tostring(get(r, 'time') or ''),
      tostring(get(r, 'outcome') or ''),
      tostring(get(r, 'provider') or '-'),
      tostring(get(r, 'model') or '-'),
      get(r, 'tokens') and (' ' .. tostring(get(r, 'tokens')) .. ' tokens') or '',
      type(items) == 'table' and #items > 0 and ('  ' .. table.concat(items, ', ')) or ''
    )
    local detail = get(r, 'detail')
    if detail and detail ~= '' then
      lines[#lines + 1] = '    ' .. tostring(detail)
    end
  end
  if #(records or {}) == 0 then
    lines[#lines + 1] = '(nothing has ever been sent or refused)'
  end
  return lines
end

function M.audit()
  stead.request('stead/audit/verify', {}, function(verified)
    stead.request('stead/audit/list', { limit = 200 }, function(list)
      local buf = ui.buffer('audit')
      ui.set_lines(buf, M.audit_lines(verified, get(list, 'records') or {}))
      ui.show(buf, false)
      if get(verified, 'ok') then
        stead.notify(('audit log verified (%d records)'):format(get(verified, 'records') or 0))
      else
        stead.notify('the audit log does NOT verify: ' .. table.concat(get(verified, 'problems') or {}, '; '), vim.log.levels.ERROR)
      end
    end)
  end)
end

return M
