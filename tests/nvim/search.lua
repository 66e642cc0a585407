-- The workspace is indexed in the background (progress reaches the statusline), :SteadIndex
-- status shows the state, and :SteadSearch fills the quickfix list with the real hits.
local H = require('harness')
local P = H.params
local stead = require('stead')

local progress = {}
vim.api.nvim_create_autocmd('LspProgress', {
  callback = function()
    if stead.progress then
      progress[#progress + 1] = stead.statusline()
    end
  end,
})

require('stead').setup(P.opts)
vim.cmd.edit(P.file)
local client = H.client(0)
H.step('attached')
H.wait(function()
  local _, st = H.request(client, 'stead/indexStatus', {})
  H.data('index_status', st)
  return st and (st.state == 'ready' or st.state == 'idle') and (st.files or 0) > 0
end, 60000, 'the index to be ready')
H.step('indexed')
H.data('progress', progress)

vim.cmd('SteadIndex status')
H.wait(function()
  return vim.fn.bufnr('stead://index') ~= -1
end, 10000, 'the index status buffer')
H.data('status_lines', vim.api.nvim_buf_get_lines(vim.fn.bufnr('stead://index'), 0, -1, false))

vim.cmd('SteadSearch ' .. P.query)
local qf = H.wait(function()
  local list = vim.fn.getqflist({ title = 1, items = 1 })
  return list.title ~= '' and #list.items > 0 and list
end, 30000, 'search results in the quickfix list')
local items = {}
for _, it in ipairs(qf.items) do
  items[#items + 1] = { file = vim.api.nvim_buf_get_name(it.bufnr), lnum = it.lnum, text = it.text }
end
H.data('qf_title', qf.title)
H.data('qf', items)
H.data('qf_open', vim.fn.getqflist({ winid = 1 }).winid ~= 0)

-- A query with no hits says so instead of opening an empty list.
vim.cmd('SteadSearch zzqqxxnothinglikethis')
H.wait(function()
  for _, n in ipairs(H.result.notifications) do
    if n.msg:find('no results for', 1, true) then
      return true
    end
  end
end, 30000, 'the no-results message')
