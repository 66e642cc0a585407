-- A slow model: a keystroke while a suggestion is still being generated cancels that
-- request (the server stops generating; nothing outdated is shown) and the editor keeps
-- taking input; the suggestion for the latest text arrives afterwards.
local H = require('harness')
local P = H.params
local stead = require('stead')

require('stead').setup(P.opts)
vim.cmd.edit(P.file)
local client = H.client(0)
H.step('attached')

local requests = {}
local request = client.request
client.request = function(self, method, params, handler, bufnr)
  if method ~= 'textDocument/inlineCompletion' then
    return request(self, method, params, handler, bufnr)
  end
  local rec = { character = params.position.character, done = false }
  requests[#requests + 1] = rec
  local ok, id = request(self, method, params, function(err, result, ctx, cfg)
    rec.done = true
    rec.err = err and err.code or vim.NIL
    local items = result and (result.items or result) or {}
    rec.items = #items
    return handler(err, result, ctx, cfg)
  end, bufnr)
  rec.id = id
  return ok, id
end

H.feed(P.line .. 'GA')
-- wait until the first request is in flight (the model is generating)
local first = H.wait(function()
  return requests[1]
end, 10000, 'the first request')
H.step('first request sent')
H.data('first_done_before_typing', first.done)
H.feed('x', 0)
H.wait(function()
  return vim.api.nvim_get_current_line() == '    x'
end, 5000, 'the keystroke to be taken')
H.data('typed_while_pending', vim.api.nvim_get_current_line())
H.wait(function()
  return first.done or (client.requests[first.id] == nil)
end, 60000, 'the first request to end')
H.step('first request ended')
H.data('first', first)
local last = H.wait(function()
  local r = requests[#requests]
  return #requests >= 2 and r.done and r.items > 0 and r
end, 60000, 'a suggestion for the new text')
H.data('last', last)
H.data('requests', #requests)
H.data('ghost', stead.shown(0))
