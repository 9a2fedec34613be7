-- Drives the wholerepo Neovim plugin in a real headless Neovim, as a user would: keys go through
-- the typeahead (so insert mode, TextChangedI and mappings are real), the script waits in a
-- coroutine between steps so the event loop runs. Settings come as JSON in $WHOLEREPO_NVIM_TEST:
-- { plugin, python, workspace, backend, scenario, results }. Results are written as JSON.
local config = vim.json.decode(table.concat(vim.fn.readfile(vim.env.WHOLEREPO_NVIM_TEST), '\n'))
local results = { steps = {} }

local function save()
  vim.fn.writefile({ vim.json.encode(results) }, config.results)
end

local function record(key, value)
  results[key] = value == nil and vim.NIL or value
  table.insert(results.steps, key)
  save()
end

local co
local function wait_until(check, ms)
  local deadline = vim.uv.now() + ms
  while not check() do
    if vim.uv.now() > deadline then
      return false
    end
    vim.defer_fn(function()
      local ok, err = coroutine.resume(co)
      if not ok then
        record('error', tostring(err))
        vim.cmd('qa!')
      end
    end, 20)
    coroutine.yield()
  end
  return true
end

local function type_keys(keys)
  vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes(keys, true, false, true), 'mt', false)
end

local function lines(buf)
  return vim.api.nvim_buf_get_lines(buf, 0, -1, false)
end

local function open(relative)
  vim.cmd.edit(vim.fn.fnameescape(config.workspace .. '/' .. relative))
  local buf = vim.api.nvim_get_current_buf()
  local lsp = require('wholerepo.lsp')
  local attached = wait_until(function()
    local client = lsp.client(buf)
    return client ~= nil and client.initialized == true
  end, 30000)
  -- The plugin keeps the server's wholerepo/status; type only once the engine and index are ready.
  local ready = attached
    and wait_until(function()
      local status = lsp.status
      return type(status.engine) == 'table' and status.engine.state == 'ready'
        and type(status.index) == 'table' and status.index.state == 'ready'
    end, 60000)
  record('server_ready', ready)
  record('statusline', lsp.statusline())
  return buf, attached
end

local scenarios = {}

-- Type at the end of a line; ghost text must appear, and <Tab> must insert it.
function scenarios.complete()
  local buf, attached = open(config.file)
  record('attached', attached)
  local inline = require('wholerepo.inline')
  vim.api.nvim_win_set_cursor(0, { config.line, 0 })
  type_keys('A' .. config.typed)
  record('ghost_shown', wait_until(function()
    return inline.current(buf) ~= nil
  end, 30000))
  local ghost = inline.current(buf)
  record('ghost_text', ghost and ghost.text)
  record('mode', vim.api.nvim_get_mode().mode)
  local marks = vim.api.nvim_buf_get_extmarks(buf, -1, 0, -1, { details = true })
  local virt = {}
  for _, mark in ipairs(marks) do
    for _, chunk in ipairs(mark[4].virt_text or {}) do
      table.insert(virt, chunk[1])
    end
  end
  record('extmark_text', table.concat(virt))
  -- <C-]> dismisses; <M-\> asks again by hand; then <Tab> accepts.
  type_keys('<C-]>')
  record('dismissed', wait_until(function()
    return inline.current(buf) == nil and #vim.api.nvim_buf_get_extmarks(buf, -1, 0, -1, {}) == 0
  end, 2000))
  type_keys('<M-\\>')
  record('ghost_again', wait_until(function()
    return inline.current(buf) ~= nil
  end, 30000))
  type_keys('<Tab>')
  wait_until(function()
    return inline.current(buf) == nil and vim.api.nvim_get_current_line() ~= ''
  end, 2000)
  wait_until(function()
    return false
  end, 100)
  record('line_after_accept', vim.api.nvim_buf_get_lines(buf, config.line - 1, config.line, false)[1])
  record('cursor_after_accept', vim.api.nvim_win_get_cursor(0))
  type_keys('<Esc>')
  wait_until(function()
    return vim.api.nvim_get_mode().mode == 'n'
  end, 2000)
  local windows = #vim.api.nvim_list_wins()
  vim.cmd('WholerepoContext')
  wait_until(function()
    return #vim.api.nvim_list_wins() > windows
  end, 10000)
  record('context_filetype', vim.bo.filetype)
  record('context_text', table.concat(lines(0), '\n'))
