-- A tiny test harness for scenarios in a real headless Neovim.
--
-- A scenario is a Lua file run inside a coroutine: `H.wait` polls a condition on a timer and
-- `H.request` waits for an LSP answer without blocking the event loop, so the server, the
-- inline-completion debounce and key input all keep running.  The outcome (ok or the error
-- with its traceback, recorded observations, notifications shown) is written as JSON to
-- STEAD_TEST_OUT for the pytest side to assert on; a watchdog ends a stuck run.
local H = {}

H.params = vim.json.decode(os.getenv('STEAD_TEST_PARAMS') or '{}', { luanil = { object = true } })
H.result = { ok = false, data = vim.empty_dict(), notifications = {}, steps = {} }

local out = assert(os.getenv('STEAD_TEST_OUT'), 'STEAD_TEST_OUT is not set')
local co ---@type thread?
local finished = false

-- Record every notification (the plugin's messages are part of its behaviour).
local notify = vim.notify
vim.notify = function(msg, level, opts)
  table.insert(H.result.notifications, { msg = tostring(msg), level = level or 2 })
  io.stderr:write(('[notify %s] %s\n'):format(level or 2, tostring(msg)))
  return notify(msg, level, opts)
end

local function finish(ok, err)
  if finished then
    return
  end
  finished = true
  H.result.ok = ok
  H.result.error = err
  local f = assert(io.open(out, 'w'))
  f:write(vim.json.encode(H.result))
  f:close()
  -- Stop servers politely, then leave (cquit reports a failure through the exit code).
  for _, client in ipairs(vim.lsp.get_clients()) do
    client:stop()
  end
  vim.defer_fn(function()
    vim.cmd(ok and 'qall!' or 'cquit! 1')
  end, 200)
end

--- Record an observation for the pytest side.
function H.data(key, value)
  H.result.data[key] = value == nil and vim.NIL or value
end

--- Note progress (shown when a scenario fails, to tell where it stopped).
function H.step(what)
  table.insert(H.result.steps, what)
  io.stderr:write('[step] ' .. what .. '\n')
end

local function resume(...)
  if co and coroutine.status(co) == 'suspended' then
    local ok, err = coroutine.resume(co, ...)
    if not ok then
      finish(false, debug.traceback(co, err))
    elseif coroutine.status(co) == 'dead' then
      finish(true)
    end
  end
end

--- Let the event loop run for `ms` milliseconds.
function H.sleep(ms)
  vim.defer_fn(function()
    resume()
  end, ms)
  coroutine.yield()
end

--- Wait until `cond()` returns a truthy value (returned), polling every 20 ms.
function H.wait(cond, timeout_ms, what)
  local deadline = vim.uv.now() + (timeout_ms or 10000)
  while true do
    local ok, value = pcall(cond)
    if ok and value then
      return value
    end
    if vim.uv.now() > deadline then
      error(('timed out after %d ms waiting for: %s%s'):format(
        timeout_ms or 10000,
        what or '?',
        ok and '' or (' (last error: ' .. tostring(value) .. ')')
      ), 2)
    end
    H.sleep(20)
  end
end

--- Send a request and wait for its answer: returns err, result.
function H.request(client, method, params, timeout_ms)
  local answer
  local ok = client:request(method, params or vim.empty_dict(), function(err, result)
    answer = { err = err, result = result }
  end)
  assert(ok, 'request not sent: ' .. method)
  H.wait(function()
    return answer
  end, timeout_ms or 20000, 'answer to ' .. method)
  return answer.err, answer.result
end

--- Type keys as if typed by the user, then let Neovim process them.
function H.feed(keys, ms)
  vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes(keys, true, false, true), 't', false)
  H.sleep(ms or 30)
end

--- The stead client attached to a buffer, once initialized.
function H.client(bufnr, timeout_ms)
  return H.wait(function()
    return vim.lsp.get_clients({ name = 'stead', bufnr = bufnr or 0 })[1]
  end, timeout_ms or 30000, 'the stead client to attach')
end

function H.eq(expected, actual, what)
  if not vim.deep_equal(expected, actual) then
    error(('%s: expected %s, got %s'):format(what or 'value', vim.inspect(expected), vim.inspect(actual)), 2)
  end
end

--- Run a scenario file in a coroutine, with a watchdog.
function H.run(script)
  local timeout = tonumber(os.getenv('STEAD_TEST_TIMEOUT_MS') or '') or 60000
  vim.defer_fn(function()
    if not finished then
      finish(false, ('watchdog: the scenario did not finish within %d ms (steps: %s)'):format(
        timeout,
        table.concat(H.result.steps, ' > ')
      ))
    end
  end, timeout)
  co = coroutine.create(function()
    local fn = assert(loadfile(script))
    fn()
  end)
  resume()
end

return H
