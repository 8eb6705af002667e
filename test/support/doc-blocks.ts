// The shell blocks the docs promise run as written: a fenced block right after a
// `<!-- doc-test: <name> … -->` comment is extracted here, and a test runs it with bash
// (test/docs/quickstart.test.ts). The comment is invisible on GitHub; the block is what a reader copies.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** The fenced blocks of `markdownFile` marked `<!-- doc-test: name … -->`, in page order. */
export function markedBlocks(markdownFile: string, name: string): string[] {
  const text = readFileSync(markdownFile, 'utf8');
  const marker = new RegExp(`<!-- doc-test: ${name}\\b[^>]*-->\\s*\\n\`\`\`(?:sh|bash)\\n([\\s\\S]*?)\\n\`\`\`\\n`, 'g');
  return [...text.matchAll(marker)].map((m) => m[1]!);
}

/**
 * `block` with each literal of `rewrites` replaced everywhere (the ports and paths a test must move to
 * free ones). Every literal must occur: a doc that stopped saying it would make the rewrite silently
 * do nothing, and the test would then exercise something else than the page.
 */
export function rewritten(block: string, rewrites: Record<string, string>): string {
  let out = block;
  for (const [from, to] of Object.entries(rewrites)) {
    if (!out.includes(from)) throw new Error(`the block no longer contains ${JSON.stringify(from)}; update the test's rewrites`);
    out = out.split(from).join(to);
  }
  return out;
}

export interface ShellRun {
  code: number;
  stdout: string;
  stderr: string;
  /** Ends what the script left running in the background (its process group). */
  end(): void;
}

/**
 * Runs `script` with `bash -e -o pipefail` in its own process group. A block may leave a server
 * running in the background (the quickstart's receiver), as it does in a reader's terminal: it keeps
 * running after bash exits, until `end()`.
 */
export async function runShell(script: string, opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<ShellRun> {
  const child = spawn('bash', ['-e', '-o', 'pipefail', '-c', script], { cwd: opts.cwd, env: opts.env ?? process.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const end = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  // A test that fails never reaches its cleanup: the group dies with the test process.
  process.once('exit', end);
  const timer = setTimeout(end, opts.timeoutMs ?? 120_000);
  const code = await new Promise<number>((resolve) => child.once('exit', (c, signal) => resolve(c ?? (signal ? 128 : 1))));
  clearTimeout(timer);
  return { code, stdout, stderr, end };
}
