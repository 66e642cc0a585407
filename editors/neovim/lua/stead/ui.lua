--- Scratch buffers for answers, history and manifests.
---
--- One named buffer per purpose (`stead://chat`, `stead://history`, …), reused and shown in a
--- window of its own, so repeated commands never pile up buffers.
local M = {}

--- The buffer named `stead://<name>`, created when missing.
---@param name string
---@param filetype? string
---@return integer bufnr
function M.buffer(name, filetype)
  local full = 'stead://' .. name
  local bufnr = vim.fn.bufnr(full)
  if bufnr == -1 or not vim.api.nvim_buf_is_valid(bufnr) then
    bufnr = vim.api.nvim_create_buf(false, true)
    vim.api.nvim_buf_set_name(bufnr, full)
    vim.bo[bufnr].buftype = 'nofile'
    vim.bo[bufnr].bufhidden = 'hide'
    vim.bo[bufnr].swapfile = false
    vim.bo[bufnr].filetype = filetype or 'markdown'
  end
  return bufnr
end

--- Show a buffer in a window (reusing one that shows it already); returns the window.
---@param bufnr integer
---@param focus? boolean
function M.show(bufnr, focus)
  local win = vim.fn.bufwinid(bufnr)
  if win == -1 then
    local current = vim.api.nvim_get_current_win()
    local kind = require('stead.config').options.window
    if kind == 'vsplit' then
      vim.cmd('botright vsplit')
    elseif kind == 'tab' then
      vim.cmd('tabnew')
    else
      vim.cmd('botright split')
    end
    win = vim.api.nvim_get_current_win()
    vim.api.nvim_win_set_buf(win, bufnr)
    vim.wo[win].wrap = true
    vim.wo[win].linebreak = true
    if focus == false then
      vim.api.nvim_set_current_win(current)
    end
  elseif focus then
    vim.api.nvim_set_current_win(win)
  end
  return win
end

---@param bufnr integer
---@param lines string[]
function M.set_lines(bufnr, lines)
  vim.bo[bufnr].modifiable = true
  vim.api.nvim_buf_set_lines(bufnr, 0, -1, false, lines)
end

--- Append lines and keep the end in view.
---@param bufnr integer
---@param lines string[]
function M.append(bufnr, lines)
  vim.bo[bufnr].modifiable = true
  local last = vim.api.nvim_buf_line_count(bufnr)
  local first = vim.api.nvim_buf_get_lines(bufnr, 0, 1, false)[1]
  if last == 1 and first == '' then
    vim.api.nvim_buf_set_lines(bufnr, 0, -1, false, lines)
  else
    vim.api.nvim_buf_set_lines(bufnr, last, last, false, lines)
  end
  M.scroll_end(bufnr)
end

--- Extend the last line with text that may contain newlines (streamed answers).
---@param bufnr integer
---@param text string
function M.append_text(bufnr, text)
  vim.bo[bufnr].modifiable = true
  local last = vim.api.nvim_buf_line_count(bufnr)
  local tail = vim.api.nvim_buf_get_lines(bufnr, last - 1, last, false)[1] or ''
  local parts = vim.split(tail .. text, '\n', { plain = true })
  vim.api.nvim_buf_set_lines(bufnr, last - 1, last, false, parts)
  M.scroll_end(bufnr)
end

function M.scroll_end(bufnr)
  local win = vim.fn.bufwinid(bufnr)
  if win ~= -1 then
    vim.api.nvim_win_set_cursor(win, { vim.api.nvim_buf_line_count(bufnr), 0 })
  end
end

--- Split text into lines (a nil or non-string becomes its inspect form).
---@param text any
---@return string[]
function M.lines(text)
  if text == nil or text == vim.NIL then
    return {}
  end
  if type(text) ~= 'string' then
    text = vim.inspect(text)
  end
  return vim.split(text, '\n', { plain = true })
end

--- A field from a table that may spell it snake_case or camelCase.
function M.get(t, name)
  if type(t) ~= 'table' then
    return nil
  end
  local v = t[name]
  if v == nil then
    v = t[(name:gsub('_(%l)', string.upper))]
  end
  if v == vim.NIL then
    return nil
  end
  return v
end

return M
