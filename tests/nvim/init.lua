-- Headless Neovim init for the editor tests: the plugin from editors/neovim on the
-- runtimepath, nothing from the user's config, and the scenario named in STEAD_TEST_SCRIPT.
local here = vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':p:h')
package.path = here .. '/?.lua;' .. package.path
vim.opt.runtimepath:prepend(assert(os.getenv('STEAD_PLUGIN_DIR'), 'STEAD_PLUGIN_DIR is not set'))
vim.opt.swapfile = false
vim.opt.shadafile = 'NONE'
vim.lsp.log.set_level(os.getenv("STEAD_TEST_LSP_LOG") or vim.log.levels.WARN)

vim.api.nvim_create_autocmd('VimEnter', {
  once = true,
  callback = function()
    require('harness').run(assert(os.getenv('STEAD_TEST_SCRIPT'), 'STEAD_TEST_SCRIPT is not set'))
  end,
})
