--- Escalation to a remote model, only with the user's consent.
---
--- `stead/escalate/preview` returns the manifest: provider, model, every file excerpt with its
--- line range and tokens, what was excluded and why, the redactions made, the token count and
--- the estimated cost.  The manifest is shown in `stead://escalate` and the user chooses with
--- `vim.ui.select`: send, drop items first, or refuse.  Only "send" issues
--- `stead/escalate/send`; refusing (or closing the prompt) sends nothing at all.
local stead = require('stead')
local ui = require('stead.ui')
local get = ui.get

local M = {}

local SEND, DROP, REFUSE = 'send', 'drop', 'refuse'

local function range_text(item)
  local s, e = get(item, 'start_line'), get(item, 'end_line')
  if not s then
    return ''
  end
  return (e and e ~= 0 and e ~= s) and (':%d-%d'):format(s, e) or (':%d'):format(s)
end

local function cost_text(manifest)
  local cost = get(manifest, 'estimated_cost_usd')
  if type(cost) ~= 'number' then
    return 'cost unknown'
  end
  return ('at most $%.4f'):format(cost)
end

--- Tokens of the items kept (the manifest's total minus what was dropped).
local function kept_tokens(manifest, dropped)
  dropped = dropped or {}
  local total = get(manifest, 'tokens') or 0
  for i, item in ipairs(get(manifest, 'items') or {}) do
    if dropped[i] then
      total = total - (get(item, 'tokens') or 0)
    end
  end
  return math.max(total, 0)
end

--- The manifest as lines, for the review buffer (dropped items are marked).
---@param manifest table
---@param dropped? table<integer, boolean>
---@return string[]
function M.manifest_lines(manifest, dropped)
  dropped = dropped or {}
  local lines = {
    '# stead: review before anything is sent',
    '',
    ('provider: %s (%s)'):format(get(manifest, 'provider') or '?', get(manifest, 'kind') or '?'),
    ('model:    %s'):format(get(manifest, 'model') or '?'),
    ('url:      %s'):format(get(manifest, 'url') or '?'),
    ('reason:   %s'):format(get(manifest, 'reason') or 'you asked'),
    ('tokens:   %d to send, up to %s back; %s'):format(
      kept_tokens(manifest, dropped),
      tostring(get(manifest, 'max_output_tokens') or '?'),
      cost_text(manifest)
    ),
    '',
    '## question',
  }
  vim.list_extend(lines, ui.lines(get(manifest, 'question') or ''))
  local items = get(manifest, 'items') or {}
  lines[#lines + 1] = ''
  lines[#lines + 1] = ('## items (%d)'):format(#items)
  for i, item in ipairs(items) do
    lines[#lines + 1] = ('[%s] %d. %s%s  (%s tokens)'):format(
      dropped[i] and ' ' or 'x',
      i,
      get(item, 'path') or '?',
      range_text(item),
      tostring(get(item, 'tokens') or '?')
    )
  end
  local excluded = get(manifest, 'excluded') or {}
  if #excluded > 0 then
    lines[#lines + 1] = ''
    lines[#lines + 1] = ('## never sent (%d)'):format(#excluded)
    for _, ex in ipairs(excluded) do
      lines[#lines + 1] = ('- %s: %s'):format(get(ex, 'path') or '?', get(ex, 'reason') or '')
    end
  end
  local redactions = get(manifest, 'redactions') or {}
  lines[#lines + 1] = ''
  lines[#lines + 1] = ('## redactions (%d)'):format(#redactions)
  for _, r in ipairs(redactions) do
    lines[#lines + 1] = ('- %s -> %s at %s'):format(
      get(r, 'kind') or '?',
      get(r, 'placeholder') or '?',
      get(r, 'where') or '?'
    )
  end
  for i, item in ipairs(items) do
    if not dropped[i] then
      lines[#lines + 1] = ''
      lines[#lines + 1] = ('## %d. %s%s, as it would be sent'):format(i, get(item, 'path') or '?', range_text(item))
      lines[#lines + 1] = '```'
      vim.list_extend(lines, ui.lines(get(item, 'text') or ''))
      lines[#lines + 1] = '```'
    end
  end
  return lines
end

--- One-line summary for the prompt (pickers may hide the review buffer).
function M.summary(manifest, dropped)
  dropped = dropped or {}
  local items = get(manifest, 'items') or {}
  local kept = 0
  for i in ipairs(items) do
    if not dropped[i] then
      kept = kept + 1
    end
  end
  return ('Send to %s (%s): %d of %d items, %d tokens, %d redactions, %s?'):format(
    get(manifest, 'provider') or '?',
    get(manifest, 'model') or '?',
    kept,
    #items,
    kept_tokens(manifest, dropped),
    #(get(manifest, 'redactions') or {}),
    cost_text(manifest)
  )
end

local function show(manifest, dropped)
  local buf = ui.buffer('escalate')
  ui.set_lines(buf, M.manifest_lines(manifest, dropped))
  vim.bo[buf].modifiable = false
  ui.show(buf, false)
  return buf
end

--- Let the user untick items, one at a time, then return to the consent prompt.
local function choose_drops(manifest, dropped, done)
  local items = get(manifest, 'items') or {}
  local choices = { 'done' }
  for i in ipairs(items) do
    choices[#choices + 1] = i
  end
  vim.ui.select(choices, {
    prompt = 'stead: toggle an item (kept items are sent)',
    kind = 'stead.escalate.items',
    format_item = function(c)
      if c == 'done' then
        return 'Done'
      end
      local item = items[c]
      return ('[%s] %s%s (%s tokens)'):format(
        dropped[c] and ' ' or 'x',
        get(item, 'path') or '?',
        range_text(item),
        tostring(get(item, 'tokens') or '?')
      )
    end,
  }, function(choice)
    if choice == nil or choice == 'done' then
      return done()
    end
    dropped[choice] = not dropped[choice] or nil
    show(manifest, dropped)
    choose_drops(manifest, dropped, done)
  end)
end

--- Show the manifest and ask; `decided(choice, dropped)` with choice "send" or "refuse".
---@param manifest table
---@param decided fun(choice: string, dropped: integer[])
function M.consent(manifest, decided)
  local dropped = {}
  local function ask()
    show(manifest, dropped)
    vim.ui.select({ SEND, DROP, REFUSE }, {
      prompt = 'stead: ' .. M.summary(manifest, dropped),
      kind = 'stead.escalate',
      format_item = function(c)
        if c == SEND then
          return ('Send to %s'):format(get(manifest, 'provider') or 'the provider')
        elseif c == DROP then
          return 'Drop items first…'
        end
        return 'Refuse (send nothing)'
      end,
    }, function(choice)
      if choice == DROP then
        return choose_drops(manifest, dropped, ask)
      end
      local list = {}
      for i in pairs(dropped) do
        list[#list + 1] = i
      end
      table.sort(list)
      decided(choice == SEND and SEND or REFUSE, list)
    end)
  end
  ask()
end

--- Escalations in flight: manifest id -> review buffer (for `stead/escalate/chunk`).
local streams = {}

--- `stead/escalate/chunk` {id, text}: the remote answer as it arrives.
function M.on_chunk(params)
  local buf = streams[get(params, 'id')]
  if buf and vim.api.nvim_buf_is_valid(buf) then
    vim.bo[buf].modifiable = true
    ui.append_text(buf, get(params, 'text') or '')
    vim.bo[buf].modifiable = false
  end
end

--- Preview params: the question, the provider, and the current file or selected lines.
---@param question string
---@param provider string
---@param range? integer[]
function M.preview_params(question, provider, range)
  local params = { question = question, provider = provider }
  local bufnr = vim.api.nvim_get_current_buf()
  if vim.bo[bufnr].buftype == '' and vim.api.nvim_buf_get_name(bufnr) ~= '' then
    params.uri = vim.uri_from_bufnr(bufnr)
    if range then
      -- LSP range: from the start of the first line to the start of the line after the last.
      params.selection = {
        start = { line = range[1] - 1, character = 0 },
        ['end'] = { line = range[2], character = 0 },
      }
    end
  end
  return params
end

--- Which provider: the one given, the only one configured, or the user's pick.
local function with_provider(provider, cb)
  if provider and provider ~= '' then
    return cb(provider)
  end
  stead.request('stead/settings', {}, function(result)
    local remote = get(get(result, 'settings') or {}, 'remote') or {}
    local names = vim.tbl_keys(get(remote, 'providers') or {})
    table.sort(names)
    if not get(remote, 'enabled') then
      return stead.notify(
        'remote escalation is off (remote.enabled = false): nothing can be sent. '
          .. 'Enable it and configure a provider under remote.providers.',
        vim.log.levels.WARN
      )
    elseif #names == 0 then
      return stead.notify('no remote provider is configured (remote.providers)', vim.log.levels.WARN)
    elseif #names == 1 then
      return cb(names[1])
    end
    vim.ui.select(names, { prompt = 'stead: which provider?', kind = 'stead.provider' }, function(name)
      if name then
        cb(name)
      else
        stead.notify('escalation cancelled: nothing was sent')
      end
    end)
  end)
end

--- :SteadAsk! / :SteadEscalate: preview, consent, then (only if approved) send.
---@param question string
---@param range? integer[]
---@param done? fun(outcome: string, result: any)
---@param provider? string
function M.ask(question, range, done, provider)
  question = vim.trim(question or '')
  if question == '' then
    return stead.notify('usage: :SteadEscalate {question}', vim.log.levels.ERROR)
  end
  done = done or function() end
  local origin = vim.api.nvim_get_current_buf()
  with_provider(provider, function(name)
    local params
    vim.api.nvim_buf_call(origin, function()
      params = M.preview_params(question, name, range)
    end)
    stead.request('stead/escalate/preview', params, function(manifest)
      M.consent(manifest, function(choice, dropped)
        local id = get(manifest, 'id')
        if choice ~= SEND then
          -- Tell the server so the refusal is audited and the manifest forgotten; nothing
          -- goes to the provider.
          stead.request('stead/escalate/send', { id = id, approve = false }, function() end, function() end)
          stead.notify('escalation refused: nothing was sent')
          return done('refused', nil)
        end
        -- The server numbers items itself (`index`); the UI counts from 1.
        local drop = {}
        local items = get(manifest, 'items') or {}
        for _, i in ipairs(dropped) do
          drop[#drop + 1] = get(items[i], 'index') or i
        end
        local buf = ui.buffer('escalate')
        vim.bo[buf].modifiable = true
        ui.append(buf, { '', '# answer from ' .. tostring(get(manifest, 'provider')), '', '' })
        vim.bo[buf].modifiable = false
        local answer_start = vim.api.nvim_buf_line_count(buf) - 1
        streams[id] = buf
        stead.request('stead/escalate/send', { id = id, dropped = drop, approve = true }, function(sent)
          streams[id] = nil
          vim.bo[buf].modifiable = true
          vim.api.nvim_buf_set_lines(buf, answer_start, -1, false, ui.lines(get(sent, 'text') or ''))
          vim.bo[buf].modifiable = false
          ui.show(buf, false)
          stead.notify(('answer from %s received (recorded in the audit log)'):format(tostring(get(manifest, 'provider'))))
          done('sent', sent)
        end, function(err)
          streams[id] = nil
          stead.notify('escalation failed: ' .. tostring(err.message), vim.log.levels.ERROR)
          done('error', err)
        end)
      end)
    end, function(err)
      stead.notify('escalation not possible: ' .. tostring(err.message), vim.log.levels.ERROR)
      done('error', err)
    end)
  end)
end

return M
