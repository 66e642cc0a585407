--- Options of the stead plugin.
---
--- The server sections (`model`, `completion`, `context`, `index`, `chat`, `history`,
--- `remote`, `log_level`) mirror the server's `Settings` tree (server/settings.py) key for key
--- and travel as `initializationOptions`.  Only the values the user set are sent: the server
--- layers them over its own defaults and the user's `config.toml`, so a default written here
--- never hides a value from the config file shared with the CLI and VS Code.
---
--- The other keys belong to the plugin itself (how to start the server, keymaps, restarts).
local M = {}

--- The server's defaults, for reference, `:checkhealth stead` and key validation.
--- Keep in step with server/settings.py (tests/test_editor_neovim.py checks it).
M.server_defaults = {
  model = {
    backend = 'gpt4all', -- "gpt4all" (in-process GGUF) or "openai-compatible" (local server)
    name = 'qwen2.5-coder-0.5b', -- a model from `stead models list`
    path = '', -- an explicit GGUF file; overrides `name`
    url = 'http://127.0.0.1:11434/v1', -- local OpenAI-compatible server (loopback only)
    server_model = '',
    n_threads = 0, -- 0 = number of cores
    n_ctx = 2048,
    timeout_s = 10.0,
    preload = true, -- load the model in the background when the first buffer opens
  },
  completion = {
    enabled = true,
    max_tokens = 64,
    prefix_tokens = 384,
    suffix_tokens = 128,
    multiline = 'auto', -- "auto", "always" or "never"
    cache_size = 256,
  },
  context = {
    completion_budget = 1024,
    chat_budget = 1200,
    deadline_ms = 100,
    recent_chunks = 16,
  },
  index = {
    enabled = true,
    max_file_bytes = 1000000,
    max_files = 200000, -- per workspace folder; past it the index says so and stops
    exclude = {},
    embedder = 'default',
    shared = true, -- read an attached shared base index (egress of the query, audited)
  },
  chat = {
    max_tokens = 512,
    timeout_s = 180.0,
  },
  history = {
    enabled = true,
    completions = true,
    retention_days = 0,
  },
  remote = {
    enabled = false, -- master switch: nothing is ever sent to a remote model when false
    providers = {}, -- name -> { kind, url, model, api_key_env, input_cost_per_mtok, ... }
    allowed_workspaces = {},
    never_send = {},
  },
  log_level = 'info',
}

--- A copy of the server defaults (for tests and :checkhealth).
function M.server_defaults_copy()
  return vim.deepcopy(M.server_defaults)
end

--- Options that belong to the plugin.
M.plugin_defaults = {
  --- How to start the server.  The first word must be an executable on PATH (or a path).
  cmd = { 'stead', 'serve' },
  --- Extra environment for the server process.
  cmd_env = nil,
  --- Filetypes to attach to; nil attaches to every file-backed buffer.
  filetypes = nil,
  --- Files that mark a workspace root (the first match upwards wins; else the cwd).
  root_markers = { '.git', '.steadignore', '.hg' },
  --- Show ghost-text suggestions (native `vim.lsp.inline_completion`, Neovim 0.12+).
  inline_completion = true,
  --- Insert-mode keys for suggestions; set one to false to leave it unmapped.
  keymaps = {
    accept = '<Tab>', -- falls back to a plain <Tab> when no suggestion is shown
    next = '<M-]>',
    prev = '<M-[>',
    dismiss = '<C-]>',
  },
  --- A server that crashes is restarted this many times per session, then left stopped.
  max_restarts = 3,
  --- Where answers, search results and history open: "split", "vsplit" or "tab".
  window = 'split',
}

local server_sections = {}
for k in pairs(M.server_defaults) do
  server_sections[k] = true
end

--- The options in effect (plugin defaults plus what setup() received).
M.options = vim.deepcopy(M.plugin_defaults)
--- The server settings the user set explicitly (sent as initializationOptions).
M.settings = {}

