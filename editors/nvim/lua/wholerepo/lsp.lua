-- Registers `wholerepo serve` with Neovim's LSP client: vim.lsp.config/vim.lsp.enable on 0.11+,
-- a FileType autocommand with vim.lsp.start on 0.9/0.10. Also the small version shims the rest uses.
local config = require('wholerepo.config')

local M = { name = 'wholerepo', status = {} }

local has_011 = vim.fn.has('nvim-0.11') == 1

--- The wholerepo client attached to a buffer (or any, without a buffer), or nil.
function M.client(bufnr)
  local get = vim.lsp.get_clients or vim.lsp.get_active_clients
  return get({ name = M.name, bufnr = bufnr })[1]
end

--- client:request on 0.11, client.request before it; returns ok, request id.
function M.request(client, method, params, handler, bufnr)
  if has_011 then
    return client:request(method, params, handler, bufnr)
  end
  return client.request(method, params, handler, bufnr)
end

function M.cancel(client, id)
  if has_011 then
    return client:cancel_request(id)
  end
  return client.cancel_request(id)
end

--- Byte column in `line` of an LSP character offset in the client's position encoding.
function M.byte_col(line, character, encoding)
  if encoding == 'utf-8' then
    return math.min(character, #line)
  end
  local ok, col
  if has_011 then
    ok, col = pcall(vim.str_byteindex, line, encoding, character, false)
  else
    ok, col = pcall(vim.str_byteindex, line, character, encoding == 'utf-16')
  end
  return ok and col or #line
end

local function capabilities()
  local caps = vim.lsp.protocol.make_client_capabilities()
  caps.textDocument = caps.textDocument or {}
  caps.textDocument.inlineCompletion = caps.textDocument.inlineCompletion or { dynamicRegistration = false }
  return caps
end

local function root_dir(bufnr, markers)
  local name = vim.api.nvim_buf_get_name(bufnr)
  local start = name ~= '' and vim.fs.dirname(name) or vim.fn.getcwd()
  local found = vim.fs.find(markers, { upward = true, path = start })[1]
  return found and vim.fs.dirname(found) or start
end

local handlers = {
  ['wholerepo/status'] = function(_, result)
    if type(result) == 'table' then
      M.status = vim.tbl_extend('force', M.status, result)
      vim.api.nvim_exec_autocmds('User', { pattern = 'WholerepoStatus', modeline = false })
    end
  end,
}

function M.register(opts)
  local spec = {
    cmd = config.command(opts),
    filetypes = opts.filetypes,
    init_options = config.init_options(opts),
    -- The server also asks workspace/configuration for its `wholerepo` section: the same options.
    settings = { wholerepo = config.init_options(opts) },
    capabilities = capabilities(),
    handlers = handlers,
  }
  if has_011 and vim.lsp.config and vim.lsp.enable then
    spec.root_dir = function(bufnr, on_dir)
      on_dir(root_dir(bufnr, opts.root_markers))
    end
    vim.lsp.config(M.name, spec)
    vim.lsp.enable(M.name)
    return
  end
  local group = vim.api.nvim_create_augroup('wholerepo_lsp', { clear = true })
  vim.api.nvim_create_autocmd('FileType', {
    group = group,
    pattern = opts.filetypes or '*',
    callback = function(event)
      if vim.bo[event.buf].buftype ~= '' then
        return
      end
      vim.lsp.start(vim.tbl_extend('force', spec, { name = M.name, root_dir = root_dir(event.buf, opts.root_markers) }), {
        bufnr = event.buf,
      })
    end,
  })
  -- Buffers already open when setup ran.
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(buf) and vim.bo[buf].filetype ~= '' then
      vim.api.nvim_exec_autocmds('FileType', { group = group, buffer = buf, modeline = false })
    end
  end
end

--- One line for a statusline: the server's engine/index state, or indexing progress.
function M.statusline()
  local client = M.client()
  if not client then
    return ''
  end
  local parts = {}
  for _, key in ipairs({ 'engine', 'index' }) do
    local value = M.status[key]
    if type(value) == 'table' then
      value = table.concat(vim.tbl_filter(function(word)
        return type(word) == 'string' and word ~= ''
      end, { value.name, value.backend, value.model, value.state }), ' ')
    end
    if type(value) == 'string' and value ~= '' then
      table.insert(parts, value)
    end
  end
  return 'wholerepo' .. (#parts > 0 and (': ' .. table.concat(parts, ' · ')) or '')
end

return M
