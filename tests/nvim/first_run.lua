-- The plain `vim.lsp.enable('stead')` route on a first run with no usable model: indexing
-- progress reaches the statusline, the statusline and :checkhealth name the model problem,
-- the first completion that fails says so once, and ghost text has a 256-colour highlight.
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

vim.lsp.enable('stead')
vim.cmd.edit(P.file)
local client = H.client(0)
H.step('attached')
H.wait(function()
  local _, st = H.request(client, 'stead/indexStatus', {})
  return st and st.state == 'ready' and (st.files or 0) > 0
end, 60000, 'the first index')
H.wait(function()
  return #progress > 0 and stead.progress == nil
end, 10000, 'the progress to end')
H.data('progress', progress)
H.wait(function()
  return stead.statusline():find('model error', 1, true)
end, 10000, 'the statusline to name the model problem')
H.data('statusline', stead.statusline())

-- typing asks for ghost text: the missing model is reported once, not per keystroke
vim.cmd('normal! G')
vim.cmd('startinsert!')
for _, keys in ipairs({ 'x', ' ', '=', ' ' }) do
  H.feed(keys, 400)
end
vim.cmd('stopinsert')
H.wait(function()
  for _, n in ipairs(H.result.notifications) do
    if n.msg:find('no completions', 1, true) then
      return true
    end
  end
  return false
end, 15000, 'the model failure message')
H.sleep(500)

local hl = vim.api.nvim_get_hl(0, { name = 'ComplHint', link = false })
H.data('ghost_hl', { ctermfg = hl.ctermfg or vim.NIL, italic = hl.italic or false,
  link = vim.api.nvim_get_hl(0, { name = 'ComplHint' }).link or vim.NIL })

vim.cmd('checkhealth stead')
H.wait(function()
  return vim.bo.filetype == 'checkhealth'
    and table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\n'):find('running servers', 1, true)
end, 60000, 'the health report')
H.data('health', table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\n'))
