<#
provision-windows.ps1 makes a Windows image ready for Azure Backup during an image
build (Packer's powershell provisioner, or by hand as Administrator):

  provision-windows.ps1 -Package C:\Windows\Temp\agentkeeper.msi `
      -AgentMsi https://.../WindowsAzureVmAgent.msi -AgentMsiSha256 <sha256>

  1. -Package agentkeeper.msi: installs it (msiexec /i /quiet /norestart, log beside
     it; 0, 3010 and 1641 are success, 1618 "another installation is in progress" is
     retried) and uses %ProgramFiles%\agentkeeper\agentkeeper.exe.
     -Package agentkeeper.exe: uses that file as it is (nothing installed).
  2. Runs `agentkeeper ensure --json --wait-backup 0` with windows.msi and
     windows.msi_sha256 set from -AgentMsi / -AgentMsiSha256 (as the environment
     variables AGENTKEEPER_WINDOWS_MSI and AGENTKEEPER_WINDOWS_MSI_SHA256: they win over
     the config file). ensure installs or updates the Azure VM agent from that MSI when
     it is missing or too old; with no MSI set it can only confirm an agent that is
     already there (Azure's Marketplace images have one).
  3. Exit 75 (deferred: a backup runs, another install holds the lock, msiexec said
     1618) is retried -Retries times, -RetryDelay seconds apart. 0 is success; anything
     else, or still 75 after the retries, fails the build: exit 1 with ensure's message.
     The JSON report is written to the output (the build log keeps it).

Every parameter defaults to an environment variable, so Packer's environment_vars
work as well as arguments: AGENTKEEPER_PACKAGE, AGENTKEEPER_WINDOWS_MSI,
AGENTKEEPER_WINDOWS_MSI_SHA256, AGENTKEEPER_RETRIES (5), AGENTKEEPER_RETRY_DELAY (30).
Runs on Windows PowerShell 5.1 and PowerShell 7.
#>
[CmdletBinding()]
param(
    [string]$Package = $env:AGENTKEEPER_PACKAGE,
    [string]$AgentMsi = $env:AGENTKEEPER_WINDOWS_MSI,
    [string]$AgentMsiSha256 = $env:AGENTKEEPER_WINDOWS_MSI_SHA256,
    [int]$Retries = $(if ($env:AGENTKEEPER_RETRIES) { [int]$env:AGENTKEEPER_RETRIES } else { 5 }),
    [int]$RetryDelay = $(if ($env:AGENTKEEPER_RETRY_DELAY) { [int]$env:AGENTKEEPER_RETRY_DELAY } else { 30 }),
    [switch]$KeepPackage
)

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

function Write-Note([string]$Message) {
    Write-Host "provision-windows: $Message"
}

# Invoke-Native FILE ARGS STDOUT STDERR: run a program and return its exit code. Through
# Start-Process with redirected output, so that nothing it writes to stderr becomes a
# PowerShell error (as it does under WinRM with $ErrorActionPreference = 'Stop').
# Arguments with spaces must come quoted: Start-Process joins them with spaces.
function Invoke-Native([string]$File, [string[]]$Arguments, [string]$StdOut, [string]$StdErr) {
    $p = Start-Process -FilePath $File -ArgumentList $Arguments -Wait -PassThru -NoNewWindow `
        -RedirectStandardOutput $StdOut -RedirectStandardError $StdErr
    return [int]$p.ExitCode
}

