// The extension loads in a real VS Code: it activates in the fixture workspace and registers its commands.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { EXTENSION_ID, getApi, waitFor, workspaceRoot } from './helpers';

describe('smoke', () => {
  it('opens the fixture workspace', () => {
    assert.ok(fs.existsSync(path.join(workspaceRoot(), 'bulwark.json')), 'bulwark.json in the workspace folder');
    assert.ok(process.env.BULWARK_VSC_DEV_URL, 'BULWARK_VSC_DEV_URL reaches the extension host');
  });

  it('activates bulwark.bulwark', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext, `${EXTENSION_ID} is loaded`);
    await getApi();
    // workspaceContains:bulwark.json activates it on its own as well; either way it must end up active.
    await waitFor(() => ext.isActive, { what: `${EXTENSION_ID} to be active`, timeoutMs: 30_000 });
  });

  it('registers its commands', async () => {
    await getApi();
    const expected = (JSON.parse(fs.readFileSync(path.join(vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath, 'package.json'), 'utf8'))
      .contributes.commands as { command: string }[]).map((c) => c.command);
    assert.ok(expected.includes('bulwark.apply') && expected.includes('bulwark.refresh'), 'package.json contributes bulwark.apply and bulwark.refresh');
    const registered = new Set(await vscode.commands.getCommands(true));
    const missing = expected.filter((c) => !registered.has(c));
    assert.deepEqual(missing, [], `commands contributed in package.json but not registered by activate(): ${missing.join(', ')}`);
  });
});
