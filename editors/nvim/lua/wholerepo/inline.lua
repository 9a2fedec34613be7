-- Ghost text from textDocument/inlineCompletion (LSP 3.18), for Neovim versions without
-- vim.lsp.inline_completion: the suggestion is drawn with extmarks at the cursor, <Tab> accepts it
-- (replacing the item's range, as the protocol says), <C-]> dismisses it. Stale replies are dropped.
local lsp = require('wholerepo.lsp')

local M = {}

local ns = vim.api.nvim_create_namespace('wholerepo_ghost')
local uv = vim.uv or vim.loop
local state = {} -- bufnr -> { pending = id, timer = handle, ghost = {...} }

vim.api.nvim_set_hl(0, 'WholerepoGhostText', { link = 'Comment', default = true })

local function buf_state(bufnr)
  state[bufnr] = state[bufnr] or {}
  return state[bufnr]
end

local function cursor(bufnr)
  local win = vim.fn.bufwinid(bufnr)
  local pos = vim.api.nvim_win_get_cursor(win ~= -1 and win or 0)
  return pos[1] - 1, pos[2]
end

local function insert_text(item)
  local text = item.insertText
  if type(text) == 'table' then
    -- A snippet: keep the placeholders' default text, drop tab stops.
    text = (text.value or ''):gsub('%${%d+:([^}]*)}', '%1'):gsub('%$%d+', '')
  end
  return type(text) == 'string' and text or nil
end

--- The ghost for one item at the cursor, or nil: what the item adds after what is already typed.
local function ghost_for(bufnr, item, encoding, row, col)
  local text = insert_text(item)
  if not text or text == '' then
    return nil
  end
  local start_row, start_col, end_row, end_col = row, col, row, col
  if item.range then
    local first = vim.api.nvim_buf_get_lines(bufnr, item.range.start.line, item.range.start.line + 1, false)[1] or ''
    local last = vim.api.nvim_buf_get_lines(bufnr, item.range['end'].line, item.range['end'].line + 1, false)[1] or ''
    start_row, start_col = item.range.start.line, lsp.byte_col(first, item.range.start.character, encoding)
    end_row, end_col = item.range['end'].line, lsp.byte_col(last, item.range['end'].character, encoding)
  end
  if start_row > row or (start_row == row and start_col > col) then
    return nil
  end
  local typed = table.concat(vim.api.nvim_buf_get_text(bufnr, start_row, start_col, row, col, {}), '\n')
  if text:sub(1, #typed) ~= typed then
    return nil -- the item does not continue what is typed: nothing sensible to draw inline
  end
  local rest = text:sub(#typed + 1)
  if rest == '' then
    return nil
  end
  return {
    text = rest,
    insert = text,
    row = row,
    col = col,
    range = { start_row, start_col, end_row, end_col },
    command = item.command,
  }
end

local function draw(bufnr, ghost)
  local lines = vim.split(ghost.text, '\n', { plain = true })
  local opts = {
    virt_text = { { lines[1], 'WholerepoGhostText' } },
    virt_text_pos = vim.fn.has('nvim-0.10') == 1 and 'inline' or 'eol',
    hl_mode = 'combine',
  }
  if #lines > 1 then
    opts.virt_lines = vim.tbl_map(function(line)
      return { { line, 'WholerepoGhostText' } }
    end, vim.list_slice(lines, 2))
  end
  ghost.mark = vim.api.nvim_buf_set_extmark(bufnr, ns, ghost.row, ghost.col, opts)
end

--- Removes the ghost text (and forgets the suggestion) of a buffer.
function M.dismiss(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local s = buf_state(bufnr)
  s.ghost = nil
  vim.api.nvim_buf_clear_namespace(bufnr, ns, 0, -1)
end

--- The suggestion shown in a buffer ({text, insert, row, col, range}), or nil.
function M.current(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  return buf_state(bufnr).ghost
end

local function cancel_pending(bufnr)
  local s = buf_state(bufnr)
  if s.pending then
    lsp.cancel(s.pending.client, s.pending.id)
    s.pending = nil
  end
end

--- Asks the server for a suggestion at the cursor; draws the first usable item. `manual` marks it
--- as invoked (triggerKind 1) rather than automatic (2). Calls on_done(ghost|nil) when answered.
function M.trigger(bufnr, manual, on_done)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local client = lsp.client(bufnr)
  if not client then
    return false
  end
  cancel_pending(bufnr)
  M.dismiss(bufnr)
  local row, col = cursor(bufnr)
  local tick = vim.api.nvim_buf_get_changedtick(bufnr)
  local win = vim.fn.bufwinid(bufnr)
  local params = vim.lsp.util.make_position_params(win ~= -1 and win or 0, client.offset_encoding)
  params.context = { triggerKind = manual and 1 or 2 }
  local s = buf_state(bufnr)
  local ok, id
  ok, id = lsp.request(client, 'textDocument/inlineCompletion', params, function(err, result)
    if s.pending and s.pending.id == id then
      s.pending = nil
    end
    local now_row, now_col = cursor(bufnr)
    if err or not result or vim.api.nvim_buf_get_changedtick(bufnr) ~= tick or now_row ~= row or now_col ~= col then
      if on_done then
        on_done(nil, err)
      end
      return
    end
    local ghost
    for _, item in ipairs(result.items or result) do
      ghost = ghost_for(bufnr, item, client.offset_encoding, row, col)
      if ghost then
        break
      end
    end
    if ghost then
      ghost.client_id = client.id
      s.ghost = ghost
      draw(bufnr, ghost)
    end
    if on_done then
      on_done(ghost)
    end
  end, bufnr)
  if ok then
    s.pending = { client = client, id = id }
  end
  return ok
end

--- Inserts the shown suggestion (replacing its range) and puts the cursor after it. False if none.
function M.accept(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local ghost = M.current(bufnr)
  if not ghost then
    return false
  end
  M.dismiss(bufnr)
  local start_row, start_col, end_row, end_col = unpack(ghost.range)
  local lines = vim.split(ghost.insert, '\n', { plain = true })
  vim.api.nvim_buf_set_text(bufnr, start_row, start_col, end_row, end_col, lines)
  local last_row = start_row + #lines - 1
  local last_col = (#lines == 1 and start_col or 0) + #lines[#lines]
  local win = vim.fn.bufwinid(bufnr)
  vim.api.nvim_win_set_cursor(win ~= -1 and win or 0, { last_row + 1, last_col })
  local client = ghost.command and vim.lsp.get_client_by_id(ghost.client_id)
  if client then
    lsp.request(client, 'workspace/executeCommand', {
      command = ghost.command.command,
      arguments = ghost.command.arguments,
    }, function() end, bufnr)
  end
  return true
end

local function schedule_trigger(bufnr, delay)
  local s = buf_state(bufnr)
  if s.timer then
    s.timer:stop()
  else
    s.timer = uv.new_timer()
  end
  s.timer:start(delay, 0, vim.schedule_wrap(function()
    if vim.api.nvim_buf_is_valid(bufnr) and vim.api.nvim_get_mode().mode:sub(1, 1) == 'i' then
      M.trigger(bufnr, false)
    end
  end))
end

local function feed(keys)
  vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes(keys, true, false, true), 'n', false)
end

--- Autocommands and insert-mode mappings for one buffer.
function M.attach(bufnr, opts)
  local group = vim.api.nvim_create_augroup('wholerepo_inline_' .. bufnr, { clear = true })
  if opts.auto_trigger then
    vim.api.nvim_create_autocmd('TextChangedI', {
      group = group,
      buffer = bufnr,
      callback = function()
        M.dismiss(bufnr)
        schedule_trigger(bufnr, opts.debounce_ms)
      end,
    })
  end
  vim.api.nvim_create_autocmd('CursorMovedI', {
    group = group,
    buffer = bufnr,
    callback = function()
      local ghost = M.current(bufnr)
      local row, col = cursor(bufnr)
      if ghost and (ghost.row ~= row or ghost.col ~= col) then
        M.dismiss(bufnr)
      end
    end,
  })
  vim.api.nvim_create_autocmd({ 'InsertLeave', 'BufLeave' }, {
    group = group,
    buffer = bufnr,
    callback = function()
      cancel_pending(bufnr)
      M.dismiss(bufnr)
    end,
  })
  vim.api.nvim_create_autocmd('BufUnload', {
    group = group,
    buffer = bufnr,
    callback = function()
      local s = state[bufnr]
      if s and s.timer then
        s.timer:close()
      end
      state[bufnr] = nil
    end,
  })
  local keys = opts.keymaps or {}
  if keys.accept then
    vim.keymap.set('i', keys.accept, function()
      if not M.accept(bufnr) then
        feed(keys.accept)
      end
    end, { buffer = bufnr, desc = 'wholerepo: accept the suggestion' })
  end
  if keys.dismiss then
    vim.keymap.set('i', keys.dismiss, function()
      if M.current(bufnr) then
        M.dismiss(bufnr)
      else
        feed(keys.dismiss)
      end
    end, { buffer = bufnr, desc = 'wholerepo: dismiss the suggestion' })
  end
  if keys.trigger then
    vim.keymap.set('i', keys.trigger, function()
      M.trigger(bufnr, true)
    end, { buffer = bufnr, desc = 'wholerepo: ask for a suggestion' })
  end
end

--- Neovim 0.12+: the built-in inline completion, with the same accept key.
function M.attach_builtin(bufnr, opts)
  vim.lsp.inline_completion.enable(true, { bufnr = bufnr })
  local accept = opts.keymaps and opts.keymaps.accept
  if accept then
    vim.keymap.set('i', accept, function()
      if not vim.lsp.inline_completion.get() then
        feed(accept)
      end
    end, { buffer = bufnr, desc = 'wholerepo: accept the suggestion' })
  end
end

return M
