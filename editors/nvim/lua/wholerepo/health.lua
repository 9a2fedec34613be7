-- :checkhealth wholerepo
local M = {}

local health = vim.health or require('health')
local start = health.start or health.report_start
local ok = health.ok or health.report_ok
local warn = health.warn or health.report_warn
local fail = health.error or health.report_error
local info = health.info or health.report_info

function M.check()
  start('wholerepo')
  local version = vim.version()
  local text = ('%d.%d.%d'):format(version.major, version.minor, version.patch)
  if vim.fn.has('nvim-0.9') == 0 then
    fail('Neovim ' .. text .. ' is too old: 0.9 or newer is needed')
  elseif vim.fn.has('nvim-0.11') == 1 then
    ok('Neovim ' .. text .. ': vim.lsp.config / vim.lsp.enable')
  else
    ok('Neovim ' .. text .. ': vim.lsp.start through a FileType autocommand')
  end
  if vim.lsp.inline_completion then
    ok('inline completion: built-in vim.lsp.inline_completion')
  else
    info('inline completion: ghost text from this plugin (Neovim before 0.12)')
  end

  local wholerepo = package.loaded['wholerepo']
  local opts = wholerepo and wholerepo.options
  if not opts then
    fail("setup() was not called: add require('wholerepo').setup{} to your config")
    return
  end
  local cmd = require('wholerepo.config').command(opts)
  if vim.fn.executable(cmd[1]) == 1 then
    ok('server command: ' .. table.concat(cmd, ' '))
  else
    fail('server command not found: ' .. cmd[1], {
      'pip install wholerepo (or the repository with `pip install -e .`)',
      'or set python_path / cmd in setup{}',
    })
  end
  if opts.python_path then
    local out = vim.fn.system({ opts.python_path, '-c', 'import lsp_server' })
    if vim.v.shell_error == 0 then
      ok(opts.python_path .. ' imports lsp_server')
    else
      fail(opts.python_path .. ' cannot import lsp_server: ' .. vim.trim(out))
    end
  end

  if opts.backend.kind == 'openai' then
    ok(('backend: openai %s at %s'):format(opts.backend.model, opts.backend.url))
    local key = opts.backend.api_key_env
    if key and (vim.env[key] == nil or vim.env[key] == '') then
      warn(('$%s is not set: the server will send no API key'):format(key))
    end
  else
    ok('backend: local (the embedded engine)')
  end

  local client = require('wholerepo.lsp').client()
  if client then
    ok(('client %d running, root %s'):format(client.id, client.config.root_dir or '?'))
    info(require('wholerepo.lsp').statusline())
  else
    info('no wholerepo client running now (it starts when a buffer of a matching filetype opens)')
  end
end

return M
