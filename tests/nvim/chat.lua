-- :SteadAsk sends the question with the current file and cursor; the answer streams into
-- stead://chat and ends with the manifest of the context it used.
local H = require('harness')
local P = H.params

local chat = require('stead.chat')
local chunks = 0
local on_chunk = chat.on_chunk
chat.on_chunk = function(params)
  chunks = chunks + 1
  return on_chunk(params)
end

require('stead').setup(P.opts)
vim.cmd.edit(P.file)
H.client(0)
H.step('attached')
vim.api.nvim_win_set_cursor(0, { 2, 4 })

vim.cmd('SteadAsk ' .. P.question)
local buf = H.wait(function()
  local b = vim.fn.bufnr('stead://chat')
  if b == -1 then
    return nil
  end
  for _, line in ipairs(vim.api.nvim_buf_get_lines(b, 0, -1, false)) do
    if line:match('^> context:') then
      return b
    end
  end
end, 45000, 'the answer with its manifest')
H.step('answered')
H.data('chat', vim.api.nvim_buf_get_lines(buf, 0, -1, false))
local qf = vim.fn.getqflist({ title = 1, items = 1 })
local qf_items = {}
for _, item in ipairs(qf.items) do
  qf_items[#qf_items + 1] = { file = vim.api.nvim_buf_get_name(item.bufnr), lnum = item.lnum, text = item.text }
end
H.data('quickfix', { title = qf.title, items = qf_items })
H.data('citations', chat.citations('see calc.py:2 and nowhere.py:3', nil, vim.fn.fnamemodify(P.file, ':h')))
H.data('chunks', chunks)
H.data('visible', vim.fn.bufwinid(buf) ~= -1)

-- A follow-up in the chat buffer continues the same conversation.
vim.cmd('SteadChat and then?')
H.wait(function()
  local n = 0
  for _, line in ipairs(vim.api.nvim_buf_get_lines(buf, 0, -1, false)) do
    if line:match('^> context:') then
      n = n + 1
    end
  end
  return n == 2
end, 45000, 'the second answer')
H.data('chat2', vim.api.nvim_buf_get_lines(buf, 0, -1, false))
H.data('conversation_ids', chat.conversation_ids)

-- The question is in the local history: :SteadHistory lists it, <CR> opens it.
vim.cmd('SteadHistory')
local hist = H.wait(function()
  local b = vim.fn.bufnr('stead://history')
  return b ~= -1 and vim.api.nvim_buf_line_count(b) > 2 and b
end, 15000, 'the history list')
local lines = vim.api.nvim_buf_get_lines(hist, 0, -1, false)
H.data('history', lines)
vim.api.nvim_set_current_win(vim.fn.bufwinid(hist))
for i, line in ipairs(lines) do
  if line:match('^#%d+') then
    vim.api.nvim_win_set_cursor(0, { i, 0 })
    break
  end
end
H.feed('<CR>', 50)
local entry = H.wait(function()
  for _, b in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_get_name(b):match('^stead://history/%d+$') then
      return b
    end
  end
end, 15000, 'the history entry')
H.data('entry', vim.api.nvim_buf_get_lines(entry, 0, -1, false))
