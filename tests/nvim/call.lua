-- `nvim -l call.lua <plugin dir> <module> <json calls>`: call pure functions of the plugin in
-- order and print their results as JSON, for table-driven tests of the plugin's logic.
-- <json calls> is a list of [function name, [arguments...]]; the output is a list with the
-- list of results of each call.
local plugin, module, calls = arg[1], arg[2], arg[3]
vim.opt.runtimepath:prepend(plugin)
local mod = require(module)
local out = {}
for _, call in ipairs(vim.json.decode(calls, { luanil = { object = true, array = true } })) do
  local args = call[2] or {}
  local results = vim.F.pack_len(mod[call[1]](unpack(args, 1, table.maxn(args))))
  local list = {}
  for i = 1, results.n do
    list[i] = results[i] == nil and vim.NIL or results[i]
  end
  out[#out + 1] = list
end
io.stdout:write(vim.json.encode(out))
