-- A headless Neovim 0.11 session against `wholerepo serve`: inline completion (raw request; 0.11 has no
-- inline completion UI), hover, code actions, a move applied through workspace/applyEdit (Neovim applies
-- it itself), and a whole-repo rename applied with Neovim's own workspace-edit code. Results go to a JSON
-- file the pytest side checks; any Lua error is recorded there too.
local root = vim.env.WHOLEREPO_ROOT
local out = vim.env.WHOLEREPO_OUT
local results = { errors = {} }
local status = {}

local function finish()
  vim.fn.writefile({ vim.json.encode(results) }, out)
  vim.cmd('qa!')
end

local ok, err = pcall(function()
  vim.cmd('edit ' .. root .. '/main.py')
  local bufnr = vim.api.nvim_get_current_buf()
  local client_id = vim.lsp.start({
    name = 'wholerepo',
    cmd = vim.json.decode(vim.env.WHOLEREPO_CMD),
    root_dir = root,
    init_options = vim.json.decode(vim.env.WHOLEREPO_OPTIONS),
    handlers = {
      ['wholerepo/status'] = function(_, result)
        status = vim.tbl_extend('force', status, result)
      end,
    },
  })
  local client = vim.lsp.get_client_by_id(client_id)
  local ready = vim.wait(120000, function()
    return status.index ~= nil and status.index.state == 'ready' and status.engine ~= nil
      and status.engine.state == 'ready'
  end, 50)
  results.ready = ready
  results.offset_encoding = client.offset_encoding
  local uri = vim.uri_from_bufnr(bufnr)

  -- inline completion at the end of `    return make_circle(1.0)` -> replace the last line's cursor spot
  vim.api.nvim_buf_set_lines(bufnr, -1, -1, false, { '', '', 'def big():', '    c = make_circle(9)', '    return c.ar' })
  local line = vim.api.nvim_buf_line_count(bufnr) - 1
  local reply = client:request_sync('textDocument/inlineCompletion', {
    textDocument = { uri = uri },
    position = { line = line, character = 15 },
    context = { triggerKind = 1 },
  }, 20000, bufnr)
  results.inline = reply and (reply.result or reply.err)

  reply = client:request_sync('textDocument/hover', {
    textDocument = { uri = uri },
    position = { line = 8, character = 12 },
  }, 20000, bufnr)
  results.hover = reply and reply.result and reply.result.contents.value

  -- code actions on `def double` in util.py, then run the move (the server asks Neovim to apply the edit)
  vim.cmd('edit ' .. root .. '/util.py')
  local util = vim.api.nvim_get_current_buf()
  vim.wait(5000, function() return #vim.lsp.get_clients({ bufnr = util }) > 0 end, 20)
  reply = client:request_sync('textDocument/codeAction', {
    textDocument = { uri = vim.uri_from_bufnr(util) },
    range = { start = { line = 0, character = 4 }, ['end'] = { line = 0, character = 4 } },
    context = { diagnostics = {}, only = { 'refactor.move' } },
  }, 20000, util)
  results.actions = {}
  for _, action in ipairs(reply.result or {}) do
    table.insert(results.actions, action.title)
  end
  local move = reply.result[1]
  reply = client:request_sync('workspace/executeCommand', move.command, 30000, util)
  results.move = reply and (reply.result or reply.err)

  -- a whole-repo rename, applied the way vim.lsp.buf.rename() applies it
  vim.cmd('buffer ' .. bufnr)
  reply = client:request_sync('textDocument/rename', {
    textDocument = { uri = uri },
    position = { line = 8, character = 12 },
    newName = 'new_circle',
  }, 30000, bufnr)
  if reply and reply.result then
    vim.lsp.util.apply_workspace_edit(reply.result, client.offset_encoding)
    results.rename_files = vim.tbl_count(reply.result.documentChanges or {})
  else
    results.rename_error = reply and reply.err
  end
  vim.cmd('silent! wall')
  client:stop()
  vim.wait(5000, function() return client:is_stopped() end, 50)
end)

if not ok then
  table.insert(results.errors, tostring(err))
end
finish()