end

-- :WholerepoRefactor with an instruction; the server's workspace/applyEdit changes several files.
function scenarios.refactor()
  local buf, attached = open(config.file)
  record('attached', attached)
  vim.api.nvim_win_set_cursor(0, { config.line, config.col })
  local before = {}
  for _, name in ipairs(config.files) do
    before[name] = table.concat(vim.fn.readfile(config.workspace .. '/' .. name), '\n')
  end
  vim.cmd('WholerepoRefactor ' .. config.instruction)
  local function changed()
    local count = 0
    for _, name in ipairs(config.files) do
      local other = vim.fn.bufnr(config.workspace .. '/' .. name)
      if other ~= -1 and table.concat(lines(other), '\n') ~= before[name] then
        count = count + 1
      end
    end
    return count
  end
  wait_until(function()
    return changed() == #config.files
  end, 60000)
  local after = {}
  for _, name in ipairs(config.files) do
    local other = vim.fn.bufnr(config.workspace .. '/' .. name)
    after[name] = other ~= -1 and table.concat(lines(other), '\n') or vim.NIL
  end
  record('files_changed', changed())
  record('after', after)
  record('current_buffer', table.concat(lines(buf), '\n'))
end

-- :WholerepoExplain on a symbol opens a floating window with the explanation.
function scenarios.explain()
  local _, attached = open(config.file)
  record('attached', attached)
  vim.api.nvim_win_set_cursor(0, { config.line, config.col })
  local commands = require('wholerepo.commands')
  vim.cmd('WholerepoExplain')
  wait_until(function()
    return commands.last_float ~= nil
  end, 60000)
  local float = commands.last_float
  local floating = {}
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_config(win).relative ~= '' then
      table.insert(floating, win)
    end
  end
  record('floating_windows', #floating)
  record('float_is_floating', float ~= nil and vim.api.nvim_win_get_config(float.win).relative ~= '')
  record('float_text', float and table.concat(lines(float.buf), '\n'))
end

-- :checkhealth wholerepo reports the setup, the server command and the running client.
function scenarios.health()
  local _, attached = open(config.file)
  record('attached', attached)
  vim.cmd('checkhealth wholerepo')
  record('health', table.concat(lines(0), '\n'))
end

vim.opt.rtp:prepend(config.plugin)
if config.without_lsp_config then
  -- As on Neovim 0.9/0.10: no vim.lsp.config/vim.lsp.enable, so the plugin's FileType fallback runs.
  vim.lsp.config, vim.lsp.enable = nil, nil
end
vim.cmd('filetype plugin indent on')
local setup_ok, setup_error = pcall(function()
  require('wholerepo').setup({
    python_path = config.python,
    cmd = config.cmd,
    backend = config.backend,
    inline = { debounce_ms = 50 },
  })
end)
record('setup_ok', setup_ok)
local fallback = pcall(vim.api.nvim_get_autocmds, { group = 'wholerepo_lsp' })
record('registration', fallback and 'FileType autocommand' or 'vim.lsp.enable')
if not setup_ok then
  record('error', tostring(setup_error))
  vim.cmd('qa!')
end

co = coroutine.create(function()
  local ok, err = pcall(scenarios[config.scenario])
  if not ok then
    record('error', tostring(err))
  end
  record('done', true)
  vim.cmd('qa!')
end)
local ok, err = coroutine.resume(co)
if not ok then
  record('error', tostring(err))
  vim.cmd('qa!')
end
