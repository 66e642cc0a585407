--- :SteadAsk and :SteadChat: questions to the local model, answered in `stead://chat` with
--- the context manifest (files, line ranges, tokens, why each was chosen) under every answer.
---
--- Answers stream in through `stead/chat/chunk` notifications while the request runs; the
--- final result replaces the streamed text so what stays on screen is what history recorded.
local stead = require('stead')
local ui = require('stead.ui')
local get = ui.get

local M = {}

--- Streams in flight: token -> { bufnr, streamed }.
local streams = {}
local next_token = 0
--- The conversation :SteadChat continues (:SteadAsk starts a new one).
M.conversation_id = nil
--- Every conversation id the server returned, in order (for tests and :SteadChat).
M.conversation_ids = {}

--- Manifest lines for the chat buffer.
---@param manifest table?
---@param answer? string notes already in the answer are not repeated
---@return string[]
function M.manifest_lines(manifest, answer)
  if type(manifest) ~= 'table' then
    return {}
  end
  local items = get(manifest, 'items') or {}
  local lines = {}
  local total = get(manifest, 'tokens') or 0
  if total == 0 then
    for _, item in ipairs(items) do
      total = total + (get(item, 'tokens') or 0)
    end
  end
  local budget = get(manifest, 'budget')
  lines[#lines + 1] = ('> context: %d item%s, %d tokens%s'):format(
    #items,
    #items == 1 and '' or 's',
    total,
    budget and (' of ' .. tostring(budget)) or ''
  )
  for _, item in ipairs(items) do
    local reasons = get(item, 'reasons')
    local reason = get(item, 'reason') or (type(reasons) == 'table' and table.concat(reasons, ' + ')) or ''
    lines[#lines + 1] = ('>   %s:%s-%s  (%s tokens%s)'):format(
      get(item, 'path') or '?',
      tostring(get(item, 'start_line') or '?'),
      tostring(get(item, 'end_line') or '?'),
      tostring(get(item, 'tokens') or '?'),
      reason ~= '' and (', ' .. reason) or ''
    )
  end
  for _, note in ipairs(get(manifest, 'notes') or {}) do
    if not (answer and answer:find(tostring(note), 1, true)) then
      lines[#lines + 1] = '>   note: ' .. tostring(note)
    end
  end
  return lines
end

--- `path:line` citations in an answer, then the manifest's items, as quickfix entries
--- (files that exist only, each place once), so `:copen` lists where the answer points.
---@param answer string
---@param manifest table?
---@param root string workspace root the relative paths are under
---@return table[]
function M.citations(answer, manifest, root)
  local items, seen = {}, {}
  local function add(path, lnum, text)
    local file = path
    if not vim.startswith(file, '/') then
      file = root .. '/' .. file
    end
    local key = file .. ':' .. lnum
    if seen[key] or vim.fn.filereadable(file) ~= 1 then
      return
    end
    seen[key] = true
    items[#items + 1] = { filename = file, lnum = lnum, col = 1, text = text }
  end
  for path, lnum in (answer or ''):gmatch('([%w_%./%-]+%.%w+):(%d+)') do
    add(path, tonumber(lnum), 'cited in the answer')
  end
  for _, item in ipairs(type(manifest) == 'table' and (get(manifest, 'items') or {}) or {}) do
    local reasons = get(item, 'reasons')
    local reason = get(item, 'reason') or (type(reasons) == 'table' and table.concat(reasons, ' + ')) or ''
    local path = get(item, 'path')
    if path then
      add(path, tonumber(get(item, 'start_line')) or 1, 'context: ' .. reason)
    end
  end
  return items
end

--- The question's surroundings: the current file and cursor, and the selected lines.
---@param range? integer[]
---@return table
local function where(range)
  local bufnr = vim.api.nvim_get_current_buf()
  local params = {}
  if vim.bo[bufnr].buftype == '' and vim.api.nvim_buf_get_name(bufnr) ~= '' then
    params = {
      uri = vim.uri_from_bufnr(bufnr),
      position = { line = vim.fn.line('.') - 1, character = vim.fn.col('.') - 1 },
    }
    if range then
      local lines = vim.api.nvim_buf_get_lines(bufnr, range[1] - 1, range[2], false)
      params.selection = {
        start_line = range[1],
        end_line = range[2],
        text = table.concat(lines, '\n'),
      }
    end
  end
  return params
end
M.where = where

--- The chat buffer, shown.
function M.open(question, range)
  local buf = ui.buffer('chat')
  if vim.api.nvim_buf_line_count(buf) == 1 and vim.api.nvim_buf_get_lines(buf, 0, 1, false)[1] == '' then
    ui.set_lines(buf, {
      '# stead chat',
      '',
      'Ask with :SteadAsk {question} (a visual range adds the selected lines),',
      'or type a line starting with "? " below and press <CR> in normal mode.',
      '',
    })
    vim.keymap.set('n', '<CR>', function()
      local line = vim.api.nvim_get_current_line()
      local q = line:match('^%?%s+(.+)$')
      if q then
        M.ask(q)
      end
    end, { buffer = buf, desc = 'stead: ask the question on this line' })
  end
  if question then
    M.ask(question, range, nil, true)
  else
    ui.show(buf, true)
  end
  return buf
end

--- Ask the local model; the answer and its manifest are appended to `stead://chat`.
---@param question string
---@param range? integer[]
---@param done? fun(result: table?, err: table?)
---@param continue? boolean continue the current conversation (else start a new one)
function M.ask(question, range, done, continue)
  question = vim.trim(question or '')
  if question == '' then
    return stead.notify('usage: :SteadAsk {question}', vim.log.levels.ERROR)
  end
  local params = where(range)
  params.question = question
  local root = stead.root_dir(vim.api.nvim_get_current_buf())
  if continue and M.conversation_id then
    params.conversation_id = M.conversation_id
  end
  next_token = next_token + 1
  local token = ('nvim-%d-%d'):format(vim.fn.getpid(), next_token)
  params.token = token

  local buf = ui.buffer('chat')
  if vim.api.nvim_buf_line_count(buf) <= 1 then
    M.open()
  end
  ui.append(buf, { '## ' .. question, '' })
  local start = vim.api.nvim_buf_line_count(buf)
  ui.append(buf, { '' })
  ui.show(buf, false)
  streams[token] = { bufnr = buf, start = start, streamed = false }

  stead.request('stead/chat', params, function(result)
    streams[token] = nil
    local cid = get(result, 'conversation_id')
    if cid then
      M.conversation_id = cid
      M.conversation_ids[#M.conversation_ids + 1] = cid
    end
    local answer = get(result, 'answer') or get(result, 'text') or ''
    local lines = ui.lines(answer)
    lines[#lines + 1] = ''
    local model = get(result, 'model')
    local route = get(result, 'route')
    if model or route then
      lines[#lines + 1] = ('> %s%s'):format(model or '', route and (' (' .. route .. ')') or '')
    end
    vim.list_extend(lines, M.manifest_lines(get(result, 'manifest'), answer))
    lines[#lines + 1] = ''
    vim.bo[buf].modifiable = true
    vim.api.nvim_buf_set_lines(buf, start - 1, -1, false, lines)
    ui.scroll_end(buf)
    -- where the answer points, for :copen (and gF on a path:line in the chat buffer)
    local qf = M.citations(answer, get(result, 'manifest'), root)
    if #qf > 0 then
      vim.fn.setqflist({}, ' ', { title = 'stead: ' .. question, items = qf })
    end
    if done then
      done(result, nil)
    end
  end, function(err)
    streams[token] = nil
    ui.append(buf, { ('> error: %s'):format(err.message or vim.inspect(err)), '' })
    stead.notify('stead/chat failed: ' .. tostring(err.message), vim.log.levels.ERROR)
    if done then
      done(nil, err)
    end
  end)
end

--- `stead/chat/chunk` from the server: a piece of an answer that is still being written.
function M.on_chunk(params)
  local token = get(params, 'token') or get(params, 'id')
  local stream = streams[token]
  if not stream or not vim.api.nvim_buf_is_valid(stream.bufnr) then
    return
  end
  local text = get(params, 'text') or get(params, 'delta') or ''
  stream.streamed = true
  ui.append_text(stream.bufnr, text)
end

return M
