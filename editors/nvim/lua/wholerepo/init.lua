-- Entry point: require('wholerepo').setup{...}
local config = require('wholerepo.config')
local lsp = require('wholerepo.lsp')

local M = { options = nil }

local function builtin_inline(opts)
  return opts.inline.use_builtin and vim.lsp.inline_completion ~= nil and vim.lsp.inline_completion.enable ~= nil
end

function M.setup(user)
  local opts = config.resolve(user)
  M.options = opts
  local inline = require('wholerepo.inline')
  require('wholerepo.commands').create(opts)
  vim.api.nvim_create_autocmd('LspAttach', {
    group = vim.api.nvim_create_augroup('wholerepo_attach', { clear = true }),
    callback = function(event)
      local client = vim.lsp.get_client_by_id(event.data.client_id)
      if not client or client.name ~= lsp.name or not opts.features.inline_completion then
        return
      end
      if builtin_inline(opts) then
        inline.attach_builtin(event.buf, opts.inline)
      else
        inline.attach(event.buf, opts.inline)
      end
    end,
  })
  lsp.register(opts)
  return M
end

M.statusline = lsp.statusline

return M
