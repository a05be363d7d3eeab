-- Neovim's built-in LSP client drives `aurora-apply lsp` (tests/lsp.rs runs this headless):
-- open a spec, wait for the diagnostics, ask for a completion list, write both to $OUT.
-- Written for the LSP API of Neovim 0.7 (Debian's), which later versions still have.
local bin = os.getenv('AURORA_APPLY')
local spec = os.getenv('SPEC')
local out = assert(io.open(os.getenv('OUT'), 'w'))
local function say(s)
  out:write(s, '\n')
  out:flush()
end

vim.cmd('edit ' .. vim.fn.fnameescape(spec))
local buf = vim.api.nvim_get_current_buf()
local client_id = vim.lsp.start_client({
  name = 'aurora-apply',
  cmd = { bin, 'lsp' },
  root_dir = vim.fn.fnamemodify(spec, ':h'),
})
if not client_id then
  say('error: the client did not start')
  vim.cmd('qa!')
end
vim.lsp.buf_attach_client(buf, client_id)

if not vim.wait(20000, function() return #vim.diagnostic.get(buf) > 0 end, 20) then
  say('error: no diagnostics within 20 s')
end
for _, d in ipairs(vim.diagnostic.get(buf)) do
  local lsp = d.user_data and d.user_data.lsp or {}
  local code = d.code or lsp.code or ''
  say(string.format('diagnostic %d:%d %s %s', d.lnum + 1, d.col + 1, code, (d.message:gsub('\n', ' '))))
end

local client = vim.lsp.get_client_by_id(client_id)
local resp = client.request_sync('textDocument/completion', {
  textDocument = { uri = vim.uri_from_bufnr(buf) },
  position = { line = tonumber(os.getenv('LINE')), character = tonumber(os.getenv('COL')) },
}, 10000, buf)
if not resp or resp.err then
  say('error: completion ' .. vim.inspect(resp))
else
  local labels = {}
  for _, item in ipairs(resp.result.items or resp.result) do
    table.insert(labels, item.label)
  end
  say('completion ' .. table.concat(labels, '|'))
end
client.stop()
vim.wait(10000, function() return client.is_stopped() end, 20)
say('done')
vim.cmd('qa!')