local function snake(key)
  return (key:gsub('(%l)(%u)', '%1_%2'):lower())
end

--- Problems found in the options, as sentences naming the dotted key.
---@param settings table
---@param defaults table
---@param prefix string
---@param problems string[]
local function check(settings, defaults, prefix, problems)
  for key, value in pairs(settings) do
    local name = type(key) == 'string' and snake(key) or key
    local dotted = prefix .. tostring(key)
    local default = defaults[name]
    if default == nil then
      problems[#problems + 1] = ('%s: unknown setting'):format(dotted)
    elseif type(default) == 'table' and not vim.islist(default) and next(default) ~= nil then
      if type(value) ~= 'table' then
        problems[#problems + 1] = ('%s: expected a table of settings'):format(dotted)
      else
        check(value, default, dotted .. '.', problems)
      end
    elseif type(default) ~= type(value) then
      problems[#problems + 1] =
        ('%s: expected a %s, got %s'):format(dotted, type(default), vim.inspect(value))
    end
  end
end

--- Split setup() options into plugin options and server settings, and check both.
---@param opts table?
---@return table options, table settings, string[] problems
function M.resolve(opts)
  opts = opts or {}
  local problems = {}
  if type(opts) ~= 'table' then
    return vim.deepcopy(M.plugin_defaults), {}, { 'setup(): expected a table of options' }
  end
  local plugin, settings = {}, {}
  for key, value in pairs(opts) do
    if key == 'settings' and type(value) == 'table' then
      -- `settings = { ... }` is accepted too, as one table holding the server sections.
      settings = vim.tbl_deep_extend('force', settings, value)
    elseif server_sections[snake(tostring(key))] then
      settings[key] = value
    elseif M.plugin_defaults[key] ~= nil or key == 'cmd_env' or key == 'filetypes' then
      plugin[key] = value
    else
      problems[#problems + 1] = ('%s: unknown option'):format(tostring(key))
    end
  end
  check(settings, M.server_defaults, '', problems)
  local options = vim.tbl_deep_extend('force', vim.deepcopy(M.plugin_defaults), plugin)
  if type(options.cmd) == 'string' then
    options.cmd = vim.split(options.cmd, '%s+', { trimempty = true })
  end
  if type(options.cmd) ~= 'table' or type(options.cmd[1]) ~= 'string' then
    problems[#problems + 1] = 'cmd: expected a list such as { "stead", "serve" }'
    options.cmd = vim.deepcopy(M.plugin_defaults.cmd)
  end
  if type(options.max_restarts) ~= 'number' or options.max_restarts < 0 then
    problems[#problems + 1] = 'max_restarts: expected a number >= 0'
    options.max_restarts = M.plugin_defaults.max_restarts
  end
  return options, settings, problems
end

---@param opts table?
---@return string[] problems
function M.set(opts)
  local options, settings, problems = M.resolve(opts)
  M.options, M.settings = options, settings
  return problems
end

--- The server settings as initializationOptions (nil when the user set none: an empty Lua
--- table would travel as a JSON array).
function M.init_options()
  if next(M.settings) == nil then
    return nil
  end
  -- Tables that are objects on the server side (the sections, `remote.providers` and each
  -- provider) must stay JSON objects even when empty; lists (`index.exclude`) stay arrays.
  local function object(value)
    if type(value) == 'table' and next(value) == nil then
      return vim.empty_dict()
    end
    return value
  end
  local out = vim.deepcopy(M.settings)
  for section, value in pairs(out) do
    out[section] = object(value)
    if type(value) == 'table' and snake(tostring(section)) == 'remote' then
      for key, providers in pairs(value) do
        if snake(tostring(key)) == 'providers' and type(providers) == 'table' then
          for name, provider in pairs(providers) do
            providers[name] = object(provider)
          end
          value[key] = object(providers)
        end
      end
    end
  end
  return out
end

return M
