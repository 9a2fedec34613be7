-- :WholerepoRefactor, :WholerepoExplain and :WholerepoContext: each runs one of the server's
-- commands (workspace/executeCommand). A refactor's edit comes back as workspace/applyEdit, which
-- Neovim applies itself; an explanation opens in a floating window; the context in a scratch split.
local lsp = require('wholerepo.lsp')

local M = { last_float = nil }

local function notify(message, level)
  vim.notify('wholerepo: ' .. message, level or vim.log.levels.INFO)
end

local function run(bufnr, command, arguments, on_result)
  local client = lsp.client(bufnr)
  if not client then
    notify('the language server is not attached to this buffer', vim.log.levels.WARN)
    return false
  end
  return lsp.request(client, 'workspace/executeCommand', { command = command, arguments = arguments }, function(err, result)
    if err then
      notify(command .. ' failed: ' .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
      return
    end
    on_result(result)
  end, bufnr)
end

local function cursor_arguments(bufnr)
  local client = lsp.client(bufnr)
  local win = vim.fn.bufwinid(bufnr)
  local params = vim.lsp.util.make_position_params(win ~= -1 and win or 0, client and client.offset_encoding or 'utf-16')
  return params.textDocument.uri, params.position
end

--- A command result as lines of markdown.
local function as_lines(result)
  if type(result) == 'table' then
    result = result.markdown or result.text or result.value or vim.json.encode(result)
  end
  if type(result) ~= 'string' or result == '' then
    return nil
  end
  return vim.split(result, '\n', { plain = true })
end

--- One line about a finished refactor: `label: N edits in M files`, or why nothing was applied.
local function refactor_summary(result)
  if type(result) ~= 'table' then
    return 'refactor done'
  end
  if result.applied == false or not result.files then
    return result.message or 'nothing was changed'
  end
  return ('%s: %d edits in %d files'):format(result.label or 'refactor', result.edits or 0, #result.files)
end

local function refactor_at(bufnr, text, uri, position)
  if not text or vim.trim(text) == '' then
    return
  end
  notify('refactoring…')
  run(bufnr, 'wholerepo.refactor', { vim.trim(text), uri, position }, function(result)
    notify(refactor_summary(result))
  end)
end

function M.refactor(instruction, bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local uri, position = cursor_arguments(bufnr)
  if instruction and instruction ~= '' then
    refactor_at(bufnr, instruction, uri, position)
  else
    vim.ui.input({ prompt = 'wholerepo refactor: ' }, function(text)
      refactor_at(bufnr, text, uri, position)
    end)
  end
end

function M.explain(bufnr, opts)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local uri, position = cursor_arguments(bufnr)
  run(bufnr, 'wholerepo.explain', { uri, position }, function(result)
    local lines = as_lines(result)
    if not lines then
      notify('nothing to explain here')
      return
    end
    local float = opts or {}
    local buf, win = vim.lsp.util.open_floating_preview(lines, 'markdown', {
      border = float.border,
      max_width = float.max_width,
      max_height = float.max_height,
      focus_id = 'wholerepo_explain',
    })
    M.last_float = { buf = buf, win = win }
  end)
end

function M.context(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  run(bufnr, 'wholerepo.showContext', {}, function(result)
    if result == nil or result == vim.NIL then
      notify('no completion yet: the context of the last one shows here')
      return
    end
    local scratch = vim.api.nvim_create_buf(false, true)
    vim.api.nvim_buf_set_lines(scratch, 0, -1, false, as_lines(result) or {})
    vim.bo[scratch].filetype = 'markdown'
    vim.bo[scratch].bufhidden = 'wipe'
    vim.cmd('botright split')
    vim.api.nvim_win_set_buf(0, scratch)
  end)
end

--- The server's "Rewrite with wholerepo…" code action carries no instruction: ask for it here.
local function code_action_refactor(command, ctx)
  local args = command.arguments or {}
  if type(args[1]) == 'string' and vim.trim(args[1]) ~= '' then
    refactor_at(ctx.bufnr, args[1], args[2], args[3])
  else
    vim.ui.input({ prompt = 'wholerepo refactor: ' }, function(text)
      refactor_at(ctx.bufnr, text, args[2], args[3])
    end)
  end
end

function M.create(opts)
  vim.lsp.commands['wholerepo.refactor'] = code_action_refactor
  vim.api.nvim_create_user_command('WholerepoRefactor', function(args)
    M.refactor(args.args)
  end, { nargs = '*', desc = 'wholerepo: refactor the repository by an instruction' })
  vim.api.nvim_create_user_command('WholerepoExplain', function()
    M.explain(0, opts.float)
  end, { desc = 'wholerepo: explain the symbol under the cursor' })
  vim.api.nvim_create_user_command('WholerepoContext', function()
    M.context(0)
  end, { desc = 'wholerepo: show the context behind the last completion' })
end

return M
