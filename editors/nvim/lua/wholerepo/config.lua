-- The plugin's options: defaults, checks with messages that name the option, and the
-- initializationOptions the server reads (the same keys as the VS Code extension sends).
local M = {}

M.defaults = {
  -- The command that starts the server; nil: `wholerepo serve --stdio`, or python_path's module.
  cmd = nil,
  python_path = nil,
  -- nil attaches to every buffer that has a filetype.
  filetypes = nil,
  root_markers = { '.git', 'pyproject.toml', 'package.json', 'go.mod', 'Cargo.toml', '.hg' },
  backend = { kind = 'local', url = nil, model = nil, api_key_env = nil },
  budgets = { context_tokens = 8192, max_tokens = 128 },
  -- review: the model reviews code as diagnostics (sends code to the model), off unless asked for.
  features = {
    inline_completion = true,
    completion = true,
    hover = true,
    code_lens = true,
    diagnostics = true,
    review = false,
    refactor = true,
  },
  inline = {
    auto_trigger = true,
    debounce_ms = 150,
    -- Neovim 0.12+ has vim.lsp.inline_completion; false keeps this plugin's ghost text on any version.
    use_builtin = true,
    keymaps = { accept = '<Tab>', dismiss = '<C-]>', trigger = '<M-\\>' },
  },
  float = { border = 'rounded', max_width = 100, max_height = 30 },
}

local function fail(option, message)
  error(('wholerepo: option %s %s'):format(option, message), 0)
end

local function check(value, option, kind, optional)
  if value == nil and optional then
    return
  end
  if type(value) ~= kind then
    fail(option, ('must be a %s, not %s'):format(kind, vim.inspect(value)))
  end
end

--- Merges the user's options over the defaults and checks them; errors name the bad option.
function M.resolve(user)
  check(user, 'setup{...}', 'table', true)
  local opts = vim.tbl_deep_extend('force', vim.deepcopy(M.defaults), user or {})
  check(opts.cmd, 'cmd', 'table', true)
  if opts.cmd then
    if #opts.cmd == 0 then
      fail('cmd', 'must name a program, e.g. { "wholerepo", "serve" }')
    end
    for index, part in ipairs(opts.cmd) do
      check(part, ('cmd[%d]'):format(index), 'string')
    end
  end
  check(opts.python_path, 'python_path', 'string', true)
  check(opts.filetypes, 'filetypes', 'table', true)
  local kind = opts.backend.kind
  if kind ~= 'local' and kind ~= 'openai' then
    fail('backend.kind', ('must be "local" or "openai", not %s'):format(vim.inspect(kind)))
  end
  if kind == 'openai' then
    if type(opts.backend.url) ~= 'string' or not opts.backend.url:match('^https?://%S+$') then
      fail('backend.url', 'must be an http(s) URL such as http://127.0.0.1:8000/v1 for the openai backend')
    end
    check(opts.backend.model, 'backend.model', 'string')
  end
  if opts.backend.api_key_env ~= nil then
    check(opts.backend.api_key_env, 'backend.api_key_env', 'string')
    if not opts.backend.api_key_env:match('^[%a_][%w_]*$') then
      fail('backend.api_key_env', 'must be the NAME of an environment variable, not the key itself')
    end
  end
  for _, name in ipairs({ 'context_tokens', 'max_tokens' }) do
    local value = opts.budgets[name]
    if type(value) ~= 'number' or value < 1 or value % 1 ~= 0 then
      fail('budgets.' .. name, ('must be a positive whole number, not %s'):format(vim.inspect(value)))
    end
  end
  for name, value in pairs(opts.features) do
    check(value, 'features.' .. name, 'boolean')
  end
  check(opts.inline.debounce_ms, 'inline.debounce_ms', 'number')
  return opts
end

--- The argv that starts the server.
function M.command(opts)
  if opts.cmd then
    return opts.cmd
  end
  if opts.python_path then
    return { opts.python_path, '-m', 'lsp_server.cli', 'serve', '--stdio' }
  end
  return { 'wholerepo', 'serve', '--stdio' }
end

--- What the server gets as initializationOptions.
function M.init_options(opts)
  local backend = { kind = opts.backend.kind }
  if opts.backend.kind == 'openai' then
    backend.url = opts.backend.url
    backend.model = opts.backend.model
    backend.api_key_env = opts.backend.api_key_env
  end
  return {
    backend = backend,
    budgets = vim.deepcopy(opts.budgets),
    features = vim.deepcopy(opts.features),
  }
end

return M
