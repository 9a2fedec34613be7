-- Run with `nvim --clean -l nvim_config_check.lua PLUGIN_DIR`: checks the plugin's option handling and
-- what setup() registers, without a server. Prints one JSON object.
vim.opt.rtp:prepend(_G.arg[1])
local config = require('wholerepo.config')
local out = { errors = {} }

local bad = {
  { 'backend.kind', { backend = { kind = 'gpt' } } },
  { 'backend.url', { backend = { kind = 'openai', model = 'm' } } },
  { 'backend.url', { backend = { kind = 'openai', url = 'localhost:8000', model = 'm' } } },
  { 'backend.model', { backend = { kind = 'openai', url = 'http://h/v1' } } },
  { 'backend.api_key_env', { backend = { api_key_env = 'sk-live-123' } } },
  { 'budgets.max_tokens', { budgets = { max_tokens = 0 } } },
  { 'budgets.context_tokens', { budgets = { context_tokens = 1.5 } } },
  { 'cmd', { cmd = {} } },
  { 'cmd[2]', { cmd = { 'wholerepo', 3 } } },
  { 'features.hover', { features = { hover = 'yes' } } },
  { 'python_path', { python_path = 42 } },
}
for _, case in ipairs(bad) do
  local ok, message = pcall(config.resolve, case[2])
  table.insert(out.errors, { option = case[1], ok = ok, message = tostring(message) })
end

local openai = config.resolve({
  python_path = '/venv/bin/python',
  backend = { kind = 'openai', url = 'http://127.0.0.1:8000/v1', model = 'qwen', api_key_env = 'KEY_VAR' },
  budgets = { context_tokens = 4096 },
  features = { code_lens = false },
})
out.python_command = config.command(openai)
out.default_command = config.command(config.resolve({}))
out.explicit_command = config.command(config.resolve({ cmd = { '/x/wholerepo', 'serve' }, python_path = '/p' }))
out.init_options = config.init_options(openai)
out.local_init_options = config.init_options(config.resolve({ backend = { url = 'http://ignored' } }))

require('wholerepo').setup({ cmd = { 'wholerepo-not-installed', 'serve' } })
local registered = vim.lsp.config and vim.lsp.config['wholerepo']
out.registered_cmd = registered and registered.cmd
out.registered_inline_capability = registered and registered.capabilities.textDocument.inlineCompletion ~= nil
out.commands = {}
for _, name in ipairs({ 'WholerepoRefactor', 'WholerepoExplain', 'WholerepoContext' }) do
  out.commands[name] = vim.fn.exists(':' .. name) == 2
end
out.enabled = #vim.api.nvim_get_autocmds({ event = 'FileType', group = 'nvim.lsp.enable' }) > 0

io.write(vim.json.encode(out))