function Install-AgentkeeperMsi([string]$Msi) {
    $log = "$Msi.install.log"
    $out = "$Msi.msiexec.out"
    $err = "$Msi.msiexec.err"
    for ($attempt = 1; ; $attempt++) {
        Write-Note "msiexec /i $Msi (attempt $attempt)"
        $code = Invoke-Native 'msiexec.exe' @('/i', "`"$Msi`"", '/quiet', '/norestart', '/L*v', "`"$log`"") $out $err
        if ($code -eq 0 -or $code -eq 3010 -or $code -eq 1641) {
            if ($code -ne 0) { Write-Note "msiexec exited ${code}: a reboot is required (the image build reboots later)" }
            return
        }
        if ($code -eq 1618 -and $attempt -le $Retries) {
            Write-Note "msiexec exited 1618 (another installation is in progress); again in ${RetryDelay}s"
            Start-Sleep -Seconds $RetryDelay
            continue
        }
        if (Test-Path $log) { Get-Content $log -Tail 30 | ForEach-Object { Write-Host $_ } }
        throw "msiexec /i $Msi exited $code (log: $log)"
    }
}

try {
    if (-not $Package) { throw 'usage: provision-windows.ps1 -Package agentkeeper.msi|agentkeeper.exe (or set AGENTKEEPER_PACKAGE)' }
    if (-not (Test-Path -LiteralPath $Package -PathType Leaf)) { throw "${Package}: no such file" }
    $Package = (Resolve-Path -LiteralPath $Package).Path
    $admin = ([Security.Principal.WindowsPrincipal][Security.Principal.WindowsIdentity]::GetCurrent()).IsInRole(
        [Security.Principal.WindowsBuiltInRole]::Administrator)
    if (-not $admin) { throw 'must run as Administrator' }

    switch -Regex ($Package) {
        '\.msi$' {
            Install-AgentkeeperMsi $Package
            $exe = Join-Path $env:ProgramFiles 'agentkeeper\agentkeeper.exe'
            if (-not (Test-Path -LiteralPath $exe)) { throw "the MSI is installed but $exe is missing" }
        }
        '\.exe$' { $exe = $Package }
        default { throw "${Package}: neither .msi nor .exe" }
    }
    $version = & $exe version
    Write-Note "$version ($exe)"

    if ($AgentMsi) {
        $env:AGENTKEEPER_WINDOWS_MSI = $AgentMsi
        Write-Note "windows.msi = $AgentMsi"
    }
    if ($AgentMsiSha256) {
        $env:AGENTKEEPER_WINDOWS_MSI_SHA256 = $AgentMsiSha256
        Write-Note "windows.msi_sha256 = $AgentMsiSha256"
    }

    $report = Join-Path $env:TEMP 'agentkeeper-ensure.json'
    $errlog = Join-Path $env:TEMP 'agentkeeper-ensure.err'
    $code = -1
    $message = ''
    for ($attempt = 1; ; $attempt++) {
        Write-Note "agentkeeper ensure (attempt $attempt of $($Retries + 1))"
        $code = Invoke-Native $exe @('ensure', '--json', '--wait-backup', '0') $report $errlog
        Get-Content -LiteralPath $errlog -Encoding UTF8 -ErrorAction SilentlyContinue | ForEach-Object { Write-Host $_ }
        $message = ''
        try { $message = [string](Get-Content -LiteralPath $report -Raw -Encoding UTF8 | ConvertFrom-Json).message } catch { $message = '' }
        if ($code -ne 75 -or $attempt -gt $Retries) { break }
        Write-Note "deferred (exit 75): $message; again in ${RetryDelay}s"
        Start-Sleep -Seconds $RetryDelay
    }
    Get-Content -LiteralPath $report -Encoding UTF8 -ErrorAction SilentlyContinue | ForEach-Object { Write-Output $_ }
    Remove-Item -LiteralPath $report, $errlog -Force -ErrorAction SilentlyContinue

    if ($code -eq 75) { throw "still deferred after $attempt attempts: $message" }
    if ($code -ne 0) { throw "agentkeeper ensure exited ${code}: $message" }
    Write-Note "ready: $message"

    if (-not $KeepPackage -and $Package -like '*.msi') {
        Remove-Item -LiteralPath $Package -Force -ErrorAction SilentlyContinue
    }
    exit 0
}
catch {
    # Packer's wrapper exits with $LastExitCode: a thrown error alone could pass as 0.
    Write-Host "provision-windows: FAIL: $($_.Exception.Message)"
    exit 1
}
