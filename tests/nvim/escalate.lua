-- Escalation consent through vim.ui.select with the manifest shown.  The scenario answers
-- the prompts as a user would (P.answers, in order: "refuse", "send", or {"drop", n}) and
-- records what the user was shown; the pytest side checks what the provider received.
local H = require('harness')
local P = H.params

local answers = P.answers or { 'refuse' }
local prompts = {}

--- A user at the keyboard: read the prompt and the choices, pick per the plan.
vim.ui.select = function(items, opts, on_choice)
  local shown = {}
  for _, item in ipairs(items) do
    shown[#shown + 1] = opts.format_item and opts.format_item(item) or tostring(item)
  end
  local review = vim.fn.bufnr('stead://escalate')
  prompts[#prompts + 1] = {
    prompt = opts.prompt,
    kind = opts.kind,
    choices = shown,
    review = review ~= -1 and vim.api.nvim_buf_get_lines(review, 0, -1, false) or {},
    review_visible = review ~= -1 and vim.fn.bufwinid(review) ~= -1,
  }
  local answer = table.remove(answers, 1)
  vim.schedule(function()
    if answer == nil or answer == 'cancel' then
      return on_choice(nil)
    end
    if opts.kind == 'stead.escalate.items' then
      -- "done" is the first entry; item n follows it
      return on_choice(answer == 'done' and items[1] or items[answer + 1])
    end
    on_choice(answer)
  end)
end

require('stead').setup(P.opts)
vim.cmd.edit(P.file)
H.client(0)
H.step('attached')

vim.cmd('SteadEscalate ' .. P.question)
H.wait(function()
  for _, n in ipairs(H.result.notifications) do
    if n.msg:find('nothing was sent', 1, true) or n.msg:find('received', 1, true)
      or n.msg:find('escalation', 1, true) then
      return true
    end
  end
end, 30000, 'the escalation to end')
H.step('decided')
H.sleep(200)
H.data('prompts', prompts)
local review = vim.fn.bufnr('stead://escalate')
H.data('review', review ~= -1 and vim.api.nvim_buf_get_lines(review, 0, -1, false) or {})

-- :SteadAudit verifies the chain and lists what was sent or refused.
vim.cmd('SteadAudit')
local audit = H.wait(function()
  local b = vim.fn.bufnr('stead://audit')
  return b ~= -1 and vim.api.nvim_buf_line_count(b) > 2 and b
end, 15000, 'the audit buffer')
H.data('audit', vim.api.nvim_buf_get_lines(audit, 0, -1, false))
