-- Benchmark scenario (bench/nvim_ghost.py): how long until the client is attached, and from
-- a keystroke in insert mode until ghost text is on screen, in a real headless Neovim.
-- Neovim's own debounce (200 ms in vim.lsp.inline_completion) is part of what users feel,
-- so it is included; the script reports it separately too.
local H = require('harness')
local P = H.params
local stead = require('stead')

local t0 = vim.uv.hrtime()
require('stead').setup(P.opts)
vim.cmd.edit(P.file)
local client = H.client(0)
H.data('attach_ms', (vim.uv.hrtime() - t0) / 1e6)

-- Time each inline-completion answer: sent and answered (Neovim shows it in that tick).
local answers = {}
local request = client.request
client.request = function(self, method, params, handler, bufnr)
  if method ~= 'textDocument/inlineCompletion' then
    return request(self, method, params, handler, bufnr)
  end
  local sent = vim.uv.hrtime()
  return request(self, method, params, function(err, result, ctx, cfg)
    local items = result and (result.items or result) or {}
    answers[#answers + 1] = { sent = sent, at = vim.uv.hrtime(), n = #items, err = err ~= nil }
    return handler(err, result, ctx, cfg)
  end, bufnr)
end

H.feed('GA', 20)
H.wait(function()
  return stead.shown(0)
end, 30000, 'the first ghost text')

local letters = 'abcdefghijklmnopqrstuvwxyz'
local samples, server = {}, {}
for i = 1, P.runs or 20 do
  local ch = letters:sub((i - 1) % #letters + 1, (i - 1) % #letters + 1)
  local start = vim.uv.hrtime()
  vim.api.nvim_feedkeys(ch, 't', false)
  -- the first non-empty answer to a request sent after the keystroke
  local answer = H.wait(function()
    for _, a in ipairs(answers) do
      if a.sent > start and a.n > 0 then
        return a
      end
    end
  end, 30000, 'a suggestion after typing ' .. ch)
  samples[#samples + 1] = (answer.at - start) / 1e6
  server[#server + 1] = (answer.at - answer.sent) / 1e6
  answers = {}
  H.sleep(50)
end
H.data('keystroke_to_ghost_ms', samples)
H.data('request_to_answer_ms', server)
