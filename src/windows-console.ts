// The Windows console the relay runs in: turn QuickEdit off (a selection made by a stray click pauses
// every program writing to that console) and learn whether the relay owns the window (it was
// double-clicked) or shares it with a shell. Node cannot call SetConsoleMode itself, so a short
// PowerShell child, attached to the same console, does it. Nothing here is ever fatal.
import { spawn } from 'node:child_process';

export interface ConsoleReport {
  /** Processes attached to the console besides the PowerShell child: 1 when double-clicked. */
  processes: number;
  /** Input mode before and after. */
  modeBefore: number;
  modeAfter: number;
}

const ENABLE_QUICK_EDIT_MODE = 0x40;
const ENABLE_EXTENDED_FLAGS = 0x80;

/** QuickEdit is on in a console input mode. */
export function quickEditOn(mode: number): boolean {
  return (mode & ENABLE_QUICK_EDIT_MODE) !== 0 && (mode & ENABLE_EXTENDED_FLAGS) !== 0;
}

/** The input mode with QuickEdit off (ENABLE_EXTENDED_FLAGS must be set for that to stick). */
export function withoutQuickEdit(mode: number): number {
  return ((mode & ~ENABLE_QUICK_EDIT_MODE) | ENABLE_EXTENDED_FLAGS) >>> 0;
}

function script(keepQuickEdit: boolean): string {
  return `
$ErrorActionPreference = 'Stop'
Add-Type -Namespace OneBotRelay -Name Kernel32 -MemberDefinition @'
[DllImport("kernel32.dll", SetLastError = true, CharSet = CharSet.Unicode)]
public static extern IntPtr CreateFileW(string name, uint access, uint share, IntPtr security, uint disposition, uint flags, IntPtr template);
[DllImport("kernel32.dll", SetLastError = true)]
public static extern bool GetConsoleMode(IntPtr handle, out uint mode);
[DllImport("kernel32.dll", SetLastError = true)]
public static extern bool SetConsoleMode(IntPtr handle, uint mode);
[DllImport("kernel32.dll", SetLastError = true)]
public static extern uint GetConsoleProcessList(uint[] list, uint count);
[DllImport("kernel32.dll")]
public static extern bool CloseHandle(IntPtr handle);
'@
$k = [OneBotRelay.Kernel32]
$list = New-Object 'uint32[]' 64
$count = $k::GetConsoleProcessList($list, 64)
if ($count -eq 0) { throw "not attached to a console (error $([Runtime.InteropServices.Marshal]::GetLastWin32Error()))" }
$in = $k::CreateFileW('CONIN$', [uint32]3221225472, 3, [IntPtr]::Zero, 3, 0, [IntPtr]::Zero)
if ($in -eq [IntPtr](-1)) { throw "cannot open the console input (error $([Runtime.InteropServices.Marshal]::GetLastWin32Error()))" }
$mode = [uint32]0
if (-not $k::GetConsoleMode($in, [ref]$mode)) { throw "GetConsoleMode failed (error $([Runtime.InteropServices.Marshal]::GetLastWin32Error()))" }
$new = $mode
if (${keepQuickEdit ? '$false' : '$true'}) { $new = [uint32]((([int64]$mode) -band 4294967231) -bor 128) }
if ($new -ne $mode) {
  if (-not $k::SetConsoleMode($in, $new)) { throw "SetConsoleMode failed (error $([Runtime.InteropServices.Marshal]::GetLastWin32Error()))" }
}
[void]$k::CloseHandle($in)
"onebot-relay-console $count $mode $new"
`;
}

/**
 * After a fatal error, wait for Enter in a window of the relay's own: the executable started with no flags
 * (double-clicked) in a console. Only a console known to be shared (cmd or PowerShell) goes without: when
 * PowerShell could not tell (blocked, slow), the window stays, so that the error can be read.
 */
export function pauseOnFatal(doubleClicked: boolean, report: ConsoleReport | Error | undefined): boolean {
  const shared = report !== undefined && !(report instanceof Error) && report.processes > 1;
  return doubleClicked && !shared;
}

/** Parse the PowerShell child's report line; undefined if it is not there. */
export function parseReport(output: string): ConsoleReport | undefined {
  const m = /onebot-relay-console (\d+) (\d+) (\d+)/.exec(output);
  if (!m) return undefined;
  return { processes: Number(m[1]) - 1, modeBefore: Number(m[2]), modeAfter: Number(m[3]) };
}

/**
 * Run the PowerShell child (Windows only): QuickEdit off unless kept, and count the console's processes.
 * Rejects with a readable reason on any failure (no PowerShell, no console, a refused call, a timeout).
 */
export function prepareConsole(keepQuickEdit: boolean, timeout = 20_000): Promise<ConsoleReport> {
  return new Promise((resolve, reject) => {
    const encoded = Buffer.from(script(keepQuickEdit), 'utf16le').toString('base64');
    // Not windowsHide: that would start PowerShell without a console, and it must share ours.
    const child = spawn(
      'powershell.exe',
      ['-NoLogo', '-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-EncodedCommand', encoded],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`PowerShell did not answer within ${timeout / 1000} s`));
    }, timeout);
    timer.unref();
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot start PowerShell: ${err.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const report = parseReport(output);
      if (report) return resolve(report);
      const why = output
        .split(/\r?\n/)
        .map((l) => l.trim())
        .find((l) => l && !l.startsWith('At line') && !l.startsWith('+'));
      reject(new Error(`PowerShell exited ${code} ${why ? `saying: ${why}` : 'without an answer'}`));
    });
  });
}
