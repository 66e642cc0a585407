--- User commands for stead.  Loading this file is cheap: every command requires its module
--- on first use, and the server only starts for a buffer once `vim.lsp.enable('stead')` or
--- `require('stead').setup()` ran.
if vim.g.loaded_stead then
  return
end
vim.g.loaded_stead = true

local function cmd(name, fn, opts)
  vim.api.nvim_create_user_command(name, function(args)
    fn(args)
  end, opts)
end

local function subcommands(list)
  return function(arglead, cmdline)
    if cmdline:match('^%S+%s+%S+%s') then
      return {}
    end
    return vim.tbl_filter(function(s)
      return vim.startswith(s, arglead)
    end, list)
  end
end

cmd('SteadIndex', function(args)
  require('stead.commands').index(args.args)
end, {
  nargs = '*',
  complete = function(arglead, cmdline)
    if cmdline:match('^%S+%s+%S*$') and vim.startswith('status', arglead) then
      return vim.list_extend({ 'status' }, vim.fn.getcompletion(arglead, 'file'))
    end
    return vim.fn.getcompletion(arglead, 'file')
  end,
  desc = 'stead: index the workspace, or given files (:SteadIndex status shows the state)',
})

cmd('SteadSearch', function(args)
  require('stead.commands').search(args.args)
end, { nargs = '+', desc = 'stead: search the workspace index (results in the quickfix list)' })

cmd('SteadAsk', function(args)
  local range = args.range > 0 and { args.line1, args.line2 } or nil
  if args.bang then
    require('stead.escalate').ask(args.args, range)
  else
    require('stead.chat').ask(args.args, range)
  end
end, {
  nargs = '+',
  bang = true,
  range = true,
  desc = 'stead: ask the local model (with ! ask a remote model, after your consent)',
})

cmd('SteadChat', function(args)
  local range = args.range > 0 and { args.line1, args.line2 } or nil
  require('stead.chat').open(args.args ~= '' and args.args or nil, range)
end, { nargs = '*', range = true, desc = 'stead: open the chat buffer (and ask)' })

cmd('SteadEscalate', function(args)
  local range = args.range > 0 and { args.line1, args.line2 } or nil
  require('stead.escalate').ask(args.args, range)
end, {
  nargs = '+',
  range = true,
  desc = 'stead: ask a remote model; shows what would be sent and asks first',
})

cmd('SteadHistory', function(args)
  require('stead.commands').history(args.fargs)
end, {
  nargs = '*',
  complete = subcommands({ 'list', 'search', 'show', 'delete', 'private', 'export' }),
  desc = 'stead: browse the local history of prompts and answers',
})

cmd('SteadAudit', function()
  require('stead.commands').audit()
end, { desc = 'stead: list and verify the egress audit log' })

cmd('SteadStatus', function()
  require('stead.commands').status()
end, { desc = 'stead: model, route and index state' })

cmd('SteadRestart', function()
  require('stead').restart()
end, { desc = 'stead: restart the server' })

cmd('SteadToggle', function()
  local inline = vim.lsp.inline_completion
  if not inline then
    return require('stead').notify('ghost text needs Neovim 0.12', vim.log.levels.WARN)
  end
  local on = not inline.is_enabled({ bufnr = 0 })
  inline.enable(on, { bufnr = 0 })
  require('stead').notify('ghost text ' .. (on and 'on' or 'off') .. ' in this buffer')
end, { desc = 'stead: turn ghost text on or off in this buffer' })
